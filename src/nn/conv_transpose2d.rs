//! [`ConvTranspose2d`]: torch's `nn.ConvTranspose2d`.

use super::{functional, Backend, Forward, Init, Module, Param, Var};
use crate::{Conv2dParams, Error};

/// A transposed 2-D convolution (torch's "deconvolution") with `weight`
/// `[in, out/groups, kh, kw]` and (with `bias`) `bias` `[out]`,
/// initialised as PyTorch does: uniform in `±1/√fan_in` with torch's fan
/// of that weight, `fan_in = out/groups · kh · kw`. It runs as the input
/// gradient of the convolution it transposes, on that op's plan
/// ([`crate::Gpu::explain_conv_transpose2d`]).
#[derive(Debug, Clone)]
pub struct ConvTranspose2d<B: Backend> {
    pub weight: Param<B>,
    pub bias: Option<Param<B>>,
    pub params: Conv2dParams,
    /// Extra rows and columns on the output's far side (torch's
    /// `output_padding`): each smaller than the stride or the dilation.
    pub output_padding: [u32; 2],
}

impl<B: Backend> ConvTranspose2d<B> {
    /// `nn.ConvTranspose2d(in_channels, out_channels, kernel, stride,
    /// padding, output_padding, groups, bias, dilation)`, the geometry in
    /// `params`.
    pub fn new(
        init: &mut Init<B>,
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        params: Conv2dParams,
        output_padding: [u32; 2],
        bias: bool,
    ) -> Result<Self, Error> {
        let groups = params.groups.max(1) as usize;
        for (what, channels) in [
            ("input channels", in_channels),
            ("output channels", out_channels),
        ] {
            if channels % groups != 0 {
                return Err(Error::GroupsDoNotDivide {
                    op: "nn::ConvTranspose2d",
                    what,
                    channels,
                    groups,
                });
            }
        }
        let axes = output_padding
            .iter()
            .zip(params.stride)
            .zip(params.dilation);
        for ((&o, s), d) in axes {
            if o >= s && o >= d {
                return Err(Error::InvalidParam {
                    op: "nn::ConvTranspose2d",
                    param: "output_padding",
                    message: format!(
                        "{o} must be smaller than either the stride {s} or the dilation {d}"
                    ),
                });
            }
        }
        let shape = [in_channels, out_channels / groups, kernel[0], kernel[1]];
        let fan_in: usize = shape[1..].iter().product();
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        let weight = init.uniform(&shape, bound)?;
        let bias = bias
            .then(|| init.uniform(&[out_channels], bound))
            .transpose()?;
        Ok(ConvTranspose2d {
            weight,
            bias,
            params,
            output_padding,
        })
    }
}

impl<B: Backend> Module<B> for ConvTranspose2d<B> {
    crate::children!(weight, bias);
    fn kind(&self) -> &'static str {
        "ConvTranspose2d"
    }
}

impl<B: Backend> Forward<B> for ConvTranspose2d<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let g = x.graph();
        let bias = self.bias.as_ref().map(|b| b.var(g));
        functional::conv_transpose2d(
            x,
            &self.weight.var(g),
            bias.as_ref(),
            &self.params,
            self.output_padding,
        )
    }
}
