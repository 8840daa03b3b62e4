//! CPU reference of `upsample2d` (torch's `F.interpolate`, nearest and
//! bilinear) and its backward pass: the index rules of
//! [`crate::shape::upsample_source`], sums in f64.

use super::Element;
use crate::shape::{upsample_source, Upsample2dParams};
use crate::Error;

/// `y` `[N, C, Ho, Wo]` of `x` `[N, C, H, W]`.
pub fn upsample2d<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    p: &Upsample2dParams,
) -> Result<Vec<T>, Error> {
    let ([n, c, ho, wo], scale) = p.geometry("upsample2d", &x_shape)?;
    super::check_len(&x_shape, x)?;
    let [_, _, h, w] = x_shape;
    let mut y = Vec::with_capacity(n * c * ho * wo);
    for plane in 0..n * c {
        let base = plane * h * w;
        for orow in 0..ho {
            let (r0, r1, a0, a1) = upsample_source(p.mode, orow, h, ho, scale[0]);
            for oc in 0..wo {
                let (c0, c1, b0, b1) = upsample_source(p.mode, oc, w, wo, scale[1]);
                let at = |r: usize, col: usize| x[base + r * w + col].to_f64();
                let v = a0 as f64 * (b0 as f64 * at(r0, c0) + b1 as f64 * at(r0, c1))
                    + a1 as f64 * (b0 as f64 * at(r1, c0) + b1 as f64 * at(r1, c1));
                y.push(T::from_f64(v));
            }
        }
    }
    Ok(y)
}

/// `dx` `[N, C, H, W]` from `dy` `[N, C, Ho, Wo]`: every output's gradient
/// spread to the inputs it read, by its weights.
pub fn upsample2d_backward<T: Element>(
    dy: &[T],
    x_shape: [usize; 4],
    p: &Upsample2dParams,
) -> Result<Vec<T>, Error> {
    let ([n, c, ho, wo], scale) = p.geometry("upsample2d_backward", &x_shape)?;
    super::check_len(&[n, c, ho, wo], dy)?;
    let [_, _, h, w] = x_shape;
    let mut dx = vec![0.0f64; n * c * h * w];
    for plane in 0..n * c {
        let base = plane * h * w;
        for orow in 0..ho {
            let (r0, r1, a0, a1) = upsample_source(p.mode, orow, h, ho, scale[0]);
            for oc in 0..wo {
                let (c0, c1, b0, b1) = upsample_source(p.mode, oc, w, wo, scale[1]);
                let g = dy[(plane * ho + orow) * wo + oc].to_f64();
                for (r, a) in [(r0, a0), (r1, a1)] {
                    for (col, b) in [(c0, b0), (c1, b1)] {
                        dx[base + r * w + col] += g * a as f64 * b as f64;
                    }
                }
            }
        }
    }
    Ok(dx.into_iter().map(T::from_f64).collect())
}
