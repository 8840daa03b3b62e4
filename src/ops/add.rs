//! `Gpu::add_assign`: `dst += src` (shaders/add.wgsl), used to accumulate
//! gradients, and the in-order sum of a reduction recorded in batch pieces;
//! `Gpu::add`, the out-of-place sum that joins a residual block's branches.

use super::elementwise::{dispatch_items_extra, dispatch_split};
use super::split::pieces;
use super::{check_owned, check_shape};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::{Error, Gpu, Tensor};

const OP: &str = "add_assign";

impl Gpu {
    /// `dst[i] += src[i]` in place. Both must have the same shape. Every
    /// handle sharing `dst`'s buffer (clones) sees the new values.
    pub fn add_assign(&self, dst: &mut Tensor, src: &Tensor) -> Result<(), Error> {
        check_owned(self, OP, &[("dst", dst), ("src", src)])?;
        check_shape(OP, "src", src, dst.shape())?;
        self.run(OP, |rec| {
            add_into(rec, OP, &dst.buffer, &src.buffer, dst.len())
        })
    }

    /// `a + b` element-wise into a new tensor. Both must have the same shape.
    pub fn add(&self, a: &Tensor, b: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "add";
        check_owned(self, OP, &[("first operand", a), ("second operand", b)])?;
        check_shape(OP, "second operand", b, a.shape())?;
        self.run(OP, |rec| {
            let sum = self.output_unlocked(OP, a.shape())?;
            let buffers = [(1, &a.buffer), (2, &b.buffer), (3, &sum.buffer)];
            dispatch_split(rec, OP, (Shader::Add, "add"), a.len(), &buffers)?;
            Ok(sum)
        })
    }
}

impl Gpu {
    /// `x + bias` with one bias per channel, torch's `x + b.view(1, C, 1,
    /// 1)`: `x` is `[N, C, …]` (any trailing dimensions, or none), `bias`
    /// `[C]`. Both must fit one storage binding.
    pub fn add_channel_bias(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor, Error> {
        const OP: &str = "add_channel_bias";
        check_owned(self, OP, &[("input", x), ("bias", bias)])?;
        let run = channel_run(OP, x.shape(), bias.shape())?;
        let c = x.shape()[1];
        self.run(OP, |rec| {
            let out = self.output_unlocked(OP, x.shape())?;
            let (kernel, width) = Shader::Add.at_width(run);
            dispatch_items_extra(
                rec,
                OP,
                (kernel, "add_channel_bias"),
                x.len() / width,
                [run, c],
                &[(1, &x.buffer), (3, &out.buffer), (4, &bias.buffer)],
            )?;
            Ok(out)
        })
    }
}

/// The values per channel of `x` (the product of its dimensions after
/// the second), after checking that `bias` is `[C]`.
pub(crate) fn channel_run(op: &'static str, x: &[usize], bias: &[usize]) -> Result<usize, Error> {
    if x.len() < 2 || bias != [x[1]] {
        return Err(Error::InvalidParam {
            op,
            param: "bias",
            message: format!(
                "a bias of {bias:?} for an input of {x:?}: it takes [C] for [N, C, …]"
            ),
        });
    }
    Ok(x[2..].iter().product())
}

/// Records `dst[..len] += src[..len]` into `rec` (the in-order sum of
/// split reductions).
pub(crate) fn add_into(
    rec: &mut Recorder,
    op: &'static str,
    dst: &wgpu::Buffer,
    src: &wgpu::Buffer,
    len: usize,
) -> Result<(), Error> {
    dispatch_split(
        rec,
        op,
        (Shader::Add, "add_assign"),
        len,
        &[(1, dst), (2, src)],
    )
}

/// A reduction over the batch recorded piece by piece:
/// `piece(rec, first, count, dst)` records the sum over images
/// `first..first + count` into `dst`. The first piece writes `out`; every
/// later one writes a scratch buffer (made only when there are several
/// pieces) that is then added into `out`, in piece order, so the result
/// stays deterministic.
pub(crate) fn sum_pieces<'g>(
    rec: &mut Recorder<'g>,
    op: &'static str,
    n: usize,
    chunk: usize,
    out: &wgpu::Buffer,
    out_len: usize,
    mut piece: impl FnMut(&mut Recorder<'g>, usize, usize, &dyn Bindable) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut all = pieces(n, chunk);
    if let Some((first, count)) = all.next() {
        piece(rec, first, count, out)?;
    }
    let mut scratch = None;
    for (first, count) in all {
        let part = match scratch.take() {
            Some(part) => part,
            None => rec.scratch(out_len)?,
        };
        piece(rec, first, count, &part.buffer)?;
        add_into(rec, op, out, &part.buffer, out_len)?;
        scratch = Some(part);
    }
    Ok(())
}
