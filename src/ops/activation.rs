//! `Gpu::relu`, `Gpu::sigmoid`, the [`Activation`] family and their
//! backward passes (shaders/activation.wgsl).

use super::elementwise::dispatch_split_with;
use super::{check_owned, check_shape};
use crate::gpu::Shader;
use crate::{Error, Gpu, Tensor};

/// torch's element-wise activations beyond ReLU and the sigmoid, each
/// with its backward pass from the forward input (`Gpu::activate`,
/// `Gpu::activate_backward`, `cpu::activation::activate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// `nn.ReLU6`: `min(max(x, 0), 6)`.
    Relu6,
    /// `nn.LeakyReLU(negative_slope)`: `x > 0 ? x : slope · x`.
    LeakyRelu { negative_slope: f32 },
    /// `nn.ELU(alpha)`: `x > 0 ? x : alpha · (e^x − 1)`.
    Elu { alpha: f32 },
    /// `nn.GELU()`: `x · Φ(x) = x/2 · (1 + erf(x/√2))` (erf to 1.5e-7).
    Gelu,
    /// `nn.GELU(approximate='tanh')`: `x/2 · (1 + tanh(√(2/π)(x + 0.044715 x³)))`.
    GeluTanh,
    /// `nn.SiLU`: `x · sigmoid(x)`.
    Silu,
    /// `nn.Hardswish`: `x · relu6(x + 3) / 6`.
    Hardswish,
    /// `nn.Hardsigmoid`: `relu6(x + 3) / 6`.
    Hardsigmoid,
    /// `nn.Tanh`.
    Tanh,
}

impl Activation {
    /// torch's class name.
    pub fn torch_name(self) -> &'static str {
        match self {
            Activation::Relu6 => "ReLU6",
            Activation::LeakyRelu { .. } => "LeakyReLU",
            Activation::Elu { .. } => "ELU",
            Activation::Gelu | Activation::GeluTanh => "GELU",
            Activation::Silu => "SiLU",
            Activation::Hardswish => "Hardswish",
            Activation::Hardsigmoid => "Hardsigmoid",
            Activation::Tanh => "Tanh",
        }
    }

    /// The kernels' stem in activation.wgsl.
    fn entry(self) -> (&'static str, &'static str) {
        match self {
            Activation::Relu6 => ("relu6_forward", "relu6_backward"),
            Activation::LeakyRelu { .. } => ("leaky_relu_forward", "leaky_relu_backward"),
            Activation::Elu { .. } => ("elu_forward", "elu_backward"),
            Activation::Gelu => ("gelu_forward", "gelu_backward"),
            Activation::GeluTanh => ("gelu_tanh_forward", "gelu_tanh_backward"),
            Activation::Silu => ("silu_forward", "silu_backward"),
            Activation::Hardswish => ("hardswish_forward", "hardswish_backward"),
            Activation::Hardsigmoid => ("hardsigmoid_forward", "hardsigmoid_backward"),
            Activation::Tanh => ("tanh_forward", "tanh_backward"),
        }
    }

    /// The parameter (slope or alpha), 0 for the others.
    pub fn parameter(self) -> f32 {
        match self {
            Activation::LeakyRelu { negative_slope } => negative_slope,
            Activation::Elu { alpha } => alpha,
            _ => 0.0,
        }
    }

    /// Fails on a non-finite parameter (torch takes any finite one).
    pub fn validate(self) -> Result<(), Error> {
        if !self.parameter().is_finite() {
            return Err(Error::InvalidParam {
                op: self.torch_name(),
                param: "parameter",
                message: format!("{} is not finite", self.parameter()),
            });
        }
        Ok(())
    }
}

impl Gpu {
    /// `act(x)` element-wise.
    pub fn activate(&self, x: &Tensor, act: Activation) -> Result<Tensor, Error> {
        act.validate()?;
        let op = act.torch_name();
        self.activation_with(op, act.entry().0, x, None, act.parameter().to_bits())
    }

    /// `act`'s backward pass from the forward input `x`: `dx = dy · act'(x)`.
    pub fn activate_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        act: Activation,
    ) -> Result<Tensor, Error> {
        act.validate()?;
        let op = act.torch_name();
        self.activation_with(op, act.entry().1, x, Some(dy), act.parameter().to_bits())
    }

    /// ReLU: `y = max(x, 0)` element-wise (NaN stays NaN, as in PyTorch).
    pub fn relu(&self, x: &Tensor) -> Result<Tensor, Error> {
        self.activation("relu", "relu_forward", x, None)
    }

    /// ReLU's backward pass: `dx = dy` where `x > 0`, else 0. `x` is the
    /// forward input; `dy` must have its shape.
    pub fn relu_backward(&self, x: &Tensor, dy: &Tensor) -> Result<Tensor, Error> {
        self.activation("relu_backward", "relu_backward", x, Some(dy))
    }

    /// The logistic sigmoid `y = 1 / (1 + e^−x)` element-wise.
    pub fn sigmoid(&self, x: &Tensor) -> Result<Tensor, Error> {
        self.activation("sigmoid", "sigmoid_forward", x, None)
    }

    /// Sigmoid's backward pass from its output: `dx = dy · y · (1 − y)`.
    /// `y` is the forward output; `dy` must have its shape.
    pub fn sigmoid_backward(&self, y: &Tensor, dy: &Tensor) -> Result<Tensor, Error> {
        self.activation("sigmoid_backward", "sigmoid_backward", y, Some(dy))
    }

    fn activation(
        &self,
        op: &'static str,
        entry: &'static str,
        a: &Tensor,
        dy: Option<&Tensor>,
    ) -> Result<Tensor, Error> {
        self.activation_with(op, entry, a, dy, 0)
    }

    fn activation_with(
        &self,
        op: &'static str,
        entry: &'static str,
        a: &Tensor,
        dy: Option<&Tensor>,
        parameter: u32,
    ) -> Result<Tensor, Error> {
        check_owned(self, op, &[("input", a)])?;
        if let Some(dy) = dy {
            check_owned(self, op, &[("output gradient", dy)])?;
            check_shape(op, "output gradient", dy, a.shape())?;
        }
        self.run(op, |rec| {
            let out = self.output_unlocked(op, a.shape())?;
            let mut buffers = vec![(1, &a.buffer), (3, &out.buffer)];
            if let Some(dy) = dy {
                buffers.push((2, &dy.buffer));
            }
            let kernel = (Shader::Activation, entry);
            dispatch_split_with(rec, op, kernel, a.len(), parameter, &buffers)?;
            Ok(out)
        })
    }
}
