//! `cat` and `split` along the channel axis (torch's `torch.cat(dim=1)`
//! and `torch.split(dim=1)`): every adapter equal to the CPU reference bit
//! for bit (they copy) on planes that are and are not whole vec4s, with
//! one to four parts; split undoes cat; the autodiff's gradients of both
//! equal the ones written out by hand; bad parts are named errors.

mod common;

use common::{gpus, label, Rng};
use wgconv::nn::functional::{cat, mse_loss};
use wgconv::nn::{Backend, BackendBase, Cpu, Graph};
use wgconv::{cpu, Error};

#[test]
fn every_adapter_cats_and_splits_as_the_reference() {
    let mut rng = Rng::new(2);
    for gpu in gpus() {
        for (n, hw) in [(1, (1, 1)), (2, (3, 3)), (3, (2, 4)), (2, (5, 7))] {
            for channels in [vec![1], vec![2, 3], vec![1, 1, 4], vec![3, 1, 2, 5]] {
                let (h, w) = hw;
                let data: Vec<Vec<f32>> = channels
                    .iter()
                    .map(|&c| rng.floats(n * c * h * w))
                    .collect();
                let parts: Vec<_> = data
                    .iter()
                    .zip(&channels)
                    .map(|(d, &c)| gpu.tensor(&[n, c, h, w], d).unwrap())
                    .collect();
                let refs: Vec<_> = parts.iter().collect();
                let y = gpu.cat_channels(&refs).unwrap();
                let total: usize = channels.iter().sum();
                assert_eq!(y.shape(), &[n, total, h, w]);
                let host: Vec<(&[f32], [usize; 4])> = data
                    .iter()
                    .zip(&channels)
                    .map(|(d, &c)| (&d[..], [n, c, h, w]))
                    .collect();
                let want = cpu::cat_channels(&host).unwrap();
                let ctx = format!("{} n {n} {h}x{w} {channels:?}", label(gpu));
                assert_eq!(y.to_vec().unwrap(), want, "{ctx}");
                let back = gpu.split_channels(&y, &channels).unwrap();
                for (i, (p, d)) in back.iter().zip(&data).enumerate() {
                    assert_eq!(p.shape(), &[n, channels[i], h, w]);
                    assert_eq!(&p.to_vec().unwrap(), d, "{ctx}: part {i}");
                }
            }
        }
    }
}

/// `loss = mse(cat(a, b), t)`: the gradient of a and b are the halves of
/// `2 (y − t) / numel`; `split` the other way round.
fn gradients_on<B: Backend>(b: B, who: &str) {
    let mut rng = Rng::new(4);
    let (a, c, t) = (
        rng.floats(2 * 2 * 3),
        rng.floats(2 * 3),
        rng.floats(2 * 3 * 3),
    );
    let g = Graph::new(b.clone());
    let av = g.input_with_grad(b.tensor(&[2, 2, 3, 1], &a).unwrap());
    let cv = g.input_with_grad(b.tensor(&[2, 1, 3, 1], &c).unwrap());
    let y = cat(&[&av, &cv]).unwrap();
    let loss = mse_loss(&y, &g.input(b.tensor(&[2, 3, 3, 1], &t).unwrap())).unwrap();
    loss.backward().unwrap();
    let y_host = b.to_vec(y.value()).unwrap();
    let dy: Vec<f32> = y_host
        .iter()
        .zip(&t)
        .map(|(y, t)| 2.0 * (y - t) / 18.0)
        .collect();
    let parts = cpu::split_channels(&dy, [2, 3, 3, 1], &[2, 1]).unwrap();
    let close = |got: Vec<f32>, want: &[f32], what: &str| {
        for (x, y) in got.iter().zip(want) {
            assert!(
                (x - y).abs() < 1e-6,
                "{who} {what}: {got:?} against {want:?}"
            );
        }
    };
    close(b.to_vec(&av.grad().unwrap()).unwrap(), &parts[0], "da");
    close(b.to_vec(&cv.grad().unwrap()).unwrap(), &parts[1], "dc");
    // split: x [2, 3, 3, 1] into 1 + 2 channels, a loss on each part.
    let g = Graph::new(b.clone());
    let x = rng.floats(18);
    let xv = g.input_with_grad(b.tensor(&[2, 3, 3, 1], &x).unwrap());
    let parts = xv.split_channels(&[1, 2]).unwrap();
    let t0 = rng.floats(6);
    let t1 = rng.floats(12);
    let l0 = mse_loss(&parts[0], &g.input(b.tensor(&[2, 1, 3, 1], &t0).unwrap())).unwrap();
    let l1 = mse_loss(&parts[1], &g.input(b.tensor(&[2, 2, 3, 1], &t1).unwrap())).unwrap();
    l0.add(&l1).unwrap().backward().unwrap();
    let host = cpu::split_channels(&x, [2, 3, 3, 1], &[1, 2]).unwrap();
    let d0: Vec<f32> = host[0]
        .iter()
        .zip(&t0)
        .map(|(x, t)| 2.0 * (x - t) / 6.0)
        .collect();
    let d1: Vec<f32> = host[1]
        .iter()
        .zip(&t1)
        .map(|(x, t)| 2.0 * (x - t) / 12.0)
        .collect();
    let want = cpu::cat_channels(&[(&d0[..], [2, 1, 3, 1]), (&d1[..], [2, 2, 3, 1])]).unwrap();
    close(b.to_vec(&xv.grad().unwrap()).unwrap(), &want, "dx");
}

#[test]
fn the_autodiff_of_cat_and_split_is_written_out() {
    gradients_on(Cpu::<f32>::new(), "cpu");
    for gpu in gpus() {
        gradients_on(gpu.clone(), &label(gpu));
    }
}

#[test]
fn bad_parts_are_named() {
    let b = Cpu::<f32>::new();
    let a = b.tensor(&[2, 1, 3, 3], &[0.0; 18]).unwrap();
    let other = b.tensor(&[2, 1, 3, 4], &[0.0; 24]).unwrap();
    let flat = b.tensor(&[2, 9], &[0.0; 18]).unwrap();
    for gpu in gpus() {
        let ga = gpu.tensor(&[2, 1, 3, 3], &[0.0; 18]).unwrap();
        let gother = gpu.tensor(&[2, 1, 3, 4], &[0.0; 24]).unwrap();
        let e = gpu.cat_channels(&[&ga, &gother]);
        assert!(
            matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("part 1")),
            "{}: {e:?}",
            label(gpu)
        );
        assert!(gpu.cat_channels(&[]).is_err());
        assert!(gpu.split_channels(&ga, &[2]).is_err());
        assert!(gpu.split_channels(&ga, &[0, 1]).is_err());
    }
    assert!(b.cat_channels(&[&a, &other]).is_err());
    assert!(b.cat_channels(&[&a, &flat]).is_err());
    assert!(b.split_channels(&a, &[1, 1]).is_err());
}
