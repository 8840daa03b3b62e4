//! `Gpu::conv2d`: the forward convolution (shaders/conv2d_forward.wgsl).

use super::split::{batch_chunk, pieces, slice};
use super::{check_loop, check_owned, choose_variant, direct_launch, tiled_launch, GemmDims};
use crate::gpu::{Bindable, Kernel, Recorder};
use crate::{Conv2dGeometry, Conv2dParams, Error, Gpu, Tensor};

const OP: &str = "conv2d";

impl Gpu {
    /// `y = conv2d(x, w) + bias` with PyTorch's semantics (cross-correlation,
    /// zero padding, stride, dilation, groups).
    ///
    /// `x` is `[N, C, H, W]`, `w` is `[K, C/groups, R, S]`, `bias` is `[K]`;
    /// returns `y` of shape `[N, K, Ho, Wo]`. Fails, before any GPU work,
    /// on invalid geometry (see [`Conv2dGeometry::new`]), a bias that is not
    /// `[K]`, tensors from another `Gpu`, or an output over the adapter's
    /// buffer limits.
    pub fn conv2d(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        check_owned(self, OP, &[("input", x), ("weight", w)])?;
        let _serial = self.serialize();
        let geo = Conv2dGeometry::new(OP, x.shape(), w.shape(), p)?;
        if let Some(b) = bias {
            check_owned(self, OP, &[("bias", b)])?;
            super::check_shape(OP, "bias", b, &[geo.k])?;
        }
        let y = self.output_unlocked(OP, &geo.y_shape())?;
        let mut rec = Recorder::new(self, OP)?;
        record_conv2d_forward(
            self,
            &mut rec,
            &geo,
            &x.buffer,
            &w.buffer,
            bias.map(|b| &b.buffer),
            &y.buffer,
        )?;
        rec.submit()?;
        Ok(y)
    }
}

/// Records the forward convolution of validated whole-tensor buffers into
/// `rec`, split over the batch where `x` or `y` exceeds one binding.
pub(crate) fn record_conv2d_forward(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    x: &wgpu::Buffer,
    w: &wgpu::Buffer,
    bias: Option<&wgpu::Buffer>,
    y: &wgpu::Buffer,
) -> Result<(), Error> {
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
        let piece = Conv2dGeometry { n: count, ..*geo };
        let (xs, ys) = (slice(x, x_img, n0, count), slice(y, y_img, n0, count));
        record_piece(
            gpu,
            rec,
            &piece,
            &xs,
            w,
            bias.map(|b| b as &dyn Bindable),
            &ys,
        )?;
    }
    Ok(())
}

/// One piece: `x` and `y` bind the piece's images only.
fn record_piece(
    gpu: &Gpu,
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    x: &dyn Bindable,
    w: &dyn Bindable,
    bias: Option<&dyn Bindable>,
    y: &dyn Bindable,
) -> Result<(), Error> {
    let dims = GemmDims {
        m: geo.n * geo.ho * geo.wo,
        n: geo.k_per_group(),
        k: geo.c_per_group() * geo.r * geo.s,
    };
    let tile = choose_variant(gpu, Kernel::Conv2dForward, geo, dims).gemm_tile(dims);
    let (mut u, grid) = match tile {
        Some(tile) => tiled_launch(gpu, OP, geo, dims, tile, 1, dims.k)?,
        None => direct_launch(gpu, OP, geo, geo.y_shape().iter().product())?,
    };
    u.has_bias = bias.is_some() as u32;
    // Without a bias the weight is bound in its place (a binding cannot be
    // empty); has_bias = 0 keeps the kernel from reading it.
    let bias = bias.unwrap_or(w);
    let buffers = [(1, x), (2, w), (3, y), (4, bias)];
    if let Some(tile) = tile {
        let taps = gpu.taps(Kernel::Conv2dForward, geo)?;
        let buffers = [&buffers[..], &[(7, &taps)]].concat();
        rec.dispatch(
            Kernel::Conv2dForward,
            tile.entry,
            bytemuck::bytes_of(&u),
            &buffers,
            grid,
        );
    } else {
        rec.dispatch(
            Kernel::Conv2dForward,
            "direct",
            bytemuck::bytes_of(&u),
            &buffers,
            grid,
        );
    }
    Ok(())
}
