//! `Gpu::sgd_step`: one step of `torch.optim.SGD` on one parameter tensor
//! (shaders/sgd_step.wgsl).

use super::split::{element_chunk, pieces, slice};
use super::{check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Shader};
use crate::{Error, Gpu, Tensor};

const OP: &str = "sgd_step";

/// Hyper-parameters of `torch.optim.SGD`, with the same meaning and the
/// same defaults (`lr` has none in PyTorch; 0.01 here).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    pub lr: f32,
    pub momentum: f32,
    pub dampening: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd {
            lr: 0.01,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl Sgd {
    /// The same checks `torch.optim.SGD` makes, as errors.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |param, message: &str| {
            Err(Error::InvalidParam {
                op: OP,
                param,
                message: message.to_string(),
            })
        };
        if !(self.lr >= 0.0 && self.lr.is_finite()) {
            return bad("lr", &format!("must be finite and >= 0, got {}", self.lr));
        }
        if !(self.momentum >= 0.0 && self.momentum.is_finite()) {
            return bad(
                "momentum",
                &format!("must be finite and >= 0, got {}", self.momentum),
            );
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(
                "weight_decay",
                &format!("must be finite and >= 0, got {}", self.weight_decay),
            );
        }
        if !self.dampening.is_finite() {
            return bad(
                "dampening",
                &format!("must be finite, got {}", self.dampening),
            );
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return bad("nesterov", "requires momentum > 0 and dampening = 0");
        }
        Ok(())
    }
}

/// Per-parameter optimizer state: the momentum buffer, created on the first
/// step that uses momentum (as `torch.optim.SGD` does).
#[derive(Debug, Default, Clone)]
pub struct SgdState {
    pub(crate) momentum_buffer: Option<Tensor>,
}

impl SgdState {
    /// The momentum buffer, once a step with momentum has run.
    pub fn momentum_buffer(&self) -> Option<&Tensor> {
        self.momentum_buffer.as_ref()
    }
}

/// Mirror of WGSL `SgdParams` in shaders/sgd_step.wgsl (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SgdUniform {
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: u32,
    first_step: u32,
    len: u32,
    grid_x: u32,
}

impl Gpu {
    /// One `torch.optim.SGD` step: `param -= lr · d` with `d` built from
    /// `grad`, weight decay and the momentum buffer in `state`.
    ///
    /// Fails if `grad`'s shape differs from `param`'s, if either tensor (or
    /// the state's buffer) lives on another `Gpu`, if `state` belongs to a
    /// parameter of another shape, or if `cfg` fails [`Sgd::validate`].
    pub fn sgd_step(
        &self,
        param: &mut Tensor,
        grad: &Tensor,
        state: &mut SgdState,
        cfg: &Sgd,
    ) -> Result<(), Error> {
        cfg.validate()?;
        check_owned(self, OP, &[("param", param), ("grad", grad)])?;
        check_shape(OP, "grad", grad, param.shape())?;
        if let Some(buf) = &state.momentum_buffer {
            check_owned(self, OP, &[("momentum buffer", buf)])?;
            check_shape(OP, "momentum buffer", buf, param.shape())?;
        }
        self.run(OP, |rec| {
            let len = param.len();
            let first_step = cfg.momentum != 0.0 && state.momentum_buffer.is_none();
            if first_step {
                state.momentum_buffer = Some(self.zeros_unlocked(OP, param.shape())?);
            }
            let (entry, buf) = match (&state.momentum_buffer, cfg.momentum == 0.0) {
                (Some(buf), false) => ("sgd_momentum", Some(&buf.buffer)),
                _ => ("sgd_plain", None),
            };
            // Pieces of at most one binding each for parameters past the limit.
            for (first, count) in pieces(len, element_chunk(self, len)) {
                let grid = self.grid(OP, direct_workgroups(count))?;
                let u = SgdUniform {
                    lr: cfg.lr,
                    momentum: cfg.momentum,
                    dampening: cfg.dampening,
                    weight_decay: cfg.weight_decay,
                    nesterov: cfg.nesterov as u32,
                    first_step: first_step as u32,
                    len: count as u32,
                    grid_x: grid.0,
                };
                let (p, g) = (
                    slice(&param.buffer, 4, first, count),
                    slice(&grad.buffer, 4, first, count),
                );
                let b = buf.map(|b| slice(b, 4, first, count));
                let mut bound: Vec<(u32, &dyn Bindable)> = vec![(1, &p), (2, &g)];
                if let Some(b) = &b {
                    bound.push((3, b));
                }
                rec.dispatch(Shader::SgdStep, entry, bytemuck::bytes_of(&u), &bound, grid);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SgdUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(SgdUniform: lr, momentum, dampening, weight_decay, nesterov,
            first_step, len, grid_x);
        let size = std::mem::size_of::<SgdUniform>();
        check_uniform_layout(Shader::SgdStep, "SgdParams", size, &fields);
    }
}
