//! torch's `nn.utils.clip_grad_norm_`: the norm of every parameter's
//! gradient taken together, and every gradient scaled down so that the
//! norm is at most `max_norm`.

use super::{Backend, Module, ModuleExt};
use crate::Error;

/// Scales the gradients of `model`'s parameters by
/// `min(1, max_norm / (total_norm + 1e-6))` and returns `total_norm`, the
/// `norm_type` norm of all of them together (`f32::INFINITY`: the largest
/// magnitude), as torch's `clip_grad_norm_` (parameters without a
/// gradient are left out). The gradients are read to the host and summed
/// in f64 in the parameters' order, element by element (a fixed order:
/// the same bits every run); the scaling runs on the device. A NaN or
/// infinite norm scales every gradient to NaN, as torch does without
/// `error_if_nonfinite`.
pub fn clip_grad_norm<B: Backend, M: Module<B> + ?Sized>(
    b: &B,
    model: &M,
    max_norm: f32,
    norm_type: f32,
) -> Result<f32, Error> {
    let bad_max = max_norm.is_nan() || max_norm < 0.0;
    if bad_max || norm_type.is_nan() || norm_type <= 0.0 {
        return Err(Error::InvalidParam {
            op: "clip_grad_norm",
            param: if bad_max { "max_norm" } else { "norm_type" },
            message: format!(
                "max_norm {max_norm} and norm_type {norm_type}: both must be positive"
            ),
        });
    }
    let params = model.named_parameters();
    let grads: Vec<_> = params
        .iter()
        .filter_map(|(_, p)| p.grad().map(|g| (*p, g)))
        .collect();
    let mut total = 0.0f64;
    for (_, g) in &grads {
        for v in b.to_vec(g)? {
            let a = (v as f64).abs();
            if norm_type == f32::INFINITY {
                total = if a.is_nan() || total.is_nan() {
                    f64::NAN
                } else {
                    total.max(a)
                };
            } else {
                total += a.powf(norm_type as f64);
            }
        }
    }
    if norm_type != f32::INFINITY {
        total = total.powf(1.0 / norm_type as f64);
    }
    let total = total as f32;
    let coef = max_norm as f64 / (total as f64 + 1e-6);
    // torch's clamp(max=1) keeps a NaN (f64::min would drop it).
    let coef = if coef.is_nan() { coef } else { coef.min(1.0) };
    // Multiplying by 1 changes no bit: skipped. NaN fails `< 1`.
    if coef.is_nan() || coef < 1.0 {
        let s = b.tensor(&[1], &[coef as f32])?;
        for (p, g) in grads {
            p.set_grad(Some(b.mul_broadcast(&g, &s)?));
        }
    }
    Ok(total)
}
