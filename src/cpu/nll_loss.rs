//! CPU reference of torch's `nll_loss` with class weights, `ignore_index`
//! and label smoothing (reduction 'mean'), in f64.

use super::Element;
use crate::ops::check_nll;
use crate::{Error, NllOptions};

/// `(loss, dlogp)` for log-probabilities `logp` `[N, C]`, class-index
/// `targets` and optional `weight` `[C]`.
pub fn nll_loss<T: Element>(
    logp: &[T],
    shape: &[usize],
    targets: &[f32],
    weight: Option<&[T]>,
    o: &NllOptions,
) -> Result<(T, Vec<T>), Error> {
    let wshape = weight.map(|w| vec![w.len()]);
    let (n, c) = check_nll("nll_loss", shape, targets, wshape.as_deref(), o)?;
    super::check_len(shape, logp)?;
    let w = |k: usize| weight.map_or(1.0, |w| w[k].to_f64());
    let eps = o.label_smoothing as f64;
    let kept = |i: usize| (targets[i] as i64 != o.ignore_index).then_some(targets[i] as usize);
    let (mut den, mut count, mut nll, mut smooth) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        if let Some(t) = kept(i) {
            den += w(t);
            count += 1.0;
            nll -= w(t) * logp[i * c + t].to_f64();
            smooth -= (0..c).map(|k| w(k) * logp[i * c + k].to_f64()).sum::<f64>();
        }
    }
    let d2 = if weight.is_some() { den } else { count };
    let loss = (1.0 - eps) * nll / den + eps / c as f64 * smooth / d2;
    let mut grad = vec![T::from_f64(0.0); n * c];
    for i in 0..n {
        if let Some(t) = kept(i) {
            for k in 0..c {
                let mut g = -eps / c as f64 * w(k) / d2;
                if k == t {
                    g -= (1.0 - eps) * w(t) / den;
                }
                grad[i * c + k] = T::from_f64(g);
            }
        }
    }
    Ok((T::from_f64(loss), grad))
}
