//! `Gpu::relu`, `Gpu::sigmoid` and their backward passes
//! (shaders/activation.wgsl).

use super::elementwise::dispatch_split;
use super::{check_owned, check_shape};
use crate::gpu::Shader;
use crate::{Error, Gpu, Tensor};

impl Gpu {
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
            dispatch_split(rec, op, kernel, a.len(), &buffers)?;
            Ok(out)
        })
    }
}
