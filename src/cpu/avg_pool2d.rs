//! CPU reference of average pooling (floor or ceil mode, with or without
//! count_include_pad) and global average pooling.

use super::{check_len, Element};
use crate::shape::{global_pool_params, Pool2dGeometry, Pool2dParams};
use crate::Error;

/// The input positions of window `(oh, ow)` along both axes.
fn window(g: &Pool2dGeometry, oh: usize, ow: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let p = g.params;
    let axis = move |o: usize, i: usize, extent: usize| {
        (0..p.kernel[i] as usize).filter_map(move |t| {
            (o * p.stride[i] as usize + t)
                .checked_sub(p.padding[i] as usize)
                .filter(|&v| v < extent)
        })
    };
    axis(oh, 0, g.h).flat_map(move |ih| axis(ow, 1, g.w).map(move |iw| (ih, iw)))
}

/// torch's divisor of window `(oh, ow)`: kh·kw in floor mode with
/// `count_include_pad`, else the window clipped to the padded input (or,
/// without `count_include_pad`, to the input).
fn area(g: &Pool2dGeometry, oh: usize, ow: usize) -> f64 {
    (g.params.window_count(0, oh, g.h) * g.params.window_count(1, ow, g.w)) as f64
}

/// `y[n, c, oh, ow] = Σ_window x / area`; shape `[N, C, Ho, Wo]`.
pub fn avg_pool2d<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    p: &Pool2dParams,
) -> Result<Vec<T>, Error> {
    let g = Pool2dGeometry::new("cpu::avg_pool2d", &x_shape, p)?;
    check_len(&x_shape, x)?;
    let mut y = Vec::with_capacity(g.y_shape().iter().product());
    for n in 0..g.n {
        for c in 0..g.c {
            let plane = &x[(n * g.c + c) * g.h * g.w..][..g.h * g.w];
            for oh in 0..g.ho {
                for ow in 0..g.wo {
                    let sum: f64 = window(&g, oh, ow)
                        .map(|(ih, iw)| plane[ih * g.w + iw].to_f64())
                        .sum();
                    y.push(T::from_f64(sum / area(&g, oh, ow)));
                }
            }
        }
    }
    Ok(y)
}

/// `dx`: every window's `dy / area` added to each of its input
/// positions; shape `x_shape`.
pub fn avg_pool2d_backward<T: Element>(
    dy: &[T],
    x_shape: [usize; 4],
    p: &Pool2dParams,
) -> Result<Vec<T>, Error> {
    let g = Pool2dGeometry::new("cpu::avg_pool2d_backward", &x_shape, p)?;
    check_len(&g.y_shape(), dy)?;
    let mut dx = vec![0f64; x_shape.iter().product()];
    let mut o = 0;
    for n in 0..g.n {
        for c in 0..g.c {
            let base = (n * g.c + c) * g.h * g.w;
            for oh in 0..g.ho {
                for ow in 0..g.wo {
                    for (ih, iw) in window(&g, oh, ow) {
                        dx[base + ih * g.w + iw] += dy[o].to_f64() / area(&g, oh, ow);
                    }
                    o += 1;
                }
            }
        }
    }
    Ok(dx.into_iter().map(T::from_f64).collect())
}

/// torch's `adaptive_avg_pool2d(x, 1)`: the mean of each plane, `[N, C, 1, 1]`.
pub fn global_avg_pool2d<T: Element>(x: &[T], x_shape: [usize; 4]) -> Result<Vec<T>, Error> {
    avg_pool2d(
        x,
        x_shape,
        &global_pool_params("cpu::global_avg_pool2d", &x_shape)?,
    )
}

/// Backward pass of [`global_avg_pool2d`]: `dy / (H·W)` everywhere.
pub fn global_avg_pool2d_backward<T: Element>(
    dy: &[T],
    x_shape: [usize; 4],
) -> Result<Vec<T>, Error> {
    let p = global_pool_params("cpu::global_avg_pool2d_backward", &x_shape)?;
    avg_pool2d_backward(dy, x_shape, &p)
}
