//! A U-Net as in Ronneberger et al. (2015), by width and depth.

use super::conv;
use crate::nn::module::call;
use crate::nn::{
    functional, Backend, Conv2d, ConvTranspose2d, Forward, Init, Module, Relu, Sequential, Var,
};
use crate::{Conv2dParams, Error, Pool2dParams};

/// The paper's U-Net with padded convolutions (so the output has the
/// input's size and no crop is needed): `encoder[i]` two 3×3 conv-ReLUs at
/// `base · 2^i` channels, a 2×2 max pool between levels; on the way up
/// `up[i]` a 2×2 transposed convolution at stride 2 halving the channels,
/// its output concatenated (channels) after the skip connection of the
/// same level, `decoder[i]` two 3×3 conv-ReLUs; `head` a 1×1 convolution
/// to the output channels. The paper's is `base` 64 and `depth` 4; the
/// input's sides must be multiples of `2^depth`.
#[derive(Debug)]
pub struct UNet<B: Backend> {
    pub encoder: Vec<Sequential<B>>,
    pub up: Vec<ConvTranspose2d<B>>,
    pub decoder: Vec<Sequential<B>>,
    pub head: Conv2d<B>,
}

fn double_conv<B: Backend>(
    init: &mut Init<B>,
    in_channels: usize,
    out_channels: usize,
) -> Result<Sequential<B>, Error> {
    Ok(Sequential::new()
        .push(conv(init, in_channels, out_channels, 3, 1, 1, 1, true)?)
        .push(Relu)
        .push(conv(init, out_channels, out_channels, 3, 1, 1, 1, true)?)
        .push(Relu))
}

impl<B: Backend> UNet<B> {
    /// A U-Net from `in_channels` to `out_channels` with `base` channels
    /// at the top level and `depth` poolings.
    pub fn new(
        init: &mut Init<B>,
        in_channels: usize,
        out_channels: usize,
        base: usize,
        depth: usize,
    ) -> Result<Self, Error> {
        if base == 0 || depth == 0 || depth > 8 || in_channels == 0 || out_channels == 0 {
            return Err(Error::InvalidParam {
                op: "zoo::UNet",
                param: "options",
                message: format!(
                    "channels ({in_channels} in, {out_channels} out) and base ({base}) must be \
                     at least 1, depth ({depth}) 1 to 8"
                ),
            });
        }
        let mut encoder = Vec::with_capacity(depth + 1);
        let mut channels = in_channels;
        for level in 0..=depth {
            encoder.push(double_conv(init, channels, base << level)?);
            channels = base << level;
        }
        let (mut up, mut decoder) = (Vec::new(), Vec::new());
        for level in (0..depth).rev() {
            let c = base << level;
            let p = Conv2dParams::square(2, 0);
            up.push(ConvTranspose2d::new(
                init,
                2 * c,
                c,
                [2, 2],
                p,
                [0, 0],
                true,
            )?);
            decoder.push(double_conv(init, 2 * c, c)?);
        }
        let head = conv(init, base, out_channels, 1, 1, 0, 1, true)?;
        Ok(UNet {
            encoder,
            up,
            decoder,
            head,
        })
    }
}

impl<B: Backend> Module<B> for UNet<B> {
    crate::children!(encoder, up, decoder, head);
    fn kind(&self) -> &'static str {
        "UNet"
    }
}

impl<B: Backend> Forward<B> for UNet<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let depth = self.up.len();
        let side = 1usize << depth;
        let s = x.shape();
        if s.len() != 4 || !s[2].is_multiple_of(side) || !s[3].is_multiple_of(side) {
            return Err(Error::InvalidParam {
                op: "zoo::UNet",
                param: "input",
                message: format!(
                    "{s:?}: a U-Net of depth {depth} takes [N, C, H, W] with H and W \
                     multiples of {side}"
                ),
            });
        }
        let mut skips = Vec::with_capacity(depth);
        let mut h = x.clone();
        for (level, enc) in self.encoder.iter_mut().enumerate() {
            if level > 0 {
                h = h.max_pool2d(&Pool2dParams::window(2))?;
            }
            h = call(enc, &format!("encoder.{level}"), &h)?;
            skips.push(h.clone());
        }
        skips.pop();
        for (i, (up, dec)) in self.up.iter_mut().zip(&mut self.decoder).enumerate() {
            let u = call(up, &format!("up.{i}"), &h)?;
            let skip = skips.pop().expect("one skip per level");
            h = functional::cat(&[&skip, &u])?;
            h = call(dec, &format!("decoder.{i}"), &h)?;
        }
        call(&mut self.head, "head", &h)
    }
}
