//! CPU references of `add_assign` and `add`.

use super::Element;
use crate::Error;

/// `dst[i] += src[i]`.
pub fn add_assign<T: Element>(dst: &mut [T], src: &[T]) -> Result<(), Error> {
    super::check_len(&[dst.len()], src)?;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = T::from_f64(d.to_f64() + s.to_f64());
    }
    Ok(())
}

/// `a[i] + b[i]`, rounded to `T` once.
pub fn add<T: Element>(a: &[T], b: &[T]) -> Result<Vec<T>, Error> {
    super::check_len(&[a.len()], b)?;
    Ok(a.iter()
        .zip(b)
        .map(|(x, y)| T::from_f64(x.to_f64() + y.to_f64()))
        .collect())
}
