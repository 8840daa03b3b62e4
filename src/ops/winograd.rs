//! Records Winograd's F(2x2, 3x3) and F(4x4, 3x3) convolutions
//! (shaders/winograd.wgsl, shaders/winograd4.wgsl): the weight and input
//! transforms, the 16 or 36 products summed over input channels as one
//! batched GEMM on the GEMM kernels (a 1x1 convolution of 16 or 36
//! groups, planned like any other: `plan::winograd_gemm`), then the
//! output transform. The input gradient of a 3x3 stride-1 convolution is
//! the forward convolution of dy with the kernel turned by 180° and its
//! channel axes swapped (`plan::winograd_forward`), so it runs the same
//! way with the turned weight transform. The weight gradient
//! (F(3x3, 2x2) or F(3x3, 4x4)) transforms x as the forward does and dy
//! into the same 16 or 36 products, sums them over tiles as the weight
//! gradient of the same batched 1x1 convolution, and turns each sum into
//! a 3x3 kernel.

use super::conv_uniform::{slot, ConvUniform};
use super::{conv2d_forward, conv2d_weight_grad, direct_launch};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::plan::{self, Algorithm, ConvOp, ConvPlan, ConvProblem, Policy};
use crate::{Conv2dGeometry, Error};

/// Records `plan` (algorithm `Winograd` or `Winograd4`) of `problem` on whole-tensor
/// buffers, in the order of `ConvBuffers`: `(x, w) → y` (with the bias),
/// `(dy, w) → dx` or `(x, dy) → dw`.
pub(crate) fn record(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
) -> Result<(), Error> {
    let [rows, tiles] = transform_shape(problem, plan)?;
    let v = rec.scratch(rows * tiles)?;
    record_keeping_transform(rec, problem, plan, (a, b, bias), &v.buffer, out)
}

/// Records the forward `plan` of `problem` and keeps its transformed input
/// `V [P·C, T]` in `v` (of [`transform_shape`]), for a weight
/// gradient whose plan shares it (`plan::shares_input_transform`).
pub(crate) fn record_keeping_transform(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    (x, w, bias): (&wgpu::Buffer, &wgpu::Buffer, Option<&wgpu::Buffer>),
    v: &wgpu::Buffer,
    out: &wgpu::Buffer,
) -> Result<(), Error> {
    let run = Run::new(rec, problem, plan)?;
    run.input_transform(rec, x, v)?;
    run.after_transform(rec, v, w, bias, out)
}

/// Records the weight-gradient `plan` of `problem` from the forward's
/// transformed input `v` (what [`record_keeping_transform`] kept) and dy.
pub(crate) fn record_from_transform(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    v: &wgpu::Buffer,
    dy: &wgpu::Buffer,
    out: &wgpu::Buffer,
) -> Result<(), Error> {
    Run::new(rec, problem, plan)?.after_transform(rec, v, dy, None, out)
}

/// The shape `[P·C, T]` of the transformed input `V` of `plan` of
/// `problem`, which [`record_keeping_transform`] keeps.
pub(crate) fn transform_shape(problem: &ConvProblem, plan: &ConvPlan) -> Result<[usize; 2], Error> {
    let tile = tile_of(problem, plan)?.0;
    let fwd = plan::winograd_forward(problem)?;
    Ok([
        plan::winograd_products(tile) * fwd.c,
        plan::winograd_tiles(&fwd, tile),
    ])
}

/// The output tile and shader of a Winograd `plan`.
fn tile_of(problem: &ConvProblem, plan: &ConvPlan) -> Result<(usize, Shader), Error> {
    match (plan.algorithm, problem.op) {
        (Algorithm::Winograd, _) => Ok((2, Shader::Winograd)),
        (Algorithm::Winograd4, _) => Ok((4, Shader::Winograd4)),
        (algorithm, op) => Err(Error::InvalidParam {
            op: op.kernel_name(),
            param: "algorithm",
            message: format!("Winograd cannot run {op:?} as {}", algorithm.name()),
        }),
    }
}

/// One Winograd plan of one problem: its transforms and its batched GEMM
/// with that GEMM's own plan.
struct Run {
    t: Transforms,
    gemm: ConvProblem,
    gemm_plan: ConvPlan,
    tiles: usize,
    products: usize,
    /// F(4x4)'s transforms take four tiles per invocation where the tiles
    /// come in fours, and move V, Y and M as vec4s, x, dy and y in pairs
    /// where their rows allow.
    runs: plan::WinogradRuns,
}

impl Run {
    fn new(rec: &Recorder, problem: &ConvProblem, plan: &ConvPlan) -> Result<Self, Error> {
        let (tile, shader) = tile_of(problem, plan)?;
        let fwd = plan::winograd_forward(problem)?;
        let gemm = plan::winograd_gemm(problem.op, &fwd, tile)?;
        Ok(Run {
            gemm_plan: plan::plan(&gemm, &rec.gpu().facts(), Policy::Force(plan.kernel)),
            gemm,
            tiles: plan::winograd_tiles(&fwd, tile),
            products: plan::winograd_products(tile),
            runs: plan::winograd_runs(&fwd, tile),
            t: Transforms {
                op: problem.op,
                fwd,
                shader,
            },
        })
    }

    /// V [P·C, T] from x (the forward's, or for an input gradient dy).
    fn input_transform(
        &self,
        rec: &mut Recorder,
        x: &wgpu::Buffer,
        v: &wgpu::Buffer,
    ) -> Result<(), Error> {
        let (t, c, tiles) = (&self.t, self.t.fwd.c, self.tiles);
        if self.runs.input_pairs {
            let bound: [(u32, &dyn Bindable); 2] = [(slot::A2, x), (slot::C4, v)];
            t.dispatch_bound(rec, "input_transform_x4_pairs", c * tiles / 4, &bound)
        } else if self.runs.fours {
            let bound: [(u32, &dyn Bindable); 2] = [(slot::A, x), (slot::C4, v)];
            t.dispatch_bound(rec, "input_transform_x4", c * tiles / 4, &bound)
        } else {
            t.dispatch(rec, "input_transform", c * tiles, x, v)
        }
    }

