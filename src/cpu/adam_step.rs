//! CPU reference of `torch.optim.Adam`.

use super::Element;
use crate::{Adam, Error};

/// Moments and step count of the CPU reference.
#[derive(Debug, Default, Clone)]
pub struct CpuAdamState<T> {
    pub exp_avg: Vec<T>,
    pub exp_avg_sq: Vec<T>,
    pub step: u64,
}

/// One Adam step in f64 per element, in torch's order: with decoupled
/// weight decay (AdamW) first `p ·= 1 − lr·wd`; then
/// `g = grad + wd·p` (Adam; AdamW adds nothing), `m += (1 − β1)(g − m)`, `v = β2·v + (1 − β2)·g²`,
/// `p -= lr / (1 − β1^t) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)`.
pub fn adam_step<T: Element>(
    param: &mut [T],
    grad: &[T],
    state: &mut CpuAdamState<T>,
    cfg: &Adam,
) -> Result<(), Error> {
    cfg.validate()?;
    super::check_len(&[param.len()], grad)?;
    if state.step == 0 {
        state.exp_avg = vec![T::default(); param.len()];
        state.exp_avg_sq = vec![T::default(); param.len()];
    }
    super::check_len(&[param.len()], &state.exp_avg)?;
    super::check_len(&[param.len()], &state.exp_avg_sq)?;
    state.step += 1;
    let t = state.step.min(i32::MAX as u64) as i32;
    let (b1, b2) = (cfg.betas.0 as f64, cfg.betas.1 as f64);
    let step_size = cfg.lr as f64 / (1.0 - b1.powi(t));
    let bc2_sqrt = (1.0 - b2.powi(t)).sqrt();
    let wd = cfg.weight_decay as f64;
    let (l2, decay) = if cfg.decoupled_weight_decay {
        (0.0, 1.0 - cfg.lr as f64 * wd)
    } else {
        (wd, 1.0)
    };
    for i in 0..param.len() {
        let p = param[i].to_f64() * decay;
        let g = grad[i].to_f64() + l2 * p;
        let m = state.exp_avg[i].to_f64();
        let m = m + (1.0 - b1) * (g - m);
        let v = b2 * state.exp_avg_sq[i].to_f64() + (1.0 - b2) * g * g;
        state.exp_avg[i] = T::from_f64(m);
        state.exp_avg_sq[i] = T::from_f64(v);
        param[i] = T::from_f64(p - step_size * m / (v.sqrt() / bc2_sqrt + cfg.eps as f64));
    }
    Ok(())
}
