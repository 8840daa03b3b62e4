//! BatchNorm2d: the GPU against the CPU reference in both modes (outputs,
//! saved statistics, running statistics, all three gradients) over awkward
//! shapes on every adapter; the reference against finite differences in
//! f64; eval mode uses the running statistics; bad input is a named error.
mod common;
use common::{assert_close, gpus, label, Rng};
use wgconv::{cpu, BatchNorm, Error, Gpu, Pool2dParams};

/// Shapes: one image, one channel, 1-wide rows, primes, the minimum of two
/// values per channel, and channels longer than one workgroup's 256 lanes;
/// planes of a multiple of 4 values take the vec4 kernels: one vector per
/// plane (the element-wise walk wraps the channel), more channels than an
/// invocation's 64-vector step, and 7 vectors per plane.
const SHAPES: [[usize; 4]; 9] = [
    [1, 5, 3, 3],
    [3, 1, 1, 7],
    [2, 4, 5, 6],
    [2, 3, 1, 1],
    [4, 3, 16, 17],
    [7, 2, 11, 13],
    [70, 3, 2, 2],
    [1, 70, 1, 4],
    [9, 5, 4, 7],
];

struct Inputs {
    x: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    dy: Vec<f32>,
}

fn inputs(shape: [usize; 4], rng: &mut Rng) -> Inputs {
    let len = shape.iter().product();
    let c = shape[1];
    Inputs {
        // Off-centre on purpose, so the mean matters.
        x: rng.floats(len).iter().map(|v| 3.0 + 2.0 * v).collect(),
        weight: rng.floats(c),
        bias: rng.floats(c),
        running_mean: rng.floats(c),
        running_var: rng.floats(c).iter().map(|v| 1.0 + v.abs()).collect(),
        dy: rng.floats(len),
    }
}

fn check_on(gpu: &Gpu, shape: [usize; 4], training: bool, inp: &Inputs) {
    let cfg = BatchNorm::default();
    let who = format!("{shape:?} training={training} on {}", label(gpu));
    let c = shape[1];
    let t = |d: &[f32], s: &[usize]| gpu.tensor(s, d).unwrap();
    let (x, w, b) = (t(&inp.x, &shape), t(&inp.weight, &[c]), t(&inp.bias, &[c]));
    let (mut rm, mut rv) = (t(&inp.running_mean, &[c]), t(&inp.running_var, &[c]));
    let (y, saved) = gpu
        .batch_norm2d(&x, &w, &b, &mut rm, &mut rv, training, &cfg)
        .unwrap();
    let (mut rm_ref, mut rv_ref) = (inp.running_mean.clone(), inp.running_var.clone());
    let (y_ref, saved_ref) = cpu::batch_norm2d(
        &inp.x,
        shape,
        &inp.weight,
        &inp.bias,
        &mut rm_ref,
        &mut rv_ref,
        training,
        &cfg,
    )
    .unwrap();
    assert_close(
        &format!("y {who}"),
        &shape,
        &y.to_vec().unwrap(),
        &y_ref,
        false,
    );
    assert_close(
        &format!("saved {who}"),
        &[c, 2],
        &saved.to_vec().unwrap(),
        &saved_ref,
        false,
    );
    assert_close(
        &format!("running_mean {who}"),
        &[c],
        &rm.to_vec().unwrap(),
        &rm_ref,
        false,
    );
    assert_close(
        &format!("running_var {who}"),
        &[c],
        &rv.to_vec().unwrap(),
        &rv_ref,
        false,
    );
    let dy = t(&inp.dy, &shape);
    let (dx, dw, db) = gpu
        .batch_norm2d_backward(&x, &dy, &w, &saved, training)
        .unwrap();
    let (dx_ref, dw_ref, db_ref) =
        cpu::batch_norm2d_backward(&inp.x, shape, &inp.dy, &inp.weight, &saved_ref, training)
            .unwrap();
    assert_close(
        &format!("dx {who}"),
        &shape,
        &dx.to_vec().unwrap(),
        &dx_ref,
        false,
    );
    assert_close(
        &format!("dweight {who}"),
        &[c],
        &dw.to_vec().unwrap(),
        &dw_ref,
        false,
    );
    assert_close(
        &format!("dbias {who}"),
        &[c],
        &db.to_vec().unwrap(),
        &db_ref,
        false,
    );
}

