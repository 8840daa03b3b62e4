//! Adaptive average and max pooling to any output size
//! (`AdaptiveAvgPool2d(n)`, `AdaptiveMaxPool2d(n)`): outputs and input
//! gradients against PyTorch's (tests/fixtures/torch_adaptive_*_pool.json,
//! from scripts/make_adaptive_pool_fixture.py: dividing, overlapping and
//! enlarging windows, ties for max) on the CPU reference and every
//! adapter; random geometries against the reference; the average's
//! backward as its forward's adjoint; output 1 is global average pooling;
//! NaN takes over a max window as in torch; errors.

mod common;

use common::{assert_close, floats, gpus, ints, label, Rng};
use wgconv::nn::{AdaptiveAvgPool2d, AdaptiveMaxPool2d, Backend, BackendBase, Cpu, Forward, Graph};
use wgconv::{cpu, Error};

struct Case {
    shape: [usize; 4],
    size: [usize; 2],
    x: Vec<f32>,
    y: Vec<f32>,
    dy: Vec<f32>,
    dx: Vec<f32>,
}

fn cases() -> Vec<Case> {
    cases_of("torch_adaptive_avg_pool.json")
}

fn cases_of(file: &str) -> Vec<Case> {
    let v = common::fixture(file);
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let (s, z) = (ints(&c["shape"]), ints(&c["size"]));
            Case {
                shape: [s[0], s[1], s[2], s[3]],
                size: [z[0], z[1]],
                x: floats(&c["x"]),
                y: floats(&c["y"]),
                dy: floats(&c["dy"]),
                dx: floats(&c["dx"]),
            }
        })
        .collect()
}

fn check<B: Backend>(b: B, who: &str, i: usize, c: &Case) {
    let ctx = format!("{who} case {i} {:?} -> {:?}", c.shape, c.size);
    let g = Graph::new(b.clone());
    let x = g.input(b.tensor(&c.shape, &c.x).unwrap());
    let y = AdaptiveAvgPool2d::new(c.size).forward(&x).unwrap();
    let y_shape = [c.shape[0], c.shape[1], c.size[0], c.size[1]];
    assert_eq!(y.shape(), &y_shape, "{ctx}");
    assert_close(
        &format!("{ctx} y"),
        &y_shape,
        &b.to_vec(y.value()).unwrap(),
        &c.y,
        false,
    );
    let dx = b
        .adaptive_avg_pool2d_backward(&b.tensor(&y_shape, &c.dy).unwrap(), c.shape, c.size)
        .unwrap();
    assert_close(
        &format!("{ctx} dx"),
        &c.shape,
        &b.to_vec(&dx).unwrap(),
        &c.dx,
        false,
    );
}

#[test]
fn adaptive_pooling_matches_pytorch_everywhere() {
    let cases = cases();
    assert_eq!(cases.len(), 6);
    for (i, c) in cases.iter().enumerate() {
        check(Cpu::<f32>::new(), "cpu", i, c);
        for gpu in gpus() {
            check(gpu.clone(), &label(gpu), i, c);
        }
    }
}

#[test]
fn every_adapter_matches_the_reference() {
    let mut rng = Rng::new(12);
    for gpu in gpus() {
        for _ in 0..20 {
            let shape = [
                rng.range(1, 2),
                rng.range(1, 3),
                rng.range(1, 12),
                rng.range(1, 12),
            ];
            let size = [rng.range(1, 9), rng.range(1, 9)];
            let x = rng.floats(shape.iter().product());
            let ctx = format!("{} {shape:?} -> {size:?}", label(gpu));
            let got = gpu
                .adaptive_avg_pool2d(&gpu.tensor(&shape, &x).unwrap(), size)
                .unwrap()
                .to_vec()
                .unwrap();
            let y_shape = [shape[0], shape[1], size[0], size[1]];
            assert_close(
                &ctx,
                &y_shape,
                &got,
                &cpu::adaptive_avg_pool2d(&x, shape, size).unwrap(),
                false,
            );
            let dy = rng.floats(y_shape.iter().product());
            let got = gpu
                .adaptive_avg_pool2d_backward(&gpu.tensor(&y_shape, &dy).unwrap(), shape, size)
                .unwrap()
                .to_vec()
                .unwrap();
            let want = cpu::adaptive_avg_pool2d_backward(&dy, shape, size).unwrap();
            assert_close(&format!("{ctx} backward"), &shape, &got, &want, false);
        }
    }
}

