//! CPU reference of `cat` and `split` along the channel axis of NCHW.

use super::Element;
use crate::Error;

/// `torch.cat(parts, dim=1)` of parts `(data, [N, C_i, H, W])` with one N,
/// H and W: `[N, ΣC_i, H, W]`.
pub fn cat_channels<T: Element>(parts: &[(&[T], [usize; 4])]) -> Result<Vec<T>, Error> {
    let [n, _, h, w] = parts
        .first()
        .ok_or_else(|| Error::InvalidParam {
            op: "cat_channels",
            param: "parts",
            message: "no part: torch.cat needs at least one tensor".into(),
        })?
        .1;
    let mut out = Vec::new();
    for i in 0..n {
        for (data, [pn, c, ph, pw]) in parts {
            if (*pn, *ph, *pw) != (n, h, w) || data.len() != pn * c * ph * pw {
                return Err(Error::InvalidParam {
                    op: "cat_channels",
                    param: "parts",
                    message: format!(
                        "a part of [{pn}, {c}, {ph}, {pw}] with N, H, W of [{n}, _, {h}, {w}]"
                    ),
                });
            }
            out.extend_from_slice(&data[i * c * h * w..(i + 1) * c * h * w]);
        }
    }
    Ok(out)
}

/// `torch.split(x, sizes, dim=1)` of `x` `[N, C, H, W]`, `sizes` adding up
/// to C.
pub fn split_channels<T: Element>(
    x: &[T],
    [n, c, h, w]: [usize; 4],
    sizes: &[usize],
) -> Result<Vec<Vec<T>>, Error> {
    if sizes.iter().sum::<usize>() != c || sizes.contains(&0) || x.len() != n * c * h * w {
        return Err(Error::InvalidParam {
            op: "split_channels",
            param: "sizes",
            message: format!("{sizes:?} do not split {c} channels"),
        });
    }
    let hw = h * w;
    let mut c0 = 0;
    let mut out = Vec::new();
    for &size in sizes {
        let mut part = Vec::with_capacity(n * size * hw);
        for i in 0..n {
            let start = (i * c + c0) * hw;
            part.extend_from_slice(&x[start..start + size * hw]);
        }
        out.push(part);
        c0 += size;
    }
    Ok(out)
}
