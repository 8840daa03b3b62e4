//! `Gpu::conv2d_weight_grad`: the gradient of the convolution with respect
//! to its weight (shaders/conv2d_weight_grad.wgsl).

use super::split::{batch_chunk, slice, sum_pieces};
use super::{
    check_owned, check_shape, choose_variant, direct_launch, tiled_launch, GemmDims, GemmTile,
    MAX_LOOP_TRIPS, TILE_K,
};
use crate::gpu::{Bindable, Kernel, Recorder};
use crate::{Conv2dGeometry, Conv2dParams, Error, Gpu, Tensor};

const OP: &str = "conv2d_weight_grad";

/// Workgroups the split-K choice aims for: enough to keep a large GPU busy.
const TARGET_WORKGROUPS: usize = 512;
/// Shortest reduction range worth a split of its own (in k elements).
const MIN_SPLIT_LEN: usize = 256;
/// Longest reduction range of one split: the loop budget, in whole k-steps.
const MAX_SPLIT_LEN: usize = MAX_LOOP_TRIPS / TILE_K * TILE_K;

impl Gpu {
    /// `dw = ∂L/∂w` from the forward input `x` and the output gradient
    /// `dy = ∂L/∂y` of `y = conv2d(x, w)`.
    ///
    /// `x` is `[N, C, H, W]`, `dy` is `[N, K, Ho, Wo]`, `w_shape` is the
    /// weight's `[K, C/groups, R, S]`; returns `dw` of shape `w_shape`. The
    /// sum over `N·Ho·Wo` runs in a fixed order (split into ranges summed
    /// in order, no atomics), so results are bit-identical run to run.
    /// Fails on invalid geometry, a `dy` that is not the forward output's
    /// shape, or tensors from another `Gpu`.
    pub fn conv2d_weight_grad(
        &self,
        x: &Tensor,
        dy: &Tensor,
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        check_owned(self, OP, &[("input", x), ("output gradient", dy)])?;
        let _serial = self.serialize();
        let geo = Conv2dGeometry::new(OP, x.shape(), &w_shape, p)?;
        check_shape(OP, "output gradient", dy, &geo.y_shape())?;
        let dw = self.output_unlocked(OP, &w_shape)?;
        let mut rec = Recorder::new(self, OP)?;
        record_conv2d_weight_grad(self, &mut rec, &geo, &x.buffer, &dy.buffer, &dw.buffer)?;
        rec.submit()?;
        Ok(dw)
    }
}

/// How many ranges to cut the reduction into, and how long each is (a
/// multiple of TILE_K). Long reductions with few output tiles get split so
/// the GPU has enough workgroups; the partial sums are then added in split
/// order by `reduce_splits`.
fn split_plan(
    dims: GemmDims,
    tile: GemmTile,
    groups: usize,
    max_splits_by_memory: usize,
) -> (usize, usize) {
    let tiles = dims.m.div_ceil(tile.m) * dims.n.div_ceil(tile.n) * groups;
    let wanted = (TARGET_WORKGROUPS * tile.per_workgroup).div_ceil(tiles);
    let most = dims.k.div_ceil(MIN_SPLIT_LEN);
    let least = dims.k.div_ceil(MAX_SPLIT_LEN);
    let splits = wanted.min(most).min(max_splits_by_memory).max(least).max(1);
    let split_len = dims.k.div_ceil(splits).div_ceil(TILE_K) * TILE_K;
    (dims.k.div_ceil(split_len), split_len)
}

/// Splits of the direct variant: enough (split, element) invocations to
/// fill a device (DIRECT_TARGET), splits of at least MIN_SPLIT_LEN terms
/// and at most MAX_SPLIT_LEN (the loop budget).
fn direct_split_plan(k: usize, dw_len: usize, most_splits: usize) -> (usize, usize) {
    const DIRECT_TARGET: usize = 8192;
    let wanted = DIRECT_TARGET.div_ceil(dw_len);
    let most = k.div_ceil(MIN_SPLIT_LEN).min(most_splits);
    let splits = wanted.min(most).max(k.div_ceil(MAX_SPLIT_LEN)).max(1);
    let split_len = k.div_ceil(splits);
    (k.div_ceil(split_len), split_len)
}

