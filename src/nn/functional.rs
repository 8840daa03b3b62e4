//! The differentiable ops, as torch's `torch.nn.functional`: each runs
//! the backend's forward op on [`Var`]s and registers, once, the gradient
//! of every input (see [`super::graph`]). The ops without parameters are
//! also methods of `Var` (`x.relu()`, `x.add(&y)`, `x.flatten()`, ...).
//!
//! A backward closure saves only tensors (never a `Var` or the graph, so
//! the record holds no cycle) and computes the gradients its inputs need,
//! in the order the hand-written backward passes ran before the graph
//! existed (weight, bias, then input), so the same step gives the same
//! bits.

use super::graph::{Upstream, Var};
use super::Backend;
use crate::shape::{check_4d, Pool2dParams};
use crate::{
    Activation, BatchNorm, Conv2dParams, Error, NllOptions, Normalization, PointwiseLoss,
    Upsample2dParams,
};
use std::rc::Rc;

fn four(op: &'static str, shape: &[usize]) -> Result<[usize; 4], Error> {
    check_4d(op, "input", shape)
}

/// What a convolution's backward pass keeps of its input for the weight
/// gradient.
enum Saved<T> {
    Input(Rc<T>),
    /// The forward's transformed input (`Backend::conv2d_keeping_transform`).
    Transformed(T),
}

/// `conv2d(x, w, b)` (torch's `F.conv2d`): `x` `[N, C, H, W]`, `w`
/// `[K, C/groups, R, S]`, `b` `[K]`.
pub fn conv2d<B: Backend>(
    x: &Var<B>,
    w: &Var<B>,
    bias: Option<&Var<B>>,
    p: &Conv2dParams,
) -> Result<Var<B>, Error> {
    const OP: &str = "conv2d";
    let b = x.backend();
    // Where the backend keeps the forward's transformed input for the
    // weight gradient (Winograd on a CPU adapter), the backward keeps that
    // instead of x: its input gradient needs only w and dy.
    let (y, transformed) = match x.graph().is_recording() && w.requires_grad() {
        true => b.conv2d_keeping_transform(x.value(), w.value(), bias.map(Var::value), p)?,
        false => (
            b.conv2d(x.value(), w.value(), bias.map(Var::value), p)?,
            None,
        ),
    };
    let saved = match transformed {
        Some(v) => Saved::Transformed(v),
        None => Saved::Input(x.shared()),
    };
    let ws = w.shared();
    let x_shape = four(OP, x.shape())?;
    let w_shape = check_4d(OP, "weight", w.shape())?;
    let p = *p;
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    let has_bias = bias.is_some();
    x.graph()
        .record(OP, &inputs, Rc::new(y), move |b, g, needs| {
            let g = g.tensor();
            let dw = needs[1]
                .then(|| match &saved {
                    Saved::Input(xs) => b.conv2d_weight_grad(xs, g, w_shape, &p),
                    Saved::Transformed(v) => {
                        b.conv2d_weight_grad_transformed(v, g, x_shape, w_shape, &p)
                    }
                })
                .transpose()?;
            let db = (has_bias && needs[2]).then(|| b.bias_grad(g)).transpose()?;
            let dx = needs[0]
                .then(|| b.conv2d_input_grad(g, &ws, x_shape, &p))
                .transpose()?;
            let mut out = vec![dx, dw];
            if has_bias {
                out.push(db);
            }
            Ok(out)
        })
}

