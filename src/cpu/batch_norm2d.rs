//! CPU reference of torch.nn.BatchNorm2d (affine), forward and backward,
//! with f64 sums: the batch statistics in two passes (mean, then the mean
//! squared deviation), the running statistics' update with the unbiased
//! variance, and the backward pass of each mode written out.

use super::{at, check_len, max_pool2d, max_pool2d_backward, relu, relu_backward, Element};
use crate::{BatchNorm, Error, Pool2dParams};

/// `(dx, dweight, dbias)`.
pub type BatchNormGrads<T> = (Vec<T>, Vec<T>, Vec<T>);

fn channels<T>(shape: [usize; 4], per_channel: &[&[T]]) -> Result<(), Error> {
    per_channel
        .iter()
        .try_for_each(|t| check_len(&[shape[1]], t))
}

/// `(y, saved)` of `batch_norm2d` for `x` of `shape` `[N, C, H, W]`:
/// `y = (x − mean_c) · invstd_c · weight_c + bias_c`; `saved` is `[C, 2]`
/// of (mean_c, invstd_c). Training: the batch's mean and biased variance,
/// and `running_* = (1 − momentum)·running_* + momentum·batch` with the
/// unbiased variance; eval: the running statistics, unchanged.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm2d<T: Element>(
    x: &[T],
    shape: [usize; 4],
    weight: &[T],
    bias: &[T],
    running_mean: &mut [T],
    running_var: &mut [T],
    training: bool,
    cfg: &BatchNorm,
) -> Result<(Vec<T>, Vec<T>), Error> {
    cfg.validate()?;
    check_len(&shape, x)?;
    channels(shape, &[weight, bias, running_mean, running_var])?;
    let [n, c, h, w] = shape;
    // The unbiased variance of one value divides by 0: a NaN running
    // variance that would poison eval. torch (and the GPU op) refuse it.
    if training && n * h * w < 2 {
        return Err(Error::InvalidParam {
            op: "batch_norm2d",
            param: "input",
            message: format!(
                "training needs more than one value per channel (N·H·W = {}), as torch's BatchNorm2d does",
                n * h * w
            ),
        });
    }
    let m = (n * h * w) as f64;
    let (eps, momentum) = (cfg.eps as f64, cfg.momentum as f64);
    let mut saved = vec![T::default(); 2 * c];
    for ch in 0..c {
        let values = || {
            (0..n).flat_map(move |i| {
                (0..h).flat_map(move |r| (0..w).map(move |s| x[at(shape, i, ch, r, s)].to_f64()))
            })
        };
        let (mean, invstd) = if training {
            let mean = values().sum::<f64>() / m;
            let var = values().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m;
            let rm = running_mean[ch].to_f64();
            let rv = running_var[ch].to_f64();
            running_mean[ch] = T::from_f64((1.0 - momentum) * rm + momentum * mean);
            running_var[ch] = T::from_f64((1.0 - momentum) * rv + momentum * var * m / (m - 1.0));
            (mean, 1.0 / (var + eps).sqrt())
        } else {
            let rv = running_var[ch].to_f64();
            (running_mean[ch].to_f64(), 1.0 / (rv + eps).sqrt())
        };
        saved[2 * ch] = T::from_f64(mean);
        saved[2 * ch + 1] = T::from_f64(invstd);
    }
    Ok((normalize(x, shape, weight, bias, &saved), saved))
}

/// `y = (x − mean_c) · invstd_c · weight_c + bias_c` with the statistics
/// as saved (rounded to `T`), so that a backward pass that needs `y`
/// again (the fused pooling's) finds the same values from `saved`.
fn normalize<T: Element>(
    x: &[T],
    shape: [usize; 4],
    weight: &[T],
    bias: &[T],
    saved: &[T],
) -> Vec<T> {
    let [n, c, h, w] = shape;
    let mut y = vec![T::default(); x.len()];
    for ch in 0..c {
        let (mean, invstd) = (saved[2 * ch].to_f64(), saved[2 * ch + 1].to_f64());
        let (g, b) = (weight[ch].to_f64(), bias[ch].to_f64());
        for i in 0..n {
            for r in 0..h {
                for s in 0..w {
                    let k = at(shape, i, ch, r, s);
                    y[k] = T::from_f64((x[k].to_f64() - mean) * invstd * g + b);
                }
            }
        }
    }
    y
}

