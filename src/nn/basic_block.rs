//! [`BasicBlock`]: torchvision's residual block of ResNet-18/34.

use super::module::{call, call_relu};
use super::{Backend, BatchNorm2d, Conv2d, Forward, Init, Module, Sequential, Var};
use crate::Error;

/// torchvision's `BasicBlock`: `relu(bn2(conv2(relu(bn1(conv1(x))))) +
/// shortcut(x))` with 3×3 convolutions without bias (`conv1` at
/// `stride`), and the shortcut the identity, or `downsample` (a 1×1
/// convolution at `stride` and a batch norm) where the stride or the
/// channel count changes. Named as torchvision names it, so its
/// `state_dict` keys (`conv1.weight`, `downsample.1.running_var`, ...)
/// load torchvision's files.
#[derive(Debug)]
pub struct BasicBlock<B: Backend> {
    pub conv1: Conv2d<B>,
    pub bn1: BatchNorm2d<B>,
    pub conv2: Conv2d<B>,
    pub bn2: BatchNorm2d<B>,
    pub downsample: Option<Sequential<B>>,
}

impl<B: Backend> BasicBlock<B> {
    /// `BasicBlock(in_channels, out_channels, stride)`, with the projection
    /// shortcut by torchvision's rule.
    pub fn new(
        init: &mut Init<B>,
        in_channels: usize,
        out_channels: usize,
        stride: u32,
    ) -> Result<Self, Error> {
        if stride == 0 {
            return Err(Error::InvalidParam {
                op: "nn::BasicBlock",
                param: "stride",
                message: "must be at least 1".into(),
            });
        }
        let conv1 = Conv2d::square(init, in_channels, out_channels, 3, stride, 1, false)?;
        let bn1 = BatchNorm2d::new(init, out_channels)?;
        let conv2 = Conv2d::square(init, out_channels, out_channels, 3, 1, 1, false)?;
        let bn2 = BatchNorm2d::new(init, out_channels)?;
        let downsample = if stride != 1 || in_channels != out_channels {
            let conv = Conv2d::square(init, in_channels, out_channels, 1, stride, 0, false)?;
            Some(
                Sequential::new()
                    .push(conv)
                    .push(BatchNorm2d::new(init, out_channels)?),
            )
        } else {
            None
        };
        Ok(BasicBlock {
            conv1,
            bn1,
            conv2,
            bn2,
            downsample,
        })
    }
}

impl<B: Backend> Module<B> for BasicBlock<B> {
    crate::children!(conv1, bn1, conv2, bn2, downsample);
    fn kind(&self) -> &'static str {
        "BasicBlock"
    }
}

impl<B: Backend> Forward<B> for BasicBlock<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let out = call(&mut self.conv1, "conv1", x)?;
        let out = call_relu(&mut self.bn1, "bn1", &out)?;
        let out = call(&mut self.conv2, "conv2", &out)?;
        let out = call(&mut self.bn2, "bn2", &out)?;
        let identity = match &mut self.downsample {
            Some(d) => call(d, "downsample", x)?,
            None => x.clone(),
        };
        out.add(&identity)?.relu()
    }
}
