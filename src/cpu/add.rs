//! CPU reference of `add_assign`.

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
