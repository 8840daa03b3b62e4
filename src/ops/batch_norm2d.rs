//! `Gpu::batch_norm2d` and its backward pass (shaders/batch_norm2d.wgsl):
//! torch.nn.BatchNorm2d with affine parameters, in training mode (batch
//! statistics, running statistics updated) and eval mode (running
//! statistics); with a ReLU fused after it, and with a ReLU and 2x2 max
//! pooling (shaders/batch_norm2d_max_pool2d.wgsl, in the same module).

use super::{check_loop, check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::plan::MAX_LOOP_TRIPS;
use crate::shape::{check_4d, check_fused_pool};
use crate::{Error, Gpu, Tensor};

/// BatchNorm2d's hyper-parameters, torch's defaults: `eps` 1e-5 (added to
/// the variance), `momentum` 0.1 (weight of the batch in the running
/// statistics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNorm {
    pub eps: f32,
    pub momentum: f32,
}

impl Default for BatchNorm {
    fn default() -> Self {
        BatchNorm {
            eps: 1e-5,
            momentum: 0.1,
        }
    }
}

impl BatchNorm {
    /// `Err(InvalidParam)` unless `eps > 0` and `0 ≤ momentum ≤ 1`, both finite.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |param, message: String| {
            Err(Error::InvalidParam {
                op: "batch_norm2d",
                param,
                message,
            })
        };
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps", format!("must be finite and > 0, got {}", self.eps));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return bad(
                "momentum",
                format!("must be in [0, 1], got {}", self.momentum),
            );
        }
        Ok(())
    }
}

/// Mirror of WGSL `BatchNormParams` in shaders/batch_norm2d.wgsl (48 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BatchNormUniform {
    n: u32,
    c: u32,
    hw: u32,
    training: u32,
    momentum: f32,
    eps: f32,
    grid_x: u32,
    relu: u32,
    w: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

/// The checks both passes share: `x` 4-D, the per-channel tensors `[C]`,
/// and (training) more than one value per channel, as torch requires.
fn geometry(
    op: &'static str,
    x: &Tensor,
    per_channel: &[(&'static str, &Tensor)],
    training: bool,
) -> Result<[usize; 4], Error> {
    let [n, c, h, w] = check_4d(op, "input", x.shape())?;
    for (name, t) in per_channel {
        check_shape(op, name, t, &[c])?;
    }
    if training && n * h * w < 2 {
        return Err(Error::InvalidParam {
            op,
            param: "input",
            message: format!(
                "training needs more than one value per channel (N·H·W = {}), as torch's BatchNorm2d does",
                n * h * w
            ),
        });
    }
    // The per-channel sums loop over every 256th value of a channel.
    check_loop(
        op,
        "65 535 loop iterations per invocation (256 x 65 535 values per channel)",
        (n * h * w).div_ceil(256),
    )?;
    Ok([n, c, h, w])
}

/// The fused pooling's checks beyond batch norm's: planes of even height
/// and width ([`crate::Pool2dParams::fuses_after_batch_norm`]), and the loop budget of the split
/// plan's gradient sums (whole pooled rows, 256 invocations).
fn pool_geometry(op: &'static str, shape: [usize; 4]) -> Result<(), Error> {
    check_fused_pool(op, shape)?;
    check_loop(
        op,
        "65 535 loop iterations per invocation (pooled rows of a channel over 256 invocations)",
        pool_walk_trips(shape, 16),
    )
}

fn uniform(
    gpu: &Gpu,
    op: &'static str,
    shape: [usize; 4],
    training: bool,
    cfg: &BatchNorm,
    workgroups: u64,
) -> Result<(BatchNormUniform, (u32, u32)), Error> {
    let grid = gpu.grid(op, workgroups)?;
    Ok((
        BatchNormUniform {
            n: shape[0] as u32,
            c: shape[1] as u32,
            hw: (shape[2] * shape[3]) as u32,
            training: training as u32,
            momentum: cfg.momentum,
            eps: cfg.eps,
            grid_x: grid.0,
            relu: 0,
            w: shape[3] as u32,
            pad0: 0,
            pad1: 0,
            pad2: 0,
        },
        grid,
    ))
}

/// What runs after the normalisation in the same kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    /// `relu(y)`.
    Relu,
    /// `max_pool2d(relu(y), 2)` ([`crate::Pool2dParams::fuses_after_batch_norm`]).
    ReluMaxPool,
}

/// What the backward pass undoes after the normalisation, with what it
/// needs for that: the fused ReLU's output (checked, not read) and the
/// bias, or the bias alone where the pooling is fused too.
#[derive(Debug, Clone, Copy)]
enum Undo<'a> {
    Nothing,
    Relu { y: &'a Tensor, bias: &'a Tensor },
    ReluMaxPool { bias: &'a Tensor },
}

impl Undo<'_> {
    fn after(&self) -> After {
        match self {
            Undo::Nothing => After::Nothing,
            Undo::Relu { .. } => After::Relu,
            Undo::ReluMaxPool { .. } => After::ReluMaxPool,
        }
    }

    fn bias(&self) -> Option<&Tensor> {
        match self {
            Undo::Nothing => None,
            Undo::Relu { bias, .. } | Undo::ReluMaxPool { bias } => Some(bias),
        }
    }
}