/// torch's `F.conv_transpose2d(x, w, b, stride, padding, output_padding,
/// groups, dilation)`: `x` `[N, C_in, H, W]`, `w` `[C_in, C_out/groups,
/// kh, kw]`, `b` `[C_out]`, the output shape by
/// [`crate::shape::conv_transpose2d_shape`]. It is the input gradient of
/// the convolution with the same weight and geometry, so it runs on that
/// op's plan; its gradients are that convolution's forward pass (for `x`)
/// and its weight gradient with the roles of input and output gradient
/// swapped (for `w`).
pub fn conv_transpose2d<B: Backend>(
    x: &Var<B>,
    w: &Var<B>,
    bias: Option<&Var<B>>,
    p: &Conv2dParams,
    output_padding: [u32; 2],
) -> Result<Var<B>, Error> {
    const OP: &str = "conv_transpose2d";
    let b = x.backend();
    let y_shape =
        crate::shape::conv_transpose2d_shape(OP, x.shape(), w.shape(), p, output_padding)?;
    let mut y = b.conv2d_input_grad(x.value(), w.value(), y_shape, p)?;
    if let Some(bias) = bias {
        y = b.add_channel_bias(&y, bias.value())?;
    }
    let (xs, ws) = (x.shared(), w.shared());
    let w_shape = check_4d(OP, "weight", w.shape())?;
    let p = *p;
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    let has_bias = bias.is_some();
    x.graph()
        .record(OP, &inputs, Rc::new(y), move |b, g, needs| {
            let g = g.tensor();
            let dx = needs[0].then(|| b.conv2d(g, &ws, None, &p)).transpose()?;
            let dw = needs[1]
                .then(|| b.conv2d_weight_grad(g, &xs, w_shape, &p))
                .transpose()?;
            let db = (has_bias && needs[2]).then(|| b.bias_grad(g)).transpose()?;
            let mut out = vec![dx, dw];
            if has_bias {
                out.push(db);
            }
            Ok(out)
        })
}

/// `linear(x, w, b)` (torch's `F.linear`): `x · wᵀ + b`, `x` `[N, in]`,
/// `w` `[out, in]`, `b` `[out]`.
pub fn linear<B: Backend>(x: &Var<B>, w: &Var<B>, bias: Option<&Var<B>>) -> Result<Var<B>, Error> {
    let b = x.backend();
    let y = b.linear(x.value(), w.value(), bias.map(Var::value))?;
    let (xs, ws) = (x.shared(), w.shared());
    let mut inputs = vec![x, w];
    inputs.extend(bias);
    let has_bias = bias.is_some();
    x.graph()
        .record("linear", &inputs, Rc::new(y), move |b, g, needs| {
            let g = g.tensor();
            let dw = needs[1].then(|| b.linear_weight_grad(&xs, g)).transpose()?;
            let db = (has_bias && needs[2])
                .then(|| b.linear_bias_grad(g))
                .transpose()?;
            let dx = needs[0].then(|| b.linear_input_grad(g, &ws)).transpose()?;
            let mut out = vec![dx, dw];
            if has_bias {
                out.push(db);
            }
            Ok(out)
        })
}

/// torch's `F.batch_norm` over `[N, C, H, W]` with affine `weight` and
/// `bias` `[C]`; in training mode it normalises with the batch's
/// statistics and moves `running_mean` / `running_var` towards them, in
/// eval mode it uses them. With `relu`, `relu(batch_norm(x))` in the same
/// passes ([`Backend::batch_norm2d_relu`]).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm2d<B: Backend>(
    x: &Var<B>,
    weight: &Var<B>,
    bias: &Var<B>,
    running_mean: &mut B::Tensor,
    running_var: &mut B::Tensor,
    training: bool,
    cfg: &BatchNorm,
    relu: bool,
) -> Result<Var<B>, Error> {
    let b = x.backend();
    let (w, bv) = (weight.value(), bias.value());
    let (y, stats) = if relu {
        b.batch_norm2d_relu(x.value(), w, bv, running_mean, running_var, training, cfg)?
    } else {
        b.batch_norm2d(x.value(), w, bv, running_mean, running_var, training, cfg)?
    };
    let y = Rc::new(y);
    let (xs, ws) = (x.shared(), weight.shared());
    // The fused op's backward takes its output and the bias (the GPU finds
    // the ReLU's mask from the bias, the CPU from the output).
    let fused = relu.then(|| (y.clone(), bias.shared()));
    let op = if relu {
        "batch_norm2d_relu"
    } else {
        "batch_norm2d"
    };
    x.graph().record(op, &[x, weight, bias], y, move |b, g, _| {
        let g = g.tensor();
        let (dx, dw, db) = match &fused {
            Some((y, bias)) => {
                b.batch_norm2d_relu_backward(&xs, y, g, &ws, bias, &stats, training)?
            }
            None => b.batch_norm2d_backward(&xs, g, &ws, &stats, training)?,
        };
        Ok(vec![Some(dx), Some(dw), Some(db)])
    })
}

