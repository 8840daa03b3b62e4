//! CPU reference of the mean squared error.

use super::Element;
use crate::Error;

/// `Σ (y − t)² / len`, summed in f64.
pub fn mse_loss<T: Element>(y: &[T], t: &[T]) -> Result<T, Error> {
    super::check_len(&[y.len()], t)?;
    let sum: f64 = y
        .iter()
        .zip(t)
        .map(|(&y, &t)| (y.to_f64() - t.to_f64()).powi(2))
        .sum();
    Ok(T::from_f64(sum / y.len() as f64))
}

/// `dy = 2 (y − t) / len`.
pub fn mse_loss_backward<T: Element>(y: &[T], t: &[T]) -> Result<Vec<T>, Error> {
    super::check_len(&[y.len()], t)?;
    let len = y.len() as f64;
    Ok(y.iter()
        .zip(t)
        .map(|(&y, &t)| T::from_f64(2.0 * (y.to_f64() - t.to_f64()) / len))
        .collect())
}
