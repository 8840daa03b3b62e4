//! Softmax and log-softmax along any axis (`Var::softmax`,
//! `Var::log_softmax`, `nn::Softmax`, `nn::LogSoftmax`): outputs and
//! input gradients against PyTorch's (tests/fixtures/torch_softmax.json,
//! from scripts/make_softmax_fixture.py: every axis of four shapes, a
//! logit of 60) on the CPU reference and every adapter within 1e-5;
//! random tensors against the reference; rows sum to 1; a bad axis is an
//! error.

mod common;

use common::{assert_close, floats, gpus, label, Rng};
use wgconv::nn::{Backend, BackendBase, Cpu, Forward, Graph, LogSoftmax, Module, Softmax};
use wgconv::{cpu, Error};

struct Case {
    shape: Vec<usize>,
    dim: usize,
    log: bool,
    x: Vec<f32>,
    y: Vec<f32>,
    dy: Vec<f32>,
    dx: Vec<f32>,
}

fn cases() -> Vec<Case> {
    let v = common::fixture("torch_softmax.json");
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            shape: c["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect(),
            dim: c["dim"].as_u64().unwrap() as usize,
            log: c["log"].as_bool().unwrap(),
            x: floats(&c["x"]),
            y: floats(&c["y"]),
            dy: floats(&c["dy"]),
            dx: floats(&c["dx"]),
        })
        .collect()
}

fn check<B: Backend>(b: B, who: &str, i: usize, c: &Case) {
    let ctx = format!("{who} case {i} {:?} dim {} log {}", c.shape, c.dim, c.log);
    let g = Graph::new(b.clone());
    let x = g.input(b.tensor(&c.shape, &c.x).unwrap());
    let y = if c.log {
        LogSoftmax { dim: c.dim }.forward(&x).unwrap()
    } else {
        Softmax { dim: c.dim }.forward(&x).unwrap()
    };
    assert_close(
        &format!("{ctx} y"),
        &c.shape,
        &b.to_vec(y.value()).unwrap(),
        &c.y,
        false,
    );
    let dy = b.tensor(&c.shape, &c.dy).unwrap();
    let dx = if c.log {
        b.log_softmax_backward(y.value(), &dy, c.dim).unwrap()
    } else {
        b.softmax_backward(y.value(), &dy, c.dim).unwrap()
    };
    assert_close(
        &format!("{ctx} dx"),
        &c.shape,
        &b.to_vec(&dx).unwrap(),
        &c.dx,
        false,
    );
}

#[test]
fn softmax_matches_pytorch_everywhere() {
    let cases = cases();
    assert_eq!(cases.len(), 22);
    for (i, c) in cases.iter().enumerate() {
        check(Cpu::<f32>::new(), "cpu", i, c);
        for gpu in gpus() {
            check(gpu.clone(), &label(gpu), i, c);
        }
    }
    type C = Cpu<f32>;
    assert_eq!(Module::<C>::kind(&Softmax { dim: 1 }), "Softmax");
    assert_eq!(Module::<C>::kind(&LogSoftmax { dim: 1 }), "LogSoftmax");
}

#[test]
fn every_adapter_matches_the_reference_and_rows_sum_to_one() {
    let mut rng = Rng::new(21);
    for gpu in gpus() {
        for shape in [vec![4, 10], vec![3, 1, 5], vec![2, 3, 7, 2], vec![130]] {
            let len: usize = shape.iter().product();
            let x: Vec<f32> = rng.floats(len).iter().map(|v| v * 10.0).collect();
            let dy = rng.floats(len);
            for dim in 0..shape.len() {
                for log in [false, true] {
                    let ctx = format!("{} {shape:?} dim {dim} log {log}", label(gpu));
                    let xt = gpu.tensor(&shape, &x).unwrap();
                    let y = if log {
                        gpu.log_softmax(&xt, dim)
                    } else {
                        gpu.softmax(&xt, dim)
                    }
                    .unwrap();
                    let want = cpu::softmax(&x, &shape, dim, log).unwrap();
                    let got = y.to_vec().unwrap();
                    assert_close(&ctx, &shape, &got, &want, false);
                    let dyt = gpu.tensor(&shape, &dy).unwrap();
                    let dx = if log {
                        gpu.log_softmax_backward(&y, &dyt, dim)
                    } else {
                        gpu.softmax_backward(&y, &dyt, dim)
                    }
                    .unwrap();
                    let want = cpu::softmax_backward(&want, &dy, &shape, dim, log).unwrap();
                    assert_close(
                        &format!("{ctx} backward"),
                        &shape,
                        &dx.to_vec().unwrap(),
                        &want,
                        false,
                    );
                    if !log && dim == shape.len() - 1 {
                        let n = shape[dim];
                        for row in got.chunks(n) {
                            let s: f32 = row.iter().sum();
                            assert!((s - 1.0).abs() < 1e-5, "{ctx}: a row sums to {s}");
                        }
                    }
                }
            }
        }
        let t = gpu.tensor(&[2, 3], &[0.0; 6]).unwrap();
        assert!(matches!(
            gpu.softmax(&t, 2),
            Err(Error::InvalidParam { param: "dim", .. })
        ));
    }
    let b = Cpu::<f32>::new();
    let t = b.tensor(&[2, 3], &[0.0; 6]).unwrap();
    assert!(matches!(
        b.log_softmax(&t, 5),
        Err(Error::InvalidParam { param: "dim", .. })
    ));
}
