//! The GPU ops: validate, fill the uniform, dispatch. One module per
//! kernel family, named like its shader and its CPU reference. The three
//! convolutions share their entry points and the recording of a plan
//! (conv.rs); how each one runs is decided in crate::plan only.

mod activation;
mod adam_step;
mod adaptive_avg_pool2d;
mod adaptive_max_pool2d;
mod add;
mod avg_pool2d;
mod batch_norm2d;
mod bias_grad;
mod channels;
mod conv;
pub(crate) mod conv2d_depthwise;
mod conv2d_forward;
pub(crate) mod conv2d_input_grad;
mod conv2d_weight_grad;
mod conv_uniform;
mod copy;
mod dropout;
mod elementwise;
pub(crate) mod im2col;
mod linear;
mod max_pool2d;
mod mse_loss;
mod mul;
mod nll_loss;
mod norm;
mod pointwise_loss;
mod pool2d;
mod sgd_step;
mod softmax;
mod softmax_cross_entropy;
mod split;
mod taps;
pub(crate) mod tune;
mod upsample2d;
mod winograd;

pub use activation::Activation;
pub use adam_step::{Adam, AdamState};
pub(crate) use add::channel_run;
pub use batch_norm2d::BatchNorm;
pub(crate) use conv::{record_conv, ConvBuffers};
pub(crate) use conv_uniform::ConvUniform;
pub(crate) use nll_loss::check_nll;
pub use nll_loss::NllOptions;
pub use norm::NormGrads;
pub(crate) use norm::{check_eps, norm_layout};
pub use pointwise_loss::PointwiseLoss;
pub use sgd_step::{Sgd, SgdState};

use crate::plan::{GemmDims, Tile, MAX_LOOP_TRIPS};
use crate::{Error, Gpu, Tensor};

/// Workgroup size of every `direct` entry point and of `reduce_splits`
/// (`@workgroup_size(64)` in the conv shaders and sgd_step.wgsl).
pub(crate) const DIRECT_WORKGROUP: u64 = 64;

/// `Err(LimitExceeded)` naming `what` when a kernel loop would run more
/// than [`MAX_LOOP_TRIPS`] iterations in one invocation.
pub(crate) fn check_loop(op: &'static str, what: &'static str, trips: usize) -> Result<(), Error> {
    if trips <= MAX_LOOP_TRIPS {
        Ok(())
    } else {
        Err(Error::LimitExceeded {
            op,
            limit: what,
            requested: trips as u64,
            max: MAX_LOOP_TRIPS as u64,
        })
    }
}

/// Number of workgroups for a direct kernel over `elements` outputs.
pub(crate) fn direct_workgroups(elements: usize) -> u64 {
    (elements as u64).div_ceil(DIRECT_WORKGROUP)
}

/// Every tensor given to an op must live on the op's device.
pub(crate) fn check_owned(
    gpu: &Gpu,
    op: &'static str,
    tensors: &[(&'static str, &Tensor)],
) -> Result<(), Error> {
    tensors
        .iter()
        .try_for_each(|(name, t)| gpu.check_owns(op, name, t))
}

/// `Err(ShapeMismatch)` unless `t` has exactly `expected` as its shape.
pub(crate) fn check_shape(
    op: &'static str,
    name: &'static str,
    t: &Tensor,
    expected: &[usize],
) -> Result<(), Error> {
    if t.shape() == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            tensor: name,
            expected: expected.to_vec(),
            got: t.shape().to_vec(),
        })
    }
}

/// Uniform and grid for a direct kernel with one invocation per element.
pub(crate) fn direct_launch(
    gpu: &Gpu,
    op: &'static str,
    geo: &crate::Conv2dGeometry,
    elements: usize,
) -> Result<(ConvUniform, (u32, u32)), Error> {
    workgroups_launch(gpu, op, geo, direct_workgroups(elements))
}

/// Uniform and grid for a kernel of `workgroups` workgroups (of whatever
/// size its entry declares).
pub(crate) fn workgroups_launch(
    gpu: &Gpu,
    op: &'static str,
    geo: &crate::Conv2dGeometry,
    workgroups: u64,
) -> Result<(ConvUniform, (u32, u32)), Error> {
    let grid = gpu.grid(op, workgroups)?;
    Ok((ConvUniform::new(geo, grid.0), grid))
}

/// Uniform and grid for a GEMM kernel: ceil(m/tile.m)·ceil(n/tile.n) tiles
/// per group and split, the reduction cut into `splits` ranges of `split_len`.
pub(crate) fn tiled_launch(
    gpu: &Gpu,
    op: &'static str,
    geo: &crate::Conv2dGeometry,
    dims: GemmDims,
    tile: Tile,
    splits: usize,
    split_len: usize,
) -> Result<(ConvUniform, (u32, u32)), Error> {
    let tiles_m = tile.row_blocks(dims.m);
    let tiles_n = dims.n.div_ceil(tile.n);
    let count = (tiles_m as u64) * (tiles_n as u64) * (splits as u64) * (geo.groups() as u64);
    let grid = gpu.grid(op, count.div_ceil(tile.per_workgroup as u64))?;
    let mut u = ConvUniform::new(geo, grid.0);
    u.tiles_m = tiles_m as u32;
    u.tiles_n = tiles_n as u32;
    u.splits = splits as u32;
    u.split_len = split_len as u32;
    Ok((u, grid))
}
