//! `Gpu::adam_step`: one step of `torch.optim.Adam` on one parameter
//! tensor (shaders/adam_step.wgsl).

use super::split::{element_chunk, pieces, slice};
use super::{check_owned, check_shape, direct_workgroups};
use crate::gpu::Shader;
use crate::{Error, Gpu, Tensor};

const OP: &str = "adam_step";

/// Hyper-parameters of `torch.optim.Adam` (amsgrad off), with the same
/// meaning and the same defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
/// weight decay 0, added to the gradient (L2) unless
/// `decoupled_weight_decay`, which makes this `torch.optim.AdamW`: the
/// parameter is first scaled by `1 − lr·weight_decay`, and the gradient is
/// left as it is ([`Adam::adamw`] gives AdamW's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    pub lr: f32,
    pub betas: (f32, f32),
    pub eps: f32,
    pub weight_decay: f32,
    pub decoupled_weight_decay: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

impl Adam {
    /// `torch.optim.AdamW`'s defaults: Adam's, with decoupled weight decay
    /// 0.01.
    pub fn adamw() -> Adam {
        Adam {
            weight_decay: 0.01,
            decoupled_weight_decay: true,
            ..Adam::default()
        }
    }

    /// `(l2, decay)`: the weight decay added to the gradient, and the factor
    /// the parameter is scaled by first, `1 − lr·weight_decay` in f64 (as
    /// torch's Python-float scalar) rounded to f32; exactly one of them is
    /// not the identity.
    pub fn decays(&self) -> (f32, f32) {
        if self.decoupled_weight_decay {
            (
                0.0,
                (1.0 - self.lr as f64 * self.weight_decay as f64) as f32,
            )
        } else {
            (self.weight_decay, 1.0)
        }
    }

    /// The same checks `torch.optim.Adam` makes, as errors.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |param, message: String| {
            Err(Error::InvalidParam {
                op: OP,
                param,
                message,
            })
        };
        let non_negative = |v: f32| v >= 0.0 && v.is_finite();
        if !non_negative(self.lr) {
            return bad("lr", format!("must be finite and >= 0, got {}", self.lr));
        }
        if !non_negative(self.eps) {
            return bad("eps", format!("must be finite and >= 0, got {}", self.eps));
        }
        for (name, b) in [("betas.0", self.betas.0), ("betas.1", self.betas.1)] {
            if !(0.0..1.0).contains(&b) {
                return bad(name, format!("must be in [0, 1), got {b}"));
            }
        }
        if !non_negative(self.weight_decay) {
            return bad(
                "weight_decay",
                format!("must be finite and >= 0, got {}", self.weight_decay),
            );
        }
        Ok(())
    }

    /// `(lr / (1 − β1^t), sqrt(1 − β2^t))` for step `t` (from 1), in f64
    /// as PyTorch computes them, rounded to f32 for the kernel.
    pub fn bias_corrections(&self, step: u64) -> (f32, f32) {
        let t = step.min(i32::MAX as u64) as i32;
        let bc1 = 1.0 - (self.betas.0 as f64).powi(t);
        let bc2 = 1.0 - (self.betas.1 as f64).powi(t);
        ((self.lr as f64 / bc1) as f32, bc2.sqrt() as f32)
    }
}

/// Per-parameter state of Adam: the first and second moment estimates
/// (created zeroed on the first step) and the step count.
#[derive(Debug, Default, Clone)]
pub struct AdamState {
    pub(crate) moments: Option<(Tensor, Tensor)>,
    pub(crate) step: u64,
}

impl AdamState {
    /// Steps taken so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The first moment (`exp_avg`), once a step has run.
    pub fn exp_avg(&self) -> Option<&Tensor> {
        self.moments.as_ref().map(|m| &m.0)
    }

    /// The second moment (`exp_avg_sq`), once a step has run.
    pub fn exp_avg_sq(&self) -> Option<&Tensor> {
        self.moments.as_ref().map(|m| &m.1)
    }
}

/// Mirror of WGSL `AdamParams` (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AdamUniform {
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    step_size: f32,
    bc2_sqrt: f32,
    len: u32,
    grid_x: u32,
    decay: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

impl Gpu {
    /// One `torch.optim.Adam` step on `param` with gradient `grad`.
    ///
    /// Fails if `grad`'s shape differs from `param`'s, if a tensor (or the
    /// state's moments) lives on another `Gpu`, if `state` belongs to a
    /// parameter of another shape, or if `cfg` fails [`Adam::validate`].
    pub fn adam_step(
        &self,
        param: &mut Tensor,
        grad: &Tensor,
        state: &mut AdamState,
        cfg: &Adam,
    ) -> Result<(), Error> {
        cfg.validate()?;
        check_owned(self, OP, &[("param", param), ("grad", grad)])?;
        check_shape(OP, "grad", grad, param.shape())?;
        if let Some((m, v)) = &state.moments {
            check_owned(self, OP, &[("exp_avg", m), ("exp_avg_sq", v)])?;
            check_shape(OP, "exp_avg", m, param.shape())?;
            check_shape(OP, "exp_avg_sq", v, param.shape())?;
        }
        let step = state.step + 1;
        self.run(OP, |rec| {
            // Handles are cheap clones of the same buffers.
            let (m, v) = match &state.moments {
                Some((m, v)) => (m.clone(), v.clone()),
                None => {
                    let m = self.zeros_unlocked(OP, param.shape())?;
                    let v = self.zeros_unlocked(OP, param.shape())?;
                    state.moments = Some((m.clone(), v.clone()));
                    (m, v)
                }
            };
            let (step_size, bc2_sqrt) = cfg.bias_corrections(step);
            let (l2, decay) = cfg.decays();
            let len = param.len();
            // Pieces of at most one binding each for parameters past the limit.
            // Width 4 where every piece holds whole vectors (pieces are
            // multiples of 64 elements).
            let (shader, width) = Shader::AdamStep.at_width(len);
            for (first, count) in pieces(len, element_chunk(self, len)) {
                let grid = self.grid(OP, direct_workgroups(count / width))?;
                let u = AdamUniform {
                    beta1: cfg.betas.0,
                    beta2: cfg.betas.1,
                    eps: cfg.eps,
                    weight_decay: l2,
                    step_size,
                    bc2_sqrt,
                    len: (count / width) as u32,
                    grid_x: grid.0,
                    decay,
                    _pad0: 0,
                    _pad1: 0,
                    _pad2: 0,
                };
                let part = |b| slice(b, 4, first, count);
                let (p, g, mp, vp) = (
                    part(&param.buffer),
                    part(&grad.buffer),
                    part(&m.buffer),
                    part(&v.buffer),
                );
                rec.dispatch(
                    shader,
                    "adam_step",
                    bytemuck::bytes_of(&u),
                    &[(1, &p), (2, &g), (3, &mp), (4, &vp)],
                    grid,
                );
            }
            Ok(())
        })?;
        state.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::AdamUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(AdamUniform: beta1, beta2, eps, weight_decay, step_size, bc2_sqrt,
            len, grid_x, decay, _pad0, _pad1, _pad2);
        let size = std::mem::size_of::<AdamUniform>();
        for shader in [Shader::AdamStep, Shader::AdamStepVec4] {
            check_uniform_layout(shader, "AdamParams", size, &fields);
        }
    }
}
