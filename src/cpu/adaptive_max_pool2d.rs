//! CPU reference of torch's `F.adaptive_max_pool2d` and its backward
//! pass: output row i takes the maximum of input rows `[⌊i·H/Ho⌋,
//! ⌈(i+1)·H/Ho⌉)`, the first in a row-major scan, each NaN taking over.

use super::Element;
use crate::shape::{adaptive_pool2d_shape, adaptive_window};
use crate::Error;

/// Index in the plane of window `(i, j)`'s maximum.
fn arg_max<T: Element>(
    plane: &[T],
    [h, w]: [usize; 2],
    [ho, wo]: [usize; 2],
    i: usize,
    j: usize,
) -> usize {
    let (r0, r1) = adaptive_window(i, h, ho);
    let (c0, c1) = adaptive_window(j, w, wo);
    let mut best = r0 * w + c0;
    for r in r0..r1 {
        for c in c0..c1 {
            let (v, m) = (plane[r * w + c].to_f64(), plane[best].to_f64());
            if v > m || v.is_nan() {
                best = r * w + c;
            }
        }
    }
    best
}

/// `y` `[N, C, Ho, Wo]` of `x` `[N, C, H, W]`.
pub fn adaptive_max_pool2d<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    output_size: [usize; 2],
) -> Result<Vec<T>, Error> {
    let (_, [n, c, ho, wo]) = adaptive_pool2d_shape("adaptive_max_pool2d", &x_shape, output_size)?;
    super::check_len(&x_shape, x)?;
    let [_, _, h, w] = x_shape;
    let mut y = Vec::with_capacity(n * c * ho * wo);
    for plane in x.chunks(h * w) {
        for i in 0..ho {
            for j in 0..wo {
                y.push(plane[arg_max(plane, [h, w], [ho, wo], i, j)]);
            }
        }
    }
    Ok(y)
}

/// `dx` `[N, C, H, W]`: each window's `dy` added at its maximum.
pub fn adaptive_max_pool2d_backward<T: Element>(
    x: &[T],
    dy: &[T],
    x_shape: [usize; 4],
    output_size: [usize; 2],
) -> Result<Vec<T>, Error> {
    let (_, [n, c, ho, wo]) =
        adaptive_pool2d_shape("adaptive_max_pool2d_backward", &x_shape, output_size)?;
    super::check_len(&x_shape, x)?;
    super::check_len(&[n, c, ho, wo], dy)?;
    let [_, _, h, w] = x_shape;
    let mut dx = vec![0.0f64; x.len()];
    for (p, plane) in x.chunks(h * w).enumerate() {
        for i in 0..ho {
            for j in 0..wo {
                let at = arg_max(plane, [h, w], [ho, wo], i, j);
                dx[p * h * w + at] += dy[(p * ho + i) * wo + j].to_f64();
            }
        }
    }
    Ok(dx.into_iter().map(T::from_f64).collect())
}
