//! CPU reference of torch's group, layer and instance norm and their
//! backward pass, in f64: each row of the [`NormLayout`] normalised by its
//! mean and biased variance, then the affine weight and bias.

use super::Element;
use crate::ops::{check_eps, norm_layout, NormGrads};
use crate::shape::{NormLayout, Normalization};
use crate::Error;

/// `(y, saved)` of `x` of `shape`, `saved` `[rows, 2]`: each row's mean and
/// 1/sqrt(var + eps).
pub fn norm<T: Element>(
    x: &[T],
    shape: &[usize],
    kind: Normalization,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    eps: f64,
) -> Result<(Vec<T>, Vec<T>), Error> {
    const OP: &str = "norm";
    check_eps(OP, eps as f32)?;
    let l = layout(OP, x, shape, kind, weight, bias)?;
    let mut y = vec![T::default(); x.len()];
    let mut saved = Vec::with_capacity(2 * l.rows);
    for row in 0..l.rows {
        let r = row * l.len..(row + 1) * l.len;
        let mean = x[r.clone()].iter().map(|v| v.to_f64()).sum::<f64>() / l.len as f64;
        let var = x[r.clone()]
            .iter()
            .map(|v| (v.to_f64() - mean).powi(2))
            .sum::<f64>()
            / l.len as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        for i in r {
            let p = l.param(i);
            let mut v = (x[i].to_f64() - mean) * rstd;
            if let Some(w) = weight {
                v *= w[p].to_f64();
            }
            if let Some(b) = bias {
                v += b[p].to_f64();
            }
            y[i] = T::from_f64(v);
        }
        saved.push(T::from_f64(mean));
        saved.push(T::from_f64(rstd));
    }
    Ok((y, saved))
}

/// The backward pass of [`norm`] from its `saved` statistics: `dx`, and the
/// gradients of the weight (when `weight` is given) and of the bias (when
/// `bias`).
pub fn norm_backward<T: Element>(
    x: &[T],
    dy: &[T],
    shape: &[usize],
    kind: Normalization,
    weight: Option<&[T]>,
    bias: bool,
    saved: &[T],
) -> Result<NormGrads<Vec<T>>, Error> {
    const OP: &str = "norm_backward";
    let l = layout(OP, x, shape, kind, weight, None)?;
    super::check_len(shape, dy)?;
    super::check_len(&[l.rows, 2], saved)?;
    let mut dx = vec![T::default(); x.len()];
    let mut dw = vec![0.0f64; l.count];
    let mut db = vec![0.0f64; l.count];
    for row in 0..l.rows {
        let (mean, rstd) = (saved[2 * row].to_f64(), saved[2 * row + 1].to_f64());
        let r = row * l.len..(row + 1) * l.len;
        let xhat = |i: usize| (x[i].to_f64() - mean) * rstd;
        let g = |i: usize| dy[i].to_f64() * weight.map_or(1.0, |w| w[l.param(i)].to_f64());
        let n = l.len as f64;
        let mean_g = r.clone().map(g).sum::<f64>() / n;
        let mean_gx = r.clone().map(|i| g(i) * xhat(i)).sum::<f64>() / n;
        for i in r {
            dx[i] = T::from_f64(rstd * (g(i) - mean_g - xhat(i) * mean_gx));
            dw[l.param(i)] += dy[i].to_f64() * xhat(i);
            db[l.param(i)] += dy[i].to_f64();
        }
    }
    let back = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
    Ok((dx, weight.map(|_| back(dw)), bias.then(|| back(db))))
}

fn layout<T: Element>(
    op: &'static str,
    x: &[T],
    shape: &[usize],
    kind: Normalization,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
) -> Result<NormLayout, Error> {
    // The parameters as 1-D shapes of their lengths, or layer norm's
    // normalised shape when they have its element count.
    let as_shape = |p: &[T]| match kind {
        Normalization::Layer { dims } if dims <= shape.len() => {
            let tail = &shape[shape.len() - dims..];
            if tail.iter().product::<usize>() == p.len() {
                tail.to_vec()
            } else {
                vec![p.len()]
            }
        }
        _ => vec![p.len()],
    };
    let (ws, bs) = (weight.map(as_shape), bias.map(as_shape));
    let l = norm_layout(op, shape, kind, [ws.as_deref(), bs.as_deref()])?;
    super::check_len(shape, x)?;
    Ok(l)
}
