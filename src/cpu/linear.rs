//! CPU reference of the linear layer and its gradients, as plain loops
//! (not through the convolution reference, so the GPU's 1×1-convolution
//! route is checked against an independent derivation).

use super::{check_len, Element};
use crate::shape::linear_geometry;
use crate::Error;

/// `y[n, o] = b[o] + Σ_i x[n, i] · w[o, i]`; `x` `[N, in]`, `w` `[out, in]`.
pub fn linear<T: Element>(
    x: &[T],
    x_shape: [usize; 2],
    w: &[T],
    w_shape: [usize; 2],
    b: Option<&[T]>,
) -> Result<Vec<T>, Error> {
    linear_geometry("cpu::linear", &x_shape, &w_shape)?;
    check_len(&x_shape, x)?;
    check_len(&w_shape, w)?;
    let ([n, fan_in], [fan_out, _]) = (x_shape, w_shape);
    if let Some(b) = b {
        check_len(&[fan_out], b)?;
    }
    let mut y = vec![T::default(); n * fan_out];
    for s in 0..n {
        for o in 0..fan_out {
            let mut acc = b.map_or(0.0, |b| b[o].to_f64());
            for i in 0..fan_in {
                acc += x[s * fan_in + i].to_f64() * w[o * fan_in + i].to_f64();
            }
            y[s * fan_out + o] = T::from_f64(acc);
        }
    }
    Ok(y)
}

/// `dx[n, i] = Σ_o dy[n, o] · w[o, i]`.
pub fn linear_input_grad<T: Element>(
    dy: &[T],
    w: &[T],
    w_shape: [usize; 2],
) -> Result<Vec<T>, Error> {
    let [fan_out, fan_in] = w_shape;
    check_len(&w_shape, w)?;
    let n = dy.len().checked_div(fan_out).unwrap_or(0);
    linear_geometry("cpu::linear_input_grad", &[n, fan_in], &w_shape)?;
    check_len(&[n, fan_out], dy)?;
    let mut dx = vec![T::default(); n * fan_in];
    for s in 0..n {
        for i in 0..fan_in {
            let mut acc = 0.0;
            for o in 0..fan_out {
                acc += dy[s * fan_out + o].to_f64() * w[o * fan_in + i].to_f64();
            }
            dx[s * fan_in + i] = T::from_f64(acc);
        }
    }
    Ok(dx)
}

/// `dw[o, i] = Σ_n dy[n, o] · x[n, i]`; returns `[out, in]`.
pub fn linear_weight_grad<T: Element>(
    x: &[T],
    x_shape: [usize; 2],
    dy: &[T],
    fan_out: usize,
) -> Result<Vec<T>, Error> {
    let [n, fan_in] = x_shape;
    linear_geometry("cpu::linear_weight_grad", &x_shape, &[fan_out, fan_in])?;
    check_len(&x_shape, x)?;
    check_len(&[n, fan_out], dy)?;
    let mut dw = vec![T::default(); fan_out * fan_in];
    for o in 0..fan_out {
        for i in 0..fan_in {
            let mut acc = 0.0;
            for s in 0..n {
                acc += dy[s * fan_out + o].to_f64() * x[s * fan_in + i].to_f64();
            }
            dw[o * fan_in + i] = T::from_f64(acc);
        }
    }
    Ok(dw)
}

/// `db[o] = Σ_n dy[n, o]` for `dy` `[N, out]`.
pub fn linear_bias_grad<T: Element>(dy: &[T], dy_shape: [usize; 2]) -> Result<Vec<T>, Error> {
    check_len(&dy_shape, dy)?;
    let [n, fan_out] = dy_shape;
    Ok((0..fan_out)
        .map(|o| T::from_f64((0..n).map(|s| dy[s * fan_out + o].to_f64()).sum()))
        .collect())
}