/// Records the weight-gradient convolution of validated whole-tensor
/// buffers into `rec`. Where `x` or `dy` exceeds one binding, the batch is
/// split: the first piece writes `dw`, every later one writes a scratch
/// buffer that is then added into `dw`, in piece order.
pub(crate) fn record_conv2d_weight_grad(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    x: &wgpu::Buffer,
    dy: &wgpu::Buffer,
    dw: &wgpu::Buffer,
) -> Result<(), Error> {
    let x_img = (geo.c * geo.h * geo.w * 4) as u64;
    let y_img = (geo.k * geo.ho * geo.wo * 4) as u64;
    let dw_len: usize = geo.w_shape().iter().product();
    // Each piece's reduction must fit its split plan: splits of at most
    // MAX_SPLIT_LEN terms, at most as many splits as the loop budget of
    // reduce_splits and one binding of partial sums allow.
    let max_bind = gpu.inner.limits.max_storage_buffer_binding_size as usize;
    let most_splits = MAX_LOOP_TRIPS.min(max_bind / 4 / dw_len).max(1);
    // The GEMM variants' tap table (16 bytes per reduction term) must fit
    // one binding too.
    let per_image_k = geo.ho * geo.wo;
    let max_images = (MAX_SPLIT_LEN * most_splits).min(max_bind / 16) / per_image_k;
    let chunk = batch_chunk(gpu, OP, geo.n, &[x_img, y_img], max_images)?;
    sum_pieces(
        gpu,
        rec,
        OP,
        geo.n,
        chunk,
        dw,
        dw_len,
        |rec, n0, count, dst| {
            let piece = Conv2dGeometry { n: count, ..*geo };
            let (xs, dys) = (slice(x, x_img, n0, count), slice(dy, y_img, n0, count));
            record_piece(gpu, rec, &piece, &xs, &dys, dst)
        },
    )
}

/// One piece: `x` and `dy` bind the piece's images only.
fn record_piece(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    x: &dyn Bindable,
    dy: &dyn Bindable,
    dw: &dyn Bindable,
) -> Result<(), Error> {
    let dims = GemmDims {
        m: geo.c_per_group() * geo.r * geo.s,
        n: geo.k_per_group(),
        k: geo.n * geo.ho * geo.wo,
    };
    let dw_len: usize = geo.w_shape().iter().product();
    let max_bind = gpu.inner.limits.max_storage_buffer_binding_size as usize;
    let most_splits = MAX_LOOP_TRIPS.min(max_bind / 4 / dw_len).max(1);
    let variant = choose_variant(gpu, Kernel::Conv2dWeightGrad, geo, dims);
    let (mut u, grid, splits, entry, taps) = match variant.gemm_tile(dims) {
        Some(tile) => {
            let (splits, split_len) = split_plan(dims, tile, geo.groups(), most_splits);
            let (u, grid) = tiled_launch(gpu, OP, geo, dims, tile, splits, split_len)?;
            let taps = gpu.taps(Kernel::Conv2dWeightGrad, geo)?;
            (u, grid, splits, tile.entry, Some(taps))
        }
        None => {
            // One invocation per (split, dw element): few outputs and long
            // reductions (S1: 288 outputs of 50 176 terms) need the splits
            // for parallelism as much as the GEMM variants do.
            let (splits, split_len) = direct_split_plan(dims.k, dw_len, most_splits);
            let (mut u, grid) = direct_launch(gpu, OP, geo, splits * dw_len)?;
            u.splits = splits as u32;
            u.split_len = split_len as u32;
            (u, grid, splits, "direct", None)
        }
    };
    let mut bound: Vec<(u32, &dyn Bindable)> = vec![(1, x), (2, dy)];
    if let Some(taps) = &taps {
        bound.push((7, taps));
    }
    if splits == 1 {
        bound.push((3, dw));
        rec.dispatch(
            Kernel::Conv2dWeightGrad,
            entry,
            bytemuck::bytes_of(&u),
            &bound,
            grid,
        );
        return Ok(());
    }
    // Every split writes its whole slice, so no clear is needed.
    let partials = rec.scratch(splits * dw_len)?;
    bound.push((3, &partials.buffer));
    rec.dispatch(
        Kernel::Conv2dWeightGrad,
        entry,
        bytemuck::bytes_of(&u),
        &bound,
        grid,
    );
    let (reduce, rgrid) = direct_launch(gpu, OP, geo, dw_len)?;
    u.grid_x = reduce.grid_x;
    rec.dispatch(
        Kernel::Conv2dWeightGrad,
        "reduce_splits",
        bytemuck::bytes_of(&u),
        &[(5, &partials.buffer), (6, dw)],
        rgrid,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TILED: GemmTile = GemmTile {
        m: 64,
        n: 64,
        entry: "tiled",
        per_workgroup: 1,
    };

    #[test]
    fn split_plan_covers_the_reduction() {
        for (m, n, k, g) in [
            (9, 64, 200_704, 1),
            (576, 128, 25_088, 1),
            (1, 1, 5, 1),
            (147, 64, 100_352, 1),
            (9, 4, 1000, 8),
            (9, 1, 68_157_440, 1),
        ] {
            let dims = GemmDims { m, n, k };
            let (splits, len) = split_plan(dims, TILED, g, 65_535);
            assert!(splits >= 1 && len % TILE_K == 0);
            assert!(splits * len >= k, "{splits} x {len} < {k}");
            assert!((splits - 1) * len < k, "an empty split for k = {k}");
            assert!(len <= MAX_SPLIT_LEN, "split of {len} past the loop budget");
        }
        // Memory cap respected where the loop budget allows it (callers cut
        // the batch so that it always does).
        let (splits, _) = split_plan(
            GemmDims {
                m: 9,
                n: 64,
                k: 150_000,
            },
            TILED,
            1,
            3,
        );
        assert!(splits <= 3);
    }
}