/// `(pooled, saved)` of torch's `max_pool2d(relu(batch_norm2d(x)), 2)`:
/// the three reference ops one after the other.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm2d_relu_max_pool2d<T: Element>(
    x: &[T],
    shape: [usize; 4],
    weight: &[T],
    bias: &[T],
    running_mean: &mut [T],
    running_var: &mut [T],
    training: bool,
    cfg: &BatchNorm,
) -> Result<(Vec<T>, Vec<T>), Error> {
    let (y, saved) = batch_norm2d(
        x,
        shape,
        weight,
        bias,
        running_mean,
        running_var,
        training,
        cfg,
    )?;
    let pooled = max_pool2d(&relu(&y), shape, &Pool2dParams::window(2))?;
    Ok((pooled, saved))
}

/// `(dx, dweight, dbias)` of [`batch_norm2d_relu_max_pool2d`] from the
/// pooled gradient: `y` found again from `x` and `saved` (the forward's
/// values, bit for bit), then the backward passes of the pooling, the
/// ReLU and batch norm.
pub fn batch_norm2d_relu_max_pool2d_backward<T: Element>(
    x: &[T],
    shape: [usize; 4],
    dpooled: &[T],
    weight: &[T],
    bias: &[T],
    saved: &[T],
    training: bool,
) -> Result<BatchNormGrads<T>, Error> {
    check_len(&shape, x)?;
    channels(shape, &[weight, bias])?;
    check_len(&[shape[1], 2], saved)?;
    let y = relu(&normalize(x, shape, weight, bias, saved));
    let g = max_pool2d_backward(&y, shape, dpooled, &Pool2dParams::window(2))?;
    batch_norm2d_backward(x, shape, &relu_backward(&y, &g)?, weight, saved, training)
}

/// `(dx, dweight, dbias)` of `batch_norm2d` from `dy`, the forward input
/// `x`, `weight` and the forward's `saved` statistics: `dbias_c = Σ dy`,
/// `dweight_c = Σ dy·x̂`; training `dx = weight·invstd/M · (M·dy − dbias −
/// x̂·dweight)` (M = N·H·W), eval `dx = dy · weight · invstd`.
pub fn batch_norm2d_backward<T: Element>(
    x: &[T],
    shape: [usize; 4],
    dy: &[T],
    weight: &[T],
    saved: &[T],
    training: bool,
) -> Result<BatchNormGrads<T>, Error> {
    check_len(&shape, x)?;
    check_len(&shape, dy)?;
    channels(shape, &[weight])?;
    check_len(&[shape[1], 2], saved)?;
    let [n, c, h, w] = shape;
    let m = (n * h * w) as f64;
    let mut dx = vec![T::default(); x.len()];
    let (mut dweight, mut dbias) = (vec![T::default(); c], vec![T::default(); c]);
    for ch in 0..c {
        let (mean, invstd) = (saved[2 * ch].to_f64(), saved[2 * ch + 1].to_f64());
        let xhat = |k: usize| (x[k].to_f64() - mean) * invstd;
        let (mut sum_dy, mut sum_dy_xhat) = (0.0, 0.0);
        for i in 0..n {
            for r in 0..h {
                for s in 0..w {
                    let k = at(shape, i, ch, r, s);
                    sum_dy += dy[k].to_f64();
                    sum_dy_xhat += dy[k].to_f64() * xhat(k);
                }
            }
        }
        dbias[ch] = T::from_f64(sum_dy);
        dweight[ch] = T::from_f64(sum_dy_xhat);
        let scale = weight[ch].to_f64() * invstd;
        for i in 0..n {
            for r in 0..h {
                for s in 0..w {
                    let k = at(shape, i, ch, r, s);
                    let g = dy[k].to_f64();
                    dx[k] = T::from_f64(if training {
                        scale / m * (m * g - sum_dy - xhat(k) * sum_dy_xhat)
                    } else {
                        g * scale
                    });
                }
            }
        }
    }
    Ok((dx, dweight, dbias))
}
