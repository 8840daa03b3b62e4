//! CPU reference of max pooling (kernel, stride, padding, floor mode).

use super::{check_len, Element};
use crate::shape::{Pool2dGeometry, Pool2dParams};
use crate::Error;

/// Index in `x` of the maximum of window `(n, c, oh, ow)`: the first in a
/// row-major scan of the window's input positions (padding is −∞, so it
/// never wins), where a NaN always takes over (torch's `v > best ||
/// isnan(v)`).
fn arg_max<T: Element>(
    x: &[T],
    g: &Pool2dGeometry,
    n: usize,
    c: usize,
    oh: usize,
    ow: usize,
) -> usize {
    let p = &g.params;
    let mut best: Option<(usize, f64)> = None;
    for r in 0..p.kernel[0] as usize {
        let Some(ih) = (oh * p.stride[0] as usize + r).checked_sub(p.padding[0] as usize) else {
            continue;
        };
        if ih >= g.h {
            continue;
        }
        for s in 0..p.kernel[1] as usize {
            let Some(iw) = (ow * p.stride[1] as usize + s).checked_sub(p.padding[1] as usize)
            else {
                continue;
            };
            if iw >= g.w {
                continue;
            }
            let i = ((n * g.c + c) * g.h + ih) * g.w + iw;
            let v = x[i].to_f64();
            if best.is_none_or(|(_, b)| v > b || v.is_nan()) {
                best = Some((i, v));
            }
        }
    }
    // Pool2dGeometry keeps the padding at most half the kernel, so every
    // window holds an input position.
    best.map_or(0, |(i, _)| i)
}

/// `y[n, c, oh, ow] = max over the window`; returns `y` of shape
/// `[N, C, Ho, Wo]` (see [`Pool2dGeometry::new`]).
pub fn max_pool2d<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    p: &Pool2dParams,
) -> Result<Vec<T>, Error> {
    let g = Pool2dGeometry::new("cpu::max_pool2d", &x_shape, p)?;
    check_len(&x_shape, x)?;
    let mut y = Vec::with_capacity(g.y_shape().iter().product());
    for n in 0..g.n {
        for c in 0..g.c {
            for oh in 0..g.ho {
                for ow in 0..g.wo {
                    y.push(x[arg_max(x, &g, n, c, oh, ow)]);
                }
            }
        }
    }
    Ok(y)
}

/// `dx`: each window's `dy` added at its maximum, windows in row-major
/// order; 0 where no window's maximum is.
pub fn max_pool2d_backward<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    dy: &[T],
    p: &Pool2dParams,
) -> Result<Vec<T>, Error> {
    let g = Pool2dGeometry::new("cpu::max_pool2d_backward", &x_shape, p)?;
    check_len(&x_shape, x)?;
    check_len(&g.y_shape(), dy)?;
    let mut dx = vec![0f64; x.len()];
    let mut o = 0;
    for n in 0..g.n {
        for c in 0..g.c {
            for oh in 0..g.ho {
                for ow in 0..g.wo {
                    dx[arg_max(x, &g, n, c, oh, ow)] += dy[o].to_f64();
                    o += 1;
                }
            }
        }
    }
    Ok(dx.into_iter().map(T::from_f64).collect())
}
