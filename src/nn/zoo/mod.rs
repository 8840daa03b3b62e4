//! torchvision's classification models, named as torchvision names them,
//! and a U-Net: each a tree of wgconv's modules whose `state_dict` keys and
//! shapes are torchvision's, so `torchvision.models.resnet18(num_classes=10)`
//! loads strictly into [`resnet18`] and back (tests/zoo.rs holds their
//! outputs and gradients to PyTorch's). [`Zoo`] names the classifiers for
//! the CLI's `--model`.

mod mobilenet_v2;
mod resnet;
mod unet;
mod vgg;

pub use mobilenet_v2::{mobilenet_v2, InvertedResidual, MobileNetV2};
pub use resnet::{resnet18, resnet34, resnet50, ResNet};
pub use unet::UNet;
pub use vgg::{vgg11_bn, Vgg};

use super::init::{kaiming_normal, normal, zeros, FanMode, Nonlinearity};
use super::{Backend, Conv2d, Init, Layer, Linear};
use crate::Error;

/// What a zoo classifier is built for: torchvision's `num_classes`, the
/// input's channels (only the first convolution's `in_channels` changes;
/// torchvision's is 3) and, for the models with dropout, torchvision's
/// `dropout` probability (None: torchvision's default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZooOptions {
    pub num_classes: usize,
    pub in_channels: usize,
    pub dropout: Option<f32>,
}

impl Default for ZooOptions {
    /// torchvision's defaults: 1000 classes of RGB images.
    fn default() -> Self {
        ZooOptions {
            num_classes: 1000,
            in_channels: 3,
            dropout: None,
        }
    }
}

impl ZooOptions {
    fn check(&self, model: &'static str) -> Result<(), Error> {
        if self.num_classes == 0 || self.in_channels == 0 {
            return Err(Error::InvalidParam {
                op: model,
                param: "options",
                message: format!(
                    "num_classes ({}) and in_channels ({}) must be at least 1",
                    self.num_classes, self.in_channels
                ),
            });
        }
        Ok(())
    }
}

/// The zoo's classifiers, by torchvision's function names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zoo {
    Resnet18,
    Resnet34,
    Resnet50,
    Vgg11Bn,
    MobilenetV2,
}

impl Zoo {
    pub const ALL: [Zoo; 5] = [
        Zoo::Resnet18,
        Zoo::Resnet34,
        Zoo::Resnet50,
        Zoo::Vgg11Bn,
        Zoo::MobilenetV2,
    ];

    /// torchvision's name: `resnet18`, `vgg11_bn`, `mobilenet_v2`, ...
    pub fn name(self) -> &'static str {
        match self {
            Zoo::Resnet18 => "resnet18",
            Zoo::Resnet34 => "resnet34",
            Zoo::Resnet50 => "resnet50",
            Zoo::Vgg11Bn => "vgg11_bn",
            Zoo::MobilenetV2 => "mobilenet_v2",
        }
    }

    pub fn parse(name: &str) -> Option<Zoo> {
        Zoo::ALL.into_iter().find(|z| z.name() == name)
    }

    /// The smallest input side the model's downsampling leaves above 0
    /// (torch fails on smaller inputs too): VGG's five 2×2 max pools need
    /// 32; the ResNets and MobileNetV2 pad every stride and take any side.
    pub fn min_side(self) -> usize {
        match self {
            Zoo::Vgg11Bn => 32,
            _ => 1,
        }
    }

    /// The model, initialised as torchvision initialises it from `init`'s
    /// generator.
    pub fn build<B: Backend>(
        self,
        init: &mut Init<B>,
        o: &ZooOptions,
    ) -> Result<Box<dyn Layer<B>>, Error> {
        Ok(match self {
            Zoo::Resnet18 => Box::new(resnet18(init, o)?),
            Zoo::Resnet34 => Box::new(resnet34(init, o)?),
            Zoo::Resnet50 => Box::new(resnet50(init, o)?),
            Zoo::Vgg11Bn => Box::new(vgg11_bn(init, o)?),
            Zoo::MobilenetV2 => Box::new(mobilenet_v2(init, o)?),
        })
    }
}

/// torchvision's convolution init: `kaiming_normal_(w, mode="fan_out",
/// nonlinearity="relu")` and a zero bias.
fn init_conv<B: Backend>(init: &mut Init<B>, conv: &mut Conv2d<B>) -> Result<(), Error> {
    let b = init.backend().clone();
    kaiming_normal(
        &b,
        &mut conv.weight,
        init.rng(),
        FanMode::FanOut,
        Nonlinearity::Relu,
    )?;
    if let Some(bias) = &mut conv.bias {
        zeros(&b, bias)?;
    }
    Ok(())
}

/// VGG's and MobileNet's linear init: `normal_(w, 0, 0.01)`, a zero bias.
fn init_linear<B: Backend>(init: &mut Init<B>, linear: &mut Linear<B>) -> Result<(), Error> {
    let b = init.backend().clone();
    normal(&b, &mut linear.weight, init.rng(), 0.0, 0.01)?;
    if let Some(bias) = &mut linear.bias {
        zeros(&b, bias)?;
    }
    Ok(())
}

/// A square convolution with torchvision's init.
#[allow(clippy::too_many_arguments)]
fn conv<B: Backend>(
    init: &mut Init<B>,
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: u32,
    padding: u32,
    groups: u32,
    bias: bool,
) -> Result<Conv2d<B>, Error> {
    let params = crate::Conv2dParams {
        groups,
        ..crate::Conv2dParams::square(stride, padding)
    };
    let mut c = Conv2d::new(init, in_channels, out_channels, [kernel; 2], params, bias)?;
    init_conv(init, &mut c)?;
    Ok(c)
}
