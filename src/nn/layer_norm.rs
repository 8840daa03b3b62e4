//! [`LayerNorm`]: torch's `nn.LayerNorm`.

use super::{functional, Backend, Forward, Init, Module, Param, Var};
use crate::Error;

/// `nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)`: the
/// trailing dimensions `normalized_shape` of each sample normalised by
/// their mean and biased variance, then (with `elementwise_affine`)
/// `weight` (ones) and, with `bias`, `bias` (zeros), both of
/// `normalized_shape`, element by element. No running statistics.
#[derive(Debug, Clone)]
pub struct LayerNorm<B: Backend> {
    pub weight: Option<Param<B>>,
    pub bias: Option<Param<B>>,
    pub normalized_shape: Vec<usize>,
    pub eps: f32,
}

impl<B: Backend> LayerNorm<B> {
    /// `nn.LayerNorm(normalized_shape)`: eps 1e-5, weight and bias.
    pub fn new(init: &mut Init<B>, normalized_shape: &[usize]) -> Result<Self, Error> {
        Self::with_options(init, normalized_shape, 1e-5, true, true)
    }

    /// `nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)`.
    pub fn with_options(
        init: &mut Init<B>,
        normalized_shape: &[usize],
        eps: f32,
        elementwise_affine: bool,
        bias: bool,
    ) -> Result<Self, Error> {
        const OP: &str = "nn::LayerNorm";
        if normalized_shape.is_empty() || normalized_shape.contains(&0) {
            return Err(Error::InvalidParam {
                op: OP,
                param: "normalized_shape",
                message: format!("{normalized_shape:?}: at least one dimension, none of size 0"),
            });
        }
        crate::ops::check_eps(OP, eps)?;
        let param = |on: bool, v| -> Result<_, Error> {
            Ok(on
                .then(|| init.filled(normalized_shape, v))
                .transpose()?
                .map(Param::new))
        };
        Ok(LayerNorm {
            weight: param(elementwise_affine, 1.0)?,
            bias: param(elementwise_affine && bias, 0.0)?,
            normalized_shape: normalized_shape.to_vec(),
            eps,
        })
    }
}

impl<B: Backend> Module<B> for LayerNorm<B> {
    crate::children!(weight, bias);
    fn kind(&self) -> &'static str {
        "LayerNorm"
    }
}

impl<B: Backend> Forward<B> for LayerNorm<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let g = x.graph();
        let w = self.weight.as_ref().map(|p| p.var(g));
        let b = self.bias.as_ref().map(|p| p.var(g));
        functional::layer_norm(x, &self.normalized_shape, w.as_ref(), b.as_ref(), self.eps)
    }
}
