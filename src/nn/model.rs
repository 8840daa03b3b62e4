//! Layers that own their parameters, buffers and gradients, and
//! [`Sequential`], a chain of them with the backward pass written out layer
//! by layer. A residual block ([`LayerKind::BasicBlock`]) is one layer of
//! the chain that holds its own sub-layers, named as torchvision names
//! them, so a ResNet is still a chain and its `state_dict` names match.

use super::{Backend, Loss, Optimizer};
use crate::rng::Rng;
use crate::{BatchNorm, Conv2dParams, Error, Pool2dParams};

/// A trainable tensor and its accumulated gradient (None after
/// [`Sequential::zero_grad`] until the next backward pass).
#[derive(Debug, Clone)]
pub struct Param<B: Backend> {
    pub value: B::Tensor,
    pub grad: Option<B::Tensor>,
}

/// What a layer computes, as the torch.nn module of the same name.
/// Parameter layouts follow PyTorch: a convolution has `weight`
/// `[out, in/groups, kh, kw]` and (with `bias`) `bias` `[out]`, a linear
/// layer `weight` `[out, in]` and `bias` `[out]`, a batch norm `weight`,
/// `bias` and the buffers `running_mean`, `running_var` `[C]` and
/// `num_batches_tracked`.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerKind {
    Conv2d {
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        params: Conv2dParams,
        /// torch's `bias=True`; a convolution followed by batch norm
        /// usually has none.
        bias: bool,
    },
    Linear {
        in_features: usize,
        out_features: usize,
    },
    /// `BatchNorm2d(channels)`, affine, with `config`'s eps and momentum.
    BatchNorm2d {
        channels: usize,
        config: BatchNorm,
    },
    Relu,
    Sigmoid,
    /// `MaxPool2d(kernel, stride, padding)`.
    MaxPool2d(Pool2dParams),
    /// `AvgPool2d(kernel, stride, padding)` with `count_include_pad=True`.
    AvgPool2d(Pool2dParams),
    /// `AdaptiveAvgPool2d(1)`: `[N, C, H, W]` to `[N, C, 1, 1]`.
    GlobalAvgPool2d,
    /// `Dropout(p)`: active in training mode only.
    Dropout {
        p: f32,
    },
    /// torchvision's `BasicBlock`: conv3×3(stride)-BN-ReLU-conv3×3-BN plus
    /// the shortcut (identity, or conv1×1(stride)+BN named `downsample`
    /// when the stride or the channel count changes), added, then ReLU.
    /// Its convolutions have no bias.
    BasicBlock {
        in_channels: usize,
        out_channels: usize,
        stride: u32,
    },
    /// `[N, ...]` to `[N, product of the rest]`.
    Flatten,
}

impl LayerKind {
    /// A square `kernel`×`kernel` convolution with stride and padding.
    pub fn conv2d(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: u32,
        padding: u32,
        bias: bool,
    ) -> LayerKind {
        LayerKind::Conv2d {
            in_channels,
            out_channels,
            kernel: [kernel, kernel],
            params: Conv2dParams::square(stride, padding),
            bias,
        }
    }

    /// `BatchNorm2d(channels)` with torch's defaults (eps 1e-5, momentum 0.1).
    pub fn batch_norm2d(channels: usize) -> LayerKind {
        LayerKind::BatchNorm2d {
            channels,
            config: BatchNorm::default(),
        }
    }

    /// The torch.nn class name.
    pub fn name(&self) -> &'static str {
        match self {
            LayerKind::Conv2d { .. } => "Conv2d",
            LayerKind::Linear { .. } => "Linear",
            LayerKind::BatchNorm2d { .. } => "BatchNorm2d",
            LayerKind::Relu => "ReLU",
            LayerKind::Sigmoid => "Sigmoid",
            LayerKind::MaxPool2d(_) => "MaxPool2d",
            LayerKind::AvgPool2d(_) => "AvgPool2d",
            LayerKind::GlobalAvgPool2d => "AdaptiveAvgPool2d",
            LayerKind::Dropout { .. } => "Dropout",
            LayerKind::BasicBlock { .. } => "BasicBlock",
            LayerKind::Flatten => "Flatten",
        }
    }

    /// Whether the block needs the projection shortcut (torchvision's rule).
    fn projects(&self) -> bool {
        matches!(self, LayerKind::BasicBlock { in_channels, out_channels, stride }
            if *stride != 1 || in_channels != out_channels)
    }
}

