// conv_params.wgsl: the uniform shared by the convolution family
// (conv2d_forward, conv2d_input_grad, conv2d_weight_grad, bias_grad).
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

// Which output tile, reduction split and group a GEMM-variant workgroup
// owns, decoded from its linear index (tiles_m fastest, then tiles_n,
// splits, groups), with its reduction range [k_begin, k_end).
struct GemmTileId { valid: bool, tile_m: u32, tile_n: u32, split: u32, g: u32, k_begin: u32, k_end: u32 }

fn gemm_tile_id(wid: vec3<u32>, reduction: u32) -> GemmTileId {
    return gemm_tile_at(workgroup_linear(wid), reduction);
}

// The same decode for item `linear` (a workgroup's tile, or one
// invocation's block in gemm_blocks.wgsl).
fn gemm_tile_at(linear: u32, reduction: u32) -> GemmTileId {
    let valid = linear < P.tiles_m * P.tiles_n * P.splits * P.groups;
    let tile_m = linear % P.tiles_m;
    var rest = linear / P.tiles_m;
    let tile_n = rest % P.tiles_n;
    rest = rest / P.tiles_n;
    let split = rest % P.splits;
    let k_begin = split * P.split_len;
    return GemmTileId(valid, tile_m, tile_n, split, rest / P.splits, k_begin, min(k_begin + P.split_len, reduction));
}


// (v / d, v % d). Integer division is scalarised on CPU adapters (AVX2 has
// no vector divide: one division per lane, tens of cycles each), and
// strides are almost always powers of two, so those take a shift and a
// mask. `d` is a uniform, so every lane takes the same branch.
fn div_mod(v: u32, d: u32) -> vec2<u32> {
    if ((d & (d - 1u)) == 0u) {
        return vec2<u32>(v >> countTrailingZeros(d), v & (d - 1u));
    }
    return vec2<u32>(v / d, v % d);
}

// For the input gradients (conv2d_input_grad.wgsl, conv2d_input_grad_cols.wgsl):
// the output coordinate that tap `t` (r·dh or s·dw) of padded input coordinate
// `ip` came from: (o, 1) with o = (ip − t) / stride when that is a whole
// output position below `extent`, else (0, 0).
fn tap_source(ip: u32, t: u32, stride: u32, extent: u32) -> vec2<u32> {
    if (ip < t) {
        return vec2<u32>(0u, 0u);
    }
    let q = div_mod(ip - t, stride);
    if (q.y != 0u || q.x >= extent) {
        return vec2<u32>(0u, 0u);
    }
    return vec2<u32>(q.x, 1u);
}
