//! `Gpu::add_assign`: `dst += src` (shaders/add.wgsl), used to accumulate
//! gradients.

use super::elementwise::dispatch_items;
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
        dispatch_items(
            &mut rec,
            self,
            OP,
            (Kernel::Add, "add_assign"),
            dst.len(),
            0,
            &[(1, &dst.buffer), (2, &src.buffer)],
        )?;
        rec.submit()
    }
}
