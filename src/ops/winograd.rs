//! Records Winograd's F(2x2, 3x3) convolution (shaders/winograd.wgsl):
//! the weight and input transforms, the 16 products summed over input
//! channels as one batched GEMM on the GEMM kernels (a 1x1 convolution of
//! 16 groups, planned like any other: `plan::winograd_gemm`), then the
//! output transform. The input gradient of a 3x3 stride-1 convolution is
//! the forward convolution of dy with the kernel turned by 180° and its
//! channel axes swapped (`plan::winograd_forward`), so it runs the same
//! way with the turned weight transform.

use super::conv_uniform::slot;
use super::{conv2d_forward, direct_launch};
use crate::gpu::{Recorder, Shader};
use crate::plan::{self, ConvOp, ConvPlan, ConvProblem, Policy};
use crate::Error;

/// Records `plan` (algorithm `Winograd`) of `problem` (forward or input
/// gradient) on whole-tensor buffers: `a` is x or dy, `b` the weight,
/// `out` y or dx.
pub(crate) fn record(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    a: &wgpu::Buffer,
    b: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    out: &wgpu::Buffer,
) -> Result<(), Error> {
    let op = problem.op.kernel_name();
    let fwd = plan::winograd_forward(problem)?;
    let gemm = plan::winograd_gemm(&fwd)?;
    let tiles = plan::winograd_tiles(&fwd);
    let (c, k) = (fwd.c, fwd.k);
    let gpu = rec.gpu();
    let u = rec.scratch(16 * k * c)?;
    let v = rec.scratch(16 * c * tiles)?;
    let m = rec.scratch(16 * k * tiles)?;

    let weight = match problem.op {
        ConvOp::Forward => "weight_transform",
        _ => "weight_transform_turned",
    };
    let (uni, grid) = direct_launch(gpu, op, &fwd, k * c)?;
    let bound = [(slot::A, b as _), (slot::C, &u.buffer as _)];
    rec.dispatch(
        Shader::Winograd,
        weight,
        bytemuck::bytes_of(&uni),
        &bound,
        grid,
    );

    let (uni, grid) = direct_launch(gpu, op, &fwd, c * tiles)?;
    let bound = [(slot::A, a as _), (slot::C, &v.buffer as _)];
    rec.dispatch(
        Shader::Winograd,
        "input_transform",
        bytemuck::bytes_of(&uni),
        &bound,
        grid,
    );

    let gemm_plan = plan::plan(&gemm, &gpu.facts(), Policy::Force(plan.kernel));
    conv2d_forward::record(
        rec, &gemm, &gemm_plan, &v.buffer, &u.buffer, None, &m.buffer,
    )?;

    let (mut uni, grid) = direct_launch(gpu, op, &fwd, k * tiles)?;
    uni.has_bias = bias.is_some() as u32;
    // Without a bias M is bound in its place; has_bias = 0 keeps it unread.
    let bias = bias.unwrap_or(&m.buffer);
    let bound = [
        (slot::A, &m.buffer as _),
        (slot::C, out as _),
        (slot::BIAS, bias as _),
    ];
    rec.dispatch(
        Shader::Winograd,
        "output_transform",
        bytemuck::bytes_of(&uni),
        &bound,
        grid,
    );
    Ok(())
}
