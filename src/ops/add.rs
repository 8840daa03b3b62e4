//! `Gpu::add_assign`: `dst += src` (shaders/add.wgsl), used to accumulate
//! gradients.

use super::elementwise::dispatch_split;
use super::{check_owned, check_shape};
use crate::gpu::{Kernel, Recorder};
use crate::{Error, Gpu, Tensor};

const OP: &str = "add_assign";

impl Gpu {
    /// `dst[i] += src[i]` in place. Both must have the same shape. Every
    /// handle sharing `dst`'s buffer (clones) sees the new values.
    pub fn add_assign(&self, dst: &mut Tensor, src: &Tensor) -> Result<(), Error> {
        check_owned(self, OP, &[("dst", dst), ("src", src)])?;
        check_shape(OP, "src", src, dst.shape())?;
        let _serial = self.serialize();
        let mut rec = Recorder::new(self, OP)?;
        dispatch_split(
            &mut rec,
            self,
            OP,
            (Kernel::Add, "add_assign"),
            dst.len(),
            &[(1, &dst.buffer), (2, &src.buffer)],
        )?;
        rec.submit()
    }
}

/// Records `dst[..len] += src[..len]` into `rec` (the in-order sum of
/// split reductions).
pub(crate) fn add_into(
    gpu: &Gpu,
    rec: &mut Recorder,
    op: &'static str,
    dst: &wgpu::Buffer,
    src: &wgpu::Buffer,
    len: usize,
) -> Result<(), Error> {
    dispatch_split(
        rec,
        gpu,
        op,
        (Kernel::Add, "add_assign"),
        len,
        &[(1, dst), (2, src)],
    )
}
