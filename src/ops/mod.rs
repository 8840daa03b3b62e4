//! The GPU ops: validate, pick a kernel variant, fill the uniform, dispatch.
//! One module per kernel family, named like its shader and its CPU reference.

mod activation;
mod adam_step;
mod add;
mod bias_grad;
mod conv2d_forward;
mod conv2d_input_grad;
mod conv2d_weight_grad;
mod conv_uniform;
mod elementwise;
mod linear;
mod max_pool2d;
mod mse_loss;
mod sgd_step;
mod softmax_cross_entropy;
mod split;
mod taps;
mod tune;

pub use adam_step::{Adam, AdamState};
pub(crate) use conv2d_forward::record_conv2d_forward;
pub(crate) use conv2d_input_grad::record_conv2d_input_grad;
pub(crate) use conv2d_weight_grad::record_conv2d_weight_grad;
pub use conv_uniform::ConvUniform;
pub use sgd_step::{Sgd, SgdState};
pub(crate) use tune::Tuning;

use crate::gpu::Variant;
use crate::{Error, Gpu, Tensor};

/// Workgroup size of every `direct` entry point and of `reduce_splits`
/// (`@workgroup_size(64)` in the conv shaders and sgd_step.wgsl).
pub(crate) const DIRECT_WORKGROUP: u64 = 64;
/// Reduction depth per step of the `tiled` entry point (TILE_K in
/// gemm_tiled.wgsl); split-K ranges are multiples of it.
pub(crate) const TILE_K: usize = 16;

/// The output tile (rows, columns) one workgroup of a GEMM variant
/// computes, and its entry point: 128x64 (`tiled`, or 128x32
/// `tiled_narrow` for GEMMs of at most 32 columns) and 128x128
/// (`tiled_wide`) in gemm_tiled.wgsl, 64x16 in gemm_rows.wgsl; or the
/// block one invocation computes in gemm_blocks.wgsl: 32x16 (`blocks_tall`)
/// for GEMMs of at least 128 rows and a reduction of at least 64, 16x16
/// (`blocks`) otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GemmTile {
    pub m: usize,
    pub n: usize,
    pub entry: &'static str,
    /// Tiles per workgroup: 1 where a workgroup computes a tile together,
    /// 64 for `blocks` (one block per invocation).
    pub per_workgroup: usize,
}

impl Variant {
    pub(crate) fn gemm_tile(self, dims: GemmDims) -> Option<GemmTile> {
        match self {
            Variant::Tiled if dims.n <= 32 => Some(GemmTile {
                m: 128,
                n: 32,
                entry: "tiled_narrow",
                per_workgroup: 1,
            }),
            Variant::Tiled => Some(GemmTile {
                m: 128,
                n: 64,
                entry: "tiled",
                per_workgroup: 1,
            }),
            Variant::Wide => Some(GemmTile {
                m: 128,
                n: 128,
                entry: "tiled_wide",
                per_workgroup: 1,
            }),
            Variant::Rows => Some(GemmTile {
                m: 64,
                n: 16,
                entry: "rows",
                per_workgroup: 1,
            }),
            Variant::Blocks => Some(blocks_tile(dims)),
            Variant::Auto | Variant::Direct | Variant::Tuned => None,
        }
    }
}

/// The `blocks` variant's block for a GEMM: 32x16 where there are enough
/// rows and reduction steps to use it, 16x16 otherwise (gemm_blocks.wgsl).
pub(crate) fn blocks_tile(dims: GemmDims) -> GemmTile {
    if dims.m >= 128 && dims.k >= 64 {
        GemmTile {
            m: 32,
            n: 16,
            entry: "blocks_tall",
            per_workgroup: 64,
        }
    } else {
        GemmTile {
            m: 16,
            n: 16,
            entry: "blocks",
            per_workgroup: 64,
        }
    }
}

/// GEMMs with fewer columns than this are narrow: the GEMM variants leave
/// most of a tile or block idle on them, so Auto runs them direct, except
/// the input gradient, which `Blocks` computes in two steps there
/// (conv2d_input_grad_cols.wgsl).
pub(crate) const NARROW_COLUMNS: usize = 8;

