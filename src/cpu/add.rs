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

/// `x + bias[c]` for `x` of `shape` `[N, C, …]` and `bias` `[C]`.
pub fn add_channel_bias<T: Element>(x: &[T], shape: &[usize], bias: &[T]) -> Result<Vec<T>, Error> {
    let run = crate::ops::channel_run("add_channel_bias", shape, &[bias.len()])?;
    super::check_len(shape, x)?;
    Ok(x.iter()
        .enumerate()
        .map(|(i, &v)| T::from_f64(v.to_f64() + bias[(i / run.max(1)) % bias.len()].to_f64()))
        .collect())
}
