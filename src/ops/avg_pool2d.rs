//! `Gpu::avg_pool2d`, its backward pass and global average pooling
//! (shaders/avg_pool2d.wgsl).

use super::pool2d::{check_gather, record_pool};
use super::{check_owned, check_shape};
use crate::gpu::Shader;
use crate::shape::{global_pool_params, Pool2dGeometry, Pool2dParams};
use crate::{Error, Gpu, Tensor};

impl Gpu {
    /// Average pooling of `x` `[N, C, H, W]` as torch's `avg_pool2d(x,
    /// kernel, stride, padding, ceil_mode, count_include_pad)`: each
    /// window's sum over its input positions divided by torch's count
    /// ([`Pool2dParams::window_count`]: `kh·kw` with the defaults). Returns
    /// `[N, C, Ho, Wo]` (see [`Pool2dGeometry::new`]).
    pub fn avg_pool2d(&self, x: &Tensor, p: &Pool2dParams) -> Result<Tensor, Error> {
        const OP: &str = "avg_pool2d";
        check_owned(self, OP, &[("input", x)])?;
        let g = Pool2dGeometry::new(OP, x.shape(), p)?;
        self.run(OP, |rec| {
            let y = self.output_unlocked(OP, &g.y_shape())?;
            let kernel = (Shader::AvgPool2d, "forward");
            record_pool(rec, OP, kernel, &g, (Some(x), None), &y)?;
            Ok(y)
        })
    }

    /// Backward pass of [`Gpu::avg_pool2d`]: `dx` of shape `x_shape`, each
    /// input receiving `dy / (kh·kw)` of every window that covers it.
    pub fn avg_pool2d_backward(
        &self,
        dy: &Tensor,
        x_shape: [usize; 4],
        p: &Pool2dParams,
    ) -> Result<Tensor, Error> {
        const OP: &str = "avg_pool2d_backward";
        check_owned(self, OP, &[("output gradient", dy)])?;
        let g = Pool2dGeometry::new(OP, &x_shape, p)?;
        check_shape(OP, "output gradient", dy, &g.y_shape())?;
        check_gather(OP, &g, 1)?;
        self.run(OP, |rec| {
            let dx = self.output_unlocked(OP, &x_shape)?;
            let kernel = (Shader::AvgPool2d, "backward");
            record_pool(rec, OP, kernel, &g, (None, Some(dy)), &dx)?;
            Ok(dx)
        })
    }

    /// Global average pooling, torch's `adaptive_avg_pool2d(x, 1)`: the mean
    /// of each `H×W` plane, `[N, C, 1, 1]`. Planes up to 255×255 (one window
    /// of the average pooling kernel).
    pub fn global_avg_pool2d(&self, x: &Tensor) -> Result<Tensor, Error> {
        self.avg_pool2d(x, &global_pool_params("global_avg_pool2d", x.shape())?)
    }

    /// Backward pass of [`Gpu::global_avg_pool2d`]: `dy / (H·W)` everywhere.
    pub fn global_avg_pool2d_backward(
        &self,
        dy: &Tensor,
        x_shape: [usize; 4],
    ) -> Result<Tensor, Error> {
        let p = global_pool_params("global_avg_pool2d_backward", &x_shape)?;
        self.avg_pool2d_backward(dy, x_shape, &p)
    }
}
