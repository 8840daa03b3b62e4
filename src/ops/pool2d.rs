//! What the pooling ops share (shaders/pool2d_params.wgsl): the uniform,
//! the launch of a forward (one item per output) or backward (one per
//! input, gathering over the covering windows) pass, each invocation a run
//! of up to 4 items along a row, and the loop
//! budget of the backward gather. The ops are max_pool2d.rs and
//! avg_pool2d.rs.

use super::{check_loop, direct_workgroups};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::shape::Pool2dGeometry;
use crate::{Error, Tensor};

/// Mirror of WGSL `PoolParams` (48 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PoolUniform {
    planes: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    grid_x: u32,
    include_pad: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

/// `Err(LimitExceeded)` where one input's gather would loop past the loop
/// budget: `scan` loads per covering window (kh·kw for max pooling, which
/// rescans each window; 1 for the average).
pub(crate) fn check_gather(op: &'static str, g: &Pool2dGeometry, scan: usize) -> Result<(), Error> {
    let [a, b] = g.windows_per_input();
    check_loop(
        op,
        "65 535 loop iterations per invocation (covering windows x their scan in the backward pass)",
        a * b * scan,
    )
}

/// Records `entry` of `shader` over the inputs of `g` (`backward`) or its
/// outputs (`forward`, `backward_tiles`), reading `x` and/or `dy`, writing
/// `out`.
pub(crate) fn record_pool(
    rec: &mut Recorder,
    op: &'static str,
    (shader, entry): (Shader, &'static str),
    g: &Pool2dGeometry,
    inputs: (Option<&Tensor>, Option<&Tensor>),
    out: &Tensor,
) -> Result<(), Error> {
    let planes = g.n * g.c;
    // One invocation per run of RUN items along a row (pool2d_params.wgsl).
    const RUN: usize = 4;
    let items = if entry == "backward" {
        planes * g.h * g.w.div_ceil(RUN)
    } else {
        planes * g.ho * g.wo.div_ceil(RUN)
    };
    let grid = rec.gpu().grid(op, direct_workgroups(items))?;
    let p = &g.params;
    let u = PoolUniform {
        planes: planes as u32,
        h: g.h as u32,
        w: g.w as u32,
        ho: g.ho as u32,
        wo: g.wo as u32,
        kh: p.kernel[0],
        kw: p.kernel[1],
        sh: p.stride[0],
        sw: p.stride[1],
        ph: p.padding[0],
        pw: p.padding[1],
        grid_x: grid.0,
        include_pad: p.count_include_pad.into(),
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    // Entry points named `…_vec4` read x as vec4s at binding 4, and a
    // backward one writes its output as vec4s at binding 5; `…_vec2` ones
    // the same as vec2s at bindings 6 and 7 (shaders/max_pool2d.wgsl).
    let (x_slot, wide_out) = if entry.ends_with("_vec4") {
        (4, 5)
    } else if entry.ends_with("_vec2") {
        (6, 7)
    } else {
        (1, 3)
    };
    let out_slot = if inputs.1.is_some() { wide_out } else { 3 };
    let mut buffers: Vec<(u32, &dyn Bindable)> = vec![(out_slot, &out.buffer)];
    if let Some(x) = inputs.0 {
        buffers.push((x_slot, &x.buffer));
    }
    if let Some(dy) = inputs.1 {
        buffers.push((2, &dy.buffer));
    }
    rec.dispatch(shader, entry, bytemuck::bytes_of(&u), &buffers, grid);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::PoolUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(
            PoolUniform: planes, h, w, ho, wo, kh, kw, sh, sw, ph, pw, grid_x, include_pad
        );
        let size = std::mem::size_of::<PoolUniform>();
        for shader in [Shader::MaxPool2d, Shader::AvgPool2d] {
            check_uniform_layout(shader, "PoolParams", size, &fields);
        }
    }
}
