//! Records the weight-gradient convolution's plans
//! (shaders/conv2d_weight_grad.wgsl): the GEMM or direct kernel over
//! ranges of the reduction (`plan::reduction_split`), then `reduce_splits` adds the
//! ranges' partial sums in order. `Gpu::conv2d_weight_grad` itself is in
//! conv.rs.

use super::add::sum_pieces;
use super::conv_uniform::{dispatch, slot, ConvUniform};
use super::split::{batch_chunk, slice};
use super::{conv2d_depthwise, direct_launch, tiled_launch};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::plan::{most_splits, reduction_split, ConvKernel, ConvPlan, ConvProblem, MAX_SPLIT_LEN};
use crate::{Conv2dGeometry, Error};

const OP: &str = "conv2d_weight_grad";

/// Records `plan` on validated whole-tensor buffers into `rec`. Where `x`
/// or `dy` exceeds one binding, the batch is split: the first piece writes
/// `dw`, every later one writes a scratch buffer that is then added into
/// `dw`, in piece order.
pub(crate) fn record(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    x: &wgpu::Buffer,
    dy: &wgpu::Buffer,
    dw: &wgpu::Buffer,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let x_img = (geo.c * geo.h * geo.w * 4) as u64;
    let y_img = (geo.k * geo.ho * geo.wo * 4) as u64;
    let dw_len: usize = geo.w_shape().iter().product();
    // Each piece's reduction must fit its split: ranges of at most
    // MAX_SPLIT_LEN terms, at most as many as the loop budget of
    // reduce_splits and one binding of partial sums allow.
    let max_bind = gpu.inner.limits.max_storage_buffer_binding_size;
    // The GEMM kernels' tap table (16 bytes per reduction term) must fit
    // one binding too.
    let per_image_k = geo.ho * geo.wo;
    let max_images =
        (MAX_SPLIT_LEN * most_splits(dw_len, max_bind)).min(max_bind as usize / 16) / per_image_k;
    let chunk = batch_chunk(gpu, OP, geo.n, &[x_img, y_img], max_images)?;
    sum_pieces(rec, OP, geo.n, chunk, dw, dw_len, |rec, n0, count, dst| {
        let piece = ConvProblem {
            geometry: Conv2dGeometry { n: count, ..*geo },
            ..*problem
        };
        let (xs, dys) = (slice(x, x_img, n0, count), slice(dy, y_img, n0, count));
        record_piece(rec, &piece, plan, &xs, &dys, dst)
    })
}

/// One piece: `x` and `dy` bind the piece's images only.
fn record_piece(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    x: &dyn Bindable,
    dy: &dyn Bindable,
    dw: &dyn Bindable,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let dims = problem.gemm();
    let dw_len: usize = geo.w_shape().iter().product();
    let max_bind = gpu.inner.limits.max_storage_buffer_binding_size;
    // The piece's own split (the plan's, unless the batch was cut).
    let kernel = plan.kernel_for(problem);
    if kernel == ConvKernel::Depthwise {
        return conv2d_depthwise::weight_grad(rec, problem, x, dy, dw);
    }
    let (splits, split_len) = reduction_split(problem, kernel, max_bind);
    let (u, grid, taps) = match kernel.tile() {
        Some(tile) => {
            let (u, grid) = tiled_launch(gpu, OP, geo, dims, tile, splits, split_len)?;
            (u, grid, Some(gpu.taps(problem)?))
        }
        None => {
            // One invocation per (split, dw element): few outputs and long
            // reductions need the splits for parallelism as much as the
            // GEMM kernels do.
            let (mut u, grid) = direct_launch(gpu, OP, geo, splits * dw_len)?;
            u.splits = splits as u32;
            u.split_len = split_len as u32;
            (u, grid, None)
        }
    };
    let mut bound: Vec<(u32, &dyn Bindable)> = vec![(slot::A, x), (slot::B, dy)];
    if let Some(taps) = &taps {
        bound.push((slot::TAPS, taps));
    }
    let bound = slot::for_kernel(kernel, &bound);
    let constants = u.constants();
    let entry = (Shader::Conv2dWeightGrad, kernel.name(), &constants[..]);
    let dw = (slot::output(kernel), dw);
    dispatch_splits(rec, geo, entry, u, &bound, grid, dw)
}

/// Dispatches `entry`, a weight-gradient kernel (its pipeline constants
/// with it) over `u.splits` ranges of the reduction with its operands
/// `bound`: into `dw` itself (bound at
/// `out_slot`) with one split, else into partial sums of the whole `dw`
/// per split (each split writes its whole slice, so no clear is needed)
/// that `reduce_splits` then adds in split order.
pub(super) fn dispatch_splits(
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    (shader, entry, constants): (Shader, &'static str, &[(&'static str, u32)]),
    mut u: ConvUniform,
    bound: &[(u32, &dyn Bindable)],
    grid: (u32, u32),
    (out_slot, dw): (u32, &dyn Bindable),
) -> Result<(), Error> {
    let dw_len: usize = geo.w_shape().iter().product();
    let partials = match u.splits {
        1 => None,
        splits => Some(rec.scratch(splits as usize * dw_len)?),
    };
    let mut bound = bound.to_vec();
    bound.push((out_slot, partials.as_ref().map_or(dw, |p| &p.buffer)));
    rec.dispatch_specialized(
        shader,
        entry,
        constants,
        bytemuck::bytes_of(&u),
        &bound,
        grid,
    );
    let Some(partials) = partials else {
        return Ok(());
    };
    // Four elements per invocation, as vec4s, where dw's length allows.
    let (entry, items, slots) = match dw_len.is_multiple_of(4) {
        true => ("reduce_splits_x4", dw_len / 4, [slot::A4, slot::C4]),
        false => ("reduce_splits", dw_len, [slot::PASS2_IN, slot::PASS2_OUT]),
    };
    let (reduce, rgrid) = direct_launch(rec.gpu(), OP, geo, items)?;
    u.grid_x = reduce.grid_x;
    let buffers: [(u32, &dyn Bindable); 2] = [(slots[0], &partials.buffer), (slots[1], dw)];
    dispatch(rec, (Shader::Conv2dWeightGrad, entry), &u, &buffers, rgrid);
    Ok(())
}
