//! Upsampling (`nn::Upsample`, `Var::interpolate`, torch's
//! `F.interpolate`): nearest, and bilinear with `align_corners` false and
//! true, by size and by scale factor, up and down, held to PyTorch's
//! outputs and input gradients (tests/fixtures/torch_upsample.json, from
//! scripts/make_upsample_fixture.py) on the CPU reference and every
//! adapter within 1e-5; every adapter against the reference on random
//! geometries; the backward pass of the reference against finite
//! differences; torch's errors.

mod common;

use common::{assert_close, floats, gpus, ints, label, Rng};
use wgconv::nn::{Backend, BackendBase, Cpu, Graph, Module, Upsample};
use wgconv::{cpu, Error, Upsample2dParams, UpsampleMode};

struct Case {
    shape: [usize; 4],
    params: Upsample2dParams,
    x: Vec<f32>,
    y_shape: Vec<usize>,
    y: Vec<f32>,
    dy: Vec<f32>,
    dx: Vec<f32>,
}

fn cases() -> Vec<Case> {
    let v = common::fixture("torch_upsample.json");
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mode = match (c["mode"].as_str().unwrap(), c["align_corners"].as_bool()) {
                ("nearest", _) => UpsampleMode::Nearest,
                (_, Some(a)) => UpsampleMode::Bilinear { align_corners: a },
                _ => unreachable!(),
            };
            let params = if c["size"].is_null() {
                let f = floats(&c["factor"]);
                Upsample2dParams::scale(mode, [f[0], f[1]])
            } else {
                let s = ints(&c["size"]);
                Upsample2dParams::size(mode, [s[0], s[1]])
            };
            let s = ints(&c["shape"]);
            Case {
                shape: [s[0], s[1], s[2], s[3]],
                params,
                x: floats(&c["x"]),
                y_shape: ints(&c["y_shape"]),
                y: floats(&c["y"]),
                dy: floats(&c["dy"]),
                dx: floats(&c["dx"]),
            }
        })
        .collect()
}

fn check<B: Backend>(b: B, who: &str, i: usize, c: &Case) {
    let ctx = format!("{who} case {i} {:?}", c.params);
    let g = Graph::new(b.clone());
    let x = g.input_with_grad(b.tensor(&c.shape, &c.x).unwrap());
    let y = Upsample(c.params).forward(&x).unwrap();
    assert_eq!(y.shape(), &c.y_shape[..], "{ctx}");
    assert_close(
        &format!("{ctx} y"),
        &c.y_shape,
        &b.to_vec(y.value()).unwrap(),
        &c.y,
        false,
    );
    let dx = b
        .upsample2d_backward(&b.tensor(&c.y_shape, &c.dy).unwrap(), c.shape, &c.params)
        .unwrap();
    assert_close(
        &format!("{ctx} dx"),
        &c.shape,
        &b.to_vec(&dx).unwrap(),
        &c.dx,
        false,
    );
}

use wgconv::nn::Forward;

#[test]
fn upsampling_matches_pytorch_everywhere() {
    let cases = cases();
    assert_eq!(cases.len(), 21);
    for (i, c) in cases.iter().enumerate() {
        check(Cpu::<f32>::new(), "cpu", i, c);
        for gpu in gpus() {
            check(gpu.clone(), &label(gpu), i, c);
        }
    }
    assert_eq!(
        Module::<Cpu<f32>>::kind(&Upsample(cases[0].params)),
        "Upsample"
    );
}

const MODES: [UpsampleMode; 3] = [
    UpsampleMode::Nearest,
    UpsampleMode::Bilinear {
        align_corners: false,
    },
    UpsampleMode::Bilinear {
        align_corners: true,
    },
];

#[test]
fn every_adapter_matches_the_reference() {
    let mut rng = Rng::new(6);
    for gpu in gpus() {
        for _ in 0..12 {
            let shape = [
                rng.range(1, 2),
                rng.range(1, 3),
                rng.range(1, 9),
                rng.range(1, 9),
            ];
            let size = [rng.range(1, 20), rng.range(1, 20)];
            for mode in MODES {
                let p = Upsample2dParams::size(mode, size);
                let len: usize = shape.iter().product();
                let x = rng.floats(len);
                let ctx = format!("{} {shape:?} -> {size:?} {mode:?}", label(gpu));
                let got = gpu
                    .upsample2d(&gpu.tensor(&shape, &x).unwrap(), &p)
                    .unwrap()
                    .to_vec()
                    .unwrap();
                let want = cpu::upsample2d(&x, shape, &p).unwrap();
                let y_shape = [shape[0], shape[1], size[0], size[1]];
                assert_close(&ctx, &y_shape, &got, &want, false);
                let dy = rng.floats(y_shape.iter().product());
                let got = gpu
                    .upsample2d_backward(&gpu.tensor(&y_shape, &dy).unwrap(), shape, &p)
                    .unwrap()
                    .to_vec()
                    .unwrap();
                let want = cpu::upsample2d_backward(&dy, shape, &p).unwrap();
                assert_close(&format!("{ctx} backward"), &shape, &got, &want, false);
            }
        }
    }
}

/// The backward pass is the adjoint of the forward: ⟨up(x), dy⟩ = ⟨x,
/// up'(dy)⟩ in f64, for random x and dy (the forward is linear in x).
#[test]
fn the_backward_pass_is_the_adjoint() {
    let mut rng = Rng::new(7);
    for mode in MODES {
        for (shape, size) in [
            ([1, 2, 5, 4], [9, 3]),
            ([2, 1, 3, 7], [3, 14]),
            ([1, 1, 6, 6], [2, 5]),
        ] {
            let p = Upsample2dParams::size(mode, size);
            let x: Vec<f64> = rng
                .floats(shape.iter().product())
                .into_iter()
                .map(f64::from)
                .collect();
            let y_len = shape[0] * shape[1] * size[0] * size[1];
            let dy: Vec<f64> = rng.floats(y_len).into_iter().map(f64::from).collect();
            let y = cpu::upsample2d(&x, shape, &p).unwrap();
            let dx = cpu::upsample2d_backward(&dy, shape, &p).unwrap();
            let lhs: f64 = y.iter().zip(&dy).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-6 * (1.0 + lhs.abs()),
                "{mode:?} {shape:?}: {lhs} {rhs}"
            );
        }
    }
}

#[test]
fn bad_sizes_are_refused() {
    let b = Cpu::<f32>::new();
    let x = b.tensor(&[1, 1, 2, 2], &[0.0; 4]).unwrap();
    let neither = Upsample2dParams {
        mode: UpsampleMode::Nearest,
        size: None,
        scale_factor: None,
    };
    for p in [
        neither,
        Upsample2dParams::size(UpsampleMode::Nearest, [0, 3]),
        Upsample2dParams::scale(UpsampleMode::Nearest, [0.0, 2.0]),
        Upsample2dParams::scale(UpsampleMode::Nearest, [f32::NAN, 2.0]),
        Upsample2dParams::scale(UpsampleMode::Nearest, [0.2, 2.0]),
    ] {
        let e = b.upsample2d(&x, &p);
        assert!(matches!(e, Err(Error::InvalidParam { .. })), "{p:?}: {e:?}");
        for gpu in gpus() {
            let gx = gpu.tensor(&[1, 1, 2, 2], &[0.0; 4]).unwrap();
            assert!(gpu.upsample2d(&gx, &p).is_err(), "{p:?}");
        }
    }
}
