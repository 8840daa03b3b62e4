//! Hostile input: 10 000 seeded random calls through the public API, most
//! of them invalid (sizes up to usize::MAX, overflowing products, zero and
//! u32::MAX strides, paddings and dilations, mismatched shapes, NaN and
//! infinite values and hyper-parameters). No call may panic or abort; an
//! invalid call returns `Err`; every valid call matches the CPU reference,
//! with NaN and infinity where IEEE arithmetic puts them.
mod common;
use common::{gpus, label, Rng, TOL};
use wgconv::{cpu, Adam, AdamState, Conv2dParams, Gpu, Sgd, SgdState, Tensor};

const CALLS: usize = 10_000;

/// A dimension: mostly small, sometimes zero, sometimes absurd (2^32 and
/// up, so any product containing it exceeds every adapter's buffer limit).
fn dim(rng: &mut Rng) -> usize {
    match rng.range(0, 19) {
        0 => 0,
        1 => usize::MAX,
        2 => usize::MAX / 3,
        3 => 1 << 32,
        4 => (1 << 40) + 7,
        5..=6 => rng.range(7, 24),
        _ => rng.range(1, 6),
    }
}

fn shape(rng: &mut Rng, rank: usize) -> Vec<usize> {
    // Sometimes four dimensions whatever the caller asked (4-D ops on
    // tensors made for other ops, and max pooling with a valid rank).
    let rank = if rng.range(0, 4) == 0 { 4 } else { rank };
    let rank = if rng.range(0, 9) == 0 {
        rng.range(0, 5)
    } else {
        rank
    };
    (0..rank).map(|_| dim(rng)).collect()
}

fn param(rng: &mut Rng) -> u32 {
    match rng.range(0, 11) {
        0 => 0,
        1 => u32::MAX,
        2 => 1 << 31,
        _ => rng.range(1, 3) as u32,
    }
}

fn params(rng: &mut Rng) -> Conv2dParams {
    Conv2dParams {
        stride: [param(rng), param(rng)],
        padding: [param(rng).saturating_sub(1), param(rng).saturating_sub(1)],
        dilation: [param(rng), param(rng)],
        groups: if rng.range(0, 3) == 0 { param(rng) } else { 1 },
    }
}

/// Values in [-1, 1) with, when `wild`, one in ten NaN or ±infinity.
fn values(rng: &mut Rng, len: usize, wild: bool) -> Vec<f32> {
    (0..len)
        .map(|_| match rng.range(0, 29) {
            0 if wild => f32::NAN,
            1 if wild => f32::INFINITY,
            2 if wild => f32::NEG_INFINITY,
            _ => rng.unit(),
        })
        .collect()
}

fn small(shape: &[usize]) -> Option<usize> {
    let len = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    (!shape.is_empty() && len > 0 && len <= 1 << 20).then_some(len)
}

/// A tensor of `shape` if it is small and valid; otherwise the call that
/// makes it must fail (and does not allocate).
fn make(gpu: &Gpu, rng: &mut Rng, shape: &[usize], wild: bool) -> Option<(Tensor, Vec<f32>)> {
    match small(shape) {
        Some(len) => {
            let data = values(rng, len, wild);
            let t = gpu.tensor(shape, &data).expect("a small valid tensor");
            Some((t, data))
        }
        None => {
            let len = rng.range(0, 3);
            let data = values(rng, len, wild);
            assert!(
                gpu.tensor(shape, &data).is_err(),
                "tensor {shape:?} accepted"
            );
            assert!(gpu.zeros(shape).is_err(), "zeros {shape:?} accepted");
            None
        }
    }
}

/// NaN where the reference has NaN, the same infinity where it has one,
/// and within TOL of the finite scale elsewhere.
fn assert_ieee_close(ctx: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{ctx}: length");
    let scale = want
        .iter()
        .filter(|v| v.is_finite())
        .fold(1f32, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= TOL * scale
        };
        assert!(ok, "{ctx}: element {i}: gpu {g} vs reference {w}");
    }
}

/// Four dimensions, either a valid random geometry or one with a mutation.
fn conv_case(rng: &mut Rng) -> (Vec<usize>, Vec<usize>, Conv2dParams) {
    if rng.range(0, 2) == 0 {
        let (x, w, p) = common::random_geometry(rng);
        let (mut x, mut w, mut p) = (x.to_vec(), w.to_vec(), p);
        match rng.range(0, 5) {
            0 => x[rng.range(0, 3)] = dim(rng),
            1 => w[rng.range(0, 3)] = dim(rng),
            2 => p = params(rng),
            _ => {}
        }
        (x, w, p)
    } else {
        (shape(rng, 4), shape(rng, 4), params(rng))
    }
}

