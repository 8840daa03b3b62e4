//! `Gpu::batch_norm2d` and its backward pass (shaders/batch_norm2d.wgsl):
//! torch.nn.BatchNorm2d with affine parameters, in training mode (batch
//! statistics, running statistics updated) and eval mode (running
//! statistics).

use super::{check_loop, check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::shape::check_4d;
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

/// Mirror of WGSL `BatchNormParams` in shaders/batch_norm2d.wgsl (32 bytes).
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
        },
        grid,
    ))
}

/// The shape, the mode, the hyper-parameters, and whether a ReLU is fused.
type How<'a> = ([usize; 4], bool, &'a BatchNorm, bool);

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

/// Records one entry point over `workgroups` workgroups.
fn dispatch(
    rec: &mut Recorder,
    op: &'static str,
    entry: &'static str,
    (shape, training, cfg, relu): How,
    workgroups: u64,
    buffers: &[(u32, &dyn Bindable)],
) -> Result<(), Error> {
    let (mut u, grid) = uniform(rec.gpu(), op, shape, training, cfg, workgroups)?;
    u.relu = relu as u32;
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
            false,
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
            true,
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
        relu: bool,
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
        let c = shape[1];
        let how = (shape, training, cfg, relu);
        self.run(op, |rec| {
            let y = self.output_unlocked(op, x.shape())?;
            let stats = self.output_unlocked(op, &[c, 2])?;
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
            let b: [(u32, &dyn Bindable); 3] = [(1, &x.buffer), (7, &y.buffer), (12, k)];
            dispatch(rec, op, "normalize", how, elementwise_workgroups(shape), &b)?;
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
            None,
            dy,
            weight,
            saved,
            training,
        )
    }

    /// The backward pass of [`Gpu::batch_norm2d_relu`], from its output
    /// `y` (the ReLU's, whose mask `y > 0` gates `dy`) and the rest as in
    /// [`Gpu::batch_norm2d_backward`].
    pub fn batch_norm2d_relu_backward(
        &self,
        x: &Tensor,
        y: &Tensor,
        dy: &Tensor,
        weight: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        let op = "batch_norm2d_relu_backward";
        self.batch_norm2d_backward_impl(op, x, Some(y), dy, weight, saved, training)
    }

    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d_backward_impl(
        &self,
        op: &'static str,
        x: &Tensor,
        y: Option<&Tensor>,
        dy: &Tensor,
        weight: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<(Tensor, Tensor, Tensor), Error> {
        check_owned(self, op, &[("input", x), ("output gradient", dy)])?;
        if let Some(y) = y {
            check_owned(self, op, &[("output", y)])?;
            check_shape(op, "output", y, x.shape())?;
        }
        check_owned(self, op, &[("weight", weight), ("saved statistics", saved)])?;
        check_shape(op, "output gradient", dy, x.shape())?;
        let shape = geometry(op, x, &[("weight", weight)], training)?;
        let c = shape[1];
        check_shape(op, "saved statistics", saved, &[c, 2])?;
        let how = (shape, training, &BatchNorm::default(), y.is_some());
        // Unfused, the mask binding is never read but still bound.
        let act = &y.unwrap_or(dy).buffer;
        self.run(op, |rec| {
            let dx = self.output_unlocked(op, x.shape())?;
            let dweight = self.output_unlocked(op, &[c])?;
            let dbias = self.output_unlocked(op, &[c])?;
            let coef = rec.scratch(4 * c)?;
            // WebGPU's default limit of 8 storage buffers per stage: the
            // gradient sums use all 8.
            let b: [(u32, &dyn Bindable); 8] = [
                (1, &x.buffer),
                (2, &weight.buffer),
                (4, &saved.buffer),
                (8, &dy.buffer),
                (9, &dweight.buffer),
                (10, &dbias.buffer),
                (11, act),
                (12, &coef.buffer),
            ];
            dispatch(rec, op, "reduce", how, c as u64, &b)?;
            // Eval mode does not read x, but the entry point declares it,
            // so it is bound in both modes.
            let b: [(u32, &dyn Bindable); 5] = [
                (1, &x.buffer),
                (7, &dx.buffer),
                (8, &dy.buffer),
                (11, act),
                (12, &coef.buffer),
            ];
            dispatch(
                rec,
                op,
                "input_grad",
                how,
                elementwise_workgroups(shape),
                &b,
            )?;
            Ok((dx, dweight, dbias))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::BatchNormUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(BatchNormUniform: n, c, hw, training, momentum, eps, grid_x, relu);
        let size = std::mem::size_of::<BatchNormUniform>();
        check_uniform_layout(Shader::BatchNorm2d, "BatchNormParams", size, &fields);
    }
}