/// How a forward pass runs: torch's `train()` / `eval()` mode, and the
/// count of training passes so far, which seeds dropout.
#[derive(Debug, Clone, Copy)]
struct Pass {
    training: bool,
    step: u64,
}

/// One layer: its kind, its parameters (weight then bias, or none), its
/// buffers, its sub-layers, and what the forward pass kept for the
/// backward pass.
#[derive(Debug, Clone)]
pub struct Layer<B: Backend> {
    pub kind: LayerKind,
    pub params: Vec<Param<B>>,
    /// A batch norm's `running_mean` and `running_var`.
    pub buffers: Vec<B::Tensor>,
    /// A batch norm's count of training passes.
    pub num_batches_tracked: u64,
    /// A block's sub-layers with their `state_dict` names.
    children: Vec<(&'static str, Layer<B>)>,
    /// A dropout layer's own seed, mixed with the pass count.
    seed: u64,
    /// The forward pass's tensors that the backward pass reads.
    saved: Vec<B::Tensor>,
    /// The forward pass's mode and dropout seed.
    saved_pass: Option<(bool, u64)>,
    /// A batch norm followed by a ReLU runs both in its kernels
    /// ([`Backend::batch_norm2d_relu`]), and that ReLU passes its input
    /// through: set on both by [`fuse_relu`].
    relu_fused: bool,
}

/// Fuses `relu` into `bn` when they are a batch norm and the ReLU right
/// after it: one pass over the activations instead of two, forward and
/// backward, with the same values (the ReLU's mask is `y > 0` either way).
fn fuse_relu<B: Backend>(bn: &mut Layer<B>, relu: &mut Layer<B>) {
    if matches!(bn.kind, LayerKind::BatchNorm2d { .. }) && matches!(relu.kind, LayerKind::Relu) {
        bn.relu_fused = true;
        relu.relu_fused = true;
    }
}

/// Suffixes of a layer's parameters, in order.
const PARAM_NAMES: [&str; 2] = ["weight", "bias"];
/// Suffixes of a batch norm's float buffers, in order.
const BUFFER_NAMES: [&str; 2] = ["running_mean", "running_var"];

fn init_error(message: String) -> Error {
    Error::InvalidParam {
        op: "nn::Sequential::push",
        param: "layer",
        message,
    }
}

impl<B: Backend> Layer<B> {
    /// Builds a layer with PyTorch's initialisation: convolution and
    /// linear weight and bias uniform in ±1/√fan_in (fan_in = in · kh · kw,
    /// torch's kaiming_uniform with a = √5), batch norm weight 1, bias 0,
    /// running mean 0, running variance 1.
    pub fn new(b: &B, kind: LayerKind, rng: &mut Rng) -> Result<Self, Error> {
        let mut layer = Layer {
            kind: kind.clone(),
            params: Vec::new(),
            buffers: Vec::new(),
            num_batches_tracked: 0,
            children: Vec::new(),
            seed: 0,
            saved: Vec::new(),
            saved_pass: None,
            relu_fused: false,
        };
        let uniform = |b: &B, shape: &[usize], bound: f32, rng: &mut Rng| {
            let len = crate::shape::element_count("nn::Layer", shape)?;
            let data: Vec<f32> = (0..len).map(|_| rng.unit() * bound).collect();
            Ok::<_, Error>(Param {
                value: b.tensor(shape, &data)?,
                grad: None,
            })
        };
        match kind {
            LayerKind::Conv2d {
                in_channels,
                out_channels,
                kernel,
                params,
                bias,
            } => {
                let groups = params.groups.max(1) as usize;
                if in_channels % groups != 0 || out_channels % groups != 0 {
                    return Err(Error::GroupsDoNotDivide {
                        op: "nn::Conv2d",
                        what: if in_channels % groups != 0 {
                            "input channels"
                        } else {
                            "output channels"
                        },
                        channels: if in_channels % groups != 0 {
                            in_channels
                        } else {
                            out_channels
                        },
                        groups,
                    });
                }
                let shape = [out_channels, in_channels / groups, kernel[0], kernel[1]];
                let fan_in: usize = shape[1..].iter().product();
                let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
                layer.params.push(uniform(b, &shape, bound, rng)?);
                if bias {
                    layer.params.push(uniform(b, &[out_channels], bound, rng)?);
                }
            }
            LayerKind::Linear {
                in_features,
                out_features,
            } => {
                let bound = 1.0 / (in_features.max(1) as f32).sqrt();
                layer
                    .params
                    .push(uniform(b, &[out_features, in_features], bound, rng)?);
                layer.params.push(uniform(b, &[out_features], bound, rng)?);
            }
            LayerKind::BatchNorm2d { channels, config } => {
                config.validate()?;
                let filled = |v: f32| b.tensor(&[channels], &vec![v; channels]);
                for v in [1.0, 0.0] {
                    layer.params.push(Param {
                        value: filled(v)?,
                        grad: None,
                    });
                }
                layer.buffers = vec![filled(0.0)?, filled(1.0)?];
            }
            LayerKind::Dropout { p } => {
                crate::shape::dropout_rule("nn::Dropout", p)?;
                layer.seed = rng.next_u64();
            }
            LayerKind::BasicBlock {
                in_channels,
                out_channels,
                stride,
            } => {
                if stride == 0 {
                    return Err(init_error(
                        "a BasicBlock's stride must be at least 1".into(),
                    ));
                }
                let mut child = |name, kind| {
                    let l = Layer::new(b, kind, rng)?;
                    layer.children.push((name, l));
                    Ok::<_, Error>(())
                };
                child(
                    "conv1",
                    LayerKind::conv2d(in_channels, out_channels, 3, stride, 1, false),
                )?;
                child("bn1", LayerKind::batch_norm2d(out_channels))?;
                child("relu", LayerKind::Relu)?;
                child(
                    "conv2",
                    LayerKind::conv2d(out_channels, out_channels, 3, 1, 1, false),
                )?;
                child("bn2", LayerKind::batch_norm2d(out_channels))?;
                child("relu", LayerKind::Relu)?;
                if kind.projects() {
                    child(
                        "downsample.0",
                        LayerKind::conv2d(in_channels, out_channels, 1, stride, 0, false),
                    )?;
                    child("downsample.1", LayerKind::batch_norm2d(out_channels))?;
                }
                if let [(_, bn1), (_, relu), ..] = &mut layer.children[1..] {
                    fuse_relu(bn1, relu);
                }
            }
            LayerKind::Relu
            | LayerKind::Sigmoid
            | LayerKind::MaxPool2d(_)
            | LayerKind::AvgPool2d(_)
            | LayerKind::GlobalAvgPool2d
            | LayerKind::Flatten => {}
        }
        Ok(layer)
    }