    /// The rest of the plan from V: `w → out` (with the bias) for a
    /// forward or input gradient, `dy → dw` for a weight gradient.
    fn after_transform(
        &self,
        rec: &mut Recorder,
        v: &wgpu::Buffer,
        b: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        out: &wgpu::Buffer,
    ) -> Result<(), Error> {
        let (t, gemm, gemm_plan) = (&self.t, &self.gemm, &self.gemm_plan);
        let (c, k, tiles, products) = (t.fwd.c, t.fwd.k, self.tiles, self.products);
        if t.op == ConvOp::WeightGrad {
            // Y [P·K, T] from dy; M [P·K, C] = Y·Vᵀ per ξ; dw from M.
            let y = rec.scratch(products * k * tiles)?;
            if self.runs.fours {
                let (entry, dy_slot) = match self.runs.output_pairs {
                    true => ("dy_transform_x4_pairs", slot::A2),
                    false => ("dy_transform_x4", slot::A),
                };
                let bound: [(u32, &dyn Bindable); 2] = [(dy_slot, b), (slot::C4, &y.buffer)];
                t.dispatch_bound(rec, entry, k * tiles / 4, &bound)?;
            } else {
                t.dispatch(rec, "dy_transform", k * tiles, b, &y.buffer)?;
            }
            let m = rec.scratch(products * k * c)?;
            conv2d_weight_grad::record(rec, gemm, gemm_plan, v, &y.buffer, &m.buffer)?;
            return t.dispatch(rec, "dw_transform", k * c, &m.buffer, out);
        }

        // U [P·K, C] from w; M [P·K, T] = U·V per ξ; y (or dx) from M.
        let u = rec.scratch(products * k * c)?;
        let (entry, kernels, w_slot) = match (t.op, self.runs.weight_quads) {
            (ConvOp::Forward, true) => ("weight_transform_x4", k * c / 4, slot::A4),
            (ConvOp::Forward, false) => ("weight_transform", k * c, slot::A),
            (_, true) => ("weight_transform_turned_x4", k * c / 4, slot::A),
            (_, false) => ("weight_transform_turned", k * c, slot::A),
        };
        let u_slot = match self.runs.weight_quads {
            true => slot::C4,
            false => slot::C,
        };
        let bound: [(u32, &dyn Bindable); 2] = [(w_slot, b), (u_slot, &u.buffer)];
        t.dispatch_bound(rec, entry, kernels, &bound)?;
        let m = rec.scratch(products * k * tiles)?;
        conv2d_forward::record(rec, gemm, gemm_plan, v, &u.buffer, None, &m.buffer)?;
        t.output(rec, k * tiles, &m.buffer, out, bias, self.runs)
    }
}

/// The transforms of one Winograd plan: each entry point of `shader`
/// (shaders/winograd.wgsl or winograd4.wgsl) reads the conv family's
/// uniform of the forward convolution `fwd` whose tiles it runs.
struct Transforms {
    op: ConvOp,
    fwd: Conv2dGeometry,
    shader: Shader,
}

impl Transforms {
    /// Dispatches `entry` over `items` invocations, from `src` to `dst`.
    fn dispatch(
        &self,
        rec: &mut Recorder,
        entry: &'static str,
        items: usize,
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
    ) -> Result<(), Error> {
        self.dispatch_bound(rec, entry, items, &[(slot::A, src), (slot::C, dst)])
    }

    /// Dispatches `entry` over `items` invocations with its buffers `bound`.
    fn dispatch_bound(
        &self,
        rec: &mut Recorder,
        entry: &'static str,
        items: usize,
        bound: &[(u32, &dyn Bindable)],
    ) -> Result<(), Error> {
        let (uni, grid) = self.launch(rec, items)?;
        rec.dispatch(self.shader, entry, bytemuck::bytes_of(&uni), bound, grid);
        Ok(())
    }

    /// The output transform from `m` to `out` over `items` tiles (as
    /// `runs` says), the one entry that adds a bias.
    fn output(
        &self,
        rec: &mut Recorder,
        items: usize,
        m: &wgpu::Buffer,
        out: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        runs: plan::WinogradRuns,
    ) -> Result<(), Error> {
        let (entry, items, m_slot, out_slot) = match (runs.fours, runs.output_pairs) {
            (true, true) => ("output_transform_x4_pairs", items / 4, slot::A4, slot::C2),
            (true, false) => ("output_transform_x4", items / 4, slot::A4, slot::C),
            _ => ("output_transform", items, slot::A, slot::C),
        };
        let (mut uni, grid) = self.launch(rec, items)?;
        uni.has_bias = bias.is_some() as u32;
        // Without a bias, `m` is bound in its place; has_bias = 0 keeps it
        // unread.
        let bound: [(u32, &dyn Bindable); 3] = [
            (m_slot, m),
            (out_slot, out),
            (slot::BIAS, bias.unwrap_or(m)),
        ];
        rec.dispatch(self.shader, entry, bytemuck::bytes_of(&uni), &bound, grid);
        Ok(())
    }

    /// The uniform and grid of `items` invocations.
    fn launch(&self, rec: &Recorder, items: usize) -> Result<(ConvUniform, (u32, u32)), Error> {
        direct_launch(rec.gpu(), self.op.kernel_name(), &self.fwd, items)
    }
}
