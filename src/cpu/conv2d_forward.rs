//! CPU reference of the forward convolution.

use super::{at, check_len, input_coord, Element};
use crate::{Conv2dGeometry, Conv2dParams, Error};

/// `y[n,k,oh,ow] = bias[k] + Σ_{c,r,s} x[n, g·C/g + c, oh·sh − ph + r·dh, ow·sw − pw + s·dw] · w[k,c,r,s]`,
/// summed in f64. `x` is `[N,C,H,W]`, `w` is `[K,C/g,R,S]`, `bias` is `[K]`;
/// returns `y` as `[N,K,Ho,Wo]` (the shape is `Conv2dGeometry::y_shape`).
pub fn conv2d<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    w: &[T],
    w_shape: [usize; 4],
    bias: Option<&[T]>,
    p: &Conv2dParams,
) -> Result<Vec<T>, Error> {
    let g = Conv2dGeometry::new("cpu::conv2d", &x_shape, &w_shape, p)?;
    check_len(&x_shape, x)?;
    check_len(&w_shape, w)?;
    if let Some(b) = bias {
        check_len(&[g.k], b)?;
    }
    let (cg, kg) = (g.c_per_group(), g.k_per_group());
    let ys = g.y_shape();
    let mut y = vec![T::default(); ys.iter().product()];
    for n in 0..g.n {
        for k in 0..g.k {
            let grp = k / kg;
            for oh in 0..g.ho {
                for ow in 0..g.wo {
                    let mut acc = bias.map_or(0.0, |b| b[k].to_f64());
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
                                acc += x[at(x_shape, n, grp * cg + c, ih, iw)].to_f64()
                                    * w[at(w_shape, k, c, r, s)].to_f64();
                            }
                        }
                    }
                    y[at(ys, n, k, oh, ow)] = T::from_f64(acc);
                }
            }
        }
    }
    Ok(y)
}