#[test]
fn the_backward_pass_is_the_adjoint_and_output_one_is_global() {
    let mut rng = Rng::new(13);
    for (shape, size) in [
        ([1, 2, 9, 7], [4, 3]),
        ([2, 1, 3, 3], [5, 2]),
        ([1, 1, 6, 6], [6, 6]),
    ] {
        let x: Vec<f64> = rng
            .floats(shape.iter().product())
            .into_iter()
            .map(f64::from)
            .collect();
        let dy: Vec<f64> = rng
            .floats(shape[0] * shape[1] * size[0] * size[1])
            .into_iter()
            .map(f64::from)
            .collect();
        let y = cpu::adaptive_avg_pool2d(&x, shape, size).unwrap();
        let dx = cpu::adaptive_avg_pool2d_backward(&dy, shape, size).unwrap();
        let lhs: f64 = y.iter().zip(&dy).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!(
            (lhs - rhs).abs() < 1e-9 * (1.0 + lhs.abs()),
            "{shape:?}: {lhs} {rhs}"
        );
    }
    let x: Vec<f32> = rng.floats(2 * 3 * 5 * 4);
    let b = Cpu::<f32>::new();
    let g = Graph::new(b);
    let xv = g.input(b.tensor(&[2, 3, 5, 4], &x).unwrap());
    let y = AdaptiveAvgPool2d::default().forward(&xv).unwrap();
    assert_eq!(y.shape(), &[2, 3, 1, 1]);
    let via = cpu::adaptive_avg_pool2d(&x, [2, 3, 5, 4], [1, 1]).unwrap();
    assert_close(
        "global",
        &[2, 3, 1, 1],
        &b.to_vec(y.value()).unwrap(),
        &via,
        false,
    );
    let e = b.adaptive_avg_pool2d(&b.tensor(&[1, 1, 2, 2], &[0.0; 4]).unwrap(), [0, 2]);
    assert!(
        matches!(
            e,
            Err(Error::InvalidParam {
                param: "output_size",
                ..
            })
        ),
        "{e:?}"
    );
    for gpu in gpus() {
        let t = gpu.tensor(&[1, 1, 2, 2], &[0.0; 4]).unwrap();
        assert!(gpu.adaptive_avg_pool2d(&t, [2, 0]).is_err());
    }
}

fn check_max<B: Backend>(b: B, who: &str, i: usize, c: &Case) {
    let ctx = format!("{who} max case {i} {:?} -> {:?}", c.shape, c.size);
    let g = Graph::new(b.clone());
    let x = g.input_with_grad(b.tensor(&c.shape, &c.x).unwrap());
    let y = AdaptiveMaxPool2d::new(c.size).forward(&x).unwrap();
    let y_shape = [c.shape[0], c.shape[1], c.size[0], c.size[1]];
    assert_close(
        &format!("{ctx} y"),
        &y_shape,
        &b.to_vec(y.value()).unwrap(),
        &c.y,
        true,
    );
    common::backward_from(&y, &c.dy);
    let dx = b.to_vec(&x.grad().unwrap()).unwrap();
    assert_close(&format!("{ctx} dx"), &c.shape, &dx, &c.dx, false);
}

#[test]
fn adaptive_max_pooling_matches_pytorch_everywhere() {
    let cases = cases_of("torch_adaptive_max_pool.json");
    assert_eq!(cases.len(), 6);
    for (i, c) in cases.iter().enumerate() {
        check_max(Cpu::<f32>::new(), "cpu", i, c);
        for gpu in gpus() {
            check_max(gpu.clone(), &label(gpu), i, c);
        }
    }
}

#[test]
fn adaptive_max_pooling_on_every_adapter_matches_the_reference() {
    let mut rng = Rng::new(14);
    for gpu in gpus() {
        for trial in 0..20 {
            let shape = [
                rng.range(1, 2),
                rng.range(1, 3),
                rng.range(1, 12),
                rng.range(1, 12),
            ];
            let size = [rng.range(1, 9), rng.range(1, 9)];
            // Every third trial of few distinct values (ties), one with a NaN.
            let mut x = if trial % 3 == 0 {
                rng.ints(shape.iter().product())
            } else {
                rng.floats(shape.iter().product())
            };
            if trial % 5 == 1 {
                let at = rng.range(0, x.len() - 1);
                x[at] = f32::NAN;
            }
            let ctx = format!("{} {shape:?} -> {size:?}", label(gpu));
            let y_shape = [shape[0], shape[1], size[0], size[1]];
            let xt = gpu.tensor(&shape, &x).unwrap();
            let got = gpu
                .adaptive_max_pool2d(&xt, size)
                .unwrap()
                .to_vec()
                .unwrap();
            let want = cpu::adaptive_max_pool2d(&x, shape, size).unwrap();
            let same = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()))
            };
            assert!(same(&got, &want), "{ctx}: {got:?} vs {want:?}");
            let dy = rng.floats(y_shape.iter().product());
            let got = gpu
                .adaptive_max_pool2d_backward(&xt, &gpu.tensor(&y_shape, &dy).unwrap(), size)
                .unwrap()
                .to_vec()
                .unwrap();
            let want = cpu::adaptive_max_pool2d_backward(&x, &dy, shape, size).unwrap();
            assert_close(&format!("{ctx} backward"), &shape, &got, &want, false);
        }
    }
    // The last NaN of a window wins, as torch's `v > best || isnan(v)`.
    let x = [1.0, f32::NAN, 3.0, f32::NAN];
    let dx = cpu::adaptive_max_pool2d_backward(&x, &[1.0], [1, 1, 2, 2], [1, 1]).unwrap();
    assert_eq!(dx, [0.0, 0.0, 0.0, 1.0]);
}
