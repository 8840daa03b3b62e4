//! Records the depthwise 3x3 kernels (shaders/conv2d_depthwise.wgsl) for
//! one piece of a convolution's batch, for the three ops' modules
//! (conv2d_forward.rs, conv2d_input_grad.rs, conv2d_weight_grad.rs), which
//! cut the batch and call these where the plan's kernel is
//! [`ConvKernel::Depthwise`](crate::plan::ConvKernel::Depthwise).

use super::conv2d_weight_grad::dispatch_splits;
use super::conv_uniform::slot;
use super::{direct_launch, workgroups_launch};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::plan::{
    depthwise_fanout, depthwise_forward_entry, depthwise_input_grad_entry,
    depthwise_weight_grad_entry, reduction_split, ConvKernel, ConvProblem,
};
use crate::{Conv2dGeometry, Error};

/// Invocations of the forward and input-gradient entries: one per 4x4
/// block of each of `planes` planes of `rows` x `cols` outputs.
fn blocks(planes: usize, rows: usize, cols: usize) -> usize {
    planes * rows.div_ceil(4) * cols.div_ceil(4)
}

/// `y = conv2d(x, w) + bias`: one invocation per 4x4 block of a group's
/// outputs, looping over the group's K/g output channels, each workgroup
/// within one group (`forward_workgroups` in the shader), by the entry
/// [`depthwise_forward_entry`] names.
pub(crate) fn forward(
    rec: &mut Recorder,
    problem: &ConvProblem,
    x: &dyn Bindable,
    w: &dyn Bindable,
    bias: Option<&dyn Bindable>,
    y: &dyn Bindable,
) -> Result<(), Error> {
    let geo = &problem.geometry;
    let entry = depthwise_forward_entry(problem);
    let (mut u, grid) = if entry == "forward_rows_quads" {
        // Bands of 4 whole rows, in workgroups of 32 within one group.
        let workgroups = (geo.n * geo.ho.div_ceil(4)).div_ceil(32);
        workgroups_launch(rec.gpu(), "conv2d", geo, (geo.groups() * workgroups) as u64)?
    } else {
        let workgroups = blocks(geo.n, geo.ho, geo.wo).div_ceil(64);
        direct_launch(rec.gpu(), "conv2d", geo, geo.groups() * workgroups * 64)?
    };
    u.has_bias = bias.is_some() as u32;
    // Without a bias the weight is bound in its place (a binding cannot be
    // empty); has_bias = 0 keeps the kernel from reading it.
    let bias = bias.unwrap_or(w);
    let out = if entry == "forward" {
        slot::C
    } else {
        slot::C4
    };
    // The `_quads` entries read the taps as vec4s (B4), the others as f32s;
    // the whole-row one reads x as vec4s (A4).
    let taps = if entry.ends_with("_quads") {
        slot::B4
    } else {
        slot::B
    };
    let input = if entry == "forward_rows_quads" {
        slot::A4
    } else {
        slot::A
    };
    let buffers = [(input, x), (taps, w), (out, y), (slot::BIAS, bias)];
    let uniform = bytemuck::bytes_of(&u);
    let constants = constants(geo, entry, u.has_bias != 0);
    rec.dispatch_specialized(
        Shader::Conv2dDepthwise,
        entry,
        &constants,
        uniform,
        &buffers,
        grid,
    );
    Ok(())
}

