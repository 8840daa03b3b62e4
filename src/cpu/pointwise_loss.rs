//! CPU reference of torch's `L1Loss`, `SmoothL1Loss` and
//! `BCEWithLogitsLoss` (mean), in f64.

use super::Element;
use crate::{Error, PointwiseLoss};

fn term(kind: PointwiseLoss, x: f64, t: f64, pw: f64) -> (f64, f64) {
    let d = x - t;
    let sign = if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    };
    match kind {
        PointwiseLoss::L1 | PointwiseLoss::SmoothL1 { beta: 0.0 } => (d.abs(), sign),
        PointwiseLoss::SmoothL1 { beta } => {
            let beta = beta as f64;
            if d.abs() < beta {
                (0.5 * d * d / beta, d / beta)
            } else {
                (d.abs() - 0.5 * beta, sign)
            }
        }
        PointwiseLoss::BceWithLogits => {
            let w = (pw - 1.0) * t + 1.0;
            let loss = (1.0 - t) * x + w * ((-x.abs()).exp().ln_1p() + (-x).max(0.0));
            let s = 1.0 / (1.0 + (-x).exp());
            (loss, (1.0 - t) - w * (1.0 - s))
        }
    }
}

/// `(loss, dy)`: the mean of `kind` over `y` against `t` and its gradient,
/// `pos_weight` (BCE) one value per class of the last axis of `classes`.
pub fn pointwise_loss<T: Element>(
    y: &[T],
    t: &[T],
    kind: PointwiseLoss,
    pos_weight: Option<&[T]>,
) -> Result<(T, Vec<T>), Error> {
    super::check_len(&[y.len()], t)?;
    kind.code()?;
    let n = y.len() as f64;
    let mut total = 0.0f64;
    let mut dy = Vec::with_capacity(y.len());
    for (i, (&x, &target)) in y.iter().zip(t).enumerate() {
        let pw = pos_weight.map_or(1.0, |w| w[i % w.len()].to_f64());
        let (l, g) = term(kind, x.to_f64(), target.to_f64(), pw);
        total += l;
        dy.push(T::from_f64(g / n));
    }
    Ok((T::from_f64(total / n), dy))
}