#[test]
fn gpu_batch_norm_matches_the_reference_in_both_modes() {
    let mut rng = Rng::new(17);
    for shape in SHAPES {
        let inp = inputs(shape, &mut rng);
        for gpu in gpus() {
            for training in [true, false] {
                check_on(gpu, shape, training, &inp);
            }
        }
    }
}

/// `batch_norm2d_relu` (one kernel pass) gives, bit for bit, what
/// `batch_norm2d` then `relu` give on the same adapter, forward and
/// backward, in both modes, over the awkward shapes with about half the
/// normalised values negative; and the running statistics move the same.
#[test]
fn fused_batch_norm_relu_is_batch_norm_then_relu_bit_for_bit() {
    let cfg = BatchNorm::default();
    let bits = |t: &wgconv::Tensor| {
        t.to_vec()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    let mut rng = Rng::new(23);
    let (mut cut, mut total) = (0, 0);
    for shape in SHAPES {
        let inp = inputs(shape, &mut rng);
        let c = shape[1];
        for gpu in gpus() {
            for training in [true, false] {
                let who = format!("{shape:?} training={training} on {}", label(gpu));
                let t = |d: &[f32], s: &[usize]| gpu.tensor(s, d).unwrap();
                let (x, w, b) = (t(&inp.x, &shape), t(&inp.weight, &[c]), t(&inp.bias, &[c]));
                let dy = t(&inp.dy, &shape);
                let (mut rm, mut rv) = (t(&inp.running_mean, &[c]), t(&inp.running_var, &[c]));
                let (mut rm2, mut rv2) = (t(&inp.running_mean, &[c]), t(&inp.running_var, &[c]));
                let (pre, saved) = gpu
                    .batch_norm2d(&x, &w, &b, &mut rm, &mut rv, training, &cfg)
                    .unwrap();
                let y = gpu.relu(&pre).unwrap();
                let (yf, saved_f) = gpu
                    .batch_norm2d_relu(&x, &w, &b, &mut rm2, &mut rv2, training, &cfg)
                    .unwrap();
                assert_eq!(bits(&yf), bits(&y), "y {who}");
                assert_eq!(bits(&saved_f), bits(&saved), "saved {who}");
                assert_eq!(bits(&rm2), bits(&rm), "running_mean {who}");
                assert_eq!(bits(&rv2), bits(&rv), "running_var {who}");
                cut += y.to_vec().unwrap().iter().filter(|v| **v == 0.0).count();
                total += y.len();
                let g = gpu.relu_backward(&pre, &dy).unwrap();
                let (dx, dw, db) = gpu
                    .batch_norm2d_backward(&x, &g, &w, &saved, training)
                    .unwrap();
                let (dxf, dwf, dbf) = gpu
                    .batch_norm2d_relu_backward(&x, &yf, &dy, &w, &b, &saved_f, training)
                    .unwrap();
                assert_eq!(bits(&dxf), bits(&dx), "dx {who}");
                assert_eq!(bits(&dwf), bits(&dw), "dweight {who}");
                assert_eq!(bits(&dbf), bits(&db), "dbias {who}");
            }
        }
    }
    // The masks were exercised: a good part of the values cut, not all.
    assert!(
        cut > total / 5 && cut < total * 4 / 5,
        "the ReLU cut {cut} of {total} values"
    );
}

/// Central differences of L = Σ y·r in f64, for x, weight and bias, in
/// both modes (training: the batch statistics move with x too).
#[test]
fn reference_batch_norm_backward_matches_finite_differences() {
    let mut rng = Rng::new(23);
    let cfg = BatchNorm::default();
    for shape in [[2, 3, 2, 3], [1, 2, 1, 5], [3, 1, 2, 2]] {
        let c = shape[1];
        let f = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        let x = f(rng.floats(shape.iter().product()));
        let w = f(rng.floats(c));
        let b = f(rng.floats(c));
        let r = f(rng.floats(x.len()));
        for training in [true, false] {
            let loss = |x: &[f64], w: &[f64], b: &[f64]| {
                let (mut rm, mut rv) = (vec![0.5; c], vec![2.0; c]);
                let (y, _) =
                    cpu::batch_norm2d(x, shape, w, b, &mut rm, &mut rv, training, &cfg).unwrap();
                y.iter().zip(&r).map(|(a, b)| a * b).sum::<f64>()
            };
            let (mut rm, mut rv) = (vec![0.5; c], vec![2.0; c]);
            let (_, saved) =
                cpu::batch_norm2d(&x, shape, &w, &b, &mut rm, &mut rv, training, &cfg).unwrap();
            let (dx, dw, db) =
                cpu::batch_norm2d_backward(&x, shape, &r, &w, &saved, training).unwrap();
            let h = 1e-6;
            let numeric = |which: usize, i: usize| {
                let bump = |s: f64| {
                    let (mut x, mut w, mut b) = (x.clone(), w.clone(), b.clone());
                    [&mut x, &mut w, &mut b][which][i] += s;
                    loss(&x, &w, &b)
                };
                (bump(h) - bump(-h)) / (2.0 * h)
            };
            for (which, grad, name) in [(0, &dx, "dx"), (1, &dw, "dweight"), (2, &db, "dbias")] {
                for (i, &g) in grad.iter().enumerate() {
                    let n = numeric(which, i);
                    assert!(
                        (g - n).abs() <= 1e-6 * (1.0 + n.abs()),
                        "{name}[{i}] {shape:?} training={training}: reference {g} vs finite difference {n}"
                    );
                }
            }
        }
    }
}

/// Eval mode normalises with the running statistics (so its output differs
/// from training mode's on the same batch) and leaves them alone; training
/// mode moves them by the momentum, twice in a row as torch does.
#[test]
fn eval_mode_uses_the_running_statistics() {
    let shape = [4, 2, 3, 3];
    let mut rng = Rng::new(5);
    let inp = inputs(shape, &mut rng);
    let cfg = BatchNorm::default();
    for gpu in gpus() {
        let who = label(gpu);
        let t = |d: &[f32]| gpu.tensor(&[d.len()], d).unwrap();
        let x = gpu.tensor(&shape, &inp.x).unwrap();
        let (w, b) = (t(&inp.weight), t(&inp.bias));
        let (mut rm, mut rv) = (t(&[0.0, 0.0]), t(&[1.0, 1.0]));
        let (y_eval, _) = gpu
            .batch_norm2d(&x, &w, &b, &mut rm, &mut rv, false, &cfg)
            .unwrap();
        assert_eq!(
            rm.to_vec().unwrap(),
            vec![0.0, 0.0],
            "{who}: eval moved running_mean"
        );
        assert_eq!(
            rv.to_vec().unwrap(),
            vec![1.0, 1.0],
            "{who}: eval moved running_var"
        );
        // With mean 0 and var 1, eval is x / sqrt(1 + eps) · w + b.
        let y = y_eval.to_vec().unwrap();
        let k = 9 + 4; // image 0, channel 1, position 4
        let want = inp.x[k] / (1.0f32 + 1e-5).sqrt() * inp.weight[1] + inp.bias[1];
        assert!(
            (y[k] - want).abs() <= 1e-5 * want.abs().max(1.0),
            "{who}: {} vs {want}",
            y[k]
        );
        let (y_train, _) = gpu
            .batch_norm2d(&x, &w, &b, &mut rm, &mut rv, true, &cfg)
            .unwrap();
        let differ = y
            .iter()
            .zip(y_train.to_vec().unwrap())
            .filter(|(a, b)| (*a - b).abs() > 0.1);
        assert!(
            differ.count() > 30,
            "{who}: training and eval outputs should differ"
        );
        gpu.batch_norm2d(&x, &w, &b, &mut rm, &mut rv, true, &cfg)
            .unwrap();
        let (mut rm_ref, mut rv_ref) = (vec![0.0f32, 0.0], vec![1.0f32, 1.0]);
        for _ in 0..2 {
            cpu::batch_norm2d(
                &inp.x,
                shape,
                &inp.weight,
                &inp.bias,
                &mut rm_ref,
                &mut rv_ref,
                true,
                &cfg,
            )
            .unwrap();
        }
        assert_close(
            &format!("running_mean after 2 steps on {who}"),
            &[2],
            &rm.to_vec().unwrap(),
            &rm_ref,
            false,
        );
        assert_close(
            &format!("running_var after 2 steps on {who}"),
            &[2],
            &rv.to_vec().unwrap(),
            &rv_ref,
            false,
        );
        // One step of momentum 0.1 from 0: a tenth of the batch mean ≈ 3.
        assert!((rm_ref[0] - 0.19 * 3.0).abs() < 0.2, "{rm_ref:?}");
    }
}

#[test]
fn bad_batch_norm_input_is_a_named_error() {
    for gpu in gpus() {
        let who = label(gpu);
        let x = gpu.tensor(&[2, 3, 2, 2], &[1.0; 24]).unwrap();
        let c3 = gpu.tensor(&[3], &[1.0; 3]).unwrap();
        let c4 = gpu.tensor(&[4], &[1.0; 4]).unwrap();
        let (mut rm, mut rv) = (c3.clone(), gpu.tensor(&[3], &[1.0; 3]).unwrap());
        let cfg = BatchNorm::default();
        let e = gpu
            .batch_norm2d(&x, &c4, &c3, &mut rm, &mut rv, true, &cfg)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "weight",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let one = gpu.tensor(&[1, 3, 1, 1], &[1.0; 3]).unwrap();
        let e = gpu
            .batch_norm2d(&one, &c3, &c3, &mut rm, &mut rv, true, &cfg)
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidParam { param: "input", .. }),
            "{who}: {e}"
        );
        // Eval mode takes a single value per channel.
        gpu.batch_norm2d(&one, &c3, &c3, &mut rm, &mut rv, false, &cfg)
            .unwrap();
        let bad = BatchNorm {
            momentum: 1.5,
            ..cfg
        };
        let e = gpu
            .batch_norm2d(&x, &c3, &c3, &mut rm, &mut rv, true, &bad)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParam {
                    param: "momentum",
                    ..
                }
            ),
            "{who}: {e}"
        );
        // The fused backward pass's output must have the input's shape.
        let saved = gpu.tensor(&[3, 2], &[1.0; 6]).unwrap();
        let short = gpu.tensor(&[2, 3, 2, 1], &[1.0; 12]).unwrap();
        let e = gpu
            .batch_norm2d_relu_backward(&x, &short, &x, &c3, &c3, &saved, true)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "output",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let flat = gpu.tensor(&[6, 4], &[1.0; 24]).unwrap();
        let e = gpu
            .batch_norm2d(&flat, &c3, &c3, &mut rm, &mut rv, true, &cfg)
            .unwrap_err();
        assert!(matches!(e, Error::BadRank { .. }), "{who}: {e}");
        let e = gpu
            .batch_norm2d_backward(&x, &x, &c3, &c3, true)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "saved statistics",
                    ..
                }
            ),
            "{who}: {e}"
        );
    }
}