/// The pipeline constants of this module's pipelines for `geo`: the
/// stride (1 or 2 per axis, `plan::depthwise_fits`), so that the window
/// code keeps one stride's branch, and for the whole-row entries
/// (`input_grad_rows`, `forward_rows_quads`) the row's vec4s (W / 4, at
/// most `plan::MAX_ROW_QUADS`), so that their written-out code for the
/// quads past them folds away; 0 for the other entries,
/// which do not read it (one pipeline for every width), and whether a
/// forward adds a bias (`bias`; false for the gradients)
/// (shaders/conv2d_depthwise.wgsl).
pub(crate) fn constants(geo: &Conv2dGeometry, entry: &str, bias: bool) -> [(&'static str, u32); 4] {
    let [h, w] = geo.params.stride;
    let whole_rows = matches!(entry, "input_grad_rows" | "forward_rows_quads");
    let quads = if whole_rows { geo.w as u32 / 4 } else { 0 };
    [
        ("DEPTHWISE_STRIDE_H", h),
        ("DEPTHWISE_STRIDE_W", w),
        ("ROW_QUADS", quads),
        ("DEPTHWISE_BIAS", bias as u32),
    ]
}

/// `dx` from `dy` and `w` (stride 1 or 2), by the entry
/// [`depthwise_input_grad_entry`] names: one invocation per 4x4 block of
/// dx, per 4x8 block in `input_grad_x8`, which reads dy's rows as vec4s
/// too (A4) and stores vec4s (C4), or per 4-row band of a plane in
/// `input_grad_rows` (A4 and C4 only), whose row width in vec4s is a
/// pipeline constant.
pub(crate) fn input_grad(
    rec: &mut Recorder,
    problem: &ConvProblem,
    dy: &dyn Bindable,
    w: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let geo = &problem.geometry;
    let entry = depthwise_input_grad_entry(problem);
    const OP: &str = "conv2d_input_grad";
    let (u, grid) = match entry {
        // One invocation per 4-row band of a plane, in workgroups of 32.
        "input_grad_rows" => {
            let bands = geo.n * geo.c * geo.h.div_ceil(4);
            workgroups_launch(rec.gpu(), OP, geo, bands.div_ceil(32) as u64)?
        }
        "input_grad_x8" => {
            let count = blocks(geo.n * geo.c, geo.h, geo.w.div_ceil(2));
            direct_launch(rec.gpu(), OP, geo, count)?
        }
        _ => direct_launch(rec.gpu(), OP, geo, blocks(geo.n * geo.c, geo.h, geo.w))?,
    };
    let buffers: &[(u32, &dyn Bindable)] = match entry {
        "input_grad_rows" => &[(slot::A4, dy), (slot::B, w), (slot::C4, dx)],
        "input_grad_x8" => &[(slot::A, dy), (slot::A4, dy), (slot::B, w), (slot::C4, dx)],
        _ => &[(slot::A, dy), (slot::B, w), (slot::C, dx)],
    };
    let uniform = bytemuck::bytes_of(&u);
    rec.dispatch_specialized(
        Shader::Conv2dDepthwise,
        entry,
        &constants(geo, entry, false),
        uniform,
        buffers,
        grid,
    );
    Ok(())
}

/// `dw` from `x` and `dy`: one invocation per (split, channel), or per
/// (split, quad of channels) where [`depthwise_weight_grad_entry`] says
/// `weight_grad_fanout`, over its split of the output rows
/// (`plan::depthwise_split`), into `dw` itself
/// with one split, else into partial sums that conv2d_weight_grad.wgsl's
/// `reduce_splits` adds in order.
pub(crate) fn weight_grad(
    rec: &mut Recorder,
    problem: &ConvProblem,
    x: &dyn Bindable,
    dy: &dyn Bindable,
    dw: &dyn Bindable,
) -> Result<(), Error> {
    const OP: &str = "conv2d_weight_grad";
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let max_bind = gpu.inner.limits.max_storage_buffer_binding_size;
    let (splits, split_len) = reduction_split(problem, ConvKernel::Depthwise, max_bind);
    // Four channels per invocation, dy read as vec4s, where the plan's
    // entry is `weight_grad_fanout` (the `_x4` one reads x as vec4s too).
    let entry = depthwise_weight_grad_entry(problem);
    let per_split = match depthwise_fanout(geo) {
        true => geo.k / 4,
        false => geo.k,
    };
    let (mut u, grid) = direct_launch(gpu, OP, geo, splits * per_split)?;
    u.splits = splits as u32;
    u.split_len = split_len as u32;
    let bound: &[(u32, &dyn Bindable)] = match entry {
        "weight_grad_fanout_x4" => &[(slot::A, x), (slot::A4, x), (slot::B4, dy)],
        "weight_grad_fanout" => &[(slot::A, x), (slot::B4, dy)],
        _ => &[(slot::A, x), (slot::B, dy)],
    };
    let kernel = (
        Shader::Conv2dDepthwise,
        entry,
        &constants(geo, entry, false)[..],
    );
    dispatch_splits(rec, geo, kernel, u, bound, grid, (slot::C, dw))
}
