//! The uniform and launch rule shared by the element-wise kernels
//! (shaders/elementwise.wgsl): activation, add, mse_loss and
//! softmax_cross_entropy.

use super::direct_workgroups;
use super::split::{element_chunk, pieces, slice};
use crate::gpu::{Bindable, Recorder, Shader, Slice};
use crate::Error;

/// Mirror of WGSL `ElementwiseParams` (16 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct ElementwiseUniform {
    len: u32,
    cols: u32,
    grid_x: u32,
    extra: u32,
}

/// Records `kernel`'s `entry` over `items` work items, one invocation each
/// in workgroups of 64. `cols` is the kernel's second extent (or 0).
/// Work-item counts fit in u32: every tensor fits one storage binding.
pub(crate) fn dispatch_items(
    rec: &mut Recorder<'_>,
    op: &'static str,
    kernel: (Shader, &'static str),
    items: usize,
    cols: usize,
    buffers: &[(u32, &dyn Bindable)],
) -> Result<(), Error> {
    dispatch_items_extra(rec, op, kernel, items, [cols, 0], buffers)
}

/// [`dispatch_items`] with the uniform's `extra` too (a third extent).
pub(crate) fn dispatch_items_extra(
    rec: &mut Recorder<'_>,
    op: &'static str,
    (kernel, entry): (Shader, &'static str),
    items: usize,
    [cols, extra]: [usize; 2],
    buffers: &[(u32, &dyn Bindable)],
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let grid = gpu.grid(op, direct_workgroups(items))?;
    let u = ElementwiseUniform {
        len: items as u32,
        cols: cols as u32,
        grid_x: grid.0,
        extra: extra as u32,
    };
    rec.dispatch(kernel, entry, bytemuck::bytes_of(&u), buffers, grid);
    Ok(())
}

/// [`dispatch_items`] for kernels whose every binding holds `len` values,
/// element `i` of each read or written by item `i`: split into pieces that
/// fit one binding each when `len` values do not, and at width 4 (the
/// kernel's vec4 module, a quarter of the items) where `len` is a
/// multiple of 4, which every piece then is too (pieces are multiples of
/// 64 elements).
pub(crate) fn dispatch_split(
    rec: &mut Recorder<'_>,
    op: &'static str,
    kernel: (Shader, &'static str),
    len: usize,
    buffers: &[(u32, &wgpu::Buffer)],
) -> Result<(), Error> {
    dispatch_split_with(rec, op, kernel, len, 0, buffers)
}

/// [`dispatch_split`] with the uniform's `cols` set to `cols` (a kernel's
/// parameter, such as an activation's slope as f32 bits).
pub(crate) fn dispatch_split_with(
    rec: &mut Recorder<'_>,
    op: &'static str,
    (kernel, entry): (Shader, &'static str),
    len: usize,
    cols: u32,
    buffers: &[(u32, &wgpu::Buffer)],
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let (kernel, width) = kernel.at_width(len);
    for (first, count) in pieces(len, element_chunk(gpu, len)) {
        let slices: Vec<(u32, Slice)> = buffers
            .iter()
            .map(|&(binding, b)| (binding, slice(b, 4, first, count)))
            .collect();
        let bound: Vec<(u32, &dyn Bindable)> = slices
            .iter()
            .map(|(binding, s)| (*binding, s as &dyn Bindable))
            .collect();
        dispatch_items(
            rec,
            op,
            (kernel, entry),
            count / width,
            cols as usize,
            &bound,
        )?;
    }
    Ok(())
}

/// Records `kernel`'s `entry` as a single workgroup (the fixed-order
/// reductions of the loss kernels).
pub(crate) fn dispatch_single(
    rec: &mut Recorder<'_>,
    kernel: (Shader, &'static str),
    items: usize,
    cols: usize,
    buffers: &[(u32, &dyn Bindable)],
) {
    dispatch_single_extra(rec, kernel, items, [cols, 0], buffers)
}

/// [`dispatch_single`] with the uniform's `extra` too.
pub(crate) fn dispatch_single_extra(
    rec: &mut Recorder<'_>,
    (kernel, entry): (Shader, &'static str),
    items: usize,
    [cols, extra]: [usize; 2],
    buffers: &[(u32, &dyn Bindable)],
) {
    let u = ElementwiseUniform {
        len: items as u32,
        cols: cols as u32,
        grid_x: 1,
        extra: extra as u32,
    };
    rec.dispatch(kernel, entry, bytemuck::bytes_of(&u), buffers, (1, 1));
}

#[cfg(test)]
mod tests {
    use super::ElementwiseUniform;
    use crate::gpu::{check_uniform_layout, fields, Shader};

    #[test]
    fn uniform_layout_matches_wgsl() {
        let fields = fields!(ElementwiseUniform: len, cols, grid_x, extra);
        let size = std::mem::size_of::<ElementwiseUniform>();
        for shader in [
            Shader::Activation,
            Shader::ActivationVec4,
            Shader::Add,
            Shader::AddVec4,
            Shader::Copy,
            Shader::CopyVec4,
            Shader::Mul,
            Shader::MulVec4,
            Shader::MseLoss,
            Shader::SoftmaxCrossEntropy,
        ] {
            check_uniform_layout(shader, "ElementwiseParams", size, &fields);
        }
    }
}
