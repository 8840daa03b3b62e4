//! `Gpu::mul`, `Gpu::mul_broadcast` and `Gpu::mul_broadcast_grad`
//! (shaders/mul.wgsl): the element-wise product, and the product with a
//! scale broadcast over trailing dimensions (a squeeze-and-excitation
//! gate) with its gradient for the scale.

use super::elementwise::{dispatch_items, dispatch_split};
use super::{check_loop, check_owned, check_shape};
use crate::gpu::Shader;
use crate::shape::BroadcastGeometry;
use crate::{Error, Gpu, Tensor};

impl Gpu {
    /// `a · b` element-wise into a new tensor. Both must have the same shape.
    pub fn mul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "mul";
        check_owned(self, OP, &[("first operand", a), ("second operand", b)])?;
        check_shape(OP, "second operand", b, a.shape())?;
        self.run(OP, |rec| {
            let out = self.output_unlocked(OP, a.shape())?;
            let buffers = [(1, &a.buffer), (2, &b.buffer), (3, &out.buffer)];
            dispatch_split(rec, OP, (Shader::Mul, "mul"), a.len(), &buffers)?;
            Ok(out)
        })
    }

    /// `x · s` with `s` broadcast over `x`'s trailing dimensions, as torch
    /// broadcasts: `s` holds one value, or has `x`'s rank, its leading
    /// dimensions and 1 after them (`[N, C, 1, 1]` over `[N, C, H, W]`;
    /// [`BroadcastGeometry`]). Both must fit one storage binding.
    pub fn mul_broadcast(&self, x: &Tensor, s: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "mul_broadcast";
        check_owned(self, OP, &[("input", x), ("scale", s)])?;
        let g = BroadcastGeometry::new(OP, x.shape(), s.shape())?;
        self.run(OP, |rec| {
            let out = self.output_unlocked(OP, x.shape())?;
            let (kernel, width) = Shader::Mul.at_width(g.block);
            dispatch_items(
                rec,
                OP,
                (kernel, "mul_broadcast"),
                x.len() / width,
                g.block,
                &[(1, &x.buffer), (3, &out.buffer), (4, &s.buffer)],
            )?;
            Ok(out)
        })
    }

    /// The gradient of [`Gpu::mul_broadcast`] with respect to the scale:
    /// `ds[j] = Σ x·dy` over the elements scale `j` covers, summed in a
    /// fixed order, shaped `s_shape`. `dy` must have `x`'s shape.
    pub fn mul_broadcast_grad(
        &self,
        x: &Tensor,
        dy: &Tensor,
        s_shape: &[usize],
    ) -> Result<Tensor, Error> {
        const OP: &str = "mul_broadcast_grad";
        check_owned(self, OP, &[("input", x), ("output gradient", dy)])?;
        check_shape(OP, "output gradient", dy, x.shape())?;
        let g = BroadcastGeometry::new(OP, x.shape(), s_shape)?;
        let (kernel, width) = Shader::Mul.at_width(g.block);
        check_loop(
            OP,
            "65 535 loop iterations per invocation (the vectors under one scale)",
            g.block / width,
        )?;
        self.run(OP, |rec| {
            let ds = self.output_unlocked(OP, s_shape)?;
            dispatch_items(
                rec,
                OP,
                (kernel, "mul_broadcast_grad"),
                g.s_len,
                g.block,
                &[(1, &x.buffer), (2, &dy.buffer), (5, &ds.buffer)],
            )?;
            Ok(ds)
        })
    }
}