/// torch's `F.max_pool2d(F.relu(F.batch_norm(x, ...)), 2)` in batch
/// norm's passes ([`Backend::batch_norm2d_relu_max_pool2d`]): the
/// statistics and running statistics as [`batch_norm2d`]'s, the pooled
/// output `[N, C, H/2, W/2]`; `x`'s planes must have even height and
/// width ([`Pool2dParams::fuses_after_batch_norm`]).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm2d_relu_max_pool2d<B: Backend>(
    x: &Var<B>,
    weight: &Var<B>,
    bias: &Var<B>,
    running_mean: &mut B::Tensor,
    running_var: &mut B::Tensor,
    training: bool,
    cfg: &BatchNorm,
) -> Result<Var<B>, Error> {
    let b = x.backend();
    let (w, bv) = (weight.value(), bias.value());
    let (p, stats) =
        b.batch_norm2d_relu_max_pool2d(x.value(), w, bv, running_mean, running_var, training, cfg)?;
    let (xs, ws, bs) = (x.shared(), weight.shared(), bias.shared());
    let op = "batch_norm2d_relu_max_pool2d";
    x.graph()
        .record(op, &[x, weight, bias], Rc::new(p), move |b, g, _| {
            let (dx, dw, db) = b.batch_norm2d_relu_max_pool2d_backward(
                &xs,
                g.tensor(),
                &ws,
                &bs,
                &stats,
                training,
            )?;
            Ok(vec![Some(dx), Some(dw), Some(db)])
        })
}

/// torch's per-sample normalisations ([`Normalization`]): `x` normalised
/// by each row's mean and biased variance, then the optional affine
/// `weight` and `bias` (`[C]`, or layer norm's normalised shape).
pub fn norm<B: Backend>(
    x: &Var<B>,
    kind: Normalization,
    weight: Option<&Var<B>>,
    bias: Option<&Var<B>>,
    eps: f32,
) -> Result<Var<B>, Error> {
    let b = x.backend();
    let (y, saved) = b.norm(
        x.value(),
        kind,
        weight.map(Var::value),
        bias.map(Var::value),
        eps,
    )?;
    let (xs, ws) = (x.shared(), weight.map(Var::shared));
    let mut inputs = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    let has_bias = bias.is_some();
    let op = match kind {
        Normalization::Group { .. } => "group_norm",
        Normalization::Layer { .. } => "layer_norm",
        Normalization::Instance => "instance_norm",
    };
    x.graph().record(op, &inputs, Rc::new(y), move |b, g, _| {
        let (dx, dw, db) =
            b.norm_backward(&xs, g.tensor(), kind, ws.as_deref(), has_bias, &saved)?;
        let mut out = vec![Some(dx)];
        if dw.is_some() {
            out.push(dw);
        }
        if has_bias {
            out.push(db);
        }
        Ok(out)
    })
}

/// `F.group_norm(x, num_groups, weight, bias, eps)` of `[N, C, *]`.
pub fn group_norm<B: Backend>(
    x: &Var<B>,
    num_groups: usize,
    weight: Option<&Var<B>>,
    bias: Option<&Var<B>>,
    eps: f32,
) -> Result<Var<B>, Error> {
    let kind = Normalization::Group { groups: num_groups };
    norm(x, kind, weight, bias, eps)
}

