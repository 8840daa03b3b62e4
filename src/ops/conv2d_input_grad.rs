//! `Gpu::conv2d_input_grad`: the gradient of the convolution with respect
//! to its input (shaders/conv2d_input_grad.wgsl).

use super::split::{batch_chunk, pieces, slice};
use super::{
    check_loop, check_owned, check_shape, choose_variant, direct_launch, tiled_launch, GemmDims,
};
use crate::gpu::{Bindable, Kernel, Recorder};
use crate::{Conv2dGeometry, Conv2dParams, Error, Gpu, Tensor};

const OP: &str = "conv2d_input_grad";

impl Gpu {
    /// `dx = ∂L/∂x` from the output gradient `dy = ∂L/∂y` of
    /// `y = conv2d(x, w)`.
    ///
    /// `dy` is `[N, K, Ho, Wo]`, `w` is `[K, C/groups, R, S]`, `x_shape` is
    /// the forward input's `[N, C, H, W]`; returns `dx` of shape `x_shape`.
    /// Fails on invalid geometry, a `dy` whose shape is not the forward
    /// output's, or tensors from another `Gpu`.
    pub fn conv2d_input_grad(
        &self,
        dy: &Tensor,
        w: &Tensor,
        x_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        check_owned(self, OP, &[("output gradient", dy), ("weight", w)])?;
        let _serial = self.serialize();
        let geo = Conv2dGeometry::new(OP, &x_shape, w.shape(), p)?;
        check_shape(OP, "output gradient", dy, &geo.y_shape())?;
        let dx = self.output_unlocked(OP, &x_shape)?;
        let mut rec = Recorder::new(self, OP)?;
        record_conv2d_input_grad(self, &mut rec, &geo, &dy.buffer, &w.buffer, &dx.buffer)?;
        rec.submit()?;
        Ok(dx)
    }
}

/// Records the input-gradient convolution of validated whole-tensor
/// buffers into `rec`, split over the batch where `dy` or `dx` exceeds one
/// binding.
pub(crate) fn record_conv2d_input_grad(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    dy: &wgpu::Buffer,
    w: &wgpu::Buffer,
    dx: &wgpu::Buffer,
) -> Result<(), Error> {
    let y_img = (geo.k * geo.ho * geo.wo * 4) as u64;
    let x_img = (geo.c * geo.h * geo.w * 4) as u64;
    // The direct and GEMM kernels loop over the whole reduction per output.
    check_loop(
        OP,
        "65 535 reduction terms per output (K/groups·R·S; the longest loop a kernel may run)",
        geo.k_per_group() * geo.r * geo.s,
    )?;
    let chunk = batch_chunk(gpu, OP, geo.n, &[y_img, x_img], usize::MAX)?;
    for (n0, count) in pieces(geo.n, chunk) {
        let piece = Conv2dGeometry { n: count, ..*geo };
        let (dys, dxs) = (slice(dy, y_img, n0, count), slice(dx, x_img, n0, count));
        record_piece(gpu, rec, &piece, &dys, w, &dxs)?;
    }
    Ok(())
}

/// One piece: `dy` and `dx` bind the piece's images only.
fn record_piece(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    dy: &dyn Bindable,
    w: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let dims = GemmDims {
        m: geo.n * geo.h * geo.w,
        n: geo.c_per_group(),
        k: geo.k_per_group() * geo.r * geo.s,
    };
    if let Some(tile) = choose_variant(gpu, Kernel::Conv2dInputGrad, geo, dims).gemm_tile(dims) {
        // One GEMM per stride phase (see conv2d_input_grad.wgsl).
        let (sh, sw) = (geo.params.stride[0] as usize, geo.params.stride[1] as usize);
        for a in 0..sh.min(geo.h) {
            for b in 0..sw.min(geo.w) {
                let rows = [(geo.h - a).div_ceil(sh), (geo.w - b).div_ceil(sw)];
                let (taps, taps_len) = gpu.taps_phase(Kernel::Conv2dInputGrad, geo, [a, b])?;
                let phase_dims = GemmDims {
                    m: geo.n * rows[0] * rows[1],
                    n: dims.n,
                    k: taps_len,
                };
                let (mut u, grid) = tiled_launch(gpu, OP, geo, phase_dims, tile, 1, taps_len)?;
                u.phase_h = a as u32;
                u.phase_w = b as u32;
                u.rows_h = rows[0] as u32;
                u.rows_w = rows[1] as u32;
                u.taps_len = taps_len as u32;
                rec.dispatch(
                    Kernel::Conv2dInputGrad,
                    tile.entry,
                    bytemuck::bytes_of(&u),
                    &[(1, dy), (2, w), (3, dx), (7, &taps)],
                    grid,
                );
            }
        }
    } else {
        // One invocation per position of the phase-ordered, padded grid
        // (see the direct entry in conv2d_input_grad.wgsl).
        let (sh, sw) = (geo.params.stride[0] as usize, geo.params.stride[1] as usize);
        let padded =
            geo.n * geo.c * sh.min(geo.h) * sw.min(geo.w) * geo.h.div_ceil(sh) * geo.w.div_ceil(sw);
        let (u, grid) = direct_launch(gpu, OP, geo, padded)?;
        rec.dispatch(
            Kernel::Conv2dInputGrad,
            "direct",
            bytemuck::bytes_of(&u),
            &[(1, dy), (2, w), (3, dx)],
            grid,
        );
    }
    Ok(())
}
