//! CPU references of `mul`, `mul_broadcast` and `mul_broadcast_grad`.

use super::Element;
use crate::Error;

/// `a[i] · b[i]`, rounded to `T` once.
pub fn mul<T: Element>(a: &[T], b: &[T]) -> Result<Vec<T>, Error> {
    super::check_len(&[a.len()], b)?;
    Ok(a.iter()
        .zip(b)
        .map(|(x, y)| T::from_f64(x.to_f64() * y.to_f64()))
        .collect())
}

/// `x[i] · s[i / block]`: `s` broadcast over runs of `block` elements of
/// `x` (see [`crate::shape::BroadcastGeometry`]).
pub fn mul_broadcast<T: Element>(x: &[T], s: &[T], block: usize) -> Result<Vec<T>, Error> {
    super::check_len(&[s.len(), block], x)?;
    Ok(x.iter()
        .enumerate()
        .map(|(i, v)| T::from_f64(v.to_f64() * s[i / block].to_f64()))
        .collect())
}

/// `ds[j] = Σ_{i in run j} x[i] · dy[i]` over runs of `block` elements, in
/// index order, summed in f64: the gradient of [`mul_broadcast`] with
/// respect to `s`.
pub fn mul_broadcast_grad<T: Element>(x: &[T], dy: &[T], block: usize) -> Result<Vec<T>, Error> {
    super::check_len(&[x.len()], dy)?;
    if block == 0 || !x.len().is_multiple_of(block) {
        return Err(Error::InvalidParam {
            op: "mul_broadcast_grad",
            param: "block",
            message: format!("{block} does not divide the input's {} elements", x.len()),
        });
    }
    Ok(x.chunks(block)
        .zip(dy.chunks(block))
        .map(|(xs, gs)| {
            let sum: f64 = xs
                .iter()
                .zip(gs)
                .map(|(a, g)| a.to_f64() * g.to_f64())
                .sum();
            T::from_f64(sum)
        })
        .collect())
}
