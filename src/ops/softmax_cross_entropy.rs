//! `Gpu::softmax_cross_entropy` and its backward pass
//! (shaders/softmax_cross_entropy.wgsl).

use super::elementwise::{dispatch_items, dispatch_single};
use super::{check_loop, check_owned, check_shape};
use crate::gpu::Shader;
use crate::shape::check_dims;
use crate::{Error, Gpu, Tensor};

impl Gpu {
    /// Softmax over each row of `logits` `[N, C]` followed by cross-entropy
    /// against `targets` `[N, C]` (class probabilities; one-hot rows for
    /// hard labels, see [`crate::nn::one_hot`]), averaged over the batch:
    /// `(1/N) Σ_n Σ_c t_nc · (logsumexp_c(z_n) − z_nc)`. This is torch's
    /// `cross_entropy(z, t)` with probability targets. Computed with the
    /// row maximum subtracted, so logits of ±1e4 stay finite. Returns a
    /// 1-element tensor.
    pub fn softmax_cross_entropy(
        &self,
        logits: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, Error> {
        const OP: &str = "softmax_cross_entropy";
        let [n, c] = check_logits(self, OP, logits, targets)?;
        self.run(OP, |rec| {
            let loss = self.output_unlocked(OP, &[1])?;
            dispatch_single(
                rec,
                (Shader::SoftmaxCrossEntropy, "forward"),
                n,
                c,
                &[(1, &logits.buffer), (2, &targets.buffer), (3, &loss.buffer)],
            );
            Ok(loss)
        })
    }

    /// Gradient of [`Gpu::softmax_cross_entropy`] with respect to the
    /// logits: `(softmax(z_n) · Σ_c t_nc − t_n) / N`, shape `[N, C]`.
    pub fn softmax_cross_entropy_backward(
        &self,
        logits: &Tensor,
        targets: &Tensor,
    ) -> Result<Tensor, Error> {
        const OP: &str = "softmax_cross_entropy_backward";
        let [n, c] = check_logits(self, OP, logits, targets)?;
        self.run(OP, |rec| {
            let dz = self.output_unlocked(OP, logits.shape())?;
            dispatch_items(
                rec,
                OP,
                (Shader::SoftmaxCrossEntropy, "backward"),
                n,
                c,
                &[(1, &logits.buffer), (2, &targets.buffer), (3, &dz.buffer)],
            )?;
            Ok(dz)
        })
    }
}

fn check_logits(
    gpu: &Gpu,
    op: &'static str,
    logits: &Tensor,
    targets: &Tensor,
) -> Result<[usize; 2], Error> {
    check_owned(gpu, op, &[("logits", logits), ("targets", targets)])?;
    let [n, c] = check_dims::<2>(op, "logits", logits.shape())?;
    check_shape(op, "targets", targets, logits.shape())?;
    // forward: each of 256 invocations loops over its rows' classes;
    // backward: each invocation over one row's classes.
    check_loop(
        op,
        "65 535 loop iterations per invocation (rows / 256 x classes)",
        n.div_ceil(256) * c,
    )?;
    Ok([n, c])
}
