//! `Gpu::conv2d_input_grad`: the gradient of the convolution with respect
//! to its input (shaders/conv2d_input_grad.wgsl; for C/g < 8 under the
//! `Blocks` variant, in two steps: shaders/conv2d_input_grad_cols.wgsl).

use super::split::{batch_chunk, pieces, slice};
use super::{
    blocks_tile, check_loop, check_owned, check_shape, choose_variant, direct_launch, tiled_launch,
    GemmDims, NARROW_COLUMNS,
};
use crate::gpu::{Bindable, Kernel, Recorder};
use crate::{Conv2dGeometry, Conv2dParams, Error, Gpu, Tensor, Variant};

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
    let dims = gemm_dims(geo);
    let variant = choose_variant(gpu, Kernel::Conv2dInputGrad, geo, dims);
    // The two-step path's columns are scratch of R·S values per input
    // element, bound whole per piece like dy and dx.
    let cols = variant == Variant::Blocks && geo.c_per_group() < NARROW_COLUMNS;
    let cols_img = (cols_per_image(geo) * 4) as u64;
    let images: &[u64] = if cols {
        &[y_img, x_img, cols_img]
    } else {
        &[y_img, x_img]
    };
    let chunk = batch_chunk(gpu, OP, geo.n, images, usize::MAX)?;
    for (n0, count) in pieces(geo.n, chunk) {
        let piece = Conv2dGeometry { n: count, ..*geo };
        let (dys, dxs) = (slice(dy, y_img, n0, count), slice(dx, x_img, n0, count));
        if cols {
            record_cols(gpu, rec, &piece, &dys, w, &dxs)?;
        } else {
            record_piece(gpu, rec, &piece, variant, &dys, w, &dxs)?;
        }
    }
    Ok(())
}

/// Values of the two-step path's columns per image: R·S per input
/// channel and output position (shaders/conv2d_input_grad_cols.wgsl).
fn cols_per_image(geo: &Conv2dGeometry) -> usize {
    geo.c * geo.r * geo.s * geo.ho * geo.wo
}

/// The one-step GEMM view (see shaders/conv2d_input_grad.wgsl), before the
/// split by stride phase.
fn gemm_dims(geo: &Conv2dGeometry) -> GemmDims {
    GemmDims {
        m: geo.n * geo.h * geo.w,
        n: geo.c_per_group(),
        k: geo.k_per_group() * geo.r * geo.s,
    }
}

/// One piece in two steps: a GEMM into columns of R·S values per input
/// element, then col2im (shaders/conv2d_input_grad_cols.wgsl).
fn record_cols(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    dy: &dyn Bindable,
    w: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let kernel = Kernel::Conv2dInputGradCols;
    let cols = rec.scratch(geo.n * cols_per_image(geo))?;
    let dims = GemmDims {
        m: geo.n * geo.ho * geo.wo,
        n: geo.c_per_group() * geo.r * geo.s,
        k: geo.k_per_group(),
    };
    let tile = blocks_tile(dims);
    // The GEMM entry points read a tap table; this view needs none, and
    // the cache hands out a one-entry placeholder.
    let (taps, _) = gpu.taps_phase(kernel, geo, [0, 0])?;
    let (u, grid) = tiled_launch(gpu, OP, geo, dims, tile, 1, dims.k)?;
    rec.dispatch(
        kernel,
        tile.entry,
        bytemuck::bytes_of(&u),
        &[(1, dy), (2, w), (3, &cols.buffer), (7, &taps)],
        grid,
    );
    let (u, grid) = direct_launch(gpu, OP, geo, geo.n * geo.c * geo.h * geo.w)?;
    rec.dispatch(
        kernel,
        "col2im",
        bytemuck::bytes_of(&u),
        &[(5, &cols.buffer), (6, dx)],
        grid,
    );
    Ok(())
}

/// One piece: `dy` and `dx` bind the piece's images only.
fn record_piece(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    variant: Variant,
    dy: &dyn Bindable,
    w: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let dims = gemm_dims(geo);
    if let Some(tile) = variant.gemm_tile(dims) {
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
