//! The element-wise losses (`L1Loss`, `SmoothL1Loss`, `BCEWithLogitsLoss`
//! with and without `pos_weight`; `nn::functional::pointwise_loss` and its
//! named forms): the loss and the prediction's gradient against PyTorch's
//! (tests/fixtures/torch_losses.json, from scripts/make_loss_fixture.py,
//! logits of ±40 included) on the CPU reference and every adapter within
//! 1e-5, through the autodiff; larger random inputs against the
//! reference; the reference's gradient against central differences; the
//! errors torch raises.

mod common;

use common::{assert_close, floats, gpus, label, Rng};
use wgconv::nn::functional::pointwise_loss;
use wgconv::nn::{Backend, BackendBase, Cpu, Graph};
use wgconv::{cpu, Error, PointwiseLoss};

fn kind(name: &str) -> (PointwiseLoss, Option<Vec<f32>>) {
    match name {
        "l1" => (PointwiseLoss::L1, None),
        "smooth_l1_1" => (PointwiseLoss::SmoothL1 { beta: 1.0 }, None),
        "smooth_l1_0.5" => (PointwiseLoss::SmoothL1 { beta: 0.5 }, None),
        "smooth_l1_0" => (PointwiseLoss::SmoothL1 { beta: 0.0 }, None),
        "bce" => (PointwiseLoss::BceWithLogits, None),
        "bce_pos_weight" => (
            PointwiseLoss::BceWithLogits,
            Some(vec![0.5, 1.0, 2.0, 3.0, 0.25]),
        ),
        other => panic!("unknown case {other}"),
    }
}

fn check<B: Backend>(b: B, who: &str, c: &serde_json::Value) {
    let name = c["name"].as_str().unwrap();
    let (k, pw) = kind(name);
    let shape = [6, 5];
    let g = Graph::new(b.clone());
    let y = g.input_with_grad(b.tensor(&shape, &floats(&c["y"])).unwrap());
    let t = g.input(b.tensor(&shape, &floats(&c["t"])).unwrap());
    let pw = pw.map(|w| b.tensor(&[5], &w).unwrap());
    let loss = pointwise_loss(&y, &t, k, pw.as_ref()).unwrap();
    let got = b.to_vec(loss.value()).unwrap()[0];
    let want = c["loss"].as_f64().unwrap() as f32;
    assert!(
        (got - want).abs() <= 1e-5 * want.abs().max(1.0),
        "{who} {name}: loss {got} against {want}"
    );
    loss.backward().unwrap();
    let dy = b.to_vec(&y.grad().unwrap()).unwrap();
    assert_close(
        &format!("{who} {name} dy"),
        &shape,
        &dy,
        &floats(&c["dy"]),
        false,
    );
}

#[test]
fn losses_match_pytorch_everywhere() {
    let v = common::fixture("torch_losses.json");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for c in cases {
        check(Cpu::<f32>::new(), "cpu", c);
        for gpu in gpus() {
            check(gpu.clone(), &label(gpu), c);
        }
    }
}

const KINDS: [PointwiseLoss; 4] = [
    PointwiseLoss::L1,
    PointwiseLoss::SmoothL1 { beta: 1.0 },
    PointwiseLoss::SmoothL1 { beta: 0.3 },
    PointwiseLoss::BceWithLogits,
];

#[test]
fn every_adapter_matches_the_reference() {
    let mut rng = Rng::new(31);
    for gpu in gpus() {
        for len in [1, 7, 300, 5000] {
            let y: Vec<f32> = rng.floats(len).iter().map(|v| v * 6.0).collect();
            let t: Vec<f32> = rng.floats(len).iter().map(|v| (v + 1.0) / 2.0).collect();
            for k in KINDS {
                let (want_loss, want_dy) = cpu::pointwise_loss(&y, &t, k, None).unwrap();
                let (yt, tt) = (
                    gpu.tensor(&[len], &y).unwrap(),
                    gpu.tensor(&[len], &t).unwrap(),
                );
                let loss = gpu
                    .pointwise_loss(&yt, &tt, k, None)
                    .unwrap()
                    .to_vec()
                    .unwrap();
                let ctx = format!("{} {k:?} len {len}", label(gpu));
                assert_close(&ctx, &[1], &loss, &[want_loss], false);
                let dy = gpu
                    .pointwise_loss_backward(&yt, &tt, k, None)
                    .unwrap()
                    .to_vec()
                    .unwrap();
                assert_close(&format!("{ctx} dy"), &[len], &dy, &want_dy, false);
            }
        }
    }
}