/// The reference refuses training on one value per channel as the GPU op
/// and torch do (it returned a NaN running variance, which poisoned eval);
/// eval mode takes it.
#[test]
fn the_reference_refuses_one_value_per_channel_in_training() {
    let cfg = BatchNorm::default();
    let (w, b) = (vec![1.0f32; 3], vec![0.0f32; 3]);
    let (mut rm, mut rv) = (vec![0.0f32; 3], vec![1.0f32; 3]);
    let e = cpu::batch_norm2d(
        &[1.0f32, 2.0, 3.0],
        [1, 3, 1, 1],
        &w,
        &b,
        &mut rm,
        &mut rv,
        true,
        &cfg,
    );
    assert!(
        matches!(&e, Err(Error::InvalidParam { param: "input", message, .. }) if message.contains("N·H·W = 1")),
        "{e:?}"
    );
    assert_eq!(
        (rm.clone(), rv.clone()),
        (vec![0.0; 3], vec![1.0; 3]),
        "nothing moved"
    );
    cpu::batch_norm2d(
        &[1.0f32, 2.0, 3.0],
        [1, 3, 1, 1],
        &w,
        &b,
        &mut rm,
        &mut rv,
        false,
        &cfg,
    )
    .unwrap();
    // Two values per channel train.
    cpu::batch_norm2d(
        &[1.0f32; 6],
        [2, 3, 1, 1],
        &w,
        &b,
        &mut rm,
        &mut rv,
        true,
        &cfg,
    )
    .unwrap();
    assert!(rv.iter().all(|v| v.is_finite()));
}

