//! `Gpu::max_pool2d` and its backward pass (shaders/max_pool2d.wgsl).

use super::pool2d::{check_gather, record_pool};
use super::{check_owned, check_shape};
use crate::gpu::Shader;
use crate::shape::{Pool2dGeometry, Pool2dParams};
use crate::{Error, Gpu, Tensor};

/// 2x2 windows at stride 2 without padding, in floor mode (every window
/// whole): the pooling with entry points of its own
/// (shaders/max_pool2d.wgsl), its window loop unrolled.
fn is_2x2(p: &Pool2dParams) -> bool {
    p.kernel == [2, 2] && p.stride == [2, 2] && p.padding == [0, 0] && !p.ceil_mode
}

/// 2x2 pooling over rows of a multiple of 4 inputs: the entry points
/// that load (and, backward, store) the inputs as vec4s.
fn is_2x2_wide(p: &Pool2dParams, g: &Pool2dGeometry) -> bool {
    is_2x2(p) && g.w.is_multiple_of(4)
}

/// 2x2 pooling over rows of an even number of inputs (and not a multiple
/// of 4): the entry points that load (and store) each window's rows as
/// vec2s.
fn is_2x2_even(p: &Pool2dParams, g: &Pool2dGeometry) -> bool {
    is_2x2(p) && g.w.is_multiple_of(2)
}

fn forward_entry(p: &Pool2dParams, g: &Pool2dGeometry) -> &'static str {
    if is_2x2_wide(p, g) {
        "forward_2x2_vec4"
    } else if is_2x2_even(p, g) {
        "forward_2x2_vec2"
    } else if is_2x2(p) {
        "forward_2x2"
    } else {
        "forward"
    }
}

impl Gpu {
    /// Max pooling of `x` `[N, C, H, W]` as torch's `max_pool2d(x, kernel,
    /// stride, padding, ceil_mode=p.ceil_mode)`: padding counts as −∞,
    /// windows may overlap. Returns `[N, C, Ho, Wo]` (see [`Pool2dGeometry::new`] for
    /// the sizes and what is refused). `Pool2dParams::window(size)` is the
    /// non-overlapping `max_pool2d(x, size)`.
    pub fn max_pool2d(&self, x: &Tensor, p: &Pool2dParams) -> Result<Tensor, Error> {
        const OP: &str = "max_pool2d";
        check_owned(self, OP, &[("input", x)])?;
        let g = Pool2dGeometry::new(OP, x.shape(), p)?;
        self.run(OP, |rec| {
            let y = self.output_unlocked(OP, &g.y_shape())?;
            let kernel = (Shader::MaxPool2d, forward_entry(p, &g));
            record_pool(rec, OP, kernel, &g, (Some(x), None), &y)?;
            Ok(y)
        })
    }

    /// Backward pass of [`Gpu::max_pool2d`]: each window's output gradient
    /// goes to the window's maximum in `x` (the first in a row-major scan;
    /// a NaN counts as the maximum, as in torch), summed where windows
    /// overlap; every other input gets 0. `dy` must have the forward
    /// output's shape.
    pub fn max_pool2d_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        p: &Pool2dParams,
    ) -> Result<Tensor, Error> {
        const OP: &str = "max_pool2d_backward";
        check_owned(self, OP, &[("input", x), ("output gradient", dy)])?;
        let g = Pool2dGeometry::new(OP, x.shape(), p)?;
        check_shape(OP, "output gradient", dy, &g.y_shape())?;
        // Per window where the windows tile the input, else per input
        // (shaders/max_pool2d.wgsl).
        let entry = if g.windows_tile_input() {
            if is_2x2_wide(p, &g) {
                "backward_tiles_2x2_vec4"
            } else if is_2x2_even(p, &g) {
                "backward_tiles_2x2_vec2"
            } else if is_2x2(p) {
                "backward_tiles_2x2"
            } else {
                "backward_tiles"
            }
        } else {
            check_gather(OP, &g, (p.kernel[0] * p.kernel[1]) as usize)?;
            "backward"
        };
        self.run(OP, |rec| {
            let dx = self.output_unlocked(OP, x.shape())?;
            let kernel = (Shader::MaxPool2d, entry);
            record_pool(rec, OP, kernel, &g, (Some(x), Some(dy)), &dx)?;
            Ok(dx)
        })
    }
}
