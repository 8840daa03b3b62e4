//! CPU reference of the weight gradient.

use super::{at, check_len, input_coord, Element};
use crate::{Conv2dGeometry, Conv2dParams, Error};

/// `dw[k,c,r,s] = Σ_{n,oh,ow} x[n, g·C/g + c, oh·sh − ph + r·dh, ow·sw − pw + s·dw] · dy[n,k,oh,ow]`:
/// the input patch under each weight times the output gradient, summed in
/// f64. `x` is `[N,C,H,W]`, `dy` is `[N,K,Ho,Wo]`; returns `dw` as `w_shape`.
pub fn conv2d_weight_grad<T: Element>(
    x: &[T],
    x_shape: [usize; 4],
    dy: &[T],
    w_shape: [usize; 4],
    p: &Conv2dParams,
) -> Result<Vec<T>, Error> {
    let g = Conv2dGeometry::new("cpu::conv2d_weight_grad", &x_shape, &w_shape, p)?;
    let ys = g.y_shape();
    check_len(&x_shape, x)?;
    check_len(&ys, dy)?;
    let (cg, kg) = (g.c_per_group(), g.k_per_group());
    let mut dw = vec![T::default(); w_shape.iter().product()];
    for k in 0..g.k {
        let grp = k / kg;
        for c in 0..cg {
            for r in 0..g.r {
                for s in 0..g.s {
                    let mut acc = 0f64;
                    for n in 0..g.n {
                        for oh in 0..g.ho {
                            let Some(ih) =
                                input_coord(oh, p.stride[0], p.padding[0], r, p.dilation[0], g.h)
                            else {
                                continue;
                            };
                            for ow in 0..g.wo {
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
                                    * dy[at(ys, n, k, oh, ow)].to_f64();
                            }
                        }
                    }
                    dw[at(w_shape, k, c, r, s)] = T::from_f64(acc);
                }
            }
        }
    }
    Ok(dw)
}
