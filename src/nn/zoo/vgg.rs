//! torchvision's VGG-11 with batch norm.

use super::{conv, init_linear, ZooOptions};
use crate::nn::module::call;
use crate::nn::{
    AdaptiveAvgPool2d, Backend, BatchNorm2d, Dropout, Flatten, Forward, Init, Linear, MaxPool2d,
    Module, Relu, Sequential, Var,
};
use crate::{Error, Pool2dParams};

/// torchvision's `VGG`: `features` (3×3 convolutions with bias, each
/// followed by a batch norm and ReLU, and 2×2 max pools, numbered as
/// torchvision numbers them), average pooling to 7×7, `classifier`
/// (linear 25 088 → 4 096, ReLU, dropout, linear 4 096 → 4 096, ReLU,
/// dropout, linear to the classes). Its `state_dict` is torchvision's.
#[derive(Debug)]
pub struct Vgg<B: Backend> {
    pub features: Sequential<B>,
    pub classifier: Sequential<B>,
}

/// torchvision's configuration "A" (VGG-11): output channels, 0 for a max
/// pool.
const VGG11: [usize; 13] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];

/// `torchvision.models.vgg11_bn(num_classes=..., dropout=...)` (dropout
/// 0.5 by default), the first convolution taking `in_channels`.
pub fn vgg11_bn<B: Backend>(init: &mut Init<B>, o: &ZooOptions) -> Result<Vgg<B>, Error> {
    o.check("zoo::vgg11_bn")?;
    let mut features = Sequential::new();
    let mut channels = o.in_channels;
    for v in VGG11 {
        features = if v == 0 {
            features.push(MaxPool2d(Pool2dParams::window(2)))
        } else {
            let c = conv(init, channels, v, 3, 1, 1, 1, true)?;
            channels = v;
            features.push(c).push(BatchNorm2d::new(init, v)?).push(Relu)
        };
    }
    let p = o.dropout.unwrap_or(0.5);
    let mut linear = |i, o| -> Result<Linear<B>, Error> {
        let mut l = Linear::new(init, i, o, true)?;
        init_linear(init, &mut l)?;
        Ok(l)
    };
    let (fc1, fc2, fc3) = (
        linear(512 * 7 * 7, 4096)?,
        linear(4096, 4096)?,
        linear(4096, o.num_classes)?,
    );
    let classifier = Sequential::new()
        .push(fc1)
        .push(Relu)
        .push(Dropout::new(init, p)?)
        .push(fc2)
        .push(Relu)
        .push(Dropout::new(init, p)?)
        .push(fc3);
    Ok(Vgg {
        features,
        classifier,
    })
}

impl<B: Backend> Module<B> for Vgg<B> {
    crate::children!(features, classifier);
    fn kind(&self) -> &'static str {
        "VGG"
    }
}

impl<B: Backend> Forward<B> for Vgg<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let x = call(&mut self.features, "features", x)?;
        let x = call(&mut AdaptiveAvgPool2d::new([7, 7]), "avgpool", &x)?;
        let x = call(&mut Flatten, "flatten", &x)?;
        call(&mut self.classifier, "classifier", &x)
    }
}
