//! The CPU reference: every GPU op again as plain nested loops over named
//! indices with f64 sums. Naive on purpose: this is the definition of
//! correct that the GPU kernels are held to, so it shares nothing with the
//! GPU path except the geometry rules in [`crate::shape`].
//!
//! The functions are generic over [`Element`] (f32 and f64): f32 to compare
//! with the GPU, f64 for the finite-difference checks of the reference
//! itself.

mod activation;
mod adam_step;
mod adaptive_avg_pool2d;
mod adaptive_max_pool2d;
mod add;
mod avg_pool2d;
mod batch_norm2d;
mod bias_grad;
mod channels;
mod conv2d_forward;
mod conv2d_input_grad;
mod conv2d_weight_grad;
mod copy;
mod dropout;
mod linear;
mod max_pool2d;
mod mse_loss;
mod mul;
mod nll_loss;
mod norm;
mod pointwise_loss;
mod sgd_step;
mod softmax;
mod softmax_cross_entropy;
mod upsample2d;

pub use activation::{activate, activate_backward, relu, relu_backward, sigmoid, sigmoid_backward};
pub use adam_step::{adam_step, CpuAdamState};
pub use adaptive_avg_pool2d::{adaptive_avg_pool2d, adaptive_avg_pool2d_backward};
pub use adaptive_max_pool2d::{adaptive_max_pool2d, adaptive_max_pool2d_backward};
pub use add::{add, add_assign, add_channel_bias};
pub use avg_pool2d::{
    avg_pool2d, avg_pool2d_backward, global_avg_pool2d, global_avg_pool2d_backward,
};
pub use batch_norm2d::{
    batch_norm2d, batch_norm2d_backward, batch_norm2d_relu_max_pool2d,
    batch_norm2d_relu_max_pool2d_backward,
};
pub use bias_grad::bias_grad;
pub use channels::{cat_channels, split_channels};
pub use conv2d_forward::conv2d;
pub use conv2d_input_grad::conv2d_input_grad;
pub use conv2d_weight_grad::conv2d_weight_grad;
pub use copy::copy;
pub use dropout::{dropout, dropout_backward};
pub use linear::{linear, linear_bias_grad, linear_input_grad, linear_weight_grad};
pub use max_pool2d::{max_pool2d, max_pool2d_backward};
pub use mse_loss::{mse_loss, mse_loss_backward};
pub use mul::{mul, mul_broadcast, mul_broadcast_grad};
pub use nll_loss::nll_loss;
pub use norm::{norm, norm_backward};
pub use pointwise_loss::pointwise_loss;
pub use sgd_step::{sgd_step, CpuSgdState};
pub use softmax::{softmax, softmax_backward};
pub use softmax_cross_entropy::{softmax_cross_entropy, softmax_cross_entropy_backward};
pub use upsample2d::{upsample2d, upsample2d_backward};

use crate::Error;

/// A float type the reference runs on; sums are always taken in f64.
pub trait Element: Copy + Default + PartialEq + std::fmt::Debug + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Element for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Element for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// `Err(DataLength)` unless `data` holds exactly the elements of `shape`.
pub(crate) fn check_len<T>(shape: &[usize], data: &[T]) -> Result<(), Error> {
    let expected = shape.iter().product();
    if data.len() == expected {
        Ok(())
    } else {
        Err(Error::DataLength {
            shape: shape.to_vec(),
            expected,
            got: data.len(),
        })
    }
}

/// Row-major offset of `[a, b, c, d]` in an array of shape `dims`.
#[inline]
pub(crate) fn at(dims: [usize; 4], a: usize, b: usize, c: usize, d: usize) -> usize {
    ((a * dims[1] + b) * dims[2] + c) * dims[3] + d
}

/// Input coordinate `out·stride − pad + tap·dilation`, or None in the padding.
#[inline]
pub(crate) fn input_coord(
    out: usize,
    stride: u32,
    pad: u32,
    tap: usize,
    dil: u32,
    extent: usize,
) -> Option<usize> {
    let padded = out * stride as usize + tap * dil as usize;
    let i = padded.checked_sub(pad as usize)?;
    (i < extent).then_some(i)
}
