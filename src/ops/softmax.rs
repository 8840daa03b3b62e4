//! `Gpu::softmax` and `Gpu::log_softmax` along any axis, and their
//! backward passes (shaders/softmax.wgsl).

use super::{check_loop, check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Shader};
use crate::shape::softmax_lines;
use crate::{Error, Gpu, Tensor};

/// Mirror of WGSL `SoftmaxParams` (16 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SoftmaxUniform {
    lines: u32,
    len: u32,
    inner: u32,
    grid_x: u32,
}

impl Gpu {
    /// torch's `softmax(x, dim)`.
    pub fn softmax(&self, x: &Tensor, dim: usize) -> Result<Tensor, Error> {
        self.softmax_pass("softmax", "softmax_forward", x, None, dim)
    }

    /// torch's `log_softmax(x, dim)`.
    pub fn log_softmax(&self, x: &Tensor, dim: usize) -> Result<Tensor, Error> {
        self.softmax_pass("log_softmax", "log_softmax_forward", x, None, dim)
    }

    /// The backward pass of [`Gpu::softmax`] from its output `y`.
    pub fn softmax_backward(&self, y: &Tensor, dy: &Tensor, dim: usize) -> Result<Tensor, Error> {
        self.softmax_pass("softmax_backward", "softmax_backward", y, Some(dy), dim)
    }

    /// The backward pass of [`Gpu::log_softmax`] from its output `y`.
    pub fn log_softmax_backward(
        &self,
        y: &Tensor,
        dy: &Tensor,
        dim: usize,
    ) -> Result<Tensor, Error> {
        self.softmax_pass(
            "log_softmax_backward",
            "log_softmax_backward",
            y,
            Some(dy),
            dim,
        )
    }

    fn softmax_pass(
        &self,
        op: &'static str,
        entry: &'static str,
        a: &Tensor,
        dy: Option<&Tensor>,
        dim: usize,
    ) -> Result<Tensor, Error> {
        check_owned(self, op, &[("input", a)])?;
        if let Some(dy) = dy {
            check_owned(self, op, &[("output gradient", dy)])?;
            check_shape(op, "output gradient", dy, a.shape())?;
        }
        let [outer, len, inner] = softmax_lines(op, a.shape(), dim)?;
        check_loop(
            op,
            "65 535 loop iterations per invocation (the values along dim)",
            len,
        )?;
        let lines = outer * inner;
        self.run(op, |rec| {
            let out = self.output_unlocked(op, a.shape())?;
            let grid = self.grid(op, direct_workgroups(lines))?;
            let u = SoftmaxUniform {
                lines: lines as u32,
                len: len as u32,
                inner: inner as u32,
                grid_x: grid.0,
            };
            // Each entry point binds what it uses: the forward no gradient.
            let mut bound: Vec<(u32, &dyn Bindable)> = vec![(1, &a.buffer), (3, &out.buffer)];
            if let Some(dy) = dy {
                bound.push((2, &dy.buffer));
            }
            rec.dispatch(Shader::Softmax, entry, bytemuck::bytes_of(&u), &bound, grid);
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
        let fields = fields!(SoftmaxUniform: lines, len, inner, grid_x);
        let size = std::mem::size_of::<SoftmaxUniform>();
        check_uniform_layout(Shader::Softmax, "SoftmaxParams", size, &fields);
    }
}
