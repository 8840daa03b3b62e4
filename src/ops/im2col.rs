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
use crate::{Conv2dGeometry, Error};

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
            let entry = plan::im2col_entry(geo);
            // im2col_rows: a row of x per invocation; the others a row of
            // the columns.
            let col_rows = geo.n * geo.c * geo.r * geo.s * geo.ho;
            let (items, x_slot, dst) = match entry {
                "im2col_rows" => (col_rows / geo.s, slot::A4, slot::C4),
                "im2col_x4" => (col_rows, slot::PASS2_IN, slot::C4),
                _ => (col_rows, slot::PASS2_IN, slot::PASS2_OUT),
            };
            let (u, grid) = direct_launch(rec.gpu(), problem.op.kernel_name(), geo, items)?;
            rec.dispatch_specialized(
                Shader::Im2col,
                entry,
                &rows_constants(geo, entry),
                bytemuck::bytes_of(&u),
                &[(x_slot, a), (dst, &cols.buffer)],
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

/// The pipeline constants of im2col.wgsl's `im2col_rows` for `geo` (the
/// kernel's width, the stride, padding and dilation along W, x's and the
/// columns' rows in vec4s), so that its loops unroll and every value's
/// lane is picked when the pipeline is built; the defaults for the other
/// entries, which do not read them (one pipeline for every layer).
pub(crate) fn rows_constants(geo: &Conv2dGeometry, entry: &str) -> Vec<(&'static str, u32)> {
    if entry != "im2col_rows" {
        return Vec::new();
    }
    let p = &geo.params;
    vec![
        ("IM2COL_S", geo.s as u32),
        ("IM2COL_STRIDE_W", p.stride[1]),
        ("IM2COL_PAD_W", p.padding[1]),
        ("IM2COL_DIL_W", p.dilation[1]),
        ("IM2COL_QUADS", (geo.w / 4) as u32),
        ("IM2COL_OUT_QUADS", (geo.wo / 4) as u32),
    ]
}
