//! CPU reference of the input gradient.

use super::{at, check_len, input_coord, Element};
use crate::{Conv2dGeometry, Conv2dParams, Error};

/// `dx = ∂L/∂x` for `y = conv2d(x, w)` and `dy = ∂L/∂y`, written as the
/// scatter of the forward loop: every (output, tap) pair adds
/// `dy[n,k,oh,ow] · w[k,c,r,s]` to the input element it read. Summed in f64.
/// `dy` is `[N,K,Ho,Wo]`, `w` is `[K,C/g,R,S]`; returns `dx` as `x_shape`.
pub fn conv2d_input_grad<T: Element>(
    dy: &[T],
    w: &[T],
    w_shape: [usize; 4],
    x_shape: [usize; 4],
    p: &Conv2dParams,
) -> Result<Vec<T>, Error> {
    let g = Conv2dGeometry::new("cpu::conv2d_input_grad", &x_shape, &w_shape, p)?;
    let ys = g.y_shape();
    check_len(&ys, dy)?;
    check_len(&w_shape, w)?;
    let (cg, kg) = (g.c_per_group(), g.k_per_group());
    let mut dx = vec![0f64; x_shape.iter().product()];
    for n in 0..g.n {
        for k in 0..g.k {
            let grp = k / kg;
            for oh in 0..g.ho {
                for ow in 0..g.wo {
                    let d = dy[at(ys, n, k, oh, ow)].to_f64();
                    for c in 0..cg {
                        for r in 0..g.r {
                            let Some(ih) =
                                input_coord(oh, p.stride[0], p.padding[0], r, p.dilation[0], g.h)
                            else {
                                continue;
                            };
                            for s in 0..g.s {
                                let Some(iw) = input_coord(
                                    ow,
                                    p.stride[1],
                                    p.padding[1],
                                    s,
                                    p.dilation[1],
                                    g.w,
                                ) else {
                                    continue;
                                };
                                dx[at(x_shape, n, grp * cg + c, ih, iw)] +=
                                    d * w[at(w_shape, k, c, r, s)].to_f64();
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(dx.into_iter().map(T::from_f64).collect())
}