fn four(s: &[usize]) -> [usize; 4] {
    let mut out = [0; 4];
    for (o, v) in out.iter_mut().zip(s) {
        *o = *v;
    }
    out
}

#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    err: usize,
}

impl Tally {
    fn count<T>(&mut self, r: &Result<T, wgconv::Error>) {
        if r.is_ok() {
            self.ok += 1
        } else {
            self.err += 1
        }
    }
}

fn one_call(gpu: &Gpu, rng: &mut Rng, tally: &mut Tally) {
    let who = label(gpu);
    match rng.range(0, 9) {
        0..=2 => {
            let (xs, ws, p) = conv_case(rng);
            let wild = rng.range(0, 3) == 0;
            let Some((x, xd)) = make(gpu, rng, &xs, wild) else {
                return tally.err += 1;
            };
            let Some((w, wd)) = make(gpu, rng, &ws, false) else {
                return tally.err += 1;
            };
            let r = gpu.conv2d(&x, &w, None, &p);
            tally.count(&r);
            let want = cpu::conv2d(&xd, four(&xs), &wd, four(&ws), None, &p);
            match (r, want) {
                (Ok(y), Ok(want)) => assert_ieee_close(
                    &format!("conv2d {xs:?} {ws:?} {p:?} on {who}"),
                    &y.to_vec().unwrap(),
                    &want,
                ),
                (Err(_), Err(_)) => {}
                (r, want) => panic!(
                    "conv2d {xs:?} {ws:?} {p:?} on {who}: gpu {r:?} vs cpu {:?}",
                    want.err()
                ),
            }
        }
        3 => {
            // Input gradient with an arbitrary x_shape (the geometry comes
            // only from the arguments), non-finite values in dy.
            let (xs, ws, p) = conv_case(rng);
            let ys = wgconv::Conv2dGeometry::new("t", &four(&xs), &four(&ws), &p)
                .map(|g| g.y_shape().to_vec())
                .unwrap_or_else(|_| shape(rng, 4));
            let Some((dy, dyd)) = make(gpu, rng, &ys, true) else {
                return tally.err += 1;
            };
            let Some((w, wd)) = make(gpu, rng, &ws, false) else {
                return tally.err += 1;
            };
            let x_shape = four(&xs);
            let r = gpu.conv2d_input_grad(&dy, &w, x_shape, &p);
            tally.count(&r);
            if let Ok(dx) = r {
                let want = cpu::conv2d_input_grad(&dyd, &wd, four(&ws), x_shape, &p).unwrap();
                assert_ieee_close(
                    &format!("input_grad {xs:?} {ws:?} {p:?} on {who}"),
                    &dx.to_vec().unwrap(),
                    &want,
                );
            }
        }
        4 => {
            let (xs, ws, p) = conv_case(rng);
            let ys = wgconv::Conv2dGeometry::new("t", &four(&xs), &four(&ws), &p)
                .map(|g| g.y_shape().to_vec())
                .unwrap_or_else(|_| shape(rng, 4));
            let Some((x, xd)) = make(gpu, rng, &xs, true) else {
                return tally.err += 1;
            };
            let Some((dy, dyd)) = make(gpu, rng, &ys, false) else {
                return tally.err += 1;
            };
            let w_shape = four(&ws);
            let r = gpu.conv2d_weight_grad(&x, &dy, w_shape, &p);
            tally.count(&r);
            if let Ok(dw) = r {
                let want = cpu::conv2d_weight_grad(&xd, four(&xs), &dyd, w_shape, &p).unwrap();
                assert_ieee_close(
                    &format!("weight_grad {xs:?} {ws:?} {p:?} on {who}"),
                    &dw.to_vec().unwrap(),
                    &want,
                );
            }
        }
        5 => {
            let s = shape(rng, 2);
            let ws = shape(rng, 2);
            let Some((x, xd)) = make(gpu, rng, &s, true) else {
                return tally.err += 1;
            };
            let Some((w, wd)) = make(gpu, rng, &ws, false) else {
                return tally.err += 1;
            };
            let r = gpu.linear(&x, &w, None);
            tally.count(&r);
            if let Ok(y) = r {
                let want = cpu::linear(&xd, [s[0], s[1]], &wd, [ws[0], ws[1]], None).unwrap();
                assert_ieee_close(
                    &format!("linear {s:?} {ws:?} on {who}"),
                    &y.to_vec().unwrap(),
                    &want,
                );
            }
            tally.count(&gpu.linear_input_grad(&x, &w));
            tally.count(&gpu.linear_weight_grad(&x, &w));
            tally.count(&gpu.linear_bias_grad(&x));
        }
        6 => {
            let rank = rng.range(1, 4);
            let s = shape(rng, rank);
            let Some((x, xd)) = make(gpu, rng, &s, true) else {
                return tally.err += 1;
            };
            let r = gpu.relu(&x);
            tally.count(&r);
            assert_ieee_close(
                &format!("relu {s:?} on {who}"),
                &r.unwrap().to_vec().unwrap(),
                &cpu::relu(&xd),
            );
            let r = gpu.sigmoid(&x);
            tally.count(&r);
            assert_ieee_close(
                &format!("sigmoid {s:?} on {who}"),
                &r.unwrap().to_vec().unwrap(),
                &cpu::sigmoid(&xd),
            );
            let other = shape(rng, s.len());
            if let Some((o, _)) = make(gpu, rng, &other, false) {
                tally.count(&gpu.add_assign(&mut x.clone(), &o));
                tally.count(&gpu.relu_backward(&x, &o));
                tally.count(&gpu.mse_loss(&x, &o));
                tally.count(&gpu.softmax_cross_entropy(&x, &o));
            }
            let size = dim(rng);
            let window = wgconv::Pool2dParams::window(u32::try_from(size).unwrap_or(u32::MAX));
            let r = gpu.max_pool2d(&x, &window);
            tally.count(&r);
            if let Ok(y) = r {
                let want = cpu::max_pool2d(&xd, four(&s), &window).unwrap();
                assert_ieee_close(
                    &format!("max_pool2d {s:?} {size} on {who}"),
                    &y.to_vec().unwrap(),
                    &want,
                );
                let dy = gpu.tensor(y.shape(), &vec![1.0; y.len()]).unwrap();
                let dx = gpu.max_pool2d_backward(&x, &dy, &window).unwrap();
                let want =
                    cpu::max_pool2d_backward(&xd, four(&s), &vec![1.0; y.len()], &window).unwrap();
                assert_ieee_close(
                    &format!("max_pool2d_backward {s:?} {size} on {who}"),
                    &dx.to_vec().unwrap(),
                    &want,
                );
            }
            tally.count(&x.reshape(&shape(rng, 3)));
            tally.count(&gpu.bias_grad(&x));
        }
        7 => {
            let s = shape(rng, 1);
            let Some((mut p, pd)) = make(gpu, rng, &s, false) else {
                return tally.err += 1;
            };
            let gs = if rng.range(0, 3) == 0 {
                shape(rng, 1)
            } else {
                s.clone()
            };
            let Some((g, gd)) = make(gpu, rng, &gs, true) else {
                return tally.err += 1;
            };
            let pick =
                |rng: &mut Rng| [0.1, -1.0, f32::NAN, f32::INFINITY, 0.0, 0.9][rng.range(0, 5)];
            let cfg = Sgd {
                lr: pick(rng),
                momentum: pick(rng),
                dampening: pick(rng),
                weight_decay: pick(rng),
                nesterov: rng.range(0, 1) == 0,
            };
            let r = gpu.sgd_step(&mut p, &g, &mut SgdState::default(), &cfg);
            tally.count(&r);
            if r.is_ok() {
                let mut want = pd.clone();
                cpu::sgd_step(&mut want, &gd, &mut cpu::CpuSgdState::default(), &cfg).unwrap();
                assert_ieee_close(
                    &format!("sgd {cfg:?} on {who}"),
                    &p.to_vec().unwrap(),
                    &want,
                );
            }
            let cfg = Adam {
                lr: pick(rng),
                betas: (pick(rng), pick(rng)),
                eps: pick(rng),
                weight_decay: pick(rng),
                decoupled_weight_decay: rng.range(0, 2) == 1,
            };
            tally.count(&gpu.adam_step(&mut p, &g, &mut AdamState::default(), &cfg));
        }
        _ => {
            // Shapes and data lengths that disagree, and absurd shapes.
            let rank = rng.range(1, 4);
            let s = shape(rng, rank);
            let len = rng.range(0, 50);
            let data = values(rng, len, true);
            let r = gpu.tensor(&s, &data);
            tally.count(&r);
            if let Ok(t) = r {
                assert_eq!(t.to_vec().unwrap().len(), data.len());
            }
            tally.count(&gpu.zeros(&s).map(|_| ()));
            let _ = wgconv::nn::one_hot(&[rng.range(0, 3)], dim(rng));
        }
    }
}

