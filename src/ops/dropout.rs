//! `Gpu::dropout` and its backward pass (shaders/dropout.wgsl): torch's
//! training-mode dropout with a mask hashed from a seed and each element's
//! index, so the backward pass and the CPU reference recompute it.

use super::split::{element_chunk, pieces, slice};
use super::{check_owned, direct_workgroups};
use crate::gpu::{Bindable, Shader};
use crate::shape::dropout_rule;
use crate::{Error, Gpu, Tensor};

/// Mirror of WGSL `DropoutParams` (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct DropoutUniform {
    len: u32,
    offset: u32,
    seed_lo: u32,
    seed_hi: u32,
    threshold: u32,
    scale: f32,
    grid_x: u32,
    _pad: u32,
}

impl Gpu {
    /// Dropout in training mode, as torch's: each element is zeroed with
    /// probability `p` and the others are scaled by `1/(1 − p)`. The mask
    /// is a hash of `seed` and the element's index: the same seed gives the
    /// same mask on every adapter and in `cpu::dropout`, and
    /// [`Gpu::dropout_backward`] with the same seed applies it to the
    /// gradient. (Eval mode is the identity: do not call it.) torch draws
    /// its mask from its own generator, so masks do not match torch's.
    /// Fails on `p` outside [0, 1].
    pub fn dropout(&self, x: &Tensor, p: f32, seed: u64) -> Result<Tensor, Error> {
        self.masked("dropout", x, p, seed)
    }

    /// The backward pass of [`Gpu::dropout`] with the same `p` and `seed`:
    /// `dx = dy · 1/(1 − p)` where the element was kept, 0 elsewhere.
    pub fn dropout_backward(&self, dy: &Tensor, p: f32, seed: u64) -> Result<Tensor, Error> {
        self.masked("dropout_backward", dy, p, seed)
    }

    fn masked(&self, op: &'static str, a: &Tensor, p: f32, seed: u64) -> Result<Tensor, Error> {
        check_owned(self, op, &[("input", a)])?;
        let (threshold, scale) = dropout_rule(op, p)?;
        let len = a.len();
        self.run(op, |rec| {
            let out = self.output_unlocked(op, a.shape())?;
            // Pieces of at most one binding each; the offset keeps each
            // element's hash index its index in the whole tensor.
            // Width 4 where every piece holds whole vectors (pieces are
            // multiples of 64 elements).
            let (shader, width) = Shader::Dropout.at_width(len);
            for (first, count) in pieces(len, element_chunk(self, len)) {
                let grid = self.grid(op, direct_workgroups(count / width))?;
                let u = DropoutUniform {
                    len: (count / width) as u32,
                    offset: first as u32,
                    seed_lo: seed as u32,
                    seed_hi: (seed >> 32) as u32,
                    threshold,
                    scale,
                    grid_x: grid.0,
                    _pad: 0,
                };
                let (i, o) = (
                    slice(&a.buffer, 4, first, count),
                    slice(&out.buffer, 4, first, count),
                );
                let bound: [(u32, &dyn Bindable); 2] = [(1, &i), (2, &o)];
                rec.dispatch(shader, "dropout", bytemuck::bytes_of(&u), &bound, grid);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::DropoutUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(DropoutUniform: len, offset, seed_lo, seed_hi, threshold, scale,
            grid_x, _pad);
        let size = std::mem::size_of::<DropoutUniform>();
        for shader in [Shader::Dropout, Shader::DropoutVec4] {
            check_uniform_layout(shader, "DropoutParams", size, &fields);
        }
    }
}