    /// The sub-layers of a block, with their `state_dict` names.
    pub fn children(&self) -> impl Iterator<Item = (&'static str, &Layer<B>)> {
        self.children.iter().map(|(n, l)| (*n, l))
    }

    fn forward(&mut self, b: &B, x: B::Tensor, pass: Pass) -> Result<B::Tensor, Error> {
        self.saved.clear();
        self.saved_pass = Some((pass.training, 0));
        let y = match &self.kind {
            LayerKind::Conv2d { params, .. } => {
                let y = b.conv2d(
                    &x,
                    &self.params[0].value,
                    self.params.get(1).map(|p| &p.value),
                    params,
                )?;
                self.saved.push(x);
                y
            }
            LayerKind::Linear { .. } => {
                let y = b.linear(&x, &self.params[0].value, Some(&self.params[1].value))?;
                self.saved.push(x);
                y
            }
            LayerKind::BatchNorm2d { config, .. } => {
                let [rm, rv] = &mut self.buffers[..] else {
                    return Err(init_error("a batch norm without its buffers".into()));
                };
                let (w, bias) = (&self.params[0].value, &self.params[1].value);
                let (y, stats) = if self.relu_fused {
                    b.batch_norm2d_relu(&x, w, bias, rm, rv, pass.training, config)?
                } else {
                    b.batch_norm2d(&x, w, bias, rm, rv, pass.training, config)?
                };
                if pass.training {
                    self.num_batches_tracked += 1;
                }
                self.saved.extend([x, stats]);
                if self.relu_fused {
                    self.saved.push(y.clone());
                }
                y
            }
            // Applied by the batch norm before it.
            LayerKind::Relu if self.relu_fused => x,
            LayerKind::Relu => {
                let y = b.relu(&x)?;
                self.saved.push(x);
                y
            }
            LayerKind::Sigmoid => {
                let y = b.sigmoid(&x)?;
                self.saved.push(y.clone());
                y
            }
            LayerKind::MaxPool2d(p) => {
                let y = b.max_pool2d(&x, p)?;
                self.saved.push(x);
                y
            }
            LayerKind::AvgPool2d(p) => {
                let y = b.avg_pool2d(&x, p)?;
                self.saved.push(x);
                y
            }
            LayerKind::GlobalAvgPool2d => {
                let y = b.global_avg_pool2d(&x)?;
                self.saved.push(x);
                y
            }
            LayerKind::Dropout { p } => {
                if pass.training {
                    let seed = dropout_seed(self.seed, pass.step);
                    self.saved_pass = Some((true, seed));
                    b.dropout(&x, *p, seed)?
                } else {
                    x
                }
            }
            LayerKind::BasicBlock { .. } => {
                let c = &mut self.children;
                let mut h = x.clone();
                for (_, layer) in &mut c[..5] {
                    h = layer.forward(b, h, pass)?;
                }
                let shortcut = match &mut c[6..] {
                    [] => x,
                    [(_, conv), (_, bn)] => {
                        let s = conv.forward(b, x, pass)?;
                        bn.forward(b, s, pass)?
                    }
                    _ => return Err(init_error("a BasicBlock's shortcut is malformed".into())),
                };
                let sum = b.add(&h, &shortcut)?;
                c[5].1.forward(b, sum, pass)?
            }
            LayerKind::Flatten => {
                let s = b.shape(&x);
                let rest = s[1..].iter().product();
                let y = b.reshape(&x, &[s[0], rest])?;
                self.saved.push(x);
                y
            }
        };
        Ok(y)
    }

