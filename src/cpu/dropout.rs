//! CPU reference of dropout: the same hashed mask as shaders/dropout.wgsl
//! (the mask is part of the op's definition), written out with plain u32
//! arithmetic.

use super::Element;
use crate::Error;

/// Chris Wellons' lowbias32 (wrapping u32 arithmetic, as WGSL's).
fn mix(v: u32) -> u32 {
    let mut x = v;
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// Whether element `i` survives dropout with `threshold` under `seed`.
fn keep(i: usize, seed: u64, threshold: u32) -> bool {
    let s = mix(seed as u32 ^ mix((seed >> 32) as u32));
    mix((i as u32) ^ s) >= threshold
}

/// `y_i = keep_i ? x_i / (1 − p) : 0` with keep_i from the hash of `seed`
/// and `i` (see `dropout_rule` for the threshold and scale).
pub fn dropout<T: Element>(x: &[T], p: f32, seed: u64) -> Result<Vec<T>, Error> {
    let (threshold, scale) = crate::shape::dropout_rule("cpu::dropout", p)?;
    Ok(x.iter()
        .enumerate()
        .map(|(i, &v)| {
            if keep(i, seed, threshold) {
                // The product of two f32 values is exact in f64, so for
                // T = f32 this rounds once, to the kernel's f32 product;
                // for T = f64 it keeps f64 precision.
                T::from_f64(v.to_f64() * scale as f64)
            } else {
                T::from_f64(0.0)
            }
        })
        .collect())
}

/// The backward pass: `dx = dropout(dy)` with the same `p` and `seed`.
pub fn dropout_backward<T: Element>(dy: &[T], p: f32, seed: u64) -> Result<Vec<T>, Error> {
    dropout(dy, p, seed)
}
