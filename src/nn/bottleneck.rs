//! [`Bottleneck`]: torchvision's residual block of ResNet-50/101/152.

use super::module::{call, call_relu};
use super::{Backend, BatchNorm2d, Conv2d, Forward, Init, Module, Sequential, Var};
use crate::Error;

/// torchvision's `Bottleneck` (ResNet V1.5, the stride on the 3×3):
/// `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))`
/// with `conv1` 1×1 to `planes`, `conv2` 3×3 at `stride`, `conv3` 1×1 to
/// `planes · 4` ([`Bottleneck::EXPANSION`]), none with a bias; the
/// shortcut the identity, or `downsample` (a 1×1 convolution at `stride`
/// and a batch norm) where the stride or the channel count changes.
/// Named as torchvision names it.
#[derive(Debug)]
pub struct Bottleneck<B: Backend> {
    pub conv1: Conv2d<B>,
    pub bn1: BatchNorm2d<B>,
    pub conv2: Conv2d<B>,
    pub bn2: BatchNorm2d<B>,
    pub conv3: Conv2d<B>,
    pub bn3: BatchNorm2d<B>,
    pub downsample: Option<Sequential<B>>,
}

impl<B: Backend> Bottleneck<B> {
    /// The output channels are `planes · EXPANSION`.
    pub const EXPANSION: usize = 4;

    /// `Bottleneck(in_channels, planes, stride)`, with the projection
    /// shortcut by torchvision's rule.
    pub fn new(
        init: &mut Init<B>,
        in_channels: usize,
        planes: usize,
        stride: u32,
    ) -> Result<Self, Error> {
        if stride == 0 {
            return Err(Error::InvalidParam {
                op: "nn::Bottleneck",
                param: "stride",
                message: "must be at least 1".into(),
            });
        }
        let out = planes * Self::EXPANSION;
        let conv1 = Conv2d::square(init, in_channels, planes, 1, 1, 0, false)?;
        let bn1 = BatchNorm2d::new(init, planes)?;
        let conv2 = Conv2d::square(init, planes, planes, 3, stride, 1, false)?;
        let bn2 = BatchNorm2d::new(init, planes)?;
        let conv3 = Conv2d::square(init, planes, out, 1, 1, 0, false)?;
        let bn3 = BatchNorm2d::new(init, out)?;
        let downsample = if stride != 1 || in_channels != out {
            let conv = Conv2d::square(init, in_channels, out, 1, stride, 0, false)?;
            Some(
                Sequential::new()
                    .push(conv)
                    .push(BatchNorm2d::new(init, out)?),
            )
        } else {
            None
        };
        Ok(Bottleneck {
            conv1,
            bn1,
            conv2,
            bn2,
            conv3,
            bn3,
            downsample,
        })
    }
}

impl<B: Backend> Module<B> for Bottleneck<B> {
    crate::children!(conv1, bn1, conv2, bn2, conv3, bn3, downsample);
    fn kind(&self) -> &'static str {
        "Bottleneck"
    }
}

impl<B: Backend> Forward<B> for Bottleneck<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let out = call(&mut self.conv1, "conv1", x)?;
        let out = call_relu(&mut self.bn1, "bn1", &out)?;
        let out = call(&mut self.conv2, "conv2", &out)?;
        let out = call_relu(&mut self.bn2, "bn2", &out)?;
        let out = call(&mut self.conv3, "conv3", &out)?;
        let out = call(&mut self.bn3, "bn3", &out)?;
        let identity = match &mut self.downsample {
            Some(d) => call(d, "downsample", x)?,
            None => x.clone(),
        };
        out.add(&identity)?.relu()
    }
}
