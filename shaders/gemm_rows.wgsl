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
// The 16 columns are 16 named values, not an indexed array (indexed
// private arrays end up in local memory on NVIDIA).
// No workgroup memory and no barriers: the B operand's index depends only
// on the workgroup and the loop counter, so every invocation of a
// workgroup reads the same B values (a scalar load and a broadcast on CPU
// SIMD, an L1 broadcast on GPUs), and each A element loaded feeds 16 FMAs.
// Written for adapters whose invocations are SIMD lanes of a CPU; on
// lavapipe it measured 2.4-2.8 GFLOP/s against gemm_tiled's 3.3-3.5 (small
// suite), so Auto does not pick it yet. It stays as a forced variant, held
// to the reference by the same tests, for adapters where it wins.
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
    let c0 = b_col(g, n0 + 0u);
    let c1 = b_col(g, n0 + 1u);
    let c2 = b_col(g, n0 + 2u);
    let c3 = b_col(g, n0 + 3u);
    let c4 = b_col(g, n0 + 4u);
    let c5 = b_col(g, n0 + 5u);
    let c6 = b_col(g, n0 + 6u);
    let c7 = b_col(g, n0 + 7u);
    let c8 = b_col(g, n0 + 8u);
    let c9 = b_col(g, n0 + 9u);
    let c10 = b_col(g, n0 + 10u);
    let c11 = b_col(g, n0 + 11u);
    let c12 = b_col(g, n0 + 12u);
    let c13 = b_col(g, n0 + 13u);
    let c14 = b_col(g, n0 + 14u);
    let c15 = b_col(g, n0 + 15u);
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var kk = k_begin; kk < k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let a = load_a(arow, kk, tap);
        acc0 = acc0 + a * vec4<f32>(load_b(c0, kk, tap), load_b(c1, kk, tap), load_b(c2, kk, tap), load_b(c3, kk, tap));
        acc1 = acc1 + a * vec4<f32>(load_b(c4, kk, tap), load_b(c5, kk, tap), load_b(c6, kk, tap), load_b(c7, kk, tap));
        acc2 = acc2 + a * vec4<f32>(load_b(c8, kk, tap), load_b(c9, kk, tap), load_b(c10, kk, tap), load_b(c11, kk, tap));
        acc3 = acc3 + a * vec4<f32>(load_b(c12, kk, tap), load_b(c13, kk, tap), load_b(c14, kk, tap), load_b(c15, kk, tap));
    }
    store_c(g, split, m, n0 + 0u, acc0.x);
    store_c(g, split, m, n0 + 1u, acc0.y);
    store_c(g, split, m, n0 + 2u, acc0.z);
    store_c(g, split, m, n0 + 3u, acc0.w);
    store_c(g, split, m, n0 + 4u, acc1.x);
    store_c(g, split, m, n0 + 5u, acc1.y);
    store_c(g, split, m, n0 + 6u, acc1.z);
    store_c(g, split, m, n0 + 7u, acc1.w);
    store_c(g, split, m, n0 + 8u, acc2.x);
    store_c(g, split, m, n0 + 9u, acc2.y);
    store_c(g, split, m, n0 + 10u, acc2.z);
    store_c(g, split, m, n0 + 11u, acc2.w);
    store_c(g, split, m, n0 + 12u, acc3.x);
    store_c(g, split, m, n0 + 13u, acc3.y);
    store_c(g, split, m, n0 + 14u, acc3.z);
    store_c(g, split, m, n0 + 15u, acc3.w);
}