/// Central differences of the f64 reference, away from the kinks.
#[test]
fn the_gradients_are_the_derivatives() {
    let mut rng = Rng::new(32);
    let y: Vec<f64> = rng.floats(40).iter().map(|&v| v as f64 * 5.0).collect();
    let t: Vec<f64> = rng
        .floats(40)
        .iter()
        .map(|&v| (v as f64 + 1.0) / 2.0)
        .collect();
    let pw: Vec<f64> = vec![0.5, 2.0, 1.0, 3.0];
    for (k, w) in [
        (PointwiseLoss::L1, None),
        (PointwiseLoss::SmoothL1 { beta: 0.7 }, None),
        (PointwiseLoss::BceWithLogits, None),
        (PointwiseLoss::BceWithLogits, Some(&pw[..])),
    ] {
        let (_, dy) = cpu::pointwise_loss(&y, &t, k, w).unwrap();
        for i in 0..y.len() {
            let d = y[i] - t[i];
            if d.abs() < 1e-3 || (d.abs() - 0.7).abs() < 1e-3 {
                continue;
            }
            let h = 1e-6;
            let mut up = y.clone();
            up[i] += h;
            let mut down = y.clone();
            down[i] -= h;
            let fd = (cpu::pointwise_loss(&up, &t, k, w).unwrap().0
                - cpu::pointwise_loss(&down, &t, k, w).unwrap().0)
                / (2.0 * h);
            assert!(
                (fd - dy[i]).abs() < 1e-7,
                "{k:?} at {i}: {} against {fd}",
                dy[i]
            );
        }
    }
}

#[test]
fn bad_arguments_are_refused() {
    let b = Cpu::<f32>::new();
    let y = b.tensor(&[2, 3], &[0.0; 6]).unwrap();
    let t = b.tensor(&[2, 3], &[0.0; 6]).unwrap();
    let w4 = b.tensor(&[4], &[1.0; 4]).unwrap();
    let w3 = b.tensor(&[3], &[1.0; 3]).unwrap();
    let refused = |r: Result<_, Error>, what: &str| {
        assert!(matches!(r, Err(Error::InvalidParam { .. })), "{what}");
    };
    refused(
        b.pointwise_loss(&y, &t, PointwiseLoss::BceWithLogits, Some(&w4)),
        "pos_weight of 4 for 3 classes",
    );
    refused(
        b.pointwise_loss(&y, &t, PointwiseLoss::L1, Some(&w3)),
        "pos_weight for L1",
    );
    refused(
        b.pointwise_loss(&y, &t, PointwiseLoss::SmoothL1 { beta: -1.0 }, None),
        "negative beta",
    );
    let short = b.tensor(&[2, 2], &[0.0; 4]).unwrap();
    assert!(b
        .pointwise_loss(&y, &short, PointwiseLoss::L1, None)
        .is_err());
    for gpu in gpus() {
        let y = gpu.tensor(&[2, 3], &[0.0; 6]).unwrap();
        let w4 = gpu.tensor(&[4], &[1.0; 4]).unwrap();
        assert!(gpu
            .pointwise_loss(&y, &y, PointwiseLoss::BceWithLogits, Some(&w4))
            .is_err());
        assert!(gpu
            .pointwise_loss(&y, &y, PointwiseLoss::SmoothL1 { beta: f32::NAN }, None)
            .is_err());
    }
    // Targets that need a gradient are refused, as for every wgconv loss.
    let g = Graph::new(b);
    let yv = g.input_with_grad(y.clone());
    let tv = g.input_with_grad(t.clone());
    assert!(pointwise_loss(&yv, &tv, PointwiseLoss::L1, None).is_err());
}

