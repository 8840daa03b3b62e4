//! `Gpu::max_pool2d` and its backward pass (shaders/max_pool2d.wgsl).

use super::{check_owned, check_shape, direct_workgroups};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::shape::pool2d_output_shape;
use crate::{Error, Gpu, Tensor};

/// Mirror of WGSL `PoolParams` (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct MaxPoolUniform {
    planes: u32,
    h: u32,
    w: u32,
    size: u32,
    ho: u32,
    wo: u32,
    grid_x: u32,
    _pad: u32,
}

impl Gpu {
    /// Max pooling of `x` `[N, C, H, W]` over non-overlapping `size`×`size`
    /// windows (stride `size`, no padding; trailing rows and columns that
    /// do not fill a window are dropped, like torch's
    /// `max_pool2d(x, size)`). Returns `[N, C, H / size, W / size]`.
    pub fn max_pool2d(&self, x: &Tensor, size: usize) -> Result<Tensor, Error> {
        const OP: &str = "max_pool2d";
        check_owned(self, OP, &[("input", x)])?;
        let y_shape = pool2d_output_shape(OP, x.shape(), size)?;
        self.run(OP, |rec| {
            let y = self.output_unlocked(OP, &y_shape)?;
            record_pool(rec, OP, "forward", x, None, &y, size)?;
            Ok(y)
        })
    }

    /// Backward pass of [`Gpu::max_pool2d`]: each window's output gradient
    /// goes to the window's first maximum in `x` (row-major; a NaN counts
    /// as the maximum, as in torch); every other input gets 0. `dy` must
    /// have the forward output's shape.
    pub fn max_pool2d_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        size: usize,
    ) -> Result<Tensor, Error> {
        const OP: &str = "max_pool2d_backward";
        check_owned(self, OP, &[("input", x), ("output gradient", dy)])?;
        let y_shape = pool2d_output_shape(OP, x.shape(), size)?;
        check_shape(OP, "output gradient", dy, &y_shape)?;
        self.run(OP, |rec| {
            let dx = self.zeros_unlocked(OP, x.shape())?;
            record_pool(rec, OP, "backward", x, Some(dy), &dx, size)?;
            Ok(dx)
        })
    }
}

/// Records the forward (`entry` = "forward") or backward pass over the
/// non-overlapping `size` windows of `x` into `out`.
fn record_pool(
    rec: &mut Recorder,
    op: &'static str,
    entry: &'static str,
    x: &Tensor,
    dy: Option<&Tensor>,
    out: &Tensor,
    size: usize,
) -> Result<(), Error> {
    let s = x.shape();
    let (planes, h, w) = (s[0] * s[1], s[2], s[3]);
    let (ho, wo) = (h / size, w / size);
    let grid = rec.gpu().grid(op, direct_workgroups(planes * ho * wo))?;
    let u = MaxPoolUniform {
        planes: planes as u32,
        h: h as u32,
        w: w as u32,
        size: size as u32,
        ho: ho as u32,
        wo: wo as u32,
        grid_x: grid.0,
        _pad: 0,
    };
    let mut buffers: Vec<(u32, &dyn Bindable)> = vec![(1, &x.buffer), (3, &out.buffer)];
    if let Some(dy) = dy {
        buffers.push((2, &dy.buffer));
    }
    rec.dispatch(
        Shader::MaxPool2d,
        entry,
        bytemuck::bytes_of(&u),
        &buffers,
        grid,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::MaxPoolUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(MaxPoolUniform: planes, h, w, size, ho, wo, grid_x, _pad);
        let size = std::mem::size_of::<MaxPoolUniform>();
        check_uniform_layout(Shader::MaxPool2d, "PoolParams", size, &fields);
    }
}
