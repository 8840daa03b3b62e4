//! The activations of `wgconv::Activation` (ReLU6, LeakyReLU, ELU, GELU
//! in both forms, SiLU, Hardswish, Hardsigmoid, Tanh): the CPU reference
//! against PyTorch's own values and gradients (tests/fixtures/
//! torch_activations.json, from scripts/make_activation_fixture.py, with
//! every kink, large and tiny values) and against central differences in
//! f64; every adapter against the reference on awkward lengths (scalar and
//! vec4 kernels) and the fixture; NaN passes through; the modules and
//! `Var` methods train a model the same on the GPU as on the CPU.

mod common;

use common::{assert_close, floats, gpus, label, Rng};
use wgconv::cpu;
use wgconv::nn::{
    self, Backend, BackendBase, Conv2d, Cpu, Elu, Flatten, Gelu, Hardsigmoid, Hardswish, Init,
    LeakyRelu, Linear, Loss, Module, Optimizer, OptimizerConfig, Relu6, Sequential, Silu, Tanh,
};
use wgconv::{Activation, Adam, Error};

const ALL: [(&str, Activation); 9] = [
    ("relu6", Activation::Relu6),
    (
        "leaky_relu",
        Activation::LeakyRelu {
            negative_slope: 0.1,
        },
    ),
    ("elu", Activation::Elu { alpha: 0.7 }),
    ("gelu", Activation::Gelu),
    ("gelu_tanh", Activation::GeluTanh),
    ("silu", Activation::Silu),
    ("hardswish", Activation::Hardswish),
    ("hardsigmoid", Activation::Hardsigmoid),
    ("tanh", Activation::Tanh),
];

struct Fixture {
    x: Vec<f32>,
    dy: Vec<f32>,
    cases: Vec<(String, Vec<f32>, Vec<f32>)>,
}

fn fixture() -> Fixture {
    let v = common::fixture("torch_activations.json");
    Fixture {
        x: floats(&v["x"]),
        dy: floats(&v["dy"]),
        cases: v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    floats(&c["y"]),
                    floats(&c["dx"]),
                )
            })
            .collect(),
    }
}

#[test]
fn the_reference_matches_pytorch() {
    let f = fixture();
    assert_eq!(f.cases.len(), ALL.len());
    for ((name, act), (torch_name, y, dx)) in ALL.iter().zip(&f.cases) {
        assert_eq!(name, torch_name);
        let got = cpu::activate(&f.x, *act);
        assert_close(&format!("{name} forward"), &[got.len()], &got, y, false);
        let got = cpu::activate_backward(&f.x, &f.dy, *act).unwrap();
        assert_close(&format!("{name} backward"), &[got.len()], &got, dx, false);
    }
}

#[test]
fn every_adapter_matches_pytorch() {
    let f = fixture();
    for gpu in gpus() {
        let x = gpu.tensor(&[f.x.len()], &f.x).unwrap();
        let dy = gpu.tensor(&[f.dy.len()], &f.dy).unwrap();
        for ((name, act), (_, y, dx)) in ALL.iter().zip(&f.cases) {
            let ctx = format!("{} {name}", label(gpu));
            let got = gpu.activate(&x, *act).unwrap().to_vec().unwrap();
            assert_close(&format!("{ctx} forward"), &[got.len()], &got, y, false);
            let got = gpu
                .activate_backward(&x, &dy, *act)
                .unwrap()
                .to_vec()
                .unwrap();
            assert_close(&format!("{ctx} backward"), &[got.len()], &got, dx, false);
        }
    }
}

/// Central differences of the f64 reference, away from the kinks.
#[test]
fn the_backward_passes_are_the_derivatives() {
    let mut rng = Rng::new(3);
    let x: Vec<f64> = (0..200)
        .map(|_| rng.unit() as f64 * 8.0)
        .filter(|v| {
            [0.0f64, 3.0, -3.0, 6.0]
                .iter()
                .all(|k| (v - k).abs() > 1e-3)
        })
        .collect();
    let ones = vec![1.0f64; x.len()];
    for (name, act) in ALL {
        let dx = cpu::activate_backward(&x, &ones, act).unwrap();
        let h = 1e-6;
        for (i, &xi) in x.iter().enumerate() {
            let up = cpu::activate(&[xi + h], act)[0];
            let down = cpu::activate(&[xi - h], act)[0];
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - dx[i]).abs() <= 1e-6 * (1.0 + fd.abs()),
                "{name} at {xi}: backward {} against {fd}",
                dx[i]
            );
        }
    }
}

