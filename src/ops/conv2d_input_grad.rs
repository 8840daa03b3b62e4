//! Records the input-gradient convolution's plans: one GEMM per stride
//! phase or the direct kernel (shaders/conv2d_input_grad.wgsl), or two
//! steps, columns then col2im (shaders/conv2d_input_grad_cols.wgsl,
//! shaders/im2col.wgsl).
//! `Gpu::conv2d_input_grad` itself is in conv.rs.

use super::conv_uniform::{dispatch, slot};
use super::split::{batch_chunk, pieces, slice};
use super::{check_loop, conv2d_depthwise, direct_launch, tiled_launch};
use crate::gpu::{Bindable, Recorder, Shader};
use crate::plan::{col2im_entry, Algorithm, ConvKernel, ConvPlan, ConvProblem, GemmDims, Tile};
use crate::{Conv2dGeometry, Error};

const OP: &str = "conv2d_input_grad";

/// Records `plan` on validated whole-tensor buffers into `rec`, split over
/// the batch where `dy` or `dx` (or the two-step path's columns) exceeds
/// one binding.
pub(crate) fn record(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    dy: &wgpu::Buffer,
    w: &wgpu::Buffer,
    dx: &wgpu::Buffer,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let y_img = (geo.k * geo.ho * geo.wo * 4) as u64;
    let x_img = (geo.c * geo.h * geo.w * 4) as u64;
    // The direct and GEMM kernels loop over the whole reduction per output.
    check_loop(
        OP,
        "65 535 reduction terms per output (K/groups·R·S; the longest loop a kernel may run)",
        geo.k_per_group() * geo.r * geo.s,
    )?;
    // The two-step path's columns are scratch of R·S values per input
    // element, bound whole per piece like dy and dx.
    let cols_img = (cols_per_image(geo) * 4) as u64;
    let images: &[u64] = match plan.algorithm {
        Algorithm::TwoStepColumns => &[y_img, x_img, cols_img],
        Algorithm::OneStep
        | Algorithm::StridePhases
        | Algorithm::Winograd
        | Algorithm::Winograd4
        | Algorithm::Im2col => &[y_img, x_img],
    };
    let chunk = batch_chunk(gpu, OP, geo.n, images, usize::MAX)?;
    for (n0, count) in pieces(geo.n, chunk) {
        let piece = ConvProblem {
            geometry: Conv2dGeometry { n: count, ..*geo },
            ..*problem
        };
        let (dys, dxs) = (slice(dy, y_img, n0, count), slice(dx, x_img, n0, count));
        let kernel = plan.kernel_for(&piece);
        let kernel = (kernel, kernel.tile());
        match (plan.algorithm, kernel) {
            (Algorithm::TwoStepColumns, (kernel, Some(tile))) => {
                record_cols(rec, &piece, (kernel.name(), tile), &dys, w, &dxs)?
            }
            (Algorithm::StridePhases, (kernel, Some(tile))) => {
                record_phases(rec, &piece, (kernel, tile), &dys, w, &dxs)?
            }
            (_, (ConvKernel::Depthwise, _)) => {
                conv2d_depthwise::input_grad(rec, &piece, &dys, w, &dxs)?
            }
            // One step, or (never planned) a GEMM algorithm without a tile.
            _ => record_direct(rec, &piece, &dys, w, &dxs)?,
        }
    }
    Ok(())
}

/// Values of the two-step path's columns per image: R·S per input
/// channel and output position (shaders/conv2d_input_grad_cols.wgsl).
fn cols_per_image(geo: &Conv2dGeometry) -> usize {
    geo.c * geo.r * geo.s * geo.ho * geo.wo
}