    /// Adds this layer's parameter gradients from the output gradient `g`
    /// and returns the input gradient (None when `need_dx` is false and
    /// the layer can skip it).
    fn backward(&mut self, b: &B, g: B::Tensor, need_dx: bool) -> Result<Option<B::Tensor>, Error> {
        let Some((training, seed)) = self.saved_pass else {
            return Err(Error::InvalidParam {
                op: "nn::Sequential::backward",
                param: "forward",
                message: "backward needs a forward pass first".into(),
            });
        };
        let simple = !matches!(
            self.kind,
            LayerKind::Conv2d { .. }
                | LayerKind::Linear { .. }
                | LayerKind::BatchNorm2d { .. }
                | LayerKind::BasicBlock { .. }
        );
        if simple && !need_dx {
            return Ok(None);
        }
        let saved = |i: usize| self.saved.get(i).ok_or_else(missing_saved);
        let mut grads: Vec<B::Tensor> = Vec::new();
        let dx = match &self.kind {
            LayerKind::Conv2d { params, .. } => {
                let (x, w) = (saved(0)?, &self.params[0].value);
                grads.push(b.conv2d_weight_grad(x, &g, four(b.shape(w)), params)?);
                if self.params.len() > 1 {
                    grads.push(b.bias_grad(&g)?);
                }
                need_dx
                    .then(|| b.conv2d_input_grad(&g, w, four(b.shape(x)), params))
                    .transpose()?
            }
            LayerKind::Linear { .. } => {
                let x = saved(0)?;
                grads.push(b.linear_weight_grad(x, &g)?);
                grads.push(b.linear_bias_grad(&g)?);
                need_dx
                    .then(|| b.linear_input_grad(&g, &self.params[0].value))
                    .transpose()?
            }
            LayerKind::BatchNorm2d { .. } => {
                let (x, stats, w) = (saved(0)?, saved(1)?, &self.params[0].value);
                let (dx, dw, db) = if self.relu_fused {
                    b.batch_norm2d_relu_backward(x, saved(2)?, &g, w, stats, training)?
                } else {
                    b.batch_norm2d_backward(x, &g, w, stats, training)?
                };
                grads.extend([dw, db]);
                Some(dx)
            }
            LayerKind::Relu if self.relu_fused => Some(g),
            LayerKind::Relu => Some(b.relu_backward(saved(0)?, &g)?),
            LayerKind::Sigmoid => Some(b.sigmoid_backward(saved(0)?, &g)?),
            LayerKind::MaxPool2d(p) => Some(b.max_pool2d_backward(saved(0)?, &g, p)?),
            LayerKind::AvgPool2d(p) => {
                Some(b.avg_pool2d_backward(&g, four(b.shape(saved(0)?)), p)?)
            }
            LayerKind::GlobalAvgPool2d => {
                Some(b.global_avg_pool2d_backward(&g, four(b.shape(saved(0)?)))?)
            }
            LayerKind::Dropout { p } => Some(if training {
                b.dropout_backward(&g, *p, seed)?
            } else {
                g
            }),
            LayerKind::Flatten => Some(b.reshape(&g, b.shape(saved(0)?))?),
            LayerKind::BasicBlock { .. } => {
                let c = &mut self.children;
                let g_sum = c[5].1.backward(b, g, true)?.ok_or_else(missing_saved)?;
                let mut h = Some(g_sum.clone());
                for (i, (_, layer)) in c[..5].iter_mut().enumerate().rev() {
                    let g = h.take().ok_or_else(missing_saved)?;
                    h = layer.backward(b, g, need_dx || i > 0)?;
                }
                let dx_short = match &mut c[6..] {
                    [] => Some(g_sum),
                    [(_, conv), (_, bn)] => {
                        let s = bn.backward(b, g_sum, true)?.ok_or_else(missing_saved)?;
                        conv.backward(b, s, need_dx)?
                    }
                    _ => return Err(init_error("a BasicBlock's shortcut is malformed".into())),
                };
                match (h, dx_short) {
                    (Some(main), Some(short)) => Some(b.add(&main, &short)?),
                    _ => None,
                }
            }
        };
        for (param, grad) in self.params.iter_mut().zip(grads) {
            match &mut param.grad {
                Some(acc) => b.add_assign(acc, &grad)?,
                None => param.grad = Some(grad),
            }
        }
        Ok(dx)
    }

    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Layer<B>)) {
        f(prefix, self);
        for (name, child) in &self.children {
            child.visit(&format!("{prefix}.{name}"), f);
        }
    }

    fn params_mut<'a>(&'a mut self, prefix: String, out: &mut Vec<(String, &'a mut Param<B>)>) {
        for (param, suffix) in self.params.iter_mut().zip(PARAM_NAMES) {
            out.push((format!("{prefix}.{suffix}"), param));
        }
        for (name, child) in &mut self.children {
            child.params_mut(format!("{prefix}.{name}"), out);
        }
    }

    fn buffers_mut<'a>(&'a mut self, prefix: String, out: &mut Vec<(String, &'a mut B::Tensor)>) {
        for (t, suffix) in self.buffers.iter_mut().zip(BUFFER_NAMES) {
            out.push((format!("{prefix}.{suffix}"), t));
        }
        for (name, child) in &mut self.children {
            child.buffers_mut(format!("{prefix}.{name}"), out);
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Layer<B>)) {
        f(prefix, self);
        for (name, child) in &mut self.children {
            child.visit_mut(&format!("{prefix}.{name}"), f);
        }
    }
}