/// Lengths that are and are not whole vec4s, values in [-8, 8): every
/// adapter within 1e-5 of the reference, forward and backward; NaN in,
/// NaN out.
#[test]
fn every_adapter_matches_the_reference() {
    let mut rng = Rng::new(9);
    for gpu in gpus() {
        for len in [1, 3, 4, 7, 64, 333, 1024] {
            let xs: Vec<f32> = (0..len).map(|_| rng.unit() * 8.0).collect();
            let dys = rng.floats(len);
            let x = gpu.tensor(&[len], &xs).unwrap();
            let dy = gpu.tensor(&[len], &dys).unwrap();
            for (name, act) in ALL {
                let ctx = format!("{} {name} len {len}", label(gpu));
                let got = gpu.activate(&x, act).unwrap().to_vec().unwrap();
                assert_close(&ctx, &[len], &got, &cpu::activate(&xs, act), false);
                let got = gpu
                    .activate_backward(&x, &dy, act)
                    .unwrap()
                    .to_vec()
                    .unwrap();
                let want = cpu::activate_backward(&xs, &dys, act).unwrap();
                assert_close(&format!("{ctx} backward"), &[len], &got, &want, false);
            }
        }
        let nan = gpu.tensor(&[4], &[f32::NAN, 1.0, -1.0, f32::NAN]).unwrap();
        for (name, act) in ALL {
            let y = gpu.activate(&nan, act).unwrap().to_vec().unwrap();
            assert!(
                y[0].is_nan() && y[3].is_nan(),
                "{} {name}: {y:?}",
                label(gpu)
            );
            assert!(cpu::activate(&[f32::NAN], act)[0].is_nan(), "{name}");
        }
    }
}

#[test]
fn a_parameter_that_is_not_finite_is_refused() {
    let b = Cpu::<f32>::new();
    let x = b.tensor(&[2], &[1.0, -1.0]).unwrap();
    for act in [
        Activation::LeakyRelu {
            negative_slope: f32::NAN,
        },
        Activation::Elu {
            alpha: f32::INFINITY,
        },
    ] {
        let e = b.activate(&x, act);
        assert!(
            matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("not finite")),
            "{e:?}"
        );
        for gpu in gpus() {
            let x = gpu.tensor(&[2], &[1.0, -1.0]).unwrap();
            assert!(gpu.activate(&x, act).is_err());
        }
    }
}

/// A model using every activation module, trained 5 steps on each adapter
/// and on the CPU reference: the same losses within 1e-5 relative.
#[test]
fn modules_train_the_same_on_every_adapter() {
    fn model<B: Backend>(b: B) -> Sequential<B> {
        let init = &mut Init::new(b, 4);
        Sequential::new()
            .push(Conv2d::square(init, 1, 8, 3, 1, 1, true).unwrap())
            .push(Gelu::default())
            .push(Conv2d::square(init, 8, 8, 3, 1, 1, true).unwrap())
            .push(Silu)
            .push(Conv2d::square(init, 8, 8, 3, 1, 1, true).unwrap())
            .push(Hardswish)
            .push(Conv2d::square(init, 8, 8, 3, 1, 1, true).unwrap())
            .push(LeakyRelu::default())
            .push(Conv2d::square(init, 8, 4, 3, 1, 1, true).unwrap())
            .push(Elu::default())
            .push(Flatten)
            .push(Linear::new(init, 4 * 6 * 6, 16, true).unwrap())
            .push(Tanh)
            .push(Linear::new(init, 16, 16, true).unwrap())
            .push(Relu6)
            .push(Linear::new(init, 16, 16, true).unwrap())
            .push(Hardsigmoid)
            .push(Linear::new(init, 16, 16, true).unwrap())
            .push(Gelu { tanh: true })
            .push(Linear::new(init, 16, 10, true).unwrap())
    }
    fn losses<B: Backend>(b: B) -> Vec<f32> {
        let mut rng = Rng::new(5);
        let x = b.tensor(&[4, 1, 6, 6], &rng.floats(144)).unwrap();
        let t = b
            .tensor(&[4, 10], &nn::one_hot(&[1, 5, 9, 0], 10).unwrap())
            .unwrap();
        let mut m = model(b.clone());
        let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam {
            lr: 1e-2,
            ..Adam::default()
        }))
        .unwrap();
        (0..5)
            .map(|_| {
                nn::train_step(
                    &b,
                    &mut m,
                    &x,
                    &t,
                    Loss::SoftmaxCrossEntropy,
                    &mut opt,
                    true,
                )
                .unwrap()
                .unwrap()
            })
            .collect()
    }
    type C = Cpu<f32>;
    let kinds: Vec<&str> = vec![
        Module::<C>::kind(&Relu6),
        Module::<C>::kind(&LeakyRelu::default()),
        Module::<C>::kind(&Elu::default()),
        Module::<C>::kind(&Gelu::default()),
        Module::<C>::kind(&Gelu { tanh: true }),
        Module::<C>::kind(&Silu),
        Module::<C>::kind(&Hardswish),
        Module::<C>::kind(&Hardsigmoid),
        Module::<C>::kind(&Tanh),
    ];
    assert_eq!(
        kinds,
        [
            "ReLU6",
            "LeakyReLU",
            "ELU",
            "GELU",
            "GELU",
            "SiLU",
            "Hardswish",
            "Hardsigmoid",
            "Tanh"
        ]
    );
    assert_eq!(LeakyRelu::default().negative_slope, 0.01);
    assert_eq!(Elu::default().alpha, 1.0);
    let want = losses(Cpu::<f32>::new());
    assert!(want[4] < want[0], "{want:?}");
    for gpu in gpus() {
        let got = losses(gpu.clone());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                "{}: {got:?} against {want:?}",
                label(gpu)
            );
        }
    }
}
