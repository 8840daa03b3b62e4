//! Transposed convolution (`nn::ConvTranspose2d`,
//! `nn::functional::conv_transpose2d`) and the per-channel bias it adds:
//! outputs and every gradient against PyTorch's own
//! (tests/fixtures/torch_conv_transpose.json, from
//! scripts/make_conv_transpose_fixture.py: stride, padding,
//! output_padding, groups, dilation, no bias) within 1e-5 on the CPU
//! reference and every adapter; its plans shown by
//! `Gpu::explain_conv_transpose2d`; torch's errors; `add_channel_bias`
//! against the reference at both kernel widths.

mod common;

use common::{assert_close, gpus, ints, label, Rng};
use wgconv::nn::functional::conv_transpose2d;
use wgconv::nn::{Backend, BackendBase, ConvTranspose2d, Cpu, Graph, Init, Module};
use wgconv::{cpu, Conv2dParams, ConvOp, Error};

struct Case {
    x_shape: Vec<usize>,
    w_shape: Vec<usize>,
    y_shape: Vec<usize>,
    params: Conv2dParams,
    output_padding: [u32; 2],
    x: Vec<f32>,
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    y: Vec<f32>,
    dy: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Option<Vec<f32>>,
}

fn cases() -> Vec<Case> {
    let v = common::fixture("torch_conv_transpose.json");
    let floats = |v: &serde_json::Value| -> Option<Vec<f32>> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_f64().unwrap() as f32).collect())
    };
    let pair = |v: &serde_json::Value| -> [u32; 2] {
        let i = ints(v);
        [i[0] as u32, i[1] as u32]
    };
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            x_shape: ints(&c["x_shape"]),
            w_shape: ints(&c["w_shape"]),
            y_shape: ints(&c["y_shape"]),
            params: Conv2dParams {
                stride: pair(&c["stride"]),
                padding: pair(&c["padding"]),
                dilation: pair(&c["dilation"]),
                groups: c["groups"].as_u64().unwrap() as u32,
            },
            output_padding: pair(&c["output_padding"]),
            x: floats(&c["x"]).unwrap(),
            w: floats(&c["w"]).unwrap(),
            b: floats(&c["b"]),
            y: floats(&c["y"]).unwrap(),
            dy: floats(&c["dy"]).unwrap(),
            dx: floats(&c["dx"]).unwrap(),
            dw: floats(&c["dw"]).unwrap(),
            db: floats(&c["db"]),
        })
        .collect()
}

fn check_case<B: Backend>(b: B, who: &str, i: usize, c: &Case) {
    let ctx = format!("{who} case {i}");
    let g = Graph::new(b.clone());
    let x = g.input_with_grad(b.tensor(&c.x_shape, &c.x).unwrap());
    let w = g.input_with_grad(b.tensor(&c.w_shape, &c.w).unwrap());
    let bias =
        c.b.as_ref()
            .map(|v| g.input_with_grad(b.tensor(&[v.len()], v).unwrap()));
    let y = conv_transpose2d(&x, &w, bias.as_ref(), &c.params, c.output_padding).unwrap();
    assert_eq!(y.shape(), &c.y_shape[..], "{ctx}");
    assert_close(
        &format!("{ctx} y"),
        &c.y_shape,
        &b.to_vec(y.value()).unwrap(),
        &c.y,
        false,
    );
    common::backward_from(&y, &c.dy);
    let grad = |v: &wgconv::nn::Var<B>| b.to_vec(&v.grad().unwrap()).unwrap();
    assert_close(&format!("{ctx} dx"), &c.x_shape, &grad(&x), &c.dx, false);
    assert_close(&format!("{ctx} dw"), &c.w_shape, &grad(&w), &c.dw, false);
    if let (Some(bv), Some(db)) = (&bias, &c.db) {
        assert_close(&format!("{ctx} db"), &[db.len()], &grad(bv), db, false);
    }
}

#[test]
fn conv_transpose_matches_pytorch_everywhere() {
    let cases = cases();
    assert_eq!(cases.len(), 6);
    for (i, c) in cases.iter().enumerate() {
        check_case(Cpu::<f32>::new(), "cpu", i, c);
        for gpu in gpus() {
            check_case(gpu.clone(), &label(gpu), i, c);
        }
    }
}

#[test]
fn the_layer_has_torchs_parameters_and_plans() {
    let b = Cpu::<f32>::new();
    let init = &mut Init::new(b, 3);
    let p = Conv2dParams {
        stride: [2, 2],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 2,
    };
    let layer = ConvTranspose2d::new(init, 4, 6, [3, 3], p, [1, 1], true).unwrap();
    assert_eq!(Module::<Cpu<f32>>::kind(&layer), "ConvTranspose2d");
    assert_eq!(b.shape(layer.weight.value()), &[4, 3, 3, 3]);
    // torch's bound: 1/√(out/groups · kh · kw) = 1/√27.
    let bound = 1.0 / 27f32.sqrt();
    let w = b.to_vec(layer.weight.value()).unwrap();
    assert!(w.iter().all(|v| v.abs() <= bound));
    assert!(w.iter().any(|v| v.abs() > 0.9 * bound));
    assert_eq!(b.shape(layer.bias.as_ref().unwrap().value()), &[6]);
    // The three plans: forward on the input-gradient kernels, and so on.
    for gpu in gpus() {
        let plans = gpu
            .explain_conv_transpose2d([2, 4, 5, 5], [4, 3, 3, 3], &p, [1, 1])
            .unwrap();
        let ops: Vec<ConvOp> = plans.iter().map(|p| p.op).collect();
        assert_eq!(
            ops,
            [ConvOp::InputGrad, ConvOp::Forward, ConvOp::WeightGrad]
        );
    }
    // torch's errors: output_padding not below the stride or dilation,
    // groups that do not divide, a weight of other input channels.
    assert!(
        ConvTranspose2d::new(init, 4, 6, [3, 3], Conv2dParams::default(), [1, 0], true).is_err()
    );
    assert!(ConvTranspose2d::new(init, 3, 6, [3, 3], p, [0, 0], true).is_err());
    let g = Graph::new(b);
    let x = g.input(b.tensor(&[1, 3, 4, 4], &[0.0; 48]).unwrap());
    let w = g.input(b.tensor(&[4, 2, 3, 3], &[0.0; 72]).unwrap());
    let e = conv_transpose2d(&x, &w, None, &Conv2dParams::default(), [0, 0]);
    assert!(
        matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("4 input channels")),
        "{:?}",
        e.err()
    );
}

#[test]
fn add_channel_bias_matches_the_reference() {
    let mut rng = Rng::new(8);
    for gpu in gpus() {
        for shape in [
            vec![2, 3, 2, 2],
            vec![3, 5],
            vec![1, 4, 3, 3],
            vec![2, 2, 1, 1],
        ] {
            let len: usize = shape.iter().product();
            let x = rng.floats(len);
            let bias = rng.floats(shape[1]);
            let got = gpu
                .add_channel_bias(
                    &gpu.tensor(&shape, &x).unwrap(),
                    &gpu.tensor(&[shape[1]], &bias).unwrap(),
                )
                .unwrap()
                .to_vec()
                .unwrap();
            let want = cpu::add_channel_bias(&x, &shape, &bias).unwrap();
            assert_eq!(got, want, "{} {shape:?}", label(gpu));
        }
        let x = gpu.tensor(&[2, 3, 2, 2], &[0.0; 24]).unwrap();
        assert!(gpu
            .add_channel_bias(&x, &gpu.tensor(&[2], &[0.0; 2]).unwrap())
            .is_err());
    }
}
