//! torchvision's MobileNetV2.

use super::{conv, init_linear, ZooOptions};
use crate::nn::module::call;
use crate::nn::{
    Backend, BatchNorm2d, Dropout, Forward, Init, Linear, Module, Relu6, Sequential, Var,
};
use crate::Error;

/// torchvision's `MobileNetV2` (width 1): `features` (a stem
/// convolution, 17 inverted residual blocks, a 1×1 convolution to 1 280
/// channels; each convolution followed by a batch norm and, but the
/// blocks' last, ReLU6), global average pooling, `classifier` (dropout,
/// linear). Its `state_dict` is torchvision's.
#[derive(Debug)]
pub struct MobileNetV2<B: Backend> {
    pub features: Sequential<B>,
    pub classifier: Sequential<B>,
}

/// torchvision's `InvertedResidual`: `conv` = an optional 1×1 expansion
/// (conv-BN-ReLU6), a 3×3 depthwise conv-BN-ReLU6 at `stride`, a 1×1
/// projection and its batch norm; the input is added where the stride is
/// 1 and the channels stay.
#[derive(Debug)]
pub struct InvertedResidual<B: Backend> {
    pub conv: Sequential<B>,
    pub use_res_connect: bool,
}

/// torchvision's `Conv2dNormActivation` with ReLU6: a bias-free
/// convolution padded to keep the size at stride 1, batch norm, ReLU6.
fn conv_bn_relu6<B: Backend>(
    init: &mut Init<B>,
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: u32,
    groups: u32,
) -> Result<Sequential<B>, Error> {
    let padding = (kernel as u32 - 1) / 2;
    Ok(Sequential::new()
        .push(conv(
            init,
            in_channels,
            out_channels,
            kernel,
            stride,
            padding,
            groups,
            false,
        )?)
        .push(BatchNorm2d::new(init, out_channels)?)
        .push(Relu6))
}

impl<B: Backend> InvertedResidual<B> {
    /// `InvertedResidual(inp, oup, stride, expand_ratio)`.
    pub fn new(
        init: &mut Init<B>,
        inp: usize,
        oup: usize,
        stride: u32,
        expand_ratio: usize,
    ) -> Result<Self, Error> {
        if !(1..=2).contains(&stride) {
            return Err(Error::InvalidParam {
                op: "zoo::InvertedResidual",
                param: "stride",
                message: format!("should be 1 or 2 instead of {stride}"),
            });
        }
        let hidden = inp * expand_ratio;
        let mut conv_seq = Sequential::new();
        if expand_ratio != 1 {
            conv_seq = conv_seq.push(conv_bn_relu6(init, inp, hidden, 1, 1, 1)?);
        }
        conv_seq = conv_seq
            .push(conv_bn_relu6(
                init,
                hidden,
                hidden,
                3,
                stride,
                hidden as u32,
            )?)
            .push(conv(init, hidden, oup, 1, 1, 0, 1, false)?)
            .push(BatchNorm2d::new(init, oup)?);
        Ok(InvertedResidual {
            conv: conv_seq,
            use_res_connect: stride == 1 && inp == oup,
        })
    }
}

impl<B: Backend> Module<B> for InvertedResidual<B> {
    crate::children!(conv);
    fn kind(&self) -> &'static str {
        "InvertedResidual"
    }
}

impl<B: Backend> Forward<B> for InvertedResidual<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let y = call(&mut self.conv, "conv", x)?;
        if self.use_res_connect {
            x.add(&y)
        } else {
            Ok(y)
        }
    }
}

/// torchvision's setting: expansion t, channels c, repeats n, stride s.
const SETTING: [[usize; 4]; 7] = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
];

/// `torchvision.models.mobilenet_v2(num_classes=..., dropout=...)`
/// (dropout 0.2 by default), the first convolution taking `in_channels`.
pub fn mobilenet_v2<B: Backend>(
    init: &mut Init<B>,
    o: &ZooOptions,
) -> Result<MobileNetV2<B>, Error> {
    o.check("zoo::mobilenet_v2")?;
    let mut features = Sequential::new().push(conv_bn_relu6(init, o.in_channels, 32, 3, 2, 1)?);
    let mut input = 32;
    for [t, c, n, s] in SETTING {
        for i in 0..n {
            let stride = if i == 0 { s as u32 } else { 1 };
            features = features.push(InvertedResidual::new(init, input, c, stride, t)?);
            input = c;
        }
    }
    features = features.push(conv_bn_relu6(init, input, 1280, 1, 1, 1)?);
    let mut fc = Linear::new(init, 1280, o.num_classes, true)?;
    init_linear(init, &mut fc)?;
    let classifier = Sequential::new()
        .push(Dropout::new(init, o.dropout.unwrap_or(0.2))?)
        .push(fc);
    Ok(MobileNetV2 {
        features,
        classifier,
    })
}

impl<B: Backend> Module<B> for MobileNetV2<B> {
    crate::children!(features, classifier);
    fn kind(&self) -> &'static str {
        "MobileNetV2"
    }
}

impl<B: Backend> Forward<B> for MobileNetV2<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let x = call(&mut self.features, "features", x)?;
        let x = x.global_avg_pool2d()?.flatten()?;
        call(&mut self.classifier, "classifier", &x)
    }
}