/// The batch statistics hold where a naive E[x²] − mean² would cancel to
/// nothing: channels at mean 1000 with spread 0.01, and a channel of
/// zeros whose first value (the one-pass kernel's shift for its lane) is
/// a spike of 1e4. With momentum 1 the running statistics are the batch's
/// mean and unbiased variance, held against f64 sums of the same f32
/// inputs, at both kernel widths.
#[test]
fn batch_statistics_hold_at_a_large_mean_and_an_outlier() {
    let cfg = BatchNorm {
        eps: 1e-5,
        momentum: 1.0,
    };
    for gpu in gpus() {
        let mut rng = Rng::new(41);
        for shape in [[4usize, 3, 8, 8], [3, 2, 5, 7]] {
            let [n, c, h, w] = shape;
            let hw = h * w;
            let len = n * c * hw;
            let mut x: Vec<f32> = rng.floats(len).iter().map(|v| 1000.0 + 0.01 * v).collect();
            // Channel 1: zeros, and a spike at the channel's first value.
            for img in 0..n {
                for k in 0..hw {
                    x[(img * c + 1) * hw + k] = 0.0;
                }
            }
            x[hw] = 1e4;
            let t = |v: &[f32]| gpu.tensor(&[c], v).unwrap();
            let (mut rm, mut rv) = (t(&vec![0.0; c]), t(&vec![1.0; c]));
            let xt = gpu.tensor(&shape, &x).unwrap();
            let (ones, zeros) = (t(&vec![1.0; c]), t(&vec![0.0; c]));
            gpu.batch_norm2d(&xt, &ones, &zeros, &mut rm, &mut rv, true, &cfg)
                .unwrap();
            let (rm, rv) = (rm.to_vec().unwrap(), rv.to_vec().unwrap());
            for ch in 0..c {
                let vals: Vec<f64> = (0..n)
                    .flat_map(|img| (0..hw).map(move |k| (img * c + ch) * hw + k))
                    .map(|i| x[i] as f64)
                    .collect();
                let m = vals.len() as f64;
                let mean = vals.iter().sum::<f64>() / m;
                let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0);
                let what = format!("{shape:?} channel {ch} on {}", label(gpu));
                // The mean to a few f32 ulps of the channel's largest value.
                let scale = vals.iter().fold(1f64, |a, v| a.max(v.abs()));
                assert!(
                    ((rm[ch] as f64 - mean) / scale).abs() < 1e-6,
                    "{what}: mean {} vs {mean}",
                    rm[ch]
                );
                assert!(
                    ((rv[ch] as f64 - var) / var).abs() < 1e-3,
                    "{what}: variance {} vs {var}",
                    rv[ch]
                );
            }
        }
    }
}

