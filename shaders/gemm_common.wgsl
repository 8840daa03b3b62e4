// gemm_common.wgsl: what every GEMM entry point (gemm_tiled.wgsl,
// gemm_rows.wgsl, gemm_blocks.wgsl) shares, written against the GEMM view
// each op file defines (gemm_m/gemm_n/gemm_k, a_row/load_a, b_col/load_b,
// store_c; see gemm_tiled.wgsl's header): which tile, split and group an
// item owns, and the four-row / four-column loaders and stores.

// Pipeline constants (WGSL overrides) repeating what the uniform says of
// the problem's layout, set from it by the host for every pipeline of
// these modules (`ConvUniform::constants`, src/ops/conv_uniform.rs), and
// declared without defaults so that a pipeline built without them fails
// at creation. Mesa 22.3's lavapipe and llvmpipe run both sides of every
// branch under an execution mask, a uniform one too, loads and stores
// included; a branch on a pipeline constant is folded away before that.
// So the layout branches of the pointwise views and the stores test these,
// not the uniform (docs/performance.md, "Branches that run both ways").
override X_PLANE_ONE: u32; // P.h * P.w == 1
override Y_PLANE_ONE: u32; // P.ho * P.wo == 1
override SPLIT_K: u32; // P.splits > 1
override ADD_BIAS: u32; // P.has_bias != 0

// Which output tile, reduction split and group a GEMM-kernel workgroup
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

fn store_row(g: u32, split: u32, m: u32, n0: u32, v: vec4<f32>) {
    store_c(g, split, m, n0, v.x);
    store_c(g, split, m, n0 + 1u, v.y);
    store_c(g, split, m, n0 + 2u, v.z);
    store_c(g, split, m, n0 + 3u, v.w);
}

// Four consecutive A rows or B columns, and their values at one reduction
// step as a vec4.
struct ARows { r0: ARow, r1: ARow, r2: ARow, r3: ARow }
struct BCols { c0: BCol, c1: BCol, c2: BCol, c3: BCol }

fn a_rows(g: u32, m: u32) -> ARows {
    return ARows(a_row(g, m), a_row(g, m + 1u), a_row(g, m + 2u), a_row(g, m + 3u));
}

fn b_cols(g: u32, n: u32) -> BCols {
    return BCols(b_col(g, n), b_col(g, n + 1u), b_col(g, n + 2u), b_col(g, n + 3u));
}

fn load_a4(a: ARows, kk: u32, tap: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(load_a(a.r0, kk, tap), load_a(a.r1, kk, tap), load_a(a.r2, kk, tap), load_a(a.r3, kk, tap));
}

fn load_b4(b: BCols, kk: u32, tap: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(load_b(b.c0, kk, tap), load_b(b.c1, kk, tap), load_b(b.c2, kk, tap), load_b(b.c3, kk, tap));
}
