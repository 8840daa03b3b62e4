//! torch's activation modules beyond `nn.ReLU` and `nn.Sigmoid`:
//! `nn.ReLU6`, `nn.LeakyReLU`, `nn.ELU`, `nn.GELU`, `nn.SiLU`,
//! `nn.Hardswish`, `nn.Hardsigmoid` and `nn.Tanh`. One file for the
//! family because they are one op ([`Activation`]) with no parameters or
//! buffers: each module only names its torch class and calls
//! [`Var::activate`].

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::{Activation, Error};

/// The Module and Forward impls of an activation module whose op is
/// `$act` (with `$s` the module).
macro_rules! activation_module {
    ($name:ident, |$s:ident| $act:expr) => {
        impl $name {
            /// The op this module runs.
            pub fn activation(&self) -> Activation {
                let $s = self;
                $act
            }
        }

        impl<B: Backend> Module<B> for $name {
            fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
            fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
            fn kind(&self) -> &'static str {
                self.activation().torch_name()
            }
        }

        impl<B: Backend> Forward<B> for $name {
            fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
                x.activate(self.activation())
            }
        }
    };
}

/// `nn.ReLU6()`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Relu6;
activation_module!(Relu6, |_s| Activation::Relu6);

/// `nn.LeakyReLU(negative_slope)` (`default()`: 0.01, torch's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyRelu {
    pub negative_slope: f32,
}
impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu {
            negative_slope: 0.01,
        }
    }
}
activation_module!(LeakyRelu, |s| Activation::LeakyRelu {
    negative_slope: s.negative_slope
});

/// `nn.ELU(alpha)` (`default()`: 1.0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Elu {
    pub alpha: f32,
}
impl Default for Elu {
    fn default() -> Self {
        Elu { alpha: 1.0 }
    }
}
activation_module!(Elu, |s| Activation::Elu { alpha: s.alpha });

/// `nn.GELU()` (erf), or `nn.GELU(approximate='tanh')` with `tanh`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gelu {
    pub tanh: bool,
}
activation_module!(Gelu, |s| if s.tanh {
    Activation::GeluTanh
} else {
    Activation::Gelu
});

/// `nn.SiLU()`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Silu;
activation_module!(Silu, |_s| Activation::Silu);

/// `nn.Hardswish()`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hardswish;
activation_module!(Hardswish, |_s| Activation::Hardswish);

/// `nn.Hardsigmoid()`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Hardsigmoid;
activation_module!(Hardsigmoid, |_s| Activation::Hardsigmoid);

/// `nn.Tanh()`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tanh;
activation_module!(Tanh, |_s| Activation::Tanh);
