//! `Gpu::upsample2d` and its backward pass (shaders/upsample2d.wgsl):
//! torch's `F.interpolate` in nearest and bilinear modes, the backward
//! pass a gather over the outputs that read each input.

use super::{check_loop, check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Shader};
use crate::shape::{Upsample2dParams, UpsampleMode};
use crate::{Error, Gpu, Tensor};

/// Mirror of WGSL `UpsampleParams` (48 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct UpsampleUniform {
    len: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    mode: u32,
    scale_h: f32,
    scale_w: f32,
    grid_x: u32,
    span_h: u32,
    span_w: u32,
    _pad: u32,
}

/// How far from the centre of an input's source (in outputs) a backward
/// invocation looks along an axis: every output that reads the input lies
/// within `1/scale` of it, plus a margin of 3 for the rounding of the
/// index rules. Capped at the output's length.
pub(crate) fn backward_half(scale: f32, out: usize) -> usize {
    if scale <= 0.0 {
        return out;
    }
    ((1.0 / scale as f64).ceil() as usize + 3).min(out)
}

fn mode_code(mode: UpsampleMode) -> u32 {
    match mode {
        UpsampleMode::Nearest => 0,
        UpsampleMode::Bilinear {
            align_corners: false,
        } => 1,
        UpsampleMode::Bilinear {
            align_corners: true,
        } => 2,
    }
}

impl Gpu {
    /// torch's `F.interpolate(x, size | scale_factor, mode)` of `x`
    /// `[N, C, H, W]` ([`Upsample2dParams`]).
    pub fn upsample2d(&self, x: &Tensor, p: &Upsample2dParams) -> Result<Tensor, Error> {
        const OP: &str = "upsample2d";
        check_owned(self, OP, &[("input", x)])?;
        let (y_shape, scale) = p.geometry(OP, x.shape())?;
        self.upsample_pass(
            OP,
            "upsample2d_forward",
            x,
            x.shape(),
            &y_shape,
            scale,
            p,
            &y_shape,
        )
    }

    /// The backward pass of [`Gpu::upsample2d`] for an input of `x_shape`:
    /// `dy` has the output's shape.
    pub fn upsample2d_backward(
        &self,
        dy: &Tensor,
        x_shape: [usize; 4],
        p: &Upsample2dParams,
    ) -> Result<Tensor, Error> {
        const OP: &str = "upsample2d_backward";
        check_owned(self, OP, &[("output gradient", dy)])?;
        let (y_shape, scale) = p.geometry(OP, &x_shape)?;
        check_shape(OP, "output gradient", dy, &y_shape)?;
        self.upsample_pass(
            OP,
            "upsample2d_backward",
            dy,
            &x_shape,
            &y_shape,
            scale,
            p,
            &x_shape,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn upsample_pass(
        &self,
        op: &'static str,
        entry: &'static str,
        input: &Tensor,
        x_shape: &[usize],
        y_shape: &[usize; 4],
        scale: [f32; 2],
        p: &Upsample2dParams,
        out_shape: &[usize],
    ) -> Result<Tensor, Error> {
        let spans = [
            backward_half(scale[0], y_shape[2]),
            backward_half(scale[1], y_shape[3]),
        ];
        check_loop(
            op,
            "65 535 loop iterations per invocation (the outputs one input feeds)",
            2 * spans[0].max(spans[1]) + 1,
        )?;
        let len: usize = out_shape.iter().product();
        for v in x_shape.iter().chain(y_shape) {
            if *v > u32::MAX as usize / 2 {
                return Err(Error::InvalidParam {
                    op,
                    param: "size",
                    message: format!("{v} does not fit the kernel's 32-bit indices"),
                });
            }
        }
        self.run(op, |rec| {
            let out = self.output_unlocked(op, out_shape)?;
            let grid = self.grid(op, direct_workgroups(len))?;
            let u = UpsampleUniform {
                len: len as u32,
                h: x_shape[2] as u32,
                w: x_shape[3] as u32,
                ho: y_shape[2] as u32,
                wo: y_shape[3] as u32,
                mode: mode_code(p.mode),
                scale_h: scale[0],
                scale_w: scale[1],
                grid_x: grid.0,
                span_h: spans[0] as u32,
                span_w: spans[1] as u32,
                _pad: 0,
            };
            let bound: [(u32, &dyn Bindable); 2] = [(1, &input.buffer), (2, &out.buffer)];
            rec.dispatch(
                Shader::Upsample2d,
                entry,
                bytemuck::bytes_of(&u),
                &bound,
                grid,
            );
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::{check_uniform_layout, fields};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(UpsampleUniform: len, h, w, ho, wo, mode, scale_h, scale_w, grid_x,
            span_h, span_w);
        let size = std::mem::size_of::<UpsampleUniform>();
        check_uniform_layout(Shader::Upsample2d, "UpsampleParams", size, &fields);
    }
}
