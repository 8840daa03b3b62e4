//! CPU reference of torch's `F.adaptive_avg_pool2d` and its backward
//! pass: output row i averages input rows `[⌊i·H/Ho⌋, ⌈(i+1)·H/Ho⌉)`.

use super::Element;
use crate::shape::{adaptive_pool2d_shape, adaptive_window};
use crate::Error;

/// `y` `[N, C, Ho, Wo]` of `x` `[N, C, H, W]`.
pub fn adaptive_avg_pool2d<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    output_size: [usize; 2],
) -> Result<Vec<T>, Error> {
    let (_, [n, c, ho, wo]) = adaptive_pool2d_shape("adaptive_avg_pool2d", &x_shape, output_size)?;
    super::check_len(&x_shape, x)?;
    let [_, _, h, w] = x_shape;
    let mut y = Vec::with_capacity(n * c * ho * wo);
    for plane in 0..n * c {
        for i in 0..ho {
            let (r0, r1) = adaptive_window(i, h, ho);
            for j in 0..wo {
                let (c0, c1) = adaptive_window(j, w, wo);
                let mut sum = 0.0f64;
                for r in r0..r1 {
                    for col in c0..c1 {
                        sum += x[(plane * h + r) * w + col].to_f64();
                    }
                }
                y.push(T::from_f64(sum / (r1 - r0) as f64 / (c1 - c0) as f64));
            }
        }
    }
    Ok(y)
}

/// `dx` `[N, C, H, W]` from `dy`: each output's gradient spread evenly
/// over its window.
pub fn adaptive_avg_pool2d_backward<T: Element>(
    dy: &[T],
    x_shape: [usize; 4],
    output_size: [usize; 2],
) -> Result<Vec<T>, Error> {
    let (_, [n, c, ho, wo]) =
        adaptive_pool2d_shape("adaptive_avg_pool2d_backward", &x_shape, output_size)?;
    super::check_len(&[n, c, ho, wo], dy)?;
    let [_, _, h, w] = x_shape;
    let mut dx = vec![0.0f64; n * c * h * w];
    for plane in 0..n * c {
        for i in 0..ho {
            let (r0, r1) = adaptive_window(i, h, ho);
            for j in 0..wo {
                let (c0, c1) = adaptive_window(j, w, wo);
                let g =
                    dy[(plane * ho + i) * wo + j].to_f64() / (r1 - r0) as f64 / (c1 - c0) as f64;
                for r in r0..r1 {
                    for col in c0..c1 {
                        dx[(plane * h + r) * w + col] += g;
                    }
                }
            }
        }
    }
    Ok(dx.into_iter().map(T::from_f64).collect())
}
