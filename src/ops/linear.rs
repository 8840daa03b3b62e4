//! `Gpu::linear` and its three gradients. A linear layer is a 1×1
//! convolution of a 1×1 image (see [`crate::shape::linear_geometry`]), so
//! it runs the convolution GEMM kernels (shaders/conv2d_*.wgsl and
//! bias_grad.wgsl) planned like any convolution (crate::plan); only the shapes checked and
//! the errors named are its own. The CPU reference (`cpu::linear`) is
//! written independently, so the tests still compare two derivations.

use super::bias_grad::record_bias_grad;
use super::{check_owned, check_shape};
use crate::plan::{ConvOp, ConvProblem};
use crate::shape::{check_dims, linear_geometry};
use crate::{Error, Gpu, Tensor};

impl Gpu {
    /// `y[n, o] = b[o] + Σ_i x[n, i] · w[o, i]` for `x` `[N, in]`, `w`
    /// `[out, in]` (PyTorch's `nn.Linear` layout) and optional `b` `[out]`;
    /// returns `y` `[N, out]`.
    pub fn linear(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor, Error> {
        const OP: &str = "linear";
        check_owned(self, OP, &[("input", x), ("weight", w)])?;
        let geo = linear_geometry(OP, x.shape(), w.shape())?;
        if let Some(b) = b {
            check_owned(self, OP, &[("bias", b)])?;
            check_shape(OP, "bias", b, &[geo.k])?;
        }
        let problem = ConvProblem {
            op: ConvOp::Forward,
            geometry: geo,
        };
        self.run_conv(OP, &problem, &[geo.n, geo.k], (x, w, b))
    }

    /// `dx[n, i] = Σ_o dy[n, o] · w[o, i]`: the gradient of [`Gpu::linear`]
    /// with respect to its input, for `dy` `[N, out]` and `w` `[out, in]`.
    pub fn linear_input_grad(&self, dy: &Tensor, w: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "linear_input_grad";
        check_owned(self, OP, &[("output gradient", dy), ("weight", w)])?;
        let [n, _] = check_dims::<2>(OP, "output gradient", dy.shape())?;
        let fan_in = w.shape().get(1).copied().unwrap_or(0);
        let geo = linear_geometry(OP, &[n, fan_in], w.shape())?;
        check_shape(OP, "output gradient", dy, &[geo.n, geo.k])?;
        let problem = ConvProblem {
            op: ConvOp::InputGrad,
            geometry: geo,
        };
        self.run_conv(OP, &problem, &[geo.n, geo.c], (dy, w, None))
    }

    /// `dw[o, i] = Σ_n dy[n, o] · x[n, i]`: the weight gradient of
    /// [`Gpu::linear`], shape `[out, in]`, summed over the batch in a fixed
    /// order.
    pub fn linear_weight_grad(&self, x: &Tensor, dy: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "linear_weight_grad";
        check_owned(self, OP, &[("input", x), ("output gradient", dy)])?;
        let [_, fan_out] = check_dims::<2>(OP, "output gradient", dy.shape())?;
        let fan_in = x.shape().get(1).copied().unwrap_or(0);
        let geo = linear_geometry(OP, x.shape(), &[fan_out, fan_in])?;
        check_shape(OP, "output gradient", dy, &[geo.n, geo.k])?;
        let problem = ConvProblem {
            op: ConvOp::WeightGrad,
            geometry: geo,
        };
        self.run_conv(OP, &problem, &[geo.k, geo.c], (x, dy, None))
    }

    /// `db[o] = Σ_n dy[n, o]`: the bias gradient of [`Gpu::linear`].
    pub fn linear_bias_grad(&self, dy: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "linear_bias_grad";
        check_owned(self, OP, &[("output gradient", dy)])?;
        let [n, fan_out] = check_dims::<2>(OP, "output gradient", dy.shape())?;
        self.run(OP, |rec| {
            let db = self.output_unlocked(OP, &[fan_out])?;
            record_bias_grad(rec, [n, fan_out, 1, 1], &dy.buffer, &db.buffer)?;
            Ok(db)
        })
    }
}
