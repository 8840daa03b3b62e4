//! [`GroupNorm`]: torch's `nn.GroupNorm`.

use super::{functional, Backend, Forward, Init, Module, Param, Var};
use crate::{Error, Normalization};

/// `nn.GroupNorm(num_groups, num_channels, eps, affine)`: each sample's
/// channels in `num_groups` groups, each group normalised by its own mean
/// and biased variance over its channels and positions, then (with
/// `affine`) `weight` (ones) and `bias` (zeros) `[C]` per channel. The
/// same in training and eval mode; no running statistics.
#[derive(Debug, Clone)]
pub struct GroupNorm<B: Backend> {
    pub weight: Option<Param<B>>,
    pub bias: Option<Param<B>>,
    pub num_groups: usize,
    pub num_channels: usize,
    pub eps: f32,
}

impl<B: Backend> GroupNorm<B> {
    /// `nn.GroupNorm(num_groups, num_channels)`: eps 1e-5, affine.
    pub fn new(init: &mut Init<B>, num_groups: usize, num_channels: usize) -> Result<Self, Error> {
        Self::with_options(init, num_groups, num_channels, 1e-5, true)
    }

    /// `nn.GroupNorm(num_groups, num_channels, eps, affine)`.
    pub fn with_options(
        init: &mut Init<B>,
        num_groups: usize,
        num_channels: usize,
        eps: f32,
        affine: bool,
    ) -> Result<Self, Error> {
        if num_groups == 0 || !num_channels.is_multiple_of(num_groups) {
            return Err(Error::InvalidParam {
                op: "nn::GroupNorm",
                param: "num_groups",
                message: format!(
                    "num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
                ),
            });
        }
        crate::ops::check_eps("nn::GroupNorm", eps)?;
        let shape = [num_channels];
        let param = |v| -> Result<_, Error> {
            Ok(affine
                .then(|| init.filled(&shape, v))
                .transpose()?
                .map(Param::new))
        };
        Ok(GroupNorm {
            weight: param(1.0)?,
            bias: param(0.0)?,
            num_groups,
            num_channels,
            eps,
        })
    }
}

impl<B: Backend> Module<B> for GroupNorm<B> {
    crate::children!(weight, bias);
    fn kind(&self) -> &'static str {
        "GroupNorm"
    }
}

impl<B: Backend> Forward<B> for GroupNorm<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let g = x.graph();
        let (w, b) = (self.weight.as_ref(), self.bias.as_ref());
        let kind = Normalization::Group {
            groups: self.num_groups,
        };
        let w = w.map(|p| p.var(g));
        let b = b.map(|p| p.var(g));
        functional::norm(x, kind, w.as_ref(), b.as_ref(), self.eps)
    }
}
