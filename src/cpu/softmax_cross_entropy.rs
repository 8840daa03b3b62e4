//! CPU reference of softmax cross-entropy against target probabilities.

use super::Element;
use crate::Error;

/// Log-sum-exp of one row, shifted by its maximum, in f64.
fn log_sum_exp(row: &[f64]) -> f64 {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + row.iter().map(|&z| (z - m).exp()).sum::<f64>().ln()
}

fn rows<T: Element>(logits: &[T], shape: [usize; 2], targets: &[T]) -> Result<(), Error> {
    super::check_len(&shape, logits)?;
    super::check_len(&shape, targets)
}

/// `(1/N) Σ_n Σ_c t_nc · (logsumexp(z_n) − z_nc)` for `logits` and
/// `targets` of shape `[N, C]`, in f64.
pub fn softmax_cross_entropy<T: Element>(
    logits: &[T],
    targets: &[T],
    shape: [usize; 2],
) -> Result<T, Error> {
    rows(logits, shape, targets)?;
    let [n, c] = shape;
    let mut total = 0.0;
    for i in 0..n {
        let z: Vec<f64> = logits[i * c..(i + 1) * c]
            .iter()
            .map(|v| v.to_f64())
            .collect();
        let lse = log_sum_exp(&z);
        for j in 0..c {
            total += targets[i * c + j].to_f64() * (lse - z[j]);
        }
    }
    Ok(T::from_f64(total / n as f64))
}

/// `dz_nc = (softmax(z_n)_c · Σ_c t_nc − t_nc) / N`, in f64.
pub fn softmax_cross_entropy_backward<T: Element>(
    logits: &[T],
    targets: &[T],
    shape: [usize; 2],
) -> Result<Vec<T>, Error> {
    rows(logits, shape, targets)?;
    let [n, c] = shape;
    let mut dz = vec![T::default(); n * c];
    for i in 0..n {
        let z: Vec<f64> = logits[i * c..(i + 1) * c]
            .iter()
            .map(|v| v.to_f64())
            .collect();
        let t: Vec<f64> = targets[i * c..(i + 1) * c]
            .iter()
            .map(|v| v.to_f64())
            .collect();
        let lse = log_sum_exp(&z);
        let mass: f64 = t.iter().sum();
        for j in 0..c {
            dz[i * c + j] = T::from_f64(((z[j] - lse).exp() * mass - t[j]) / n as f64);
        }
    }
    Ok(dz)
}
