//! Layers that own their parameters and gradients, and [`Sequential`], a
//! chain of them with the backward pass written out layer by layer.

use super::{Backend, Loss, Optimizer};
use crate::rng::Rng;
use crate::{Conv2dParams, Error};

/// A trainable tensor and its accumulated gradient (None after
/// [`Sequential::zero_grad`] until the next backward pass).
#[derive(Debug, Clone)]
pub struct Param<B: Backend> {
    pub value: B::Tensor,
    pub grad: Option<B::Tensor>,
}

/// What a layer computes. Parameter layouts follow PyTorch: a convolution
/// has `weight` `[out, in, kh, kw]` and `bias` `[out]`, a linear layer
/// `weight` `[out, in]` and `bias` `[out]`.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerKind {
    Conv2d {
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        params: Conv2dParams,
    },
    Linear {
        in_features: usize,
        out_features: usize,
    },
    Relu,
    Sigmoid,
    /// Non-overlapping `size`×`size` max pooling.
    MaxPool2d {
        size: usize,
    },
    /// `[N, ...]` to `[N, product of the rest]`.
    Flatten,
}

/// The pooling window of `MaxPool2d { size }` (a size past u32 is refused
/// by the geometry check as too large).
fn window(size: usize) -> crate::Pool2dParams {
    crate::Pool2dParams::window(u32::try_from(size).unwrap_or(u32::MAX))
}

/// One layer: its kind, its parameters (weight then bias, or none), and
/// what the forward pass kept for the backward pass.
#[derive(Debug, Clone)]
pub struct Layer<B: Backend> {
    pub kind: LayerKind,
    pub params: Vec<Param<B>>,
    input: Option<B::Tensor>,
    output: Option<B::Tensor>,
}

/// Layers applied in order. Parameters are named like the `state_dict` of
/// PyTorch's `nn.Sequential`: `"{layer index}.weight"`, `"{layer index}.bias"`.
#[derive(Debug, Clone)]
pub struct Sequential<B: Backend> {
    backend: B,
    layers: Vec<Layer<B>>,
}

