// gemm_rows.wgsl: the `rows` entry point shared by the three convolutions,
// written against the same GEMM view as gemm_tiled.wgsl (a_row / load_a,
// b_col / load_b, store_c, gemm_m / gemm_n / gemm_k).
//
// One invocation computes one row m of C over 16 columns n0..n0+15: 16
// accumulators in four named vec4s. A workgroup is 64 consecutive rows and
// one 16-column strip, for one group and one split of the reduction.
// Dispatch: ceil(M/64) · ceil(N/16) · splits · groups workgroups, linearised
// (tiles_m and tiles_n of the uniform count 64-row and 16-column tiles).
//
// The 16 columns are four `BCols` of gemm_tiled.wgsl, read as named
// vec4s, not an indexed array (indexed private arrays end up in local
// memory on NVIDIA).
// No workgroup memory and no barriers: the B operand's index depends only
// on the workgroup and the loop counter, so every invocation of a
// workgroup reads the same B values (a scalar load and a broadcast on CPU
// SIMD, an L1 broadcast on GPUs), and each A element loaded feeds 16 FMAs.
// Auto picks it on GPUs for narrow (< 24 columns) or shallow (reduction
// < 32) GEMMs, where a tiled kernel would idle most of its tile; on CPU
// adapters `blocks` (gemm_blocks.wgsl) does better everywhere.
// The reduction runs in k order per invocation: deterministic.

const ROWS_M: u32 = 64u;
const ROWS_N: u32 = 16u;

@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_id(wid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let split = id.split;
    let k_begin = id.k_begin;
    let k_end = id.k_end;
    let m = id.tile_m * ROWS_M + lid;
    let n0 = id.tile_n * ROWS_N;
    let arow = a_row(g, m);
    let c0 = b_cols(g, n0);
    let c1 = b_cols(g, n0 + 4u);
    let c2 = b_cols(g, n0 + 8u);
    let c3 = b_cols(g, n0 + 12u);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var kk = k_begin; kk < k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let a = load_a(arow, kk, tap);
        acc0 = acc0 + a * load_b4(c0, kk, tap);
        acc1 = acc1 + a * load_b4(c1, kk, tap);
        acc2 = acc2 + a * load_b4(c2, kk, tap);
        acc3 = acc3 + a * load_b4(c3, kk, tap);
    }
    store_row(g, split, m, n0, acc0);
    store_row(g, split, m, n0 + 4u, acc1);
    store_row(g, split, m, n0 + 8u, acc2);
    store_row(g, split, m, n0 + 12u, acc3);
}