#[test]
fn ten_thousand_hostile_calls() {
    for gpu in gpus() {
        let mut rng = Rng::new(0xBAD);
        let mut tally = Tally::default();
        let per_gpu = CALLS / gpus().len();
        for _ in 0..per_gpu {
            one_call(gpu, &mut rng, &mut tally);
        }
        eprintln!("{}: {tally:?}", label(gpu));
        // Most calls are invalid, but enough valid ones ran to mean something.
        assert!(tally.err > tally.ok / 2, "{tally:?}");
        assert!(tally.ok > per_gpu / 10, "{tally:?}");
        assert!(gpu.check_usable().is_ok());
    }
}

/// Pooling windows, strides and paddings at and near `u32::MAX` (a
/// padding of 2^31 or more once wrapped `2 · padding` past the check and
/// the CPU reference then tried to allocate hundreds of GB): every pooling
/// op on every adapter, and the CPU reference, refuses them with
/// `InvalidParam` before any work. CI runs this file in a debug build too,
/// where any overflow would panic.
#[test]
fn pooling_parameters_near_u32_max_are_refused_everywhere() {
    use wgconv::Pool2dParams;
    let edges = [
        u32::MAX,
        u32::MAX - 1,
        1 << 31,
        (1 << 31) + 1,
        (1 << 31) - 1,
        1 << 16,
    ];
    let mut cases = Vec::new();
    for &e in &edges {
        cases.push(Pool2dParams {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [e, 1],
            ceil_mode: false,
            count_include_pad: true,
        });
        cases.push(Pool2dParams {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [0, e],
            ceil_mode: false,
            count_include_pad: true,
        });
        cases.push(Pool2dParams {
            kernel: [e, 2],
            stride: [1, 1],
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
        });
        cases.push(Pool2dParams {
            kernel: [2, 2],
            stride: [e, 1],
            padding: [1, 1],
            ceil_mode: false,
            count_include_pad: true,
        });
    }
    let x_shape = [2, 3, 6, 6];
    let x: Vec<f32> = (0..216).map(|i| i as f32).collect();
    for p in &cases {
        // The stride alone is legal (one window); everything else is not.
        let legal = p.kernel == [2, 2] && p.padding == [1, 1];
        let ctx = format!("{p:?}");
        let cpu_max = cpu::max_pool2d(&x, x_shape, p);
        let cpu_avg = cpu::avg_pool2d(&x, x_shape, p);
        assert_eq!(cpu_max.is_ok(), legal, "cpu max_pool2d {ctx}: {cpu_max:?}");
        assert_eq!(cpu_avg.is_ok(), legal, "cpu avg_pool2d {ctx}: {cpu_avg:?}");
        if !legal {
            for e in [cpu_max.unwrap_err(), cpu_avg.unwrap_err()] {
                assert!(
                    matches!(e, wgconv::Error::InvalidParam { .. }),
                    "{ctx}: {e}"
                );
            }
            let dy = vec![1.0; 2 * 3 * 6 * 6];
            assert!(
                cpu::max_pool2d_backward(&x, x_shape, &dy, p).is_err(),
                "{ctx}"
            );
            assert!(cpu::avg_pool2d_backward(&dy, x_shape, p).is_err(), "{ctx}");
        }
        for gpu in gpus() {
            let who = format!("{ctx} on {}", label(gpu));
            let xt = gpu.tensor(&x_shape, &x).unwrap();
            let y = gpu.max_pool2d(&xt, p);
            assert_eq!(y.is_ok(), legal, "max_pool2d {who}");
            let a = gpu.avg_pool2d(&xt, p);
            assert_eq!(a.is_ok(), legal, "avg_pool2d {who}");
            if !legal {
                let dy = gpu.tensor(&[2, 3, 1, 1], &[1.0; 6]).unwrap();
                assert!(gpu.max_pool2d_backward(&xt, &dy, p).is_err(), "{who}");
                assert!(gpu.avg_pool2d_backward(&dy, x_shape, p).is_err(), "{who}");
            }
            assert!(gpu.check_usable().is_ok(), "{who}");
        }
    }
}
