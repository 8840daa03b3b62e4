//! `Gpu::adaptive_max_pool2d` and its backward pass
//! (shaders/adaptive_max_pool2d.wgsl): torch's `F.adaptive_max_pool2d` to
//! any output size, torch's windows and its first-maximum rule.

use super::adaptive_avg_pool2d::AdaptiveUniform;
use super::{check_loop, check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Shader};
use crate::shape::adaptive_pool2d_shape;
use crate::{Error, Gpu, Tensor};

impl Gpu {
    /// `F.adaptive_max_pool2d(x, output_size)` of `x` `[N, C, H, W]`:
    /// `[N, C, Ho, Wo]`.
    pub fn adaptive_max_pool2d(
        &self,
        x: &Tensor,
        output_size: [usize; 2],
    ) -> Result<Tensor, Error> {
        const OP: &str = "adaptive_max_pool2d";
        check_owned(self, OP, &[("input", x)])?;
        let (x_shape, y_shape) = adaptive_pool2d_shape(OP, x.shape(), output_size)?;
        self.adaptive_max_pass(OP, "adaptive_max_pool2d_forward", x, None, x_shape, y_shape)
    }

    /// The backward pass of [`Gpu::adaptive_max_pool2d`]: each window's
    /// `dy` at its maximum in `x`.
    pub fn adaptive_max_pool2d_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        output_size: [usize; 2],
    ) -> Result<Tensor, Error> {
        const OP: &str = "adaptive_max_pool2d_backward";
        check_owned(self, OP, &[("input", x), ("output gradient", dy)])?;
        let (x_shape, y_shape) = adaptive_pool2d_shape(OP, x.shape(), output_size)?;
        check_shape(OP, "output gradient", dy, &y_shape)?;
        self.adaptive_max_pass(
            OP,
            "adaptive_max_pool2d_backward",
            x,
            Some(dy),
            x_shape,
            y_shape,
        )
    }

    fn adaptive_max_pass(
        &self,
        op: &'static str,
        entry: &'static str,
        x: &Tensor,
        dy: Option<&Tensor>,
        x_shape: [usize; 4],
        y_shape: [usize; 4],
    ) -> Result<Tensor, Error> {
        let (h, w, ho, wo) = (x_shape[2], x_shape[3], y_shape[2], y_shape[3]);
        // A window's scan, and in the backward pass up to three windows
        // per axis holding one input, each scanned.
        let side = h.div_ceil(ho) + 1;
        let width = w.div_ceil(wo) + 1;
        check_loop(
            op,
            "65 535 loop iterations per invocation (a window's values)",
            side * width * if dy.is_some() { 9 } else { 1 },
        )?;
        let out_shape = if dy.is_some() { x_shape } else { y_shape };
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
            let mut bound: Vec<(u32, &dyn Bindable)> = vec![(1, &x.buffer), (3, &out.buffer)];
            if let Some(dy) = dy {
                bound.push((2, &dy.buffer));
            }
            rec.dispatch(
                Shader::AdaptiveMaxPool2d,
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
        check_uniform_layout(Shader::AdaptiveMaxPool2d, "AdaptiveParams", size, &fields);
    }
}
