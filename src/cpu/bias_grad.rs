//! CPU reference of the bias gradient.

use super::{at, check_len, Element};
use crate::shape::check_4d;
use crate::Error;

/// `db[k] = Σ_{n,oh,ow} dy[n,k,oh,ow]` in f64, for `dy` of shape `[N,K,Ho,Wo]`.
pub fn bias_grad<T: Element>(dy: &[T], dy_shape: [usize; 4]) -> Result<Vec<T>, Error> {
    let [n, k, ho, wo] = check_4d("cpu::bias_grad", "output gradient", &dy_shape)?;
    check_len(&dy_shape, dy)?;
    Ok((0..k)
        .map(|kc| {
            let mut acc = 0f64;
            for b in 0..n {
                for oh in 0..ho {
                    for ow in 0..wo {
                        acc += dy[at(dy_shape, b, kc, oh, ow)].to_f64();
                    }
                }
            }
            T::from_f64(acc)
        })
        .collect())
}
