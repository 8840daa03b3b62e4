//! `Gpu::mse_loss` and its backward pass (shaders/mse_loss.wgsl).

use super::elementwise::{dispatch_items, dispatch_single};
use super::{check_loop, check_owned, check_shape};
use crate::gpu::Shader;
use crate::{Error, Gpu, Tensor};

impl Gpu {
    /// Mean squared error `Σ (y − t)² / len` over all elements, as a
    /// 1-element tensor (torch's `MSELoss` with `reduction='mean'`). The
    /// sum runs in a fixed order. `t` must have `y`'s shape.
    pub fn mse_loss(&self, y: &Tensor, t: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "mse_loss";
        check_owned(self, OP, &[("prediction", y), ("target", t)])?;
        check_shape(OP, "target", t, y.shape())?;
        // One workgroup of 256 sums everything: each invocation loops over
        // every 256th element.
        check_loop(
            OP,
            "65 535 loop iterations per invocation (256 x 65 535 elements in one loss)",
            y.len().div_ceil(256),
        )?;
        self.run(OP, |rec| {
            let loss = self.output_unlocked(OP, &[1])?;
            dispatch_single(
                rec,
                (Shader::MseLoss, "forward"),
                y.len(),
                0,
                &[(1, &y.buffer), (2, &t.buffer), (3, &loss.buffer)],
            );
            Ok(loss)
        })
    }

    /// Gradient of [`Gpu::mse_loss`] with respect to `y`: `2 (y − t) / len`.
    pub fn mse_loss_backward(&self, y: &Tensor, t: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "mse_loss_backward";
        check_owned(self, OP, &[("prediction", y), ("target", t)])?;
        check_shape(OP, "target", t, y.shape())?;
        self.run(OP, |rec| {
            let dy = self.output_unlocked(OP, y.shape())?;
            // The gradient divides by the whole length, so it cannot be
            // split into pieces with their own `len`: one binding each.
            dispatch_items(
                rec,
                OP,
                (Shader::MseLoss, "backward"),
                y.len(),
                0,
                &[(1, &y.buffer), (2, &t.buffer), (3, &dy.buffer)],
            )?;
            Ok(dy)
        })
    }
}
