// conv_params.wgsl: the uniform shared by the convolution family
// (conv2d_forward, conv2d_input_grad, conv2d_weight_grad, bias_grad) and
// the workgroup index rule that reads it. Index arithmetic is in
// conv_index.wgsl, what every GEMM entry point shares in gemm_common.wgsl.
// Mirrors `ConvUniform` in src/ops/conv_uniform.rs field for field; 32 u32s,
// 128 bytes, a multiple of 16 as uniform layout requires.
//
// Shapes: x [n, c, h, w], w [k, c/groups, r, s], y [n, k, ho, wo], all
// NCHW / OIHW, f32, contiguous. `grid_x` is the x size of the dispatch: the
// host folds large grids into two dimensions to stay under
// max_compute_workgroups_per_dimension, and kernels rebuild the linear
// workgroup index with `workgroup_linear`.
struct ConvParams {
    n: u32, c: u32, h: u32, w: u32,
    k: u32, r: u32, s: u32, groups: u32,
    ho: u32, wo: u32, stride_h: u32, stride_w: u32,
    pad_h: u32, pad_w: u32, dil_h: u32, dil_w: u32,
    c_per_group: u32, k_per_group: u32, has_bias: u32, grid_x: u32,
    // Tiled GEMM bookkeeping: tiles along M and N, split-K count and length.
    tiles_m: u32, tiles_n: u32, splits: u32, split_len: u32,
    // Stride phase of the input-gradient GEMM: it covers the input
    // positions (phase_h + stride_h·i, phase_w + stride_w·j) for
    // i < rows_h, j < rows_w, through taps_len taps.
    phase_h: u32, phase_w: u32, rows_h: u32, rows_w: u32,
    taps_len: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: ConvParams;

fn workgroup_linear(wid: vec3<u32>) -> u32 {
    return wid.x + wid.y * P.grid_x;
}