/// One piece in two steps: a GEMM (kernel `entry`, its tile) into columns
/// of R·S values per input element, then col2im
/// (shaders/conv2d_input_grad_cols.wgsl).
fn record_cols(
    rec: &mut Recorder,
    problem: &ConvProblem,
    (entry, tile): (&'static str, Tile),
    dy: &dyn Bindable,
    w: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let shader = Shader::Conv2dInputGradCols;
    let cols = rec.scratch(geo.n * cols_per_image(geo))?;
    let dims = problem.columns_gemm();
    // The GEMM entry points bind a tap table; this view reads none.
    let no_taps = &gpu.inner.no_taps;
    let (u, grid) = tiled_launch(gpu, OP, geo, dims, tile, 1, dims.k)?;
    let buffers: [(u32, &dyn Bindable); 4] = [
        (slot::A, dy),
        (slot::B, w),
        (slot::C, &cols.buffer),
        (slot::TAPS, no_taps),
    ];
    dispatch(rec, (shader, entry), &u, &buffers, grid);
    record_col2im(rec, geo, &cols.buffer, dx)
}

/// col2im (shaders/im2col.wgsl): `dx` of the convolution `geo` from its
/// columns `cols` `[N, C·R·S, Ho, Wo]`.
pub(crate) fn record_col2im(
    rec: &mut Recorder,
    geo: &Conv2dGeometry,
    cols: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let ([sh, _], [sw, _]) = (col2im_axis(geo, 0), col2im_axis(geo, 1));
    let entry = col2im_entry(geo);
    // One invocation per cell, per row of cells 4 columns wide, or per
    // row of cells (whole rows of dx from whole rows of columns).
    let (across, src, dst) = match entry {
        "col2im_rows" => (1, slot::A4, slot::C4),
        "col2im_x4" => (geo.w / 4, slot::PASS2_IN, slot::C4),
        _ => (geo.w.div_ceil(sw), slot::PASS2_IN, slot::PASS2_OUT),
    };
    let items = geo.n * geo.c * geo.h.div_ceil(sh) * across;
    let (u, grid) = direct_launch(rec.gpu(), OP, geo, items)?;
    rec.dispatch_specialized(
        Shader::Im2col,
        entry,
        &col2im_constants(geo),
        bytemuck::bytes_of(&u),
        &[(src, cols), (dst, dx)],
        grid,
    );
    Ok(())
}

/// col2im's stride and cell side along axis `i` (0: height, 1: width) of
/// `geo`. A stride longer than the padded input's reach is clamped to just
/// past it: an input then reaches an output only through a tap at offset
/// 0 either way, and every value stays below 2^31 (the geometry keeps the
/// padded input and the dilated kernel within 2^30). A cell is stride
/// inputs, or the side where the stride is longer.
fn col2im_axis(geo: &Conv2dGeometry, i: usize) -> [usize; 2] {
    let p = &geo.params;
    let (extent, taps) = [(geo.h, geo.r), (geo.w, geo.s)][i];
    let (pad, dil) = (p.padding[i] as usize, p.dilation[i] as usize);
    let reach = extent + pad + (taps - 1) * dil + 1;
    let stride = (p.stride[i] as usize).min(reach);
    [stride, stride.min(extent)]
}

/// The pipeline constants of col2im's pipeline for `geo`: its kernel size,
/// stride and cell ([`col2im_axis`]), padding and dilation, so that the
/// taps that reach no output of a cell drop out when the pipeline is
/// built, and for `col2im_rows` the rows' widths in vec4s (one pipeline
/// per distinct set).
pub(crate) fn col2im_constants(geo: &Conv2dGeometry) -> [(&'static str, u32); 12] {
    let p = &geo.params;
    let [stride_h, cell_h] = col2im_axis(geo, 0).map(|v| v as u32);
    let [stride_w, cell_w] = col2im_axis(geo, 1).map(|v| v as u32);
    let quads = match col2im_entry(geo) {
        "col2im_rows" => [geo.w / 4, geo.wo / 4].map(|v| v as u32),
        _ => [1, 1],
    };
    [
        ("COL2IM_R", geo.r as u32),
        ("COL2IM_S", geo.s as u32),
        ("COL2IM_STRIDE_H", stride_h),
        ("COL2IM_STRIDE_W", stride_w),
        ("COL2IM_PAD_H", p.padding[0]),
        ("COL2IM_PAD_W", p.padding[1]),
        ("COL2IM_DIL_H", p.dilation[0]),
        ("COL2IM_DIL_W", p.dilation[1]),
        ("COL2IM_CELL_H", cell_h),
        ("COL2IM_CELL_W", cell_w),
        // col2im_rows' rows of dx and of the columns in vec4s; the
        // defaults for the other entries, which do not read them.
        ("IM2COL_QUADS", quads[0]),
        ("IM2COL_OUT_QUADS", quads[1]),
    ]
}

/// One piece as one GEMM per stride phase (see conv2d_input_grad.wgsl)
/// with the GEMM kernel `kernel` and its tile.
fn record_phases(
    rec: &mut Recorder,
    problem: &ConvProblem,
    (kernel, tile): (ConvKernel, Tile),
    dy: &dyn Bindable,
    w: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let (sh, sw) = (geo.params.stride[0] as usize, geo.params.stride[1] as usize);
    for a in 0..sh.min(geo.h) {
        for b in 0..sw.min(geo.w) {
            let rows = [(geo.h - a).div_ceil(sh), (geo.w - b).div_ceil(sw)];
            let (taps, taps_len) = gpu.taps_phase(problem, [a, b])?;
            let phase_dims = GemmDims {
                m: geo.n * rows[0] * rows[1],
                n: geo.c_per_group(),
                k: taps_len,
            };
            let (mut u, grid) = tiled_launch(gpu, OP, geo, phase_dims, tile, 1, taps_len)?;
            u.phase_h = a as u32;
            u.phase_w = b as u32;
            u.rows_h = rows[0] as u32;
            u.rows_w = rows[1] as u32;
            u.taps_len = taps_len as u32;
            let buffers: [(u32, &dyn Bindable); 4] = [
                (slot::A, dy),
                (slot::B, w),
                (slot::C, dx),
                (slot::TAPS, &taps),
            ];
            let entry = (Shader::Conv2dInputGrad, kernel.name());
            dispatch(rec, entry, &u, &slot::for_kernel(kernel, &buffers), grid);
        }
    }
    Ok(())
}

/// One piece with the direct kernel: one invocation per position of the
/// phase-ordered, padded grid (see the direct entry in
/// conv2d_input_grad.wgsl).
fn record_direct(
    rec: &mut Recorder,
    problem: &ConvProblem,
    dy: &dyn Bindable,
    w: &dyn Bindable,
    dx: &dyn Bindable,
) -> Result<(), Error> {
    let gpu = rec.gpu();
    let geo = &problem.geometry;
    let (sh, sw) = (geo.params.stride[0] as usize, geo.params.stride[1] as usize);
    let padded =
        geo.n * geo.c * sh.min(geo.h) * sw.min(geo.w) * geo.h.div_ceil(sh) * geo.w.div_ceil(sw);
    let (u, grid) = direct_launch(gpu, OP, geo, padded)?;
    let buffers: [(u32, &dyn Bindable); 3] = [(slot::A, dy), (slot::B, w), (slot::C, dx)];
    dispatch(rec, (Shader::Conv2dInputGrad, "direct"), &u, &buffers, grid);
    Ok(())
}