/// The shape, the mode, the hyper-parameters, and what is fused.
type How<'a> = ([usize; 4], bool, &'a BatchNorm, After);

/// Whether the fused pooling's per-channel entry points take two windows
/// at a time (rows of a multiple of 4 inputs: each row of a window pair is
/// one vec4).
fn pool_pairs([_, _, _, w]: [usize; 4]) -> bool {
    w.is_multiple_of(4)
}

/// The loop trips of the fused pooling's per-channel walk in a workgroup
/// of `fan`² invocations: whole pooled rows, every LANES-th of a
/// contiguous run (shaders/batch_norm2d_max_pool2d.wgsl's `row_walk`).
fn pool_walk_trips([n, _, h, w]: [usize; 4], fan: usize) -> usize {
    (n * h / 2).div_ceil(fan * fan) * (w / 2)
}

/// The module for `shape` and its width: vec4 where every plane holds a
/// multiple of 4 values, so that no vector crosses a channel.
fn module([_, _, h, w]: [usize; 4]) -> (Shader, usize) {
    Shader::BatchNorm2d.at_width(h * w)
}

/// Workgroups of the element-wise entry points: 256 vectors each (64
/// invocations of 4).
fn elementwise_workgroups(shape: [usize; 4]) -> u64 {
    let width = module(shape).1;
    (shape.iter().product::<usize>() / width).div_ceil(256) as u64
}

/// How a training pass runs: its per-channel sums (the statistics, or
/// the gradient sums) are needed before any output value, so either
/// separate dispatches (`Split`: the sums, one workgroup per channel, then
/// the element-wise pass over the whole tensor) or one (`PerChannel`:
/// each channel's workgroup walks the channel a second time for y or
/// dx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelPlan {
    Split,
    PerChannel,
}

/// Invocations of a `PerChannel` workgroup (`forward_channel`,
/// `backward_channel` in the shader).
const CHANNEL_TEAM: usize = 64;

impl ChannelPlan {
    /// `PerChannel` on CPU adapters, where a few workgroups keep every
    /// core busy and the second walk finds the channel in the core's
    /// cache; `Split` on GPUs, whose element-wise pass needs the whole
    /// tensor's parallelism, not one workgroup per channel, and wherever
    /// a channel is too long for the smaller per-channel workgroup's walk
    /// to stay inside the loop budget.
    fn choose(gpu: &Gpu, x_shape: &[usize], after: After) -> ChannelPlan {
        let fits = match *x_shape {
            [n, _, h, w] => {
                let vectors = n * h * w / module([n, 1, h, w]).1;
                let pool = after != After::ReluMaxPool
                    || pool_walk_trips([n, 1, h, w], 8) <= MAX_LOOP_TRIPS;
                vectors.div_ceil(CHANNEL_TEAM) <= MAX_LOOP_TRIPS && pool
            }
            _ => false,
        };
        if gpu.facts().cpu && fits {
            ChannelPlan::PerChannel
        } else {
            ChannelPlan::Split
        }
    }
}

/// Records one entry point over `workgroups` workgroups.
fn dispatch(
    rec: &mut Recorder,
    op: &'static str,
    entry: &'static str,
    (shape, training, cfg, after): How,
    workgroups: u64,
    buffers: &[(u32, &dyn Bindable)],
) -> Result<(), Error> {
    let (mut u, grid) = uniform(rec.gpu(), op, shape, training, cfg, workgroups)?;
    u.relu = (after != After::Nothing) as u32;
    rec.dispatch(
        module(shape).0,
        entry,
        bytemuck::bytes_of(&u),
        buffers,
        grid,
    );
    Ok(())
}

impl Gpu {
    /// `y = (x − mean) / sqrt(var + eps) · weight + bias` per channel of
    /// `x` `[N, C, H, W]`, as torch's `BatchNorm2d` (affine). In training
    /// mode mean and the biased variance are the batch's, and
    /// `running_mean` / `running_var` move towards the batch's mean and
    /// unbiased variance by `cfg.momentum`; in eval mode the running
    /// statistics normalise and are left as they are. `weight`, `bias`,
    /// `running_mean`, `running_var` are `[C]`. Returns `y` and the
    /// statistics the backward pass needs, `[C, 2]` of (mean, 1/sqrt(var +
    /// eps)). (torch's `num_batches_tracked` is the caller's count.) Fails on
    /// a shape mismatch, one value per channel in training, tensors from
    /// another `Gpu`, or invalid `cfg`.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        running_mean: &mut Tensor,
        running_var: &mut Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(Tensor, Tensor), Error> {
        let stats = (running_mean, running_var);
        self.batch_norm2d_impl(
            "batch_norm2d",
            x,
            (weight, bias),
            stats,
            training,
            cfg,
            After::Nothing,
        )
    }

