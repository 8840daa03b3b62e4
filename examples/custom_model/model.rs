//! A model the chain of layers could not express: a residual block with a
//! squeeze-and-excitation gate (`out * sigmoid(fc2(relu(fc1(pool(out)))))`),
//! whose input is used on two branches (the convolutions and the
//! shortcut). Written as structs of wgconv's layers and a forward in Rust,
//! as a PyTorch user writes an `nn.Module`; the field names are the
//! `state_dict` names (`block.fc1.weight`), the same as those of the
//! PyTorch twin in scripts/make_autograd_fixture.py.
//!
//! Shared by examples/custom_model (training on the digits) and the tests
//! (tests/autograd.rs).

use wgconv::nn::{
    call, call_relu, Backend, BatchNorm2d, Conv2d, Forward, Init, Linear, Module, Var,
};
use wgconv::Error;

/// conv3×3-BN-ReLU-conv3×3-BN, gated per channel by a squeeze-and-
/// excitation branch (`channels → channels / reduction → channels`), plus
/// the input, then ReLU.
pub struct SeBlock<B: Backend> {
    pub conv1: Conv2d<B>,
    pub bn1: BatchNorm2d<B>,
    pub conv2: Conv2d<B>,
    pub bn2: BatchNorm2d<B>,
    pub fc1: Linear<B>,
    pub fc2: Linear<B>,
}

impl<B: Backend> SeBlock<B> {
    pub fn new(init: &mut Init<B>, channels: usize, reduction: usize) -> Result<Self, Error> {
        let squeezed = channels / reduction;
        Ok(SeBlock {
            conv1: Conv2d::square(init, channels, channels, 3, 1, 1, false)?,
            bn1: BatchNorm2d::new(init, channels)?,
            conv2: Conv2d::square(init, channels, channels, 3, 1, 1, false)?,
            bn2: BatchNorm2d::new(init, channels)?,
            fc1: Linear::new(init, channels, squeezed, true)?,
            fc2: Linear::new(init, squeezed, channels, true)?,
        })
    }
}

impl<B: Backend> Module<B> for SeBlock<B> {
    wgconv::children!(conv1, bn1, conv2, bn2, fc1, fc2);
}

impl<B: Backend> Forward<B> for SeBlock<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let out = call(&mut self.conv1, "conv1", x)?;
        let out = call_relu(&mut self.bn1, "bn1", &out)?;
        let out = call(&mut self.conv2, "conv2", &out)?;
        let out = call(&mut self.bn2, "bn2", &out)?;
        // Squeeze: the mean of each channel; excite: a gate per channel.
        let [n, c] = [out.shape()[0], out.shape()[1]];
        let s = out.global_avg_pool2d()?.flatten()?;
        let s = call(&mut self.fc1, "fc1", &s)?.relu()?;
        let gate = call(&mut self.fc2, "fc2", &s)?.sigmoid()?;
        let out = out.mul(&gate.reshape(&[n, c, 1, 1])?)?;
        out.add(x)?.relu()
    }
}

/// stem conv3×3 (1 → channels) - BN - ReLU, one [`SeBlock`], flatten,
/// linear to `classes` (for images of `pixels` = H·W).
pub struct SeNet<B: Backend> {
    pub stem: Conv2d<B>,
    pub bn: BatchNorm2d<B>,
    pub block: SeBlock<B>,
    pub head: Linear<B>,
}

impl<B: Backend> SeNet<B> {
    pub fn new(
        init: &mut Init<B>,
        channels: usize,
        pixels: usize,
        classes: usize,
    ) -> Result<Self, Error> {
        Ok(SeNet {
            stem: Conv2d::square(init, 1, channels, 3, 1, 1, false)?,
            bn: BatchNorm2d::new(init, channels)?,
            block: SeBlock::new(init, channels, 4)?,
            head: Linear::new(init, channels * pixels, classes, true)?,
        })
    }
}

impl<B: Backend> Module<B> for SeNet<B> {
    wgconv::children!(stem, bn, block, head);
}

impl<B: Backend> Forward<B> for SeNet<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let h = call(&mut self.stem, "stem", x)?;
        let h = call_relu(&mut self.bn, "bn", &h)?;
        let h = call(&mut self.block, "block", &h)?;
        call(&mut self.head, "head", &h.flatten()?)
    }
}
