//! CPU reference of max pooling over non-overlapping windows.

use super::{at, check_len, Element};
use crate::shape::pool2d_output_shape;
use crate::Error;

/// Index in `x` of the first maximum of the window at output `(n, c, oh,
/// ow)`, scanning row-major; a NaN wins (torch's rule).
fn arg_max<T: Element>(x: &[T], xs: [usize; 4], size: usize, o: [usize; 4]) -> usize {
    let [n, c, oh, ow] = o;
    let mut best_i = at(xs, n, c, oh * size, ow * size);
    let mut best = x[best_i].to_f64();
    for r in 0..size {
        for s in 0..size {
            let i = at(xs, n, c, oh * size + r, ow * size + s);
            let v = x[i].to_f64();
            if v > best || v.is_nan() {
                best = v;
                best_i = i;
            }
        }
    }
    best_i
}

/// `y[n, c, oh, ow] = max over x[n, c, oh·size .. +size, ow·size .. +size]`;
/// returns `y` of shape `[N, C, H / size, W / size]`.
pub fn max_pool2d<T: Element>(x: &[T], x_shape: [usize; 4], size: usize) -> Result<Vec<T>, Error> {
    let ys = pool2d_output_shape("cpu::max_pool2d", &x_shape, size)?;
    check_len(&x_shape, x)?;
    let mut y = Vec::with_capacity(ys.iter().product());
    for n in 0..ys[0] {
        for c in 0..ys[1] {
            for oh in 0..ys[2] {
                for ow in 0..ys[3] {
                    y.push(x[arg_max(x, x_shape, size, [n, c, oh, ow])]);
                }
            }
        }
    }
    Ok(y)
}

/// `dx` = `dy` at each window's first maximum, 0 elsewhere.
pub fn max_pool2d_backward<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    dy: &[T],
    size: usize,
) -> Result<Vec<T>, Error> {
    let ys = pool2d_output_shape("cpu::max_pool2d_backward", &x_shape, size)?;
    check_len(&x_shape, x)?;
    check_len(&ys, dy)?;
    let mut dx = vec![T::default(); x.len()];
    for n in 0..ys[0] {
        for c in 0..ys[1] {
            for oh in 0..ys[2] {
                for ow in 0..ys[3] {
                    dx[arg_max(x, x_shape, size, [n, c, oh, ow])] = dy[at(ys, n, c, oh, ow)];
                }
            }
        }
    }
    Ok(dx)
}
