//! `Gpu::copy`: a new tensor with the same values (shaders/copy.wgsl),
//! torch's `clone` (a [`Tensor`] clone shares its buffer instead). The
//! train benchmark's copy-bandwidth reference.

use super::check_owned;
use super::elementwise::dispatch_split;
use crate::gpu::Shader;
use crate::{Error, Gpu, Tensor};

const OP: &str = "copy";

impl Gpu {
    /// A new tensor of `x`'s shape holding `x`'s values, bit for bit.
    pub fn copy(&self, x: &Tensor) -> Result<Tensor, Error> {
        check_owned(self, OP, &[("input", x)])?;
        self.run(OP, |rec| {
            let out = self.output_unlocked(OP, x.shape())?;
            let buffers = [(1, &x.buffer), (2, &out.buffer)];
            dispatch_split(rec, OP, (Shader::Copy, "copy"), x.len(), &buffers)?;
            Ok(out)
        })
    }
}
