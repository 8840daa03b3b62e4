//! torchvision's ResNet-18, -34 (BasicBlock) and -50 (Bottleneck).

use super::{conv, ZooOptions};
use crate::nn::init::{kaiming_normal, FanMode, Nonlinearity};
use crate::nn::module::{call, call_relu};
use crate::nn::{
    Backend, BasicBlock, BatchNorm2d, Bottleneck, Conv2d, Forward, Init, Linear, Module, ModuleExt,
    Sequential, Var,
};
use crate::{Error, Pool2dParams};

/// torchvision's `ResNet`: `conv1` (7×7, stride 2, padding 3, no bias),
/// `bn1`, ReLU, a 3×3 max pool at stride 2 (padding 1), `layer1` to
/// `layer4` (64, 128, 256 and 512 planes, striding 2 from `layer2` on),
/// global average pooling, `fc`. Its `state_dict` is torchvision's.
#[derive(Debug)]
pub struct ResNet<B: Backend> {
    pub conv1: Conv2d<B>,
    pub bn1: BatchNorm2d<B>,
    pub layer1: Sequential<B>,
    pub layer2: Sequential<B>,
    pub layer3: Sequential<B>,
    pub layer4: Sequential<B>,
    pub fc: Linear<B>,
}

/// `torchvision.models.resnet18(num_classes=...)`, the first convolution
/// taking `in_channels`.
pub fn resnet18<B: Backend>(init: &mut Init<B>, o: &ZooOptions) -> Result<ResNet<B>, Error> {
    ResNet::new(init, o, [2, 2, 2, 2], false)
}

/// `torchvision.models.resnet34(num_classes=...)`.
pub fn resnet34<B: Backend>(init: &mut Init<B>, o: &ZooOptions) -> Result<ResNet<B>, Error> {
    ResNet::new(init, o, [3, 4, 6, 3], false)
}

/// `torchvision.models.resnet50(num_classes=...)` (Bottleneck blocks).
pub fn resnet50<B: Backend>(init: &mut Init<B>, o: &ZooOptions) -> Result<ResNet<B>, Error> {
    ResNet::new(init, o, [3, 4, 6, 3], true)
}

impl<B: Backend> ResNet<B> {
    /// torchvision's `ResNet(block, layers, num_classes)`: BasicBlocks, or
    /// Bottlenecks with `bottleneck`, `layers[i]` of them in stage `i`.
    pub fn new(
        init: &mut Init<B>,
        o: &ZooOptions,
        layers: [usize; 4],
        bottleneck: bool,
    ) -> Result<Self, Error> {
        o.check("zoo::ResNet")?;
        let conv1 = conv(init, o.in_channels, 64, 7, 2, 3, 1, false)?;
        let bn1 = BatchNorm2d::new(init, 64)?;
        let expansion = if bottleneck {
            Bottleneck::<B>::EXPANSION
        } else {
            1
        };
        let mut inplanes = 64;
        let mut stages = Vec::with_capacity(4);
        for (i, &blocks) in layers.iter().enumerate() {
            let planes = 64 << i;
            let mut stage = Sequential::new();
            for j in 0..blocks {
                let stride = if i > 0 && j == 0 { 2 } else { 1 };
                stage = if bottleneck {
                    let mut b = Bottleneck::new(init, inplanes, planes, stride)?;
                    for c in [&mut b.conv1, &mut b.conv2, &mut b.conv3] {
                        super::init_conv(init, c)?;
                    }
                    if let Some(d) = &mut b.downsample {
                        reinit_downsample(init, d)?;
                    }
                    stage.push(b)
                } else {
                    let mut b = BasicBlock::new(init, inplanes, planes, stride)?;
                    for c in [&mut b.conv1, &mut b.conv2] {
                        super::init_conv(init, c)?;
                    }
                    if let Some(d) = &mut b.downsample {
                        reinit_downsample(init, d)?;
                    }
                    stage.push(b)
                };
                inplanes = planes * expansion;
            }
            stages.push(stage);
        }
        let fc = Linear::new(init, 512 * expansion, o.num_classes, true)?;
        let [layer1, layer2, layer3, layer4] =
            <[Sequential<B>; 4]>::try_from(stages).unwrap_or_else(|_| unreachable!("four stages"));
        Ok(ResNet {
            conv1,
            bn1,
            layer1,
            layer2,
            layer3,
            layer4,
            fc,
        })
    }
}

/// The shortcut's 1×1 convolution with torchvision's init.
fn reinit_downsample<B: Backend>(init: &mut Init<B>, d: &mut Sequential<B>) -> Result<(), Error> {
    let b = init.backend().clone();
    for (name, p) in d.named_parameters_mut() {
        if name == "0.weight" {
            kaiming_normal(&b, p, init.rng(), FanMode::FanOut, Nonlinearity::Relu)?;
        }
    }
    Ok(())
}

impl<B: Backend> Module<B> for ResNet<B> {
    crate::children!(conv1, bn1, layer1, layer2, layer3, layer4, fc);
    fn kind(&self) -> &'static str {
        "ResNet"
    }
}

impl<B: Backend> Forward<B> for ResNet<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let x = call(&mut self.conv1, "conv1", x)?;
        let x = call_relu(&mut self.bn1, "bn1", &x)?;
        let x = x.max_pool2d(&Pool2dParams::square(3, 2, 1))?;
        let x = call(&mut self.layer1, "layer1", &x)?;
        let x = call(&mut self.layer2, "layer2", &x)?;
        let x = call(&mut self.layer3, "layer3", &x)?;
        let x = call(&mut self.layer4, "layer4", &x)?;
        let x = x.global_avg_pool2d()?.flatten()?;
        call(&mut self.fc, "fc", &x)
    }
}