/// `F.layer_norm(x, normalized_shape, weight, bias, eps)`: `x`'s trailing
/// dimensions must be `normalized_shape`.
pub fn layer_norm<B: Backend>(
    x: &Var<B>,
    normalized_shape: &[usize],
    weight: Option<&Var<B>>,
    bias: Option<&Var<B>>,
    eps: f32,
) -> Result<Var<B>, Error> {
    let shape = x.shape();
    if normalized_shape.is_empty()
        || normalized_shape.len() > shape.len()
        || shape[shape.len() - normalized_shape.len()..] != *normalized_shape
    {
        return Err(Error::InvalidParam {
            op: "layer_norm",
            param: "normalized_shape",
            message: format!(
                "{normalized_shape:?} is not the trailing dimensions of the input {shape:?}"
            ),
        });
    }
    let kind = Normalization::Layer {
        dims: normalized_shape.len(),
    };
    norm(x, kind, weight, bias, eps)
}

/// `F.instance_norm(x, weight=weight, bias=bias, eps=eps)` of `[N, C, *]`
/// with the input's statistics (no running statistics).
pub fn instance_norm<B: Backend>(
    x: &Var<B>,
    weight: Option<&Var<B>>,
    bias: Option<&Var<B>>,
    eps: f32,
) -> Result<Var<B>, Error> {
    norm(x, Normalization::Instance, weight, bias, eps)
}

/// The loss's gradient scaled by the upstream one, which is 1 when the
/// loss is what `backward` started from.
/// torch's `L1Loss`, `SmoothL1Loss(beta)` or `BCEWithLogitsLoss(pos_weight)`
/// of prediction `y` against constant targets `t`, the mean over every
/// element ([`PointwiseLoss`]).
pub fn pointwise_loss<B: Backend>(
    y: &Var<B>,
    t: &Var<B>,
    kind: PointwiseLoss,
    pos_weight: Option<&B::Tensor>,
) -> Result<Var<B>, Error> {
    let op = kind.torch_name();
    constant_targets(op, t)?;
    let b = y.backend();
    let loss = b.pointwise_loss(y.value(), t.value(), kind, pos_weight)?;
    let (ys, ts) = (y.shared(), t.shared());
    let pw = pos_weight.cloned();
    y.graph()
        .record(op, &[y, t], Rc::new(loss), move |b, g, _| {
            let d = b.pointwise_loss_backward(&ys, &ts, kind, pw.as_ref())?;
            Ok(vec![Some(scaled(b, d, g)?), None])
        })
}

/// `F.nll_loss(logp, targets, weight, ignore_index)` with label
/// smoothing: log-probabilities `[N, C]`, class indices (host values).
pub fn nll_loss<B: Backend>(
    logp: &Var<B>,
    targets: &[i64],
    weight: Option<&B::Tensor>,
    o: &NllOptions,
) -> Result<Var<B>, Error> {
    let t: Vec<f32> = targets.iter().map(|&c| c as f32).collect();
    nll_loss_values(logp, t, weight, o)
}

fn nll_loss_values<B: Backend>(
    logp: &Var<B>,
    t: Vec<f32>,
    weight: Option<&B::Tensor>,
    o: &NllOptions,
) -> Result<Var<B>, Error> {
    let b = logp.backend();
    let loss = b.nll_loss(logp.value(), &t, weight, o)?;
    let ls = logp.shared();
    let (w, o) = (weight.cloned(), *o);
    logp.graph()
        .record("nll_loss", &[logp], Rc::new(loss), move |b, g, _| {
            let d = b.nll_loss_backward(&ls, &t, w.as_ref(), &o)?;
            Ok(vec![Some(scaled(b, d, g)?)])
        })
}

/// torch's `F.cross_entropy(logits, targets, weight, ignore_index,
/// label_smoothing)` with class-index targets: `log_softmax` over the
/// classes, then [`nll_loss`]. `ignore_index` may be a negative class
/// (torch's −100): targets are given as `i64`.
pub fn cross_entropy_index<B: Backend>(
    logits: &Var<B>,
    targets: &[i64],
    weight: Option<&B::Tensor>,
    o: &NllOptions,
) -> Result<Var<B>, Error> {
    let t: Vec<f32> = targets.iter().map(|&c| c as f32).collect();
    nll_loss_values(&logits.log_softmax(1)?, t, weight, o)
}

