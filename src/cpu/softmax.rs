//! CPU reference of `softmax` and `log_softmax` along an axis and their
//! backward passes, in f64.

use super::Element;
use crate::shape::softmax_lines;
use crate::Error;

fn lines<T: Element>(
    op: &'static str,
    x: &[T],
    shape: &[usize],
    dim: usize,
    mut f: impl FnMut(&[usize]),
) -> Result<(), Error> {
    let [outer, len, inner] = softmax_lines(op, shape, dim)?;
    super::check_len(shape, x)?;
    let mut idx = vec![0usize; len];
    for o in 0..outer {
        for i in 0..inner {
            for (k, slot) in idx.iter_mut().enumerate() {
                *slot = (o * len + k) * inner + i;
            }
            f(&idx);
        }
    }
    Ok(())
}

/// `softmax(x, dim)` (`log: false`) or `log_softmax(x, dim)`.
pub fn softmax<T: Element>(
    x: &[T],
    shape: &[usize],
    dim: usize,
    log: bool,
) -> Result<Vec<T>, Error> {
    let mut y = vec![T::default(); x.len()];
    lines("softmax", x, shape, dim, |idx| {
        let m = idx
            .iter()
            .map(|&i| x[i].to_f64())
            .fold(
                f64::NEG_INFINITY,
                |m, v| if v > m || v.is_nan() { v } else { m },
            );
        let total: f64 = idx.iter().map(|&i| (x[i].to_f64() - m).exp()).sum();
        for &i in idx {
            let v = x[i].to_f64() - m;
            y[i] = T::from_f64(if log { v - total.ln() } else { v.exp() / total });
        }
    })?;
    Ok(y)
}

/// The backward pass from the output `y`: softmax `y·(dy − Σ dy·y)`,
/// log_softmax `dy − exp(y)·Σ dy`.
pub fn softmax_backward<T: Element>(
    y: &[T],
    dy: &[T],
    shape: &[usize],
    dim: usize,
    log: bool,
) -> Result<Vec<T>, Error> {
    super::check_len(shape, dy)?;
    let mut dx = vec![T::default(); y.len()];
    lines("softmax_backward", y, shape, dim, |idx| {
        if log {
            let total: f64 = idx.iter().map(|&i| dy[i].to_f64()).sum();
            for &i in idx {
                dx[i] = T::from_f64(dy[i].to_f64() - y[i].to_f64().exp() * total);
            }
        } else {
            let dot: f64 = idx.iter().map(|&i| dy[i].to_f64() * y[i].to_f64()).sum();
            for &i in idx {
                dx[i] = T::from_f64(y[i].to_f64() * (dy[i].to_f64() - dot));
            }
        }
    })?;
    Ok(dx)
}
