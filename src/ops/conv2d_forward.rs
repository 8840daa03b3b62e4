//! Records the forward convolution's plans (shaders/conv2d_forward.wgsl):
//! the GEMM or direct kernel, and where the plan cuts a GEMM's reduction
//! (`plan::reduction_split`: a linear layer's few output tiles) the
//! ranges' partial sums, added in order with the bias by `reduce_splits`.
//! `Gpu::conv2d` itself is in conv.rs.

use super::conv_uniform::{dispatch, slot};
use super::split::{batch_chunk, pieces, slice};
use super::{check_loop, conv2d_depthwise, direct_launch, tiled_launch};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::plan::{reduction_split, ConvKernel, ConvPlan, ConvProblem};
use crate::{Conv2dGeometry, Error};

const OP: &str = "conv2d";

/// Records `plan` on validated whole-tensor buffers into `rec`, split over
/// the batch where `x` or `y` exceeds one binding.
pub(crate) fn record(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    x: &wgpu::Buffer,
    w: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    y: &wgpu::Buffer,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let x_img = (geo.c * geo.h * geo.w * 4) as u64;
    let y_img = (geo.k * geo.ho * geo.wo * 4) as u64;
    // The direct and GEMM kernels loop over the whole reduction per output.
    check_loop(
        OP,
        "65 535 reduction terms per output (C/groups·R·S; the longest loop a kernel may run)",
        geo.c_per_group() * geo.r * geo.s,
    )?;
    let chunk = batch_chunk(gpu, OP, geo.n, &[x_img, y_img], usize::MAX)?;
    for (n0, count) in pieces(geo.n, chunk) {
        let piece = ConvProblem {
            geometry: Conv2dGeometry { n: count, ..*geo },
            ..*problem
        };
        let (xs, ys) = (slice(x, x_img, n0, count), slice(y, y_img, n0, count));
        let bias = bias.map(|b| b as &dyn Bindable);
        record_piece(rec, &piece, plan, &xs, w, bias, &ys)?;
    }
    Ok(())
}

/// One piece: `x` and `y` bind the piece's images only.
fn record_piece(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    x: &dyn Bindable,
    w: &dyn Bindable,
    bias: Option<&dyn Bindable>,
    y: &dyn Bindable,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let dims = problem.gemm();
    let kernel = plan.kernel_for(problem);
    if kernel == ConvKernel::Depthwise {
        return conv2d_depthwise::forward(rec, problem, x, w, bias, y);
    }
    let tile = kernel.tile();
    let max_bind = gpu.inner.limits.max_storage_buffer_binding_size;
    // The piece's own split (the plan's, unless the batch was cut).
    let (splits, split_len) = reduction_split(problem, kernel, max_bind);
    let (mut u, grid) = match tile {
        Some(tile) => tiled_launch(gpu, OP, geo, dims, tile, splits, split_len)?,
        None => direct_launch(gpu, OP, geo, geo.y_shape().iter().product())?,
    };
    u.has_bias = bias.is_some() as u32;
    // Without a bias the weight is bound in its place (a binding cannot be
    // empty); has_bias = 0 keeps the kernel from reading it.
    let bias = bias.unwrap_or(w);
    let entry = (Shader::Conv2dForward, kernel.name());
    if tile.is_none() {
        let buffers = [(slot::A, x), (slot::B, w), (slot::C, y), (slot::BIAS, bias)];
        dispatch(rec, entry, &u, &buffers, grid);
        return Ok(());
    }
    let taps = gpu.taps(problem)?;
    if splits == 1 {
        let buffers: [(u32, &dyn Bindable); 5] = [
            (slot::A, x),
            (slot::B, w),
            (slot::C, y),
            (slot::BIAS, bias),
            (slot::TAPS, &taps),
        ];
        let buffers = slot::for_kernel(kernel, &buffers);
        dispatch(rec, entry, &u, &buffers, grid);
        return Ok(());
    }
    // Every split writes its whole slice of partial sums, so no clear is
    // needed; the GEMM adds no bias to them, reduce_splits does.
    let y_len: usize = geo.y_shape().iter().product();
    let partials = rec.scratch(splits * y_len)?;
    let buffers: [(u32, &dyn Bindable); 5] = [
        (slot::A, x),
        (slot::B, w),
        (slot::C, &partials.buffer),
        (slot::BIAS, bias),
        (slot::TAPS, &taps),
    ];
    let buffers = slot::for_kernel(kernel, &buffers);
    dispatch(rec, entry, &u, &buffers, grid);
    let (reduce, rgrid) = direct_launch(gpu, OP, geo, y_len)?;
    u.grid_x = reduce.grid_x;
    let buffers: [(u32, &dyn Bindable); 3] = [
        (slot::PASS2_IN, &partials.buffer),
        (slot::PASS2_OUT, y),
        (slot::BIAS, bias),
    ];
    dispatch(
        rec,
        (Shader::Conv2dForward, "reduce_splits"),
        &u,
        &buffers,
        rgrid,
    );
    Ok(())
}
