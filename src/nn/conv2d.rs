//! [`Conv2d`]: torch's `nn.Conv2d`.

use super::{functional, Backend, Forward, Init, Module, Param, Var};
use crate::{Conv2dParams, Error};

/// A 2-D convolution with `weight` `[out, in/groups, kh, kw]` and (with
/// `bias`) `bias` `[out]`, initialised as PyTorch does: uniform in
/// `±1/√fan_in`, `fan_in = in/groups · kh · kw` (torch's
/// `kaiming_uniform_(a=√5)`, and its bias rule).
#[derive(Debug, Clone)]
pub struct Conv2d<B: Backend> {
    pub weight: Param<B>,
    pub bias: Option<Param<B>>,
    pub params: Conv2dParams,
}

impl<B: Backend> Conv2d<B> {
    /// `nn.Conv2d(in_channels, out_channels, kernel, stride, padding,
    /// dilation, groups, bias)`, the geometry in `params`.
    pub fn new(
        init: &mut Init<B>,
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        params: Conv2dParams,
        bias: bool,
    ) -> Result<Self, Error> {
        let groups = params.groups.max(1) as usize;
        for (what, channels) in [
            ("input channels", in_channels),
            ("output channels", out_channels),
        ] {
            if channels % groups != 0 {
                return Err(Error::GroupsDoNotDivide {
                    op: "nn::Conv2d",
                    what,
                    channels,
                    groups,
                });
            }
        }
        let shape = [out_channels, in_channels / groups, kernel[0], kernel[1]];
        let fan_in: usize = shape[1..].iter().product();
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        let weight = init.uniform(&shape, bound)?;
        let bias = bias
            .then(|| init.uniform(&[out_channels], bound))
            .transpose()?;
        Ok(Conv2d {
            weight,
            bias,
            params,
        })
    }

    /// A square `kernel`×`kernel` convolution with stride and padding on
    /// both axes.
    pub fn square(
        init: &mut Init<B>,
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: u32,
        padding: u32,
        bias: bool,
    ) -> Result<Self, Error> {
        let params = Conv2dParams::square(stride, padding);
        Self::new(init, in_channels, out_channels, [kernel; 2], params, bias)
    }
}

impl<B: Backend> Module<B> for Conv2d<B> {
    crate::children!(weight, bias);
    fn kind(&self) -> &'static str {
        "Conv2d"
    }
}

impl<B: Backend> Forward<B> for Conv2d<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let g = x.graph();
        let bias = self.bias.as_ref().map(|b| b.var(g));
        functional::conv2d(x, &self.weight.var(g), bias.as_ref(), &self.params)
    }
}