/// `F.l1_loss(y, t)`.
pub fn l1_loss<B: Backend>(y: &Var<B>, t: &Var<B>) -> Result<Var<B>, Error> {
    pointwise_loss(y, t, PointwiseLoss::L1, None)
}

/// `F.smooth_l1_loss(y, t, beta=beta)`.
pub fn smooth_l1_loss<B: Backend>(y: &Var<B>, t: &Var<B>, beta: f32) -> Result<Var<B>, Error> {
    pointwise_loss(y, t, PointwiseLoss::SmoothL1 { beta }, None)
}

/// `F.binary_cross_entropy_with_logits(y, t, pos_weight=pos_weight)`.
pub fn binary_cross_entropy_with_logits<B: Backend>(
    y: &Var<B>,
    t: &Var<B>,
    pos_weight: Option<&B::Tensor>,
) -> Result<Var<B>, Error> {
    pointwise_loss(y, t, PointwiseLoss::BceWithLogits, pos_weight)
}

fn scaled<B: Backend>(b: &B, d: B::Tensor, g: &Upstream<B>) -> Result<B::Tensor, Error> {
    if g.is_seed() {
        Ok(d)
    } else {
        b.mul_broadcast(&d, g.tensor())
    }
}

fn constant_targets<B: Backend>(op: &'static str, t: &Var<B>) -> Result<(), Error> {
    if t.requires_grad() {
        return Err(Error::InvalidParam {
            op,
            param: "targets",
            message: "need no gradient: wgconv's losses differentiate the prediction only \
                      (detach() the targets)"
                .into(),
        });
    }
    Ok(())
}

/// Cross-entropy of softmax(`z`) against target probabilities `t` (both
/// `[N, classes]`; one-hot rows give torch's class-index form), mean over
/// the batch: torch's `F.cross_entropy` with probability targets.
pub fn cross_entropy<B: Backend>(z: &Var<B>, t: &Var<B>) -> Result<Var<B>, Error> {
    const OP: &str = "cross_entropy";
    constant_targets(OP, t)?;
    let b = z.backend();
    let loss = b.softmax_cross_entropy(z.value(), t.value())?;
    let (zs, ts) = (z.shared(), t.shared());
    z.graph()
        .record(OP, &[z, t], Rc::new(loss), move |b, g, _| {
            let d = b.softmax_cross_entropy_backward(&zs, &ts)?;
            Ok(vec![Some(scaled(b, d, g)?), None])
        })
}

/// Mean squared error over all elements (torch's `F.mse_loss`).
pub fn mse_loss<B: Backend>(y: &Var<B>, t: &Var<B>) -> Result<Var<B>, Error> {
    let b = y.backend();
    let loss = b.mse_loss(y.value(), t.value())?;
    let (ys, ts) = (y.shared(), t.shared());
    y.graph()
        .record("mse_loss", &[y, t], Rc::new(loss), move |b, g, needs| {
            let d = scaled(b, b.mse_loss_backward(&ys, &ts)?, g)?;
            let dt = if needs[1] {
                Some(b.mul_broadcast(&d, &b.tensor(&[1], &[-1.0])?)?)
            } else {
                None
            };
            Ok(vec![Some(d), dt])
        })
}

/// `torch.cat(parts, dim=1)` of NCHW tensors of one graph; its backward
/// pass splits the gradient back into the parts' channels.
pub fn cat<B: Backend>(parts: &[&Var<B>]) -> Result<Var<B>, Error> {
    let first = parts.first().ok_or_else(|| Error::InvalidParam {
        op: "cat",
        param: "parts",
        message: "no part: torch.cat needs at least one tensor".into(),
    })?;
    let values: Vec<&B::Tensor> = parts.iter().map(|p| p.value()).collect();
    let y = first.backend().cat_channels(&values)?;
    let sizes: Vec<usize> = parts.iter().map(|p| p.shape()[1]).collect();
    first
        .graph()
        .record("cat", parts, Rc::new(y), move |b, g, needs| {
            let pieces = b.split_channels(g.tensor(), &sizes)?;
            Ok(pieces
                .into_iter()
                .zip(needs)
                .map(|(p, &need)| need.then_some(p))
                .collect())
        })
}