/// A caller may hand one tensor as the weight and as a running statistic
/// (a clone shares its buffer): training still runs, with no driver error
/// from binding one buffer read-only and read-write in one dispatch.
#[test]
fn a_weight_that_is_also_a_running_statistic_still_trains() {
    for gpu in gpus() {
        let x = gpu.tensor(&[2, 3, 4, 4], &[0.5; 96]).unwrap();
        let w = gpu.tensor(&[3], &[1.0, 2.0, 3.0]).unwrap();
        let b = gpu.tensor(&[3], &[0.0; 3]).unwrap();
        let (mut rm, mut rv) = (w.clone(), b.clone());
        let out = gpu.batch_norm2d_relu(&x, &w, &b, &mut rm, &mut rv, true, &BatchNorm::default());
        let (y, _) = out.unwrap_or_else(|e| panic!("{}: {e}", label(gpu)));
        assert!(y.to_vec().unwrap().iter().all(|v| v.is_finite()));
    }
}

/// `nn.Sequential(BatchNorm2d, ReLU, MaxPool2d(2))` against PyTorch
/// (tests/fixtures/torch_bn_relu_pool.json, scripts/make_bn_relu_pool_fixture.py)
/// in both modes, on the reference and every adapter: run as one op (the
/// `Sequential` fuses the three) and as the three ops one after the other,
/// the pooled output, the running statistics and the gradients of x,
/// weight and bias. The fused forward is the unfused one bit for bit; the
/// inputs are quantised so windows hold ties.
#[test]
fn fused_batch_norm_relu_max_pool_matches_pytorch_everywhere() {
    use wgconv::nn::{
        Backend, BatchNorm2d, Cpu, Forward, Graph, Init, MaxPool2d, Module, ModuleExt, Relu,
        Sequential, Var,
    };
    let f = common::fixture("torch_bn_relu_pool.json");
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    /// y, the running statistics, dx, dweight and dbias of module `m`
    /// after the forward pass to `y` and the backward pass from `dy`.
    fn outputs<B: Backend, M: Module<B>>(
        x: &Var<B>,
        y: &Var<B>,
        m: &M,
        dy: &[f32],
    ) -> Vec<Vec<f32>> {
        let b = x.backend();
        let mut out = vec![b.to_vec(y.value()).unwrap()];
        out.extend(m.named_buffers().iter().map(|(_, t)| b.to_vec(t).unwrap()));
        common::backward_from(y, dy);
        out.push(b.to_vec(&x.grad().unwrap()).unwrap());
        let params = m.named_parameters();
        out.extend(
            params
                .iter()
                .map(|(_, p)| b.to_vec(&p.grad().unwrap()).unwrap()),
        );
        out
    }
    fn run<B: Backend>(b: B, who: &str, c: &serde_json::Value, fused: bool) -> Vec<f32> {
        let floats = |k: &str| common::floats(&c[k]);
        let shape = common::ints(&c["shape"]);
        let training = c["training"].as_bool().unwrap();
        let ctx = format!("{who} {shape:?} training={training} fused={fused}");
        let mut bn = BatchNorm2d::new(&mut Init::new(b.clone(), 0), shape[1]).unwrap();
        let t = |k: &str| b.tensor(&[shape[1]], &floats(k)).unwrap();
        bn.weight.set_value(t("weight"));
        bn.bias.set_value(t("bias"));
        (bn.running_mean, bn.running_var) = (t("running_mean"), t("running_var"));
        bn.training = training;
        let pool = Pool2dParams::window(2);
        let g = Graph::new(b.clone());
        let x = g.input_with_grad(b.tensor(&shape, &floats("x")).unwrap());
        let dy = floats("dy");
        let got = if fused {
            let mut m = Sequential::new().push(bn).push(Relu).push(MaxPool2d(pool));
            let y = m.forward(&x).unwrap();
            outputs(&x, &y, &m, &dy)
        } else {
            let y = bn.forward_relu(&x).unwrap().max_pool2d(&pool).unwrap();
            outputs(&x, &y, &bn, &dy)
        };
        let names = [
            "y",
            "running_mean_after",
            "running_var_after",
            "dx",
            "dweight",
            "dbias",
        ];
        assert_eq!(got.len(), names.len(), "{ctx}");
        for (name, got) in names.iter().zip(&got) {
            let want = floats(name);
            common::assert_close(&format!("{ctx} {name}"), &[want.len()], got, &want, false);
        }
        got[0].clone()
    }
    for c in cases {
        let both = |b: &dyn Fn(bool) -> Vec<f32>| {
            let bits = |v: Vec<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(b(true)),
                bits(b(false)),
                "fused vs unfused {}",
                c["shape"]
            );
        };
        both(&|fused| run(Cpu::<f32>::new(), "cpu", c, fused));
        for gpu in gpus() {
            both(&|fused| run(gpu.clone(), &label(gpu), c, fused));
        }
    }
}
