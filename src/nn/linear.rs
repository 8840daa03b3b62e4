//! [`Linear`]: torch's `nn.Linear`.

use super::{functional, Backend, Forward, Init, Module, Param, Var};
use crate::Error;

/// `y = x · weightᵀ + bias` with `weight` `[out, in]` and (with `bias`)
/// `bias` `[out]`, both initialised uniform in `±1/√in` as PyTorch does.
#[derive(Debug, Clone)]
pub struct Linear<B: Backend> {
    pub weight: Param<B>,
    pub bias: Option<Param<B>>,
}

impl<B: Backend> Linear<B> {
    /// `nn.Linear(in_features, out_features, bias)`.
    pub fn new(
        init: &mut Init<B>,
        in_features: usize,
        out_features: usize,
        bias: bool,
    ) -> Result<Self, Error> {
        let bound = 1.0 / (in_features.max(1) as f32).sqrt();
        let weight = init.uniform(&[out_features, in_features], bound)?;
        let bias = bias
            .then(|| init.uniform(&[out_features], bound))
            .transpose()?;
        Ok(Linear { weight, bias })
    }
}

impl<B: Backend> Module<B> for Linear<B> {
    crate::children!(weight, bias);
    fn kind(&self) -> &'static str {
        "Linear"
    }
}

impl<B: Backend> Forward<B> for Linear<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let g = x.graph();
        let bias = self.bias.as_ref().map(|b| b.var(g));
        functional::linear(x, &self.weight.var(g), bias.as_ref())
    }
}