/// The mask seed of a dropout layer in training pass `step`: a SplitMix64
/// finaliser of the pair, so consecutive passes draw unrelated masks.
fn dropout_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn missing_saved() -> Error {
    Error::InvalidParam {
        op: "nn::Sequential::backward",
        param: "forward",
        message: "backward needs a forward pass first".into(),
    }
}

/// Layers applied in order. Parameters and buffers are named like the
/// `state_dict` of the same PyTorch `nn.Sequential`: `"{layer index}.weight"`,
/// `"{index}.running_mean"`, a block's `"{index}.conv1.weight"`,
/// `"{index}.downsample.1.running_var"`, ...
#[derive(Debug, Clone)]
pub struct Sequential<B: Backend> {
    backend: B,
    layers: Vec<Layer<B>>,
    training: bool,
    training_passes: u64,
}

impl<B: Backend> Sequential<B> {
    /// An empty model in training mode.
    pub fn new(backend: B) -> Self {
        Sequential {
            backend,
            layers: Vec::new(),
            training: true,
            training_passes: 0,
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn layers(&self) -> &[Layer<B>] {
        &self.layers
    }

    /// Appends a layer, initialised as PyTorch initialises it (see
    /// [`Layer::new`]).
    pub fn push(mut self, kind: LayerKind, rng: &mut Rng) -> Result<Self, Error> {
        let layer = Layer::new(&self.backend, kind, rng)?;
        self.layers.push(layer);
        if let [.., bn, relu] = &mut self.layers[..] {
            fuse_relu(bn, relu);
        }
        Ok(self)
    }

    /// torch's `model.train()`: batch norm normalises with the batch's
    /// statistics and updates its running ones, dropout is active. A new
    /// model starts in this mode.
    pub fn train(&mut self) {
        self.training = true;
    }

    /// torch's `model.eval()`: batch norm uses its running statistics,
    /// dropout is the identity.
    pub fn eval(&mut self) {
        self.training = false;
    }

    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Forward passes run in training mode so far; it seeds dropout, so a
    /// resumed run restores it ([`Sequential::set_training_passes`]).
    pub fn training_passes(&self) -> u64 {
        self.training_passes
    }

    pub fn set_training_passes(&mut self, passes: u64) {
        self.training_passes = passes;
    }

    /// The forward pass in the current mode. Keeps what each layer's
    /// backward pass needs until the next forward pass.
    pub fn forward(&mut self, x: &B::Tensor) -> Result<B::Tensor, Error> {
        let b = self.backend.clone();
        let pass = Pass {
            training: self.training,
            step: self.training_passes,
        };
        let mut a = x.clone();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            b.enter(Some(i), layer.kind.name());
            a = layer.forward(&b, a, pass)?;
        }
        if self.training {
            self.training_passes += 1;
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
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            b.enter(Some(i), layer.kind.name());
            match layer.backward(&b, g, want_input || i > 0)? {
                Some(dx) => g = dx,
                // Only the first layer skips its input gradient; the layers
                // before a skipped one have nothing to learn from.
                None => return Ok(None),
            }
        }
        Ok(Some(g))
    }

    fn each_layer<'a>(&'a self, mut f: impl FnMut(&str, &'a Layer<B>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit(&i.to_string(), &mut f);
        }
    }