/// The most iterations any loop of any kernel runs in one invocation,
/// counted over the whole invocation (a nested loop's count includes every
/// pass of the loops around it). Mesa's llvmpipe and lavapipe (Mesa 22.x)
/// silently leave a loop after 65 535 such iterations — the result is then
/// simply wrong — so wgconv splits work until no loop gets there, on every
/// adapter, and refuses (`LimitExceeded`) what it cannot split.
pub(crate) const MAX_LOOP_TRIPS: usize = 65_535;

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

/// The GEMM a convolution is computed as, per group: C[m][n] = Σ_kk A[m][kk]·B[kk][n].
#[derive(Debug, Clone, Copy)]
pub(crate) struct GemmDims {
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

/// Picks the variant for a problem when the handle says `Auto`. The tiled
/// kernels waste most of their tile when a GEMM side is tiny (depthwise
/// convolutions have one column per group), so those stay direct.
/// A tiled kernel also needs its tap table to fit in one binding; if it
/// does not, the direct variant runs instead.
pub(crate) fn choose_variant(
    gpu: &Gpu,
    kernel: crate::gpu::Kernel,
    geo: &crate::Conv2dGeometry,
    dims: GemmDims,
) -> Variant {
    let table_fits =
        taps::table_bytes(kernel, geo) <= gpu.inner.limits.max_storage_buffer_binding_size;
    match gpu.variant() {
        _ if !table_fits => Variant::Direct,
        // A fixed rule (so results are reproducible across runs).
        // CPU adapters (lavapipe small suite, GFLOP/s): blocks 17-20 on
        // S2-S5 against 6-9 for tiled/wide, 6.3 and 8.8 on S1's forward
        // and weight gradient against 2.0 (rows) and 0.7 (direct). A
        // narrow GEMM runs direct, except the input gradient, which blocks
        // computes in two steps there (S1, C = 1: 5.1 against 1.3 direct)
        // as long as the reduction over K/g is not narrow too.
        Variant::Auto if gpu.is_cpu() => {
            let two_step = kernel == crate::gpu::Kernel::Conv2dInputGrad
                && geo.k_per_group() >= NARROW_COLUMNS;
            if dims.n >= NARROW_COLUMNS || two_step {
                Variant::Blocks
            } else {
                Variant::Direct
            }
        }
        // GPUs: the tiled kernels waste most of their tile or 16-deep
        // k-step on narrow (C/g or K/g < 24) or shallow (reduction < 32)
        // problems, where rows runs instead; wide needs 128 columns to
        // fill its tile. (Chosen on lavapipe before blocks existed; not
        // yet measured on a GPU.)
        Variant::Auto if dims.m >= 32 && dims.n >= NARROW_COLUMNS && dims.k >= 8 => {
            if dims.n < 24 || dims.k < 32 {
                Variant::Rows
            } else if dims.n >= 128 {
                Variant::Wide
            } else {
                Variant::Tiled
            }
        }
        Variant::Auto => Variant::Direct,
        Variant::Tuned => tune::tuned_variant(gpu, kernel, geo, dims),
        v => v,
    }
}

/// The fixed rule alone (what `Auto` picks), for the tuner's fallback.
pub(crate) fn fixed_rule(
    gpu: &Gpu,
    kernel: crate::gpu::Kernel,
    geo: &crate::Conv2dGeometry,
    dims: GemmDims,
) -> Variant {
    choose_variant(&gpu.with_variant(Variant::Auto), kernel, geo, dims)
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
    let grid = gpu.grid(op, direct_workgroups(elements))?;
    Ok((ConvUniform::new(geo, grid.0), grid))
}

/// Uniform and grid for a GEMM variant: ceil(m/tile.m)·ceil(n/tile.n) tiles
/// per group and split, the reduction cut into `splits` ranges of `split_len`.
pub(crate) fn tiled_launch(
    gpu: &Gpu,
    op: &'static str,
    geo: &crate::Conv2dGeometry,
    dims: GemmDims,
    tile: GemmTile,
    splits: usize,
    split_len: usize,
) -> Result<(ConvUniform, (u32, u32)), Error> {
    let tiles_m = dims.m.div_ceil(tile.m);
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
