//! Records the Im2col algorithm (`plan::Algorithm::Im2col`,
//! shaders/im2col.wgsl): a convolution as the 1x1 convolution of its
//! columns `[N, C·R·S, Ho, Wo]`, whose GEMM the pointwise kernels run on
//! vec4 loads of plain matrices instead of per-lane gathers through a tap
//! table. Forward: im2col of x, then the 1x1 forward with the bias. Weight
//! gradient: im2col of x, then the 1x1 weight gradient, whose `[K, C·R·S,
//! 1, 1]` is the weight gradient's own memory. Input gradient: the 1x1
//! input gradient into the columns, then col2im. The columns are scratch
//! of one binding (`plan::im2col_fits`).

use super::conv_uniform::slot;
use super::{conv2d_forward, conv2d_input_grad, conv2d_weight_grad, direct_launch};
use crate::gpu::{Recorder, Shader};
use crate::plan::{self, ConvOp, ConvPlan, ConvProblem, Policy};
use crate::Error;

/// Records `plan` (algorithm `Im2col`) of `problem` on whole-tensor
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
    let geo = &problem.geometry;
    let gemm = plan::im2col_gemm(problem)?;
    let gemm_plan = plan::plan(&gemm, &rec.gpu().facts(), Policy::Force(plan.kernel));
    let cols = rec.scratch(geo.n * geo.c * geo.r * geo.s * geo.ho * geo.wo)?;
    match problem.op {
        ConvOp::InputGrad => {
            conv2d_input_grad::record(rec, &gemm, &gemm_plan, a, b, &cols.buffer)?;
            conv2d_input_grad::record_col2im(rec, geo, &cols.buffer, out)
        }
        ConvOp::Forward | ConvOp::WeightGrad => {
            // One row of the columns per invocation, stored as vec4s where
            // it holds a multiple of 4.
            let (entry, dst) = match geo.wo.is_multiple_of(4) {
                true => ("im2col_x4", slot::C4),
                false => ("im2col", slot::PASS2_OUT),
            };
            let items = geo.n * geo.c * geo.r * geo.s * geo.ho;
            let (u, grid) = direct_launch(rec.gpu(), problem.op.kernel_name(), geo, items)?;
            rec.dispatch(
                Shader::Im2col,
                entry,
                bytemuck::bytes_of(&u),
                &[(slot::PASS2_IN, a), (dst, &cols.buffer)],
                grid,
            );
            if problem.op == ConvOp::Forward {
                conv2d_forward::record(rec, &gemm, &gemm_plan, &cols.buffer, b, bias, out)
            } else {
                conv2d_weight_grad::record(rec, &gemm, &gemm_plan, &cols.buffer, b, out)
            }
        }
    }
}