    fn each_layer_mut(&mut self, mut f: impl FnMut(&str, &mut Layer<B>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_mut(&i.to_string(), &mut f);
        }
    }

    /// Every parameter with its PyTorch `state_dict` name, in torch's
    /// order (`model.parameters()`).
    pub fn parameters(&self) -> Vec<(String, &Param<B>)> {
        let mut out = Vec::new();
        self.each_layer(|prefix, layer| {
            for (param, suffix) in layer.params.iter().zip(PARAM_NAMES) {
                out.push((format!("{prefix}.{suffix}"), param));
            }
        });
        out
    }

    /// [`Sequential::parameters`], mutable.
    pub fn parameters_mut(&mut self) -> Vec<(String, &mut Param<B>)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.params_mut(i.to_string(), &mut out);
        }
        out
    }

    /// Every float buffer (batch norms' `running_mean`, `running_var`)
    /// with its `state_dict` name.
    pub fn buffers(&self) -> Vec<(String, &B::Tensor)> {
        let mut out = Vec::new();
        self.each_layer(|prefix, layer| {
            for (t, suffix) in layer.buffers.iter().zip(BUFFER_NAMES) {
                out.push((format!("{prefix}.{suffix}"), t));
            }
        });
        out
    }

    /// [`Sequential::buffers`], mutable.
    pub fn buffers_mut(&mut self) -> Vec<(String, &mut B::Tensor)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.buffers_mut(i.to_string(), &mut out);
        }
        out
    }

    /// Every batch norm's `num_batches_tracked` with its `state_dict` name.
    pub fn batch_counts(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        self.each_layer(|prefix, layer| {
            if matches!(layer.kind, LayerKind::BatchNorm2d { .. }) {
                out.push((
                    format!("{prefix}.num_batches_tracked"),
                    layer.num_batches_tracked,
                ));
            }
        });
        out
    }

    /// Sets the `num_batches_tracked` named `name`; false if there is none.
    pub fn set_batch_count(&mut self, name: &str, count: u64) -> bool {
        let mut found = false;
        self.each_layer_mut(|prefix, layer| {
            if matches!(layer.kind, LayerKind::BatchNorm2d { .. })
                && name.strip_suffix(".num_batches_tracked") == Some(prefix)
            {
                layer.num_batches_tracked = count;
                found = true;
            }
        });
        found
    }

    /// Every dropout layer's seed (drawn when the layer was made), in
    /// layer order: with the training-pass count it fixes every mask, so
    /// checkpoints keep it.
    pub fn dropout_seeds(&self) -> Vec<u64> {
        let mut out = Vec::new();
        self.each_layer(|_, layer| {
            if matches!(layer.kind, LayerKind::Dropout { .. }) {
                out.push(layer.seed);
            }
        });
        out
    }

    /// Restores [`Sequential::dropout_seeds`]; fails unless there is one
    /// seed per dropout layer.
    pub fn set_dropout_seeds(&mut self, seeds: &[u64]) -> Result<(), Error> {
        let count = self.dropout_seeds().len();
        if seeds.len() != count {
            return Err(Error::InvalidParam {
                op: "Sequential::set_dropout_seeds",
                param: "seeds",
                message: format!("{} seeds for {count} dropout layers", seeds.len()),
            });
        }
        let mut next = seeds.iter();
        self.each_layer_mut(|_, layer| {
            if matches!(layer.kind, LayerKind::Dropout { .. }) {
                layer.seed = *next.next().unwrap_or(&0);
            }
        });
        Ok(())
    }

    /// Clears every gradient (the next backward pass sets them afresh).
    pub fn zero_grad(&mut self) {
        self.each_layer_mut(|_, layer| {
            for p in &mut layer.params {
                p.grad = None;
            }
        });
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
        match self.train_step_deferred(x, targets, loss, optimizer, report_loss)? {
            Some(t) => Ok(b.to_vec(&t)?.first().copied()),
            None => Ok(None),
        }
    }

    /// [`Sequential::train_step`] that hands back the loss as a 1-element
    /// tensor instead of reading it: nothing waits for the device (a
    /// browser reads it with `Tensor::to_vec_async`).
    pub fn train_step_deferred(
        &mut self,
        x: &B::Tensor,
        targets: &B::Tensor,
        loss: Loss,
        optimizer: &mut Optimizer<B>,
        report_loss: bool,
    ) -> Result<Option<B::Tensor>, Error> {
        let b = self.backend.clone();
        b.record(|| {
            self.zero_grad();
            let y = self.forward(x)?;
            b.enter(None, "loss");
            let dy = loss.backward(&b, &y, targets)?;
            self.backward_params(&dy)?;
            b.enter(None, "optimizer");
            optimizer.step(self)?;
            b.enter(None, "loss");
            report_loss
                .then(|| loss.forward(&b, &y, targets))
                .transpose()
        })
    }
}

fn four(s: &[usize]) -> [usize; 4] {
    let mut out = [1; 4];
    for (o, v) in out.iter_mut().zip(s) {
        *o = *v;
    }
    out
}
