//! CPU reference of `torch.optim.SGD`.

use super::Element;
use crate::{Error, Sgd};

/// The momentum buffer of the CPU reference (None before the first step).
#[derive(Debug, Default, Clone)]
pub struct CpuSgdState<T> {
    pub momentum_buffer: Option<Vec<T>>,
}

/// One `torch.optim.SGD` step in f64 per element:
/// `d = g + wd·p`; with momentum, `buf = d` on the first step, else
/// `buf = μ·buf + (1 − dampening)·d`, then `d = d + μ·buf` (nesterov) or
/// `d = buf`; finally `p -= lr·d`.
pub fn sgd_step<T: Element>(
    param: &mut [T],
    grad: &[T],
    state: &mut CpuSgdState<T>,
    cfg: &Sgd,
) -> Result<(), Error> {
    cfg.validate()?;
    super::check_len(&[param.len()], grad)?;
    let (lr, mu, damp, wd) = (
        cfg.lr as f64,
        cfg.momentum as f64,
        cfg.dampening as f64,
        cfg.weight_decay as f64,
    );
    let first = state.momentum_buffer.is_none();
    let buf = state
        .momentum_buffer
        .get_or_insert_with(|| vec![T::default(); param.len()]);
    super::check_len(&[param.len()], buf)?;
    for i in 0..param.len() {
        let p = param[i].to_f64();
        let mut d = grad[i].to_f64() + wd * p;
        if mu != 0.0 {
            let b = if first {
                d
            } else {
                mu * buf[i].to_f64() + (1.0 - damp) * d
            };
            buf[i] = T::from_f64(b);
            d = if cfg.nesterov { d + mu * b } else { b };
        }
        param[i] = T::from_f64(p - lr * d);
    }
    if mu == 0.0 {
        state.momentum_buffer = None;
    }
    Ok(())
}