impl<B: Backend> Var<B> {
    /// torch's `softmax(x, dim)`.
    pub fn softmax(&self, dim: usize) -> Result<Var<B>, Error> {
        let y = Rc::new(self.backend().softmax(self.value(), dim)?);
        let ys = y.clone();
        self.graph().record("softmax", &[self], y, move |b, g, _| {
            Ok(vec![Some(b.softmax_backward(&ys, g.tensor(), dim)?)])
        })
    }

    /// torch's `log_softmax(x, dim)`.
    pub fn log_softmax(&self, dim: usize) -> Result<Var<B>, Error> {
        let y = Rc::new(self.backend().log_softmax(self.value(), dim)?);
        let ys = y.clone();
        self.graph()
            .record("log_softmax", &[self], y, move |b, g, _| {
                Ok(vec![Some(b.log_softmax_backward(&ys, g.tensor(), dim)?)])
            })
    }

    /// torch's `F.adaptive_avg_pool2d(x, output_size)` of NCHW (output
    /// `[1, 1]` runs [`Var::global_avg_pool2d`]).
    pub fn adaptive_avg_pool2d(&self, output_size: [usize; 2]) -> Result<Var<B>, Error> {
        if output_size == [1, 1] {
            return self.global_avg_pool2d();
        }
        const OP: &str = "adaptive_avg_pool2d";
        let y = self
            .backend()
            .adaptive_avg_pool2d(self.value(), output_size)?;
        let x_shape = four(OP, self.shape())?;
        self.graph()
            .record(OP, &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.adaptive_avg_pool2d_backward(
                    g.tensor(),
                    x_shape,
                    output_size,
                )?)])
            })
    }

    /// torch's `F.adaptive_max_pool2d(x, output_size)` of NCHW.
    pub fn adaptive_max_pool2d(&self, output_size: [usize; 2]) -> Result<Var<B>, Error> {
        let y = self
            .backend()
            .adaptive_max_pool2d(self.value(), output_size)?;
        let xs = self.shared();
        self.graph().record(
            "adaptive_max_pool2d",
            &[self],
            Rc::new(y),
            move |b, g, _| {
                Ok(vec![Some(b.adaptive_max_pool2d_backward(
                    &xs,
                    g.tensor(),
                    output_size,
                )?)])
            },
        )
    }

    /// torch's `F.interpolate(x, size | scale_factor, mode, align_corners)`
    /// on NCHW ([`Upsample2dParams`]).
    pub fn interpolate(&self, p: &Upsample2dParams) -> Result<Var<B>, Error> {
        const OP: &str = "upsample2d";
        let y = self.backend().upsample2d(self.value(), p)?;
        let x_shape = four(OP, self.shape())?;
        let p = *p;
        self.graph()
            .record(OP, &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.upsample2d_backward(
                    g.tensor(),
                    x_shape,
                    &p,
                )?)])
            })
    }

    /// `torch.split(x, sizes, dim=1)` of an NCHW tensor: one tensor per
    /// size, the sizes adding up to the channels. Each part is its own
    /// op; its backward pass places its gradient among zeros of the
    /// other channels (the graph then sums the parts' gradients).
    pub fn split_channels(&self, sizes: &[usize]) -> Result<Vec<Var<B>>, Error> {
        let b = self.backend();
        let parts = b.split_channels(self.value(), sizes)?;
        let shape = self.shape().to_vec();
        let mut c0 = 0;
        let mut out = Vec::with_capacity(parts.len());
        for (part, &size) in parts.into_iter().zip(sizes) {
            let (before, after) = (c0, shape[1] - c0 - size);
            let shape = shape.clone();
            out.push(
                self.graph()
                    .record("split", &[self], Rc::new(part), move |b, g, _| {
                        let zeros = |c: usize| {
                            let s = [shape[0], c, shape[2], shape[3]];
                            b.tensor(&s, &vec![0.0; s.iter().product()])
                        };
                        let mut pieces = Vec::new();
                        if before > 0 {
                            pieces.push(zeros(before)?);
                        }
                        let upstream = g.tensor().clone();
                        pieces.push(upstream);
                        if after > 0 {
                            pieces.push(zeros(after)?);
                        }
                        let refs: Vec<&B::Tensor> = pieces.iter().collect();
                        Ok(vec![Some(b.cat_channels(&refs)?)])
                    })?,
            );
            c0 += size;
        }
        Ok(out)
    }

    /// ReLU, `max(x, 0)` (NaN passes through, as in torch).
    pub fn relu(&self) -> Result<Var<B>, Error> {
        let y = self.backend().relu(self.value())?;
        let xs = self.shared();
        self.graph()
            .record("relu", &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.relu_backward(&xs, g.tensor())?)])
            })
    }

    /// torch's element-wise activation `act` (see [`Activation`]), its
    /// backward pass from the input.
    pub fn activate(&self, act: Activation) -> Result<Var<B>, Error> {
        let y = self.backend().activate(self.value(), act)?;
        let xs = self.shared();
        self.graph()
            .record(act.torch_name(), &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.activate_backward(&xs, g.tensor(), act)?)])
            })
    }

    /// `F.relu6`.
    pub fn relu6(&self) -> Result<Var<B>, Error> {
        self.activate(Activation::Relu6)
    }

    /// `F.leaky_relu(x, negative_slope)`.
    pub fn leaky_relu(&self, negative_slope: f32) -> Result<Var<B>, Error> {
        self.activate(Activation::LeakyRelu { negative_slope })
    }

    /// `F.elu(x, alpha)`.
    pub fn elu(&self, alpha: f32) -> Result<Var<B>, Error> {
        self.activate(Activation::Elu { alpha })
    }

    /// `F.gelu(x)` (the erf form).
    pub fn gelu(&self) -> Result<Var<B>, Error> {
        self.activate(Activation::Gelu)
    }

    /// `F.gelu(x, approximate='tanh')`.
    pub fn gelu_tanh(&self) -> Result<Var<B>, Error> {
        self.activate(Activation::GeluTanh)
    }

    /// `F.silu`.
    pub fn silu(&self) -> Result<Var<B>, Error> {
        self.activate(Activation::Silu)
    }

    /// `F.hardswish`.
    pub fn hardswish(&self) -> Result<Var<B>, Error> {
        self.activate(Activation::Hardswish)
    }

    /// `F.hardsigmoid`.
    pub fn hardsigmoid(&self) -> Result<Var<B>, Error> {
        self.activate(Activation::Hardsigmoid)
    }

    /// `torch.tanh`.
    pub fn tanh(&self) -> Result<Var<B>, Error> {
        self.activate(Activation::Tanh)
    }

    /// The logistic sigmoid `1 / (1 + e^−x)`.
    pub fn sigmoid(&self) -> Result<Var<B>, Error> {
        let y = Rc::new(self.backend().sigmoid(self.value())?);
        let ys = y.clone();
        self.graph().record("sigmoid", &[self], y, move |b, g, _| {
            Ok(vec![Some(b.sigmoid_backward(&ys, g.tensor())?)])
        })
    }

    /// `self + other`, both of one shape.
    pub fn add(&self, other: &Var<B>) -> Result<Var<B>, Error> {
        let y = self.backend().add(self.value(), other.value())?;
        self.graph()
            .record("add", &[self, other], Rc::new(y), move |_, g, needs| {
                let g = g.tensor();
                Ok(vec![
                    needs[0].then(|| g.clone()),
                    needs[1].then(|| g.clone()),
                ])
            })
    }

    /// `self · other` element-wise: of one shape, or `other` broadcast
    /// over `self`'s trailing dimensions as torch broadcasts it (one value,
    /// or `[N, C, 1, 1]` over `[N, C, H, W]`: a gate per channel).
    pub fn mul(&self, other: &Var<B>) -> Result<Var<B>, Error> {
        let b = self.backend();
        let (xs, ss) = (self.shared(), other.shared());
        if self.shape() == other.shape() {
            let y = b.mul(self.value(), other.value())?;
            return self
                .graph()
                .record("mul", &[self, other], Rc::new(y), move |b, g, needs| {
                    let g = g.tensor();
                    let da = needs[0].then(|| b.mul(g, &ss)).transpose()?;
                    let db = needs[1].then(|| b.mul(g, &xs)).transpose()?;
                    Ok(vec![da, db])
                });
        }
        let y = b.mul_broadcast(self.value(), other.value())?;
        let s_shape = other.shape().to_vec();
        self.graph().record(
            "mul_broadcast",
            &[self, other],
            Rc::new(y),
            move |b, g, needs| {
                let g = g.tensor();
                let ds = needs[1]
                    .then(|| b.mul_broadcast_grad(&xs, g, &s_shape))
                    .transpose()?;
                let dx = needs[0].then(|| b.mul_broadcast(g, &ss)).transpose()?;
                Ok(vec![dx, ds])
            },
        )
    }

    /// The same values with another shape of as many elements (torch's
    /// `reshape` / `view`).
    pub fn reshape(&self, shape: &[usize]) -> Result<Var<B>, Error> {
        let y = self.backend().reshape(self.value(), shape)?;
        let x_shape = self.shape().to_vec();
        self.graph()
            .record("reshape", &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.reshape(g.tensor(), &x_shape)?)])
            })
    }

    /// `[N, ...]` to `[N, product of the rest]` (torch's `flatten(1)`).
    pub fn flatten(&self) -> Result<Var<B>, Error> {
        let s = self.shape();
        let rest: usize = s.iter().skip(1).product();
        let n = s.first().copied().unwrap_or(1);
        self.reshape(&[n, rest])
    }

    /// torch's `F.max_pool2d(x, kernel, stride, padding)`: padding counts
    /// as −∞; a window's gradient goes to its first maximum.
    pub fn max_pool2d(&self, p: &Pool2dParams) -> Result<Var<B>, Error> {
        let y = self.backend().max_pool2d(self.value(), p)?;
        let (xs, p) = (self.shared(), *p);
        self.graph()
            .record("max_pool2d", &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.max_pool2d_backward(&xs, g.tensor(), &p)?)])
            })
    }

    /// torch's `F.avg_pool2d(x, kernel, stride, padding)` with
    /// `count_include_pad=True`.
    pub fn avg_pool2d(&self, p: &Pool2dParams) -> Result<Var<B>, Error> {
        let y = self.backend().avg_pool2d(self.value(), p)?;
        let x_shape = four("avg_pool2d", self.shape())?;
        let p = *p;
        self.graph()
            .record("avg_pool2d", &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.avg_pool2d_backward(
                    g.tensor(),
                    x_shape,
                    &p,
                )?)])
            })
    }

    /// torch's `F.adaptive_avg_pool2d(x, 1)`: `[N, C, H, W]` to
    /// `[N, C, 1, 1]`, the mean of each plane.
    pub fn global_avg_pool2d(&self) -> Result<Var<B>, Error> {
        let y = self.backend().global_avg_pool2d(self.value())?;
        let x_shape = four("global_avg_pool2d", self.shape())?;
        self.graph()
            .record("global_avg_pool2d", &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(
                    b.global_avg_pool2d_backward(g.tensor(), x_shape)?,
                )])
            })
    }

    /// Training-mode dropout with drop probability `p` and the mask of
    /// `seed` (see [`crate::Gpu::dropout`]); the caller applies it only in
    /// training mode, as [`super::Dropout`] does.
    pub fn dropout(&self, p: f32, seed: u64) -> Result<Var<B>, Error> {
        let y = self.backend().dropout(self.value(), p, seed)?;
        self.graph()
            .record("dropout", &[self], Rc::new(y), move |b, g, _| {
                Ok(vec![Some(b.dropout_backward(g.tensor(), p, seed)?)])
            })
    }
}
