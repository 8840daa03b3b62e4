//! [`InstanceNorm2d`]: torch's `nn.InstanceNorm2d`.

use super::{functional, Backend, Forward, Init, Module, Param, Var};
use crate::shape::check_4d;
use crate::Error;

/// `nn.InstanceNorm2d(num_features, eps, affine)` with torch's default
/// `track_running_stats=False`: each sample's channel planes of `[N, C,
/// H, W]` normalised by their own mean and biased variance, in training
/// and eval mode alike, then (with `affine`) `weight` (ones) and `bias`
/// (zeros) `[C]`. Running statistics (`track_running_stats=True`) are not
/// offered.
#[derive(Debug, Clone)]
pub struct InstanceNorm2d<B: Backend> {
    pub weight: Option<Param<B>>,
    pub bias: Option<Param<B>>,
    pub num_features: usize,
    pub eps: f32,
}

impl<B: Backend> InstanceNorm2d<B> {
    /// `nn.InstanceNorm2d(num_features)`: eps 1e-5, not affine.
    pub fn new(init: &mut Init<B>, num_features: usize) -> Result<Self, Error> {
        Self::with_options(init, num_features, 1e-5, false)
    }

    /// `nn.InstanceNorm2d(num_features, eps, affine=affine)`.
    pub fn with_options(
        init: &mut Init<B>,
        num_features: usize,
        eps: f32,
        affine: bool,
    ) -> Result<Self, Error> {
        crate::ops::check_eps("nn::InstanceNorm2d", eps)?;
        let shape = [num_features];
        let param = |v| -> Result<_, Error> {
            Ok(affine
                .then(|| init.filled(&shape, v))
                .transpose()?
                .map(Param::new))
        };
        Ok(InstanceNorm2d {
            weight: param(1.0)?,
            bias: param(0.0)?,
            num_features,
            eps,
        })
    }
}

impl<B: Backend> Module<B> for InstanceNorm2d<B> {
    crate::children!(weight, bias);
    fn kind(&self) -> &'static str {
        "InstanceNorm2d"
    }
}

impl<B: Backend> Forward<B> for InstanceNorm2d<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        const OP: &str = "nn::InstanceNorm2d";
        check_4d(OP, "input", x.shape())?;
        let g = x.graph();
        let w = self.weight.as_ref().map(|p| p.var(g));
        let b = self.bias.as_ref().map(|p| p.var(g));
        functional::instance_norm(x, w.as_ref(), b.as_ref(), self.eps)
    }
}
