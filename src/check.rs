//! `wgconv check`: every op over a fixed set of geometries on one adapter,
//! compared with the CPU reference. The same comparison rule as the tests:
//! the worst `|gpu − ref| / max(1, max|ref|)` must stay within [`TOLERANCE`].

use crate::plan::ConvOp;
use crate::rng::Rng;
use crate::{cpu, Conv2dParams, Error, Gpu, Sgd, SgdState};

/// f32 tolerance relative to `max(1, max|ref|)` (see tests/common).
pub const TOLERANCE: f64 = 1e-5;

/// The ops `check` covers, in table order.
pub const OPS: [&str; 5] = [
    ConvOp::Forward.kernel_name(),
    ConvOp::InputGrad.kernel_name(),
    ConvOp::WeightGrad.kernel_name(),
    "bias_grad",
    "sgd_step",
];

/// Worst normalised error of one op over all geometries.
#[derive(Debug, Clone)]
pub struct CheckRow {
    pub op: &'static str,
    pub worst: f64,
    pub cases: usize,
}

impl CheckRow {
    pub fn passed(&self) -> bool {
        self.worst <= TOLERANCE
    }
}

/// The fixed geometries: the text's 5x5 / 3x3 / stride-2 example first,
/// then padding, dilation, groups, depthwise, 1x1, non-square and a
/// stride larger than the kernel.
pub fn geometries() -> Vec<([usize; 4], [usize; 4], Conv2dParams)> {
    let p = Conv2dParams::default();
    vec![
        ([1, 1, 5, 5], [1, 1, 3, 3], Conv2dParams::square(2, 0)),
        ([2, 3, 9, 9], [4, 3, 3, 3], Conv2dParams::square(1, 1)),
        (
            [2, 4, 11, 7],
            [6, 4, 3, 2],
            Conv2dParams {
                stride: [2, 1],
                padding: [1, 0],
                dilation: [2, 1],
                groups: 1,
            },
        ),
        (
            [1, 6, 8, 8],
            [6, 2, 3, 3],
            Conv2dParams {
                groups: 3,
                ..Conv2dParams::square(1, 1)
            },
        ),
        (
            [3, 8, 7, 7],
            [8, 1, 3, 3],
            Conv2dParams {
                groups: 8,
                ..Conv2dParams::square(2, 1)
            },
        ),
        ([2, 16, 6, 5], [24, 16, 1, 1], p),
        ([1, 2, 10, 10], [3, 2, 2, 2], Conv2dParams::square(4, 0)),
        ([4, 32, 12, 12], [64, 32, 3, 3], Conv2dParams::square(1, 1)),
    ]
}

fn worst_error(got: &[f32], want: &[f32]) -> f64 {
    let scale = want.iter().fold(1f64, |m, v| m.max(v.abs() as f64));
    let err = got
        .iter()
        .zip(want)
        .map(|(g, w)| (*g as f64 - *w as f64).abs())
        .fold(
            0f64,
            |m, e| if e.is_nan() { f64::INFINITY } else { m.max(e) },
        );
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    err / scale
}

/// Runs every op of [`OPS`] on `gpu` over [`geometries`] and returns one row per op.
pub fn run(gpu: &Gpu) -> Result<Vec<CheckRow>, Error> {
    run_with_progress(gpu, |_, _| {})
}

/// [`run`], calling `progress(done, total)` after each geometry (the first
/// run on a machine compiles every kernel as it goes, which takes a while
/// on software adapters).
pub fn run_with_progress(
    gpu: &Gpu,
    progress: impl FnMut(usize, usize),
) -> Result<Vec<CheckRow>, Error> {
    crate::gpu::block("check::run", run_with_progress_async(gpu, progress))
}

/// [`run_with_progress`] without blocking: what the browser page awaits.
pub async fn run_with_progress_async(
    gpu: &Gpu,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<CheckRow>, Error> {
    let mut worst = [0f64; 5];
    let mut rng = Rng::new(1);
    let geos = geometries();
    for (done, (xs, ws, p)) in geos.iter().enumerate() {
        let geo = crate::Conv2dGeometry::new("check", xs, ws, p)?;
        let ys = geo.y_shape();
        let len = |s: &[usize]| s.iter().product::<usize>();
        let (x, w, b, dy) = (
            rng.floats(len(xs)),
            rng.floats(len(ws)),
            rng.floats(ws[0]),
            rng.floats(len(&ys)),
        );
        let (tx, tw, tb, tdy) = (
            gpu.tensor(xs, &x)?,
            gpu.tensor(ws, &w)?,
            gpu.tensor(&[ws[0]], &b)?,
            gpu.tensor(&ys, &dy)?,
        );
        let outs = [
            (
                gpu.conv2d(&tx, &tw, Some(&tb), p)?.to_vec_async().await?,
                cpu::conv2d(&x, *xs, &w, *ws, Some(&b), p)?,
            ),
            (
                gpu.conv2d_input_grad(&tdy, &tw, *xs, p)?
                    .to_vec_async()
                    .await?,
                cpu::conv2d_input_grad(&dy, &w, *ws, *xs, p)?,
            ),
            (
                gpu.conv2d_weight_grad(&tx, &tdy, *ws, p)?
                    .to_vec_async()
                    .await?,
                cpu::conv2d_weight_grad(&x, *xs, &dy, *ws, p)?,
            ),
            (
                gpu.bias_grad(&tdy)?.to_vec_async().await?,
                cpu::bias_grad(&dy, ys)?,
            ),
        ];
        for (i, (g, r)) in outs.iter().enumerate() {
            worst[i] = worst[i].max(worst_error(g, r));
        }
        // Two momentum-SGD steps on the weight with dw as the gradient.
        let cfg = Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.01,
            ..Default::default()
        };
        let (mut param, mut state) = (tw.clone(), SgdState::default());
        let mut param_ref = w.clone();
        let mut state_ref = cpu::CpuSgdState::default();
        for _ in 0..2 {
            gpu.sgd_step(&mut param, &gpu.tensor(ws, &outs[2].1)?, &mut state, &cfg)?;
            cpu::sgd_step(&mut param_ref, &outs[2].1, &mut state_ref, &cfg)?;
        }
        worst[4] = worst[4].max(worst_error(&param.to_vec_async().await?, &param_ref));
        progress(done + 1, geos.len());
    }
    Ok(OPS
        .iter()
        .zip(worst)
        .map(|(&op, worst)| CheckRow {
            op,
            worst,
            cases: geos.len(),
        })
        .collect())
}