    /// [`Gpu::batch_norm2d`] followed by ReLU in the same kernels
    /// (torch's `relu(batch_norm2d(x))`): returns the ReLU's output and the
    /// statistics. Its backward pass is [`Gpu::batch_norm2d_relu_backward`].
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d_relu(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        running_mean: &mut Tensor,
        running_var: &mut Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(Tensor, Tensor), Error> {
        let stats = (running_mean, running_var);
        self.batch_norm2d_impl(
            "batch_norm2d_relu",
            x,
            (weight, bias),
            stats,
            training,
            cfg,
            After::Relu,
        )
    }

    /// [`Gpu::batch_norm2d`], ReLU and 2x2 max pooling at stride 2 in
    /// batch norm's own passes (torch's `F.max_pool2d(relu(
    /// batch_norm2d(x)), 2)`, windows in either rounding mode): returns the
    /// pooled output `[N, C, H/2, W/2]` and the statistics. Only the pooled
    /// output is written; the normalised activations never exist. `H` and
    /// `W` must be even ([`crate::Pool2dParams::fuses_after_batch_norm`]); otherwise as
    /// [`Gpu::batch_norm2d`]. Its backward pass is
    /// [`Gpu::batch_norm2d_relu_max_pool2d_backward`].
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d_relu_max_pool2d(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        running_mean: &mut Tensor,
        running_var: &mut Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(Tensor, Tensor), Error> {
        let stats = (running_mean, running_var);
        self.batch_norm2d_impl(
            "batch_norm2d_relu_max_pool2d",
            x,
            (weight, bias),
            stats,
            training,
            cfg,
            After::ReluMaxPool,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d_impl(
        &self,
        op: &'static str,
        x: &Tensor,
        (weight, bias): (&Tensor, &Tensor),
        (running_mean, running_var): (&mut Tensor, &mut Tensor),
        training: bool,
        cfg: &BatchNorm,
        after: After,
    ) -> Result<(Tensor, Tensor), Error> {
        cfg.validate()?;
        let per_channel = [
            ("weight", weight),
            ("bias", bias),
            ("running_mean", &*running_mean),
            ("running_var", &*running_var),
        ];
        check_owned(self, op, &[("input", x)])?;
        check_owned(self, op, &per_channel)?;
        let shape = geometry(op, x, &per_channel, training)?;
        if after == After::ReluMaxPool {
            pool_geometry(op, shape)?;
        }
        let how = (shape, training, cfg, after);
        // The one-dispatch forward binds weight and bias beside the
        // running statistics it writes; a caller that hands one tensor as
        // both gets the split plan, which never binds them together.
        let aliased = [weight, bias]
            .iter()
            .any(|t| t.buffer == running_mean.buffer || t.buffer == running_var.buffer);
        let plan = if aliased {
            ChannelPlan::Split
        } else {
            ChannelPlan::choose(self, x.shape(), after)
        };
        self.batch_norm2d_planned(
            op,
            x,
            (weight, bias),
            (running_mean, running_var),
            how,
            plan,
        )
    }

    fn batch_norm2d_planned(
        &self,
        op: &'static str,
        x: &Tensor,
        (weight, bias): (&Tensor, &Tensor),
        (running_mean, running_var): (&mut Tensor, &mut Tensor),
        how: How,
        plan: ChannelPlan,
    ) -> Result<(Tensor, Tensor), Error> {
        let (shape, training, _, after) = how;
        let [n, c, h, w] = shape;
        let pool = after == After::ReluMaxPool;
        let y_shape = if pool {
            vec![n, c, h / 2, w / 2]
        } else {
            x.shape().to_vec()
        };
        self.run(op, |rec| {
            let y = self.output_unlocked(op, &y_shape)?;
            let stats = self.output_unlocked(op, &[c, 2])?;
            // The fused pooling reads x as vec2s too (binding 13) and
            // writes the pooled output (15) instead of y (7), or two
            // windows at a time: x as vec4s (17), vec2s of output (19).
            let (entry, y_binding, x_view) = match (pool, pool_pairs(shape)) {
                (false, _) => ("forward_channel", 7, None),
                (true, false) => ("forward_pool_channel", 15, Some(13)),
                (true, true) => ("forward_pool_channel_pairs", 19, Some(17)),
            };
            if training && plan == ChannelPlan::PerChannel {
                let mut b: Vec<(u32, &dyn Bindable)> = vec![
                    (1, &x.buffer),
                    (2, &weight.buffer),
                    (3, &bias.buffer),
                    (4, &stats.buffer),
                    (5, &running_mean.buffer),
                    (6, &running_var.buffer),
                    (y_binding, &y.buffer),
                ];
                b.extend(x_view.map(|at| (at, &x.buffer as &dyn Bindable)));
                dispatch(rec, op, entry, how, c as u64, &b)?;
                return Ok((y, stats));
            }
            let coef = rec.scratch(4 * c)?;
            let (rm, rv) = (&running_mean.buffer, &running_var.buffer);
            let k = &coef.buffer;
            if training {
                let b: [(u32, &dyn Bindable); 4] =
                    [(1, &x.buffer), (4, &stats.buffer), (5, rm), (6, rv)];
                dispatch(rec, op, "stats_train", how, c as u64, &b)?;
            } else {
                let b: [(u32, &dyn Bindable); 3] = [(4, &stats.buffer), (5, rm), (6, rv)];
                dispatch(rec, op, "stats_eval", how, direct_workgroups(c), &b)?;
            }
            let b: [(u32, &dyn Bindable); 4] = [
                (2, &weight.buffer),
                (3, &bias.buffer),
                (4, &stats.buffer),
                (12, k),
            ];
            dispatch(rec, op, "coefficients", how, direct_workgroups(c), &b)?;
            if pool {
                let b: [(u32, &dyn Bindable); 3] = [(13, &x.buffer), (15, &y.buffer), (12, k)];
                let windows = direct_workgroups(y.len());
                dispatch(rec, op, "normalize_pool", how, windows, &b)?;
            } else {
                let b: [(u32, &dyn Bindable); 3] = [(1, &x.buffer), (7, &y.buffer), (12, k)];
                dispatch(rec, op, "normalize", how, elementwise_workgroups(shape), &b)?;
            }
            Ok((y, stats))
        })
    }

    /// The backward pass of [`Gpu::batch_norm2d`] from its output gradient
    /// `dy`, its input `x`, `weight` and the statistics it returned
    /// (`saved`, `[C, 2]`), in the same mode: returns `(dx, dweight,
    /// dbias)`. In training mode `dx` includes the batch statistics' own
    /// dependence on `x`; in eval mode the statistics are constants.
    pub fn batch_norm2d_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        weight: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        self.batch_norm2d_backward_impl(
            "batch_norm2d_backward",
            x,
            Undo::Nothing,
            dy,
            weight,
            saved,
            training,
        )
    }

    /// The backward pass of [`Gpu::batch_norm2d_relu`]: the ReLU's mask
    /// (`y > 0` for its output `y`) gates `dy`, the rest as in
    /// [`Gpu::batch_norm2d_backward`]. The kernels find the mask from `x`,
    /// `saved`, `weight` and `bias` with the forward's own expression (the
    /// same bits, so the same mask as `y`'s) rather than reading `y`,
    /// which saves two passes over the activations; `y` is checked (its
    /// shape), not read. The CPU backend reads it.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d_relu_backward(
        &self,
        x: &Tensor,
        y: &Tensor,
        dy: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        let op = "batch_norm2d_relu_backward";
        let undo = Undo::Relu { y, bias };
        self.batch_norm2d_backward_impl(op, x, undo, dy, weight, saved, training)
    }

    /// The backward pass of [`Gpu::batch_norm2d_relu_max_pool2d`] from the
    /// pooled output's gradient `dpooled` `[N, C, H/2, W/2]`: each window's
    /// gradient goes to its first maximum (max_pool2d's rule) where the
    /// ReLU passed it, then through batch norm as in
    /// [`Gpu::batch_norm2d_backward`]. The windows, their maxima and the
    /// ReLU's mask are found again from `x`, `saved`, `weight` and `bias`
    /// with the forward's own expression (the same bits); neither the
    /// activations nor the gradient between the three ops is ever written.
    /// Returns `(dx, dweight, dbias)`.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d_relu_max_pool2d_backward(
        &self,
        x: &Tensor,
        dpooled: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        let op = "batch_norm2d_relu_max_pool2d_backward";
        let undo = Undo::ReluMaxPool { bias };
        self.batch_norm2d_backward_impl(op, x, undo, dpooled, weight, saved, training)
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d_backward_impl(
        &self,
        op: &'static str,
        x: &Tensor,
        undo: Undo,
        dy: &Tensor,
        weight: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        let plan = ChannelPlan::choose(self, x.shape(), undo.after());
        self.batch_norm2d_backward_planned(op, x, undo, dy, weight, saved, training, plan)
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d_backward_planned(
        &self,
        op: &'static str,
        x: &Tensor,
        undo: Undo,
        dy: &Tensor,
        weight: &Tensor,
        saved: &Tensor,
        training: bool,
        plan: ChannelPlan,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        check_owned(self, op, &[("input", x), ("output gradient", dy)])?;
        if let Undo::Relu { y, .. } = undo {
            check_owned(self, op, &[("output", y)])?;
            check_shape(op, "output", y, x.shape())?;
        }
        check_owned(self, op, &[("weight", weight), ("saved statistics", saved)])?;
        let mut per_channel = vec![("weight", weight)];
        if let Some(bias) = undo.bias() {
            check_owned(self, op, &[("bias", bias)])?;
            per_channel.push(("bias", bias));
        }
        let shape = geometry(op, x, &per_channel, training)?;
        let [n, c, h, w] = shape;
        let pool = undo.after() == After::ReluMaxPool;
        if pool {
            pool_geometry(op, shape)?;
            check_shape(op, "output gradient", dy, &[n, c, h / 2, w / 2])?;
        } else {
            check_shape(op, "output gradient", dy, x.shape())?;
        }
        check_shape(op, "saved statistics", saved, &[c, 2])?;
        let how = (shape, training, &BatchNorm::default(), undo.after());
        // Unfused, the bias binding is never read but still bound.
        let bias = &undo.bias().unwrap_or(weight).buffer;
        // The fused pooling reads x as vec2s (binding 13 for 1), the
        // pooled gradient (16 for 8) and writes dx as vec2s (14 for 7);
        // two windows at a time (per-channel plan), x and dx as vec4s (17,
        // 18) and the pooled gradient as vec2s (20).
        let pairs = pool && plan == ChannelPlan::PerChannel && pool_pairs(shape);
        let [x_at, dx_at, dy_at] = match (pool, pairs) {
            (false, _) => [1, 7, 8],
            (true, false) => [13, 14, 16],
            (true, true) => [17, 18, 20],
        };
        let entry = |plain, pooled| if pool { pooled } else { plain };
        self.run(op, |rec| {
            let dx = self.output_unlocked(op, x.shape())?;
            let dweight = self.output_unlocked(op, &[c])?;
            let dbias = self.output_unlocked(op, &[c])?;
            if plan == ChannelPlan::PerChannel {
                // WebGPU's default limit of 8 storage buffers per stage:
                // this pass uses all 8.
                let b: [(u32, &dyn Bindable); 8] = [
                    (x_at, &x.buffer),
                    (2, &weight.buffer),
                    (4, &saved.buffer),
                    (dx_at, &dx.buffer),
                    (dy_at, &dy.buffer),
                    (9, &dweight.buffer),
                    (10, &dbias.buffer),
                    (3, bias),
                ];
                let e = match pairs {
                    true => "backward_pool_channel_pairs",
                    false => entry("backward_channel", "backward_pool_channel"),
                };
                dispatch(rec, op, e, how, c as u64, &b)?;
                return Ok((dx, dweight, dbias));
            }
            let coef = rec.scratch(4 * c)?;
            // WebGPU's default limit of 8 storage buffers per stage: the
            // gradient sums use all 8.
            let b: [(u32, &dyn Bindable); 8] = [
                (x_at, &x.buffer),
                (2, &weight.buffer),
                (4, &saved.buffer),
                (dy_at, &dy.buffer),
                (9, &dweight.buffer),
                (10, &dbias.buffer),
                (3, bias),
                (12, &coef.buffer),
            ];
            dispatch(rec, op, entry("reduce", "reduce_pool"), how, c as u64, &b)?;
            // Eval mode does not read x, but the entry point declares it,
            // so it is bound in both modes.
            let b: [(u32, &dyn Bindable); 5] = [
                (x_at, &x.buffer),
                (dx_at, &dx.buffer),
                (dy_at, &dy.buffer),
                (3, bias),
                (12, &coef.buffer),
            ];
            let workgroups = if pool {
                direct_workgroups(dy.len())
            } else {
                elementwise_workgroups(shape)
            };
            let e = entry("input_grad", "input_grad_pool");
            dispatch(rec, op, e, how, workgroups, &b)?;
            Ok((dx, dweight, dbias))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{After, BatchNormUniform, ChannelPlan, Undo};
    use crate::gpu::{check_uniform_layout, fields, Shader};
    use crate::{cpu, BatchNorm, Gpu, Pool2dParams};

    /// The largest |got − want| of a comparison, beside the bound
    /// 1e-5 · max(1, max|want|), with the lengths checked.
    fn assert_close(what: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{what}");
        let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
        let worst = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst}");
    }

    /// Every adapter; None (the test skips, saying so) where there is
    /// none, unless WGCONV_REQUIRE_GPU=1 makes that a failure.
    fn adapters() -> Option<Vec<Gpu>> {
        match Gpu::all() {
            Ok(gpus) => Some(gpus),
            Err(e) if std::env::var("WGCONV_REQUIRE_GPU").as_deref() == Ok("1") => {
                panic!("WGCONV_REQUIRE_GPU=1 but no GPU adapter is usable: {e}")
            }
            Err(e) => {
                eprintln!("*** SKIPPING: no GPU adapter ({e})");
                None
            }
        }
    }

    /// Both plans of both passes against the CPU reference on every
    /// adapter (the public ops run only the plan their adapter kind gets,
    /// so the plan a GPU takes is held to the reference here too): the
    /// output, saved and running statistics, and the three gradients, in
    /// both modes, fused with ReLU and not, at both kernel widths.
    #[test]
    fn both_channel_plans_match_the_reference() {
        let Some(gpus) = adapters() else {
            return;
        };
        let value =
            |i: usize, salt: usize| (((i * 7919 + salt * 104729) % 2003) as f32 / 1001.0) - 1.0;
        for gpu in &gpus {
            for shape in [
                [2usize, 3, 5, 6],
                [4, 3, 16, 17],
                [70, 3, 2, 2],
                [9, 5, 4, 7],
                [2, 3, 1, 1],
            ] {
                let len: usize = shape.iter().product();
                let c = shape[1];
                let x: Vec<f32> = (0..len).map(|i| 3.0 + 2.0 * value(i, 1)).collect();
                let dy: Vec<f32> = (0..len).map(|i| value(i, 2)).collect();
                let weight: Vec<f32> = (0..c).map(|i| 0.5 + value(i, 3)).collect();
                let bias: Vec<f32> = (0..c).map(|i| value(i, 4)).collect();
                for training in [true, false] {
                    let cfg = BatchNorm::default();
                    let (mut rm, mut rv) = (vec![0.1f32; c], vec![1.5f32; c]);
                    let (y_ref, saved) = cpu::batch_norm2d(
                        &x, shape, &weight, &bias, &mut rm, &mut rv, training, &cfg,
                    )
                    .unwrap();
                    for (relu, plan) in [false, true]
                        .into_iter()
                        .flat_map(|r| [(r, ChannelPlan::Split), (r, ChannelPlan::PerChannel)])
                    {
                        let t = |v: &[f32]| gpu.tensor(&[c], v).unwrap();
                        let (mut grm, mut grv) = (t(&vec![0.1; c]), t(&vec![1.5; c]));
                        let after = if relu { After::Relu } else { After::Nothing };
                        let how = (shape, training, &cfg, after);
                        let (y, st) = gpu
                            .batch_norm2d_planned(
                                "test",
                                &gpu.tensor(&shape, &x).unwrap(),
                                (&t(&weight), &t(&bias)),
                                (&mut grm, &mut grv),
                                how,
                                plan,
                            )
                            .unwrap();
                        let what = format!(
                            "forward {shape:?} training {training} relu {relu} {plan:?} on {}",
                            gpu.describe()
                        );
                        let want_y: Vec<f32> = if relu {
                            y_ref.iter().map(|v| v.max(0.0)).collect()
                        } else {
                            y_ref.clone()
                        };
                        assert_close(&format!("{what}: y"), &y.to_vec().unwrap(), &want_y);
                        assert_close(&format!("{what}: stats"), &st.to_vec().unwrap(), &saved);
                        assert_close(
                            &format!("{what}: running_mean"),
                            &grm.to_vec().unwrap(),
                            &rm,
                        );
                        assert_close(&format!("{what}: running_var"), &grv.to_vec().unwrap(), &rv);
                    }
                    let relu_y: Vec<f32> = y_ref.iter().map(|v| v.max(0.0)).collect();
                    let masked: Vec<f32> = dy
                        .iter()
                        .zip(&relu_y)
                        .map(|(g, y)| if *y > 0.0 { *g } else { 0.0 })
                        .collect();
                    let t = |v: &[f32], s: &[usize]| gpu.tensor(s, v).unwrap();
                    let (xt, dyt, wt) = (t(&x, &shape), t(&dy, &shape), t(&weight, &[c]));
                    let st = t(&saved, &[c, 2]);
                    let (yt, bt) = (t(&relu_y, &shape), t(&bias, &[c]));
                    for fused in [false, true] {
                        let want = cpu::batch_norm2d_backward(
                            &x,
                            shape,
                            if fused { &masked } else { &dy },
                            &weight,
                            &saved,
                            training,
                        )
                        .unwrap();
                        for plan in [ChannelPlan::Split, ChannelPlan::PerChannel] {
                            let undo = if fused {
                                Undo::Relu { y: &yt, bias: &bt }
                            } else {
                                Undo::Nothing
                            };
                            let (dx, dw, db) = gpu
                                .batch_norm2d_backward_planned(
                                    "test", &xt, undo, &dyt, &wt, &st, training, plan,
                                )
                                .unwrap();
                            let what = format!(
                                "{shape:?} training {training} relu {fused} {plan:?} on {}",
                                gpu.describe()
                            );
                            assert_close(&format!("{what}: dx"), &dx.to_vec().unwrap(), &want.0);
                            assert_close(
                                &format!("{what}: dweight"),
                                &dw.to_vec().unwrap(),
                                &want.1,
                            );
                            assert_close(&format!("{what}: dbias"), &db.to_vec().unwrap(), &want.2);
                        }
                    }
                }
            }
        }
    }

    /// A channel of 2049 x 2049 values (odd planes: one value per vector)
    /// is past the 64-invocation walk's loop budget (65 601 trips), so
    /// every adapter takes the split plan there and still matches the
    /// reference; a Fashion-sized layer keeps the one-dispatch plan on
    /// CPU adapters.
    #[test]
    fn channels_past_the_per_channel_loop_budget_take_the_split_plan() {
        let Some(gpus) = adapters() else {
            return;
        };
        let shape = [1usize, 1, 2049, 2049];
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 1999) as f32 / 999.0 - 1.0)
            .collect();
        // dy positive and correlated with x, so that both gradient sums
        // (4.2 M and 1.2 M) have no cancellation, and a walk that stopped
        // at the loop budget (the last 0.1 % of the channel lost) would
        // be off by 1e-3 of them, fifty times the bound below.
        let dy: Vec<f32> = x.iter().map(|v| 1.0 + 0.5 * v).collect();
        let cfg = BatchNorm::default();
        let (mut rm, mut rv) = (vec![0.0f32], vec![1.0f32]);
        let (want_y, saved) =
            cpu::batch_norm2d(&x, shape, &[1.5], &[0.25], &mut rm, &mut rv, true, &cfg).unwrap();
        let want = cpu::batch_norm2d_backward(&x, shape, &dy, &[1.5], &saved, true).unwrap();
        for gpu in &gpus {
            assert_eq!(
                ChannelPlan::choose(gpu, &shape, After::Nothing),
                ChannelPlan::Split
            );
            let fashion = ChannelPlan::choose(gpu, &[128, 32, 28, 28], After::Nothing);
            let cpu_adapter = gpu.facts().cpu;
            assert_eq!(
                fashion == ChannelPlan::PerChannel,
                cpu_adapter,
                "{}",
                gpu.describe()
            );
            let t = |v: &[f32], s: &[usize]| gpu.tensor(s, v).unwrap();
            let (xt, w, b) = (t(&x, &shape), t(&[1.5], &[1]), t(&[0.25], &[1]));
            let (mut grm, mut grv) = (t(&[0.0], &[1]), t(&[1.0], &[1]));
            let (y, st) = gpu
                .batch_norm2d(&xt, &w, &b, &mut grm, &mut grv, true, &cfg)
                .unwrap();
            let what = gpu.describe();
            assert_close(&format!("{what}: y"), &y.to_vec().unwrap(), &want_y);
            assert_close(&format!("{what}: stats"), &st.to_vec().unwrap(), &saved);
            assert_close(&format!("{what}: running_var"), &grv.to_vec().unwrap(), &rv);
            let (dx, dw, db) = gpu
                .batch_norm2d_backward(&xt, &t(&dy, &shape), &w, &st, true)
                .unwrap();
            assert_close(&format!("{what}: dx"), &dx.to_vec().unwrap(), &want.0);
            // Sums of 4.2 M f32 values against f64 ones: 2e-5 relative.
            for (name, got, want) in [("dweight", dw, &want.1), ("dbias", db, &want.2)] {
                let (got, want) = (got.to_vec().unwrap()[0], want[0]);
                let off = (got - want).abs() / want.abs();
                assert!(
                    off <= 2e-5,
                    "{what}: {name} {got} vs {want}: {off:e} relative"
                );
            }
        }
    }

    /// `max_pool2d(relu(batch_norm2d(x)), 2)` fused, in both plans of
    /// both passes and both modes on every adapter: against the CPU
    /// reference; the forward against the unfused GPU ops of the same plan
    /// bit for bit (the same expression on the same statistics), the
    /// backward against them within the bound (its sums run over windows,
    /// not vectors). Rows of 2, 6 (odd windows per row), 8 and 12 (two
    /// windows at a time in the per-channel plan) and 14 values,
    /// one window per plane, and x quantised so that windows hold ties
    /// (the first maximum must win, as torch's).
    #[test]
    fn fused_max_pool_matches_the_reference_and_the_unfused_ops() {
        let Some(gpus) = adapters() else {
            return;
        };
        let value =
            |i: usize, salt: usize| (((i * 7919 + salt * 104729) % 2003) as f32 / 1001.0) - 1.0;
        let pool = Pool2dParams::window(2);
        for gpu in &gpus {
            for shape in [
                [2usize, 3, 4, 6],
                [3, 2, 8, 8],
                [2, 2, 6, 12],
                [2, 3, 14, 14],
                [70, 3, 2, 2],
            ] {
                let [n, c, h, w] = shape;
                let len: usize = shape.iter().product();
                let pooled_shape = [n, c, h / 2, w / 2];
                let x: Vec<f32> = (0..len)
                    .map(|i| 3.0 + (2.0 * value(i, 1) * 8.0).round() / 8.0)
                    .collect();
                let dp: Vec<f32> = (0..len / 4).map(|i| value(i, 2)).collect();
                let weight: Vec<f32> = (0..c).map(|i| 0.5 + value(i, 3)).collect();
                let bias: Vec<f32> = (0..c).map(|i| value(i, 4)).collect();
                let t = |v: &[f32], s: &[usize]| gpu.tensor(s, v).unwrap();
                for training in [true, false] {
                    let cfg = BatchNorm::default();
                    let (mut rm, mut rv) = (vec![0.1f32; c], vec![1.5f32; c]);
                    let (want_p, saved) = cpu::batch_norm2d_relu_max_pool2d(
                        &x, shape, &weight, &bias, &mut rm, &mut rv, training, &cfg,
                    )
                    .unwrap();
                    let want = cpu::batch_norm2d_relu_max_pool2d_backward(
                        &x, shape, &dp, &weight, &bias, &saved, training,
                    )
                    .unwrap();
                    let (xt, wt, bt) = (t(&x, &shape), t(&weight, &[c]), t(&bias, &[c]));
                    let dpt = t(&dp, &pooled_shape);
                    for plan in [ChannelPlan::Split, ChannelPlan::PerChannel] {
                        let what = format!(
                            "{shape:?} training {training} {plan:?} on {}",
                            gpu.describe()
                        );
                        let forward = |after| {
                            let (mut grm, mut grv) =
                                (t(&[0.1; 3][..c], &[c]), t(&[1.5; 3][..c], &[c]));
                            let how = (shape, training, &cfg, after);
                            let (y, st) = gpu
                                .batch_norm2d_planned(
                                    "test",
                                    &xt,
                                    (&wt, &bt),
                                    (&mut grm, &mut grv),
                                    how,
                                    plan,
                                )
                                .unwrap();
                            (y, st, grm.to_vec().unwrap(), grv.to_vec().unwrap())
                        };
                        let (p, st, grm, grv) = forward(After::ReluMaxPool);
                        assert_eq!(p.shape(), pooled_shape, "{what}");
                        let got_p = p.to_vec().unwrap();
                        assert_close(&format!("{what}: pooled"), &got_p, &want_p);
                        assert_close(&format!("{what}: stats"), &st.to_vec().unwrap(), &saved);
                        assert_close(&format!("{what}: running_mean"), &grm, &rm);
                        assert_close(&format!("{what}: running_var"), &grv, &rv);
                        let (y, st_unfused, ..) = forward(After::Relu);
                        assert_eq!(st.to_vec().unwrap(), st_unfused.to_vec().unwrap(), "{what}");
                        let unfused = gpu.max_pool2d(&y, &pool).unwrap().to_vec().unwrap();
                        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&got_p), bits(&unfused), "{what}: pooled vs unfused");

                        let undo = Undo::ReluMaxPool { bias: &bt };
                        let st_ref = t(&saved, &[c, 2]);
                        let (dx, dw, db) = gpu
                            .batch_norm2d_backward_planned(
                                "test", &xt, undo, &dpt, &wt, &st_ref, training, plan,
                            )
                            .unwrap();
                        assert_close(&format!("{what}: dx"), &dx.to_vec().unwrap(), &want.0);
                        assert_close(&format!("{what}: dweight"), &dw.to_vec().unwrap(), &want.1);
                        assert_close(&format!("{what}: dbias"), &db.to_vec().unwrap(), &want.2);
                        // The unfused GPU ops from the same statistics.
                        let g = gpu.max_pool2d_backward(&y, &dpt, &pool).unwrap();
                        let undo = Undo::Relu { y: &y, bias: &bt };
                        let (dx2, dw2, db2) = gpu
                            .batch_norm2d_backward_planned(
                                "test", &xt, undo, &g, &wt, &st, training, plan,
                            )
                            .unwrap();
                        let undo = Undo::ReluMaxPool { bias: &bt };
                        let (dx, dw, db) = gpu
                            .batch_norm2d_backward_planned(
                                "test", &xt, undo, &dpt, &wt, &st, training, plan,
                            )
                            .unwrap();
                        for (name, a, b) in
                            [("dx", dx, dx2), ("dweight", dw, dw2), ("dbias", db, db2)]
                        {
                            let what = format!("{what}: {name} vs unfused");
                            assert_close(&what, &a.to_vec().unwrap(), &b.to_vec().unwrap());
                        }
                    }
                }
            }
        }
    }

    /// Planes of odd height or width do not tile into 2x2 windows: both
    /// passes refuse them, naming the shape, as does a pooled gradient of
    /// the wrong shape.
    #[test]
    fn fused_max_pool_refuses_what_it_does_not_tile() {
        let Some(gpus) = adapters() else {
            return;
        };
        let cfg = BatchNorm::default();
        for gpu in &gpus {
            let t = |s: &[usize]| gpu.zeros(s).unwrap();
            let (w, b) = (t(&[2]), t(&[2]));
            let (mut rm, mut rv) = (t(&[2]), t(&[2]));
            let x = t(&[2, 2, 5, 6]);
            let e = gpu
                .batch_norm2d_relu_max_pool2d(&x, &w, &b, &mut rm, &mut rv, true, &cfg)
                .unwrap_err();
            assert!(e.to_string().contains("5x6"), "{e}");
            let st = t(&[2, 2]);
            let e = gpu
                .batch_norm2d_relu_max_pool2d_backward(&x, &t(&[2, 2, 2, 3]), &w, &b, &st, true)
                .unwrap_err();
            assert!(e.to_string().contains("5x6"), "{e}");
            let x = t(&[2, 2, 4, 6]);
            let e = gpu
                .batch_norm2d_relu_max_pool2d_backward(&x, &t(&[2, 2, 4, 6]), &w, &b, &st, true)
                .unwrap_err();
            assert!(matches!(e, crate::Error::ShapeMismatch { .. }), "{e}");
        }
    }

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(
            BatchNormUniform: n, c, hw, training, momentum, eps, grid_x, relu, w, pad0, pad1, pad2
        );
        let size = std::mem::size_of::<BatchNormUniform>();
        check_uniform_layout(Shader::BatchNorm2d, "BatchNormParams", size, &fields);
    }
}