/// Class-index cross-entropy (`cross_entropy_index`: weights,
/// `ignore_index`, label smoothing, all three) and `nll_loss` against
/// PyTorch's loss and gradient (tests/fixtures/torch_cross_entropy.json,
/// from scripts/make_cross_entropy_fixture.py), through the autodiff.
fn cross_entropy_on<B: Backend>(b: B, who: &str, v: &serde_json::Value) {
    use wgconv::nn::functional::{cross_entropy_index, nll_loss};
    use wgconv::NllOptions;
    let (n, c) = (
        v["n"].as_u64().unwrap() as usize,
        v["c"].as_u64().unwrap() as usize,
    );
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let t: Vec<i64> = case["t"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        let w =
            (!case["weight"].is_null()).then(|| b.tensor(&[c], &floats(&case["weight"])).unwrap());
        let o = NllOptions {
            ignore_index: case["ignore_index"].as_i64().unwrap(),
            label_smoothing: case["label_smoothing"].as_f64().unwrap() as f32,
        };
        let g = Graph::new(b.clone());
        let x = g.input_with_grad(b.tensor(&[n, c], &floats(&case["x"])).unwrap());
        let loss = if case["nll"].as_bool().unwrap() {
            nll_loss(&x, &t, w.as_ref(), &o)
        } else {
            cross_entropy_index(&x, &t, w.as_ref(), &o)
        }
        .unwrap();
        let got = b.to_vec(loss.value()).unwrap()[0];
        let want = case["loss"].as_f64().unwrap() as f32;
        assert!(
            (got - want).abs() <= 1e-5 * want.abs().max(1.0),
            "{who} {name}: loss {got} against {want}"
        );
        loss.backward().unwrap();
        let dx = b.to_vec(&x.grad().unwrap()).unwrap();
        assert_close(
            &format!("{who} {name} dx"),
            &[n, c],
            &dx,
            &floats(&case["dx"]),
            false,
        );
    }
}

#[test]
fn class_index_cross_entropy_matches_pytorch_everywhere() {
    let v = common::fixture("torch_cross_entropy.json");
    assert_eq!(v["cases"].as_array().unwrap().len(), 6);
    cross_entropy_on(Cpu::<f32>::new(), "cpu", &v);
    for gpu in gpus() {
        cross_entropy_on(gpu.clone(), &label(gpu), &v);
    }
}

#[test]
fn nll_arguments_are_checked() {
    use wgconv::NllOptions;
    let b = Cpu::<f32>::new();
    let logp = b.tensor(&[2, 3], &[-1.0; 6]).unwrap();
    let o = NllOptions::default();
    for (targets, what) in [
        (vec![0.0, 3.0], "class 3 of 3"),
        (vec![0.5, 1.0], "not whole"),
        (vec![0.0], "one target for two rows"),
        (vec![-1.0, 0.0], "negative, not the ignore index"),
    ] {
        assert!(b.nll_loss(&logp, &targets, None, &o).is_err(), "{what}");
        for gpu in gpus() {
            let l = gpu.tensor(&[2, 3], &[-1.0; 6]).unwrap();
            assert!(gpu.nll_loss(&l, &targets, None, &o).is_err(), "{what}");
        }
    }
    let smoothing = NllOptions {
        label_smoothing: 1.5,
        ..o
    };
    assert!(b.nll_loss(&logp, &[0.0, 1.0], None, &smoothing).is_err());
    let w = b.tensor(&[2], &[1.0; 2]).unwrap();
    assert!(b.nll_loss(&logp, &[0.0, 1.0], Some(&w), &o).is_err());
    // Every row ignored: 0/0, NaN, as torch.
    let ignore = NllOptions {
        ignore_index: 1,
        ..o
    };
    let l = b.nll_loss(&logp, &[1.0, 1.0], None, &ignore).unwrap();
    assert!(b.to_vec(&l).unwrap()[0].is_nan());
}
