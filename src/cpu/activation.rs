//! CPU reference of ReLU and the sigmoid, forward and backward.

use super::Element;
use crate::Error;

/// `y = x < 0 ? 0 : x` (NaN stays NaN).
pub fn relu<T: Element>(x: &[T]) -> Vec<T> {
    x.iter()
        .map(|&v| {
            if v.to_f64() < 0.0 {
                T::from_f64(0.0)
            } else {
                v
            }
        })
        .collect()
}

/// `dx = x > 0 ? dy : 0`, with `x` the forward input.
pub fn relu_backward<T: Element>(x: &[T], dy: &[T]) -> Result<Vec<T>, Error> {
    super::check_len(&[x.len()], dy)?;
    Ok(x.iter()
        .zip(dy)
        .map(|(&x, &g)| {
            if x.to_f64() > 0.0 {
                g
            } else {
                T::from_f64(0.0)
            }
        })
        .collect())
}

/// `y = 1 / (1 + e^−x)`, in f64.
pub fn sigmoid<T: Element>(x: &[T]) -> Vec<T> {
    x.iter()
        .map(|&v| T::from_f64(1.0 / (1.0 + (-v.to_f64()).exp())))
        .collect()
}

/// `dx = dy · y · (1 − y)`, with `y` the forward output.
pub fn sigmoid_backward<T: Element>(y: &[T], dy: &[T]) -> Result<Vec<T>, Error> {
    super::check_len(&[y.len()], dy)?;
    Ok(y.iter()
        .zip(dy)
        .map(|(&y, &g)| {
            let y = y.to_f64();
            T::from_f64(g.to_f64() * y * (1.0 - y))
        })
        .collect())
}
