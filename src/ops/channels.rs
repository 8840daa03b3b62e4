//! `Gpu::cat_channels` and `Gpu::split_channels` (shaders/channels.wgsl):
//! torch's `cat` and `split` along the channel axis of NCHW tensors, each
//! the other's backward pass. One dispatch per part: each copies its run
//! of channels out of, or into, the whole.

use super::{check_owned, direct_workgroups};
use crate::gpu::{Bindable, Shader};
use crate::shape::check_4d;
use crate::{Error, Gpu, Tensor};

/// Mirror of WGSL `ChannelsParams` (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ChannelsUniform {
    len: u32,
    run: u32,
    stride: u32,
    offset: u32,
    grid_x: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

/// The checks of both ops: every part 4-D with the whole's N, H and W,
/// channel counts at least 1 that add up to the whole's.
fn geometry(op: &'static str, whole: [usize; 4], parts: &[[usize; 4]]) -> Result<(), Error> {
    let bad = |message: String| Error::InvalidParam {
        op,
        param: "parts",
        message,
    };
    if parts.is_empty() {
        return Err(bad("no part: torch.cat needs at least one tensor".into()));
    }
    let [n, c, h, w] = whole;
    let mut total = 0usize;
    for (i, p) in parts.iter().enumerate() {
        if (p[0], p[2], p[3]) != (n, h, w) || p[1] == 0 {
            return Err(bad(format!(
                "part {i} is {p:?}: every part needs N, H, W of {:?} and at least one channel",
                [n, c, h, w]
            )));
        }
        total += p[1];
    }
    if total != c {
        return Err(bad(format!(
            "the parts' {total} channels are not the whole's {c}"
        )));
    }
    Ok(())
}

impl Gpu {
    /// `torch.cat(parts, dim=1)`: `[N, ΣC_i, H, W]` from parts `[N, C_i,
    /// H, W]`, in order.
    pub fn cat_channels(&self, parts: &[&Tensor]) -> Result<Tensor, Error> {
        const OP: &str = "cat_channels";
        for p in parts {
            check_owned(self, OP, &[("part", p)])?;
        }
        let shapes = parts
            .iter()
            .map(|p| check_4d(OP, "part", p.shape()))
            .collect::<Result<Vec<_>, _>>()?;
        let first = *shapes.first().ok_or_else(|| Error::InvalidParam {
            op: OP,
            param: "parts",
            message: "no part: torch.cat needs at least one tensor".into(),
        })?;
        let whole = [
            first[0],
            shapes.iter().map(|s| s[1]).sum(),
            first[2],
            first[3],
        ];
        geometry(OP, whole, &shapes)?;
        self.run(OP, |rec| {
            let out = self.output_unlocked(OP, &whole)?;
            let mut c0 = 0;
            for (p, s) in parts.iter().zip(&shapes) {
                self.channels_pass(rec, OP, "place", whole, s[1], c0, &p.buffer, &out.buffer)?;
                c0 += s[1];
            }
            Ok(out)
        })
    }

    /// `torch.split(x, sizes, dim=1)`: the parts `[N, sizes[i], H, W]` of
    /// `x`, in order; the sizes must add up to `x`'s channels.
    pub fn split_channels(&self, x: &Tensor, sizes: &[usize]) -> Result<Vec<Tensor>, Error> {
        const OP: &str = "split_channels";
        check_owned(self, OP, &[("input", x)])?;
        let whole = check_4d(OP, "input", x.shape())?;
        let shapes: Vec<[usize; 4]> = sizes
            .iter()
            .map(|&c| [whole[0], c, whole[2], whole[3]])
            .collect();
        geometry(OP, whole, &shapes)?;
        self.run(OP, |rec| {
            let mut c0 = 0;
            let mut out = Vec::with_capacity(sizes.len());
            for s in &shapes {
                let part = self.output_unlocked(OP, s)?;
                self.channels_pass(rec, OP, "take", whole, s[1], c0, &x.buffer, &part.buffer)?;
                c0 += s[1];
                out.push(part);
            }
            Ok(out)
        })
    }

    /// One part's copy: `entry` over the `part_c` channels from `c0`.
    #[allow(clippy::too_many_arguments)]
    fn channels_pass(
        &self,
        rec: &mut crate::gpu::Recorder<'_>,
        op: &'static str,
        entry: &'static str,
        [n, c, h, w]: [usize; 4],
        part_c: usize,
        c0: usize,
        from: &wgpu::Buffer,
        to: &wgpu::Buffer,
    ) -> Result<(), Error> {
        let hw = h * w;
        let (shader, width) = Shader::Channels.at_width(hw);
        let len = n * part_c * hw / width;
        let grid = self.grid(op, direct_workgroups(len))?;
        let u = ChannelsUniform {
            len: len as u32,
            run: (part_c * hw / width) as u32,
            stride: (c * hw / width) as u32,
            offset: (c0 * hw / width) as u32,
            grid_x: grid.0,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        };
        let bound: [(u32, &dyn Bindable); 2] = [(1, from), (2, to)];
        rec.dispatch(shader, entry, bytemuck::bytes_of(&u), &bound, grid);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::{check_uniform_layout, fields};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(ChannelsUniform: len, run, stride, offset, grid_x);
        let size = std::mem::size_of::<ChannelsUniform>();
        for shader in [Shader::Channels, Shader::ChannelsVec4] {
            check_uniform_layout(shader, "ChannelsParams", size, &fields);
        }
    }
}