impl<B: Backend> Sequential<B> {
    pub fn new(backend: B) -> Self {
        Sequential {
            backend,
            layers: Vec::new(),
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn layers(&self) -> &[Layer<B>] {
        &self.layers
    }

    /// Appends a layer, initialising its parameters as PyTorch does:
    /// weight and bias uniform in ±1/√fan_in (fan_in = in · kh · kw).
    pub fn push(mut self, kind: LayerKind, rng: &mut Rng) -> Result<Self, Error> {
        let shapes: Vec<Vec<usize>> = match &kind {
            LayerKind::Conv2d {
                in_channels,
                out_channels,
                kernel,
                params,
            } => {
                if *in_channels % params.groups.max(1) as usize != 0 {
                    return Err(Error::GroupsDoNotDivide {
                        op: "nn::Conv2d",
                        what: "input channels",
                        channels: *in_channels,
                        groups: params.groups as usize,
                    });
                }
                let per_group = in_channels / params.groups.max(1) as usize;
                vec![
                    vec![*out_channels, per_group, kernel[0], kernel[1]],
                    vec![*out_channels],
                ]
            }
            LayerKind::Linear {
                in_features,
                out_features,
            } => vec![vec![*out_features, *in_features], vec![*out_features]],
            _ => vec![],
        };
        let fan_in = shapes
            .first()
            .map_or(1, |w| w[1..].iter().product::<usize>());
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        let mut params = Vec::new();
        for shape in shapes {
            let len = crate::shape::element_count("nn::Layer", &shape)?;
            let data: Vec<f32> = (0..len).map(|_| rng.unit() * bound).collect();
            params.push(Param {
                value: self.backend.tensor(&shape, &data)?,
                grad: None,
            });
        }
        self.layers.push(Layer {
            kind,
            params,
            input: None,
            output: None,
        });
        Ok(self)
    }

    /// The forward pass. Keeps what each layer's backward pass needs (its
    /// input, or the sigmoid's output) until the next forward pass.
    pub fn forward(&mut self, x: &B::Tensor) -> Result<B::Tensor, Error> {
        let b = self.backend.clone();
        let mut a = x.clone();
        for layer in &mut self.layers {
            let y = match &layer.kind {
                LayerKind::Conv2d { params, .. } => b.conv2d(
                    &a,
                    &layer.params[0].value,
                    Some(&layer.params[1].value),
                    params,
                )?,
                LayerKind::Linear { .. } => {
                    b.linear(&a, &layer.params[0].value, Some(&layer.params[1].value))?
                }
                LayerKind::Relu => b.relu(&a)?,
                LayerKind::Sigmoid => b.sigmoid(&a)?,
                LayerKind::MaxPool2d { size } => b.max_pool2d(&a, &window(*size))?,
                LayerKind::Flatten => {
                    let s = b.shape(&a);
                    let rest = s[1..].iter().product();
                    b.reshape(&a, &[s[0], rest])?
                }
            };
            layer.output = matches!(layer.kind, LayerKind::Sigmoid).then(|| y.clone());
            layer.input = Some(a);
            a = y;
        }
        Ok(a)
    }

    /// The backward pass from `dy = ∂L/∂output` of the last
    /// [`Sequential::forward`]: adds every parameter's gradient to its
    /// `grad` (accumulating, as PyTorch does, until [`Sequential::zero_grad`])
    /// and returns `∂L/∂input`.
    pub fn backward(&mut self, dy: &B::Tensor) -> Result<B::Tensor, Error> {
        self.backward_impl(dy, true)
            .map(|dx| dx.unwrap_or_else(|| dy.clone()))
    }

    /// [`Sequential::backward`] without the gradient with respect to the
    /// network's input, which training does not need (it saves the first
    /// layer's input-gradient convolution).
    pub fn backward_params(&mut self, dy: &B::Tensor) -> Result<(), Error> {
        self.backward_impl(dy, false).map(|_| ())
    }

    fn backward_impl(
        &mut self,
        dy: &B::Tensor,
        want_input: bool,
    ) -> Result<Option<B::Tensor>, Error> {
        let b = self.backend.clone();
        let mut g = dy.clone();
        let count = self.layers.len();
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            let input = layer.input.as_ref().ok_or(Error::InvalidParam {
                op: "nn::Sequential::backward",
                param: "forward",
                message: "backward needs a forward pass first".into(),
            })?;
            let need_dx = want_input || i > 0;
            let grads: Vec<B::Tensor>;
            let dx = match &layer.kind {
                LayerKind::Conv2d { params, .. } => {
                    let w = &layer.params[0].value;
                    let w_shape = four(b.shape(w));
                    grads = vec![
                        b.conv2d_weight_grad(input, &g, w_shape, params)?,
                        b.bias_grad(&g)?,
                    ];
                    need_dx
                        .then(|| b.conv2d_input_grad(&g, w, four(b.shape(input)), params))
                        .transpose()?
                }
                LayerKind::Linear { .. } => {
                    let w = &layer.params[0].value;
                    grads = vec![b.linear_weight_grad(input, &g)?, b.linear_bias_grad(&g)?];
                    need_dx.then(|| b.linear_input_grad(&g, w)).transpose()?
                }
                LayerKind::Relu => {
                    grads = vec![];
                    Some(b.relu_backward(input, &g)?)
                }
                LayerKind::Sigmoid => {
                    grads = vec![];
                    let y = layer.output.as_ref().unwrap_or(input);
                    Some(b.sigmoid_backward(y, &g)?)
                }
                LayerKind::MaxPool2d { size } => {
                    grads = vec![];
                    Some(b.max_pool2d_backward(input, &g, &window(*size))?)
                }
                LayerKind::Flatten => {
                    grads = vec![];
                    Some(b.reshape(&g, b.shape(input))?)
                }
            };
            for (param, grad) in layer.params.iter_mut().zip(grads) {
                match &mut param.grad {
                    Some(acc) => b.add_assign(acc, &grad)?,
                    None => param.grad = Some(grad),
                }
            }
            match dx {
                Some(dx) => g = dx,
                None if i == 0 => return Ok(None),
                None => unreachable_dx(count)?,
            }
        }
        Ok(Some(g))
    }

    /// Every parameter with its PyTorch-style name, in layer order.
    pub fn parameters(&self) -> Vec<(String, &Param<B>)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            for (param, suffix) in layer.params.iter().zip(["weight", "bias"]) {
                out.push((format!("{i}.{suffix}"), param));
            }
        }
        out
    }

    /// [`Sequential::parameters`], mutable.
    pub fn parameters_mut(&mut self) -> Vec<(String, &mut Param<B>)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            for (param, suffix) in layer.params.iter_mut().zip(["weight", "bias"]) {
                out.push((format!("{i}.{suffix}"), param));
            }
        }
        out
    }

    /// Clears every gradient (the next backward pass sets them afresh).
    pub fn zero_grad(&mut self) {
        for layer in &mut self.layers {
            for p in &mut layer.params {
                p.grad = None;
            }
        }
    }

    /// One training step on a batch: zero the gradients, forward, loss
    /// gradient, backward, optimizer step — recorded as one batch of GPU
    /// work (one submission). With `report_loss` the batch's loss (before
    /// the update) is computed too and read back; otherwise nothing is read
    /// back and the step does not wait for the GPU.
    pub fn train_step(
        &mut self,
        x: &B::Tensor,
        targets: &B::Tensor,
        loss: Loss,
        optimizer: &mut Optimizer<B>,
        report_loss: bool,
    ) -> Result<Option<f32>, Error> {
        let b = self.backend.clone();
        let value = b.record(|| {
            self.zero_grad();
            let y = self.forward(x)?;
            let dy = loss.backward(&b, &y, targets)?;
            self.backward_params(&dy)?;
            optimizer.step(self)?;
            report_loss
                .then(|| loss.forward(&b, &y, targets))
                .transpose()
        })?;
        match value {
            Some(t) => Ok(b.to_vec(&t)?.first().copied()),
            None => Ok(None),
        }
    }
}

fn four(s: &[usize]) -> [usize; 4] {
    let mut out = [1; 4];
    for (o, v) in out.iter_mut().zip(s) {
        *o = *v;
    }
    out
}

/// Only the first layer may skip its input gradient.
fn unreachable_dx(layers: usize) -> Result<(), Error> {
    Err(Error::InvalidParam {
        op: "nn::Sequential::backward",
        param: "layers",
        message: format!("internal: a middle layer of {layers} produced no input gradient"),
    })
}
