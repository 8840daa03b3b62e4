//! `Gpu::adaptive_avg_pool2d` and its backward pass
//! (shaders/adaptive_avg_pool2d.wgsl): torch's `F.adaptive_avg_pool2d` to
//! any output size (output 1 is `global_avg_pool2d`'s faster kernel).

use super::{check_loop, check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Shader};
use crate::shape::adaptive_pool2d_shape;
use crate::{Error, Gpu, Tensor};

/// Mirror of WGSL `AdaptiveParams` (32 bytes), the uniform of both
/// adaptive pooling shaders (adaptive_max_pool2d.rs uses it too).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct AdaptiveUniform {
    pub(crate) len: u32,
    pub(crate) h: u32,
    pub(crate) w: u32,
    pub(crate) ho: u32,
    pub(crate) wo: u32,
    pub(crate) grid_x: u32,
    pub(crate) _pad0: u32,
    pub(crate) _pad1: u32,
}

impl Gpu {
    /// `F.adaptive_avg_pool2d(x, output_size)` of `x` `[N, C, H, W]`:
    /// `[N, C, Ho, Wo]`.
    pub fn adaptive_avg_pool2d(
        &self,
        x: &Tensor,
        output_size: [usize; 2],
    ) -> Result<Tensor, Error> {
        const OP: &str = "adaptive_avg_pool2d";
        check_owned(self, OP, &[("input", x)])?;
        let (x_shape, y_shape) = adaptive_pool2d_shape(OP, x.shape(), output_size)?;
        self.adaptive_pass(
            OP,
            "adaptive_avg_pool2d_forward",
            x,
            x_shape,
            y_shape,
            y_shape,
        )
    }

    /// The backward pass of [`Gpu::adaptive_avg_pool2d`] for an input of
    /// `x_shape`.
    pub fn adaptive_avg_pool2d_backward(
        &self,
        dy: &Tensor,
        x_shape: [usize; 4],
        output_size: [usize; 2],
    ) -> Result<Tensor, Error> {
        const OP: &str = "adaptive_avg_pool2d_backward";
        check_owned(self, OP, &[("output gradient", dy)])?;
        let (x_shape, y_shape) = adaptive_pool2d_shape(OP, &x_shape, output_size)?;
        check_shape(OP, "output gradient", dy, &y_shape)?;
        self.adaptive_pass(
            OP,
            "adaptive_avg_pool2d_backward",
            dy,
            x_shape,
            y_shape,
            x_shape,
        )
    }

    fn adaptive_pass(
        &self,
        op: &'static str,
        entry: &'static str,
        input: &Tensor,
        x_shape: [usize; 4],
        y_shape: [usize; 4],
        out_shape: [usize; 4],
    ) -> Result<Tensor, Error> {
        // A window's side, and the windows one input row or column lies in.
        let (h, w, ho, wo) = (x_shape[2], x_shape[3], y_shape[2], y_shape[3]);
        check_loop(
            op,
            "65 535 loop iterations per invocation (a window's side)",
            h.div_ceil(ho).max(w.div_ceil(wo)) + 2,
        )?;
        let len: usize = out_shape.iter().product();
        self.run(op, |rec| {
            let out = self.output_unlocked(op, &out_shape)?;
            let grid = self.grid(op, direct_workgroups(len))?;
            let u = AdaptiveUniform {
                len: len as u32,
                h: h as u32,
                w: w as u32,
                ho: ho as u32,
                wo: wo as u32,
                grid_x: grid.0,
                _pad0: 0,
                _pad1: 0,
            };
            let bound: [(u32, &dyn Bindable); 2] = [(1, &input.buffer), (2, &out.buffer)];
            rec.dispatch(
                Shader::AdaptiveAvgPool2d,
                entry,
                bytemuck::bytes_of(&u),
                &bound,
                grid,
            );
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::{check_uniform_layout, fields};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(AdaptiveUniform: len, h, w, ho, wo, grid_x);
        let size = std::mem::size_of::<AdaptiveUniform>();
        check_uniform_layout(Shader::AdaptiveAvgPool2d, "AdaptiveParams", size, &fields);
    }
}
