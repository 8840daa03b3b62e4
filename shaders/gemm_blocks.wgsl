// gemm_blocks.wgsl: the `blocks` entry point shared by the three
// convolutions, written against the same GEMM view as gemm_tiled.wgsl
// (a_row / load_a, b_col / load_b, store_c, gemm_m / gemm_n / gemm_k).
//
// One invocation computes one 16x16 block of C (64 named vec4
// accumulators) over its own split of the reduction, straight from the
// tensors: no workgroup memory, no barriers. Each reduction step loads one
// tap-table entry, 16 A and 16 B values for 256 multiply-adds.
// Written for adapters whose invocations are SIMD lanes of a CPU
// (lavapipe): there every load is a per-lane gather costing as much as
// about 16 multiply-adds, workgroup memory is no cheaper than a cached
// global load, and barriers switch coroutines, so the fewest loads per
// multiply-add wins. Measured on lavapipe (small suite, GFLOP/s): blocks of
// 4x16 ran 7.9, 8x16 11.7, 16x16 15.6 and 32x16 17.9 on S2-S5, against
// 10-11 for the tiled kernels; 16x16 is kept because 32x16 halved S1
// (9-row weight gradient, 9-deep forward). A GPU would spill 256
// accumulators, so Auto picks this variant on CPU adapters only.
// Long reductions (weight gradients: N·Ho·Wo) are spread over
// invocations by split-K, the partial sums added in split order
// afterwards, as for the other variants.
// Items (16x16 block, split, group) are numbered blocks along M fastest,
// then blocks along N, splits, groups (tiles_m, tiles_n of the uniform
// count blocks), 64 consecutive items per workgroup, so neighbouring lanes
// share a split and read the same tap-table entries.
// The reduction runs in k order per invocation: deterministic.

const BLOCK_M: u32 = 16u;
const BLOCK_N: u32 = 16u;

@compute @workgroup_size(64)
fn blocks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_at(workgroup_linear(wid) * 64u + lid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * BLOCK_M;
    let n0 = id.tile_n * BLOCK_N;
    let a0 = a_rows(g, m0 + 0u);
    let a1 = a_rows(g, m0 + 4u);
    let a2 = a_rows(g, m0 + 8u);
    let a3 = a_rows(g, m0 + 12u);
    let b0 = b_cols(g, n0 + 0u);
    let b1 = b_cols(g, n0 + 4u);
    let b2 = b_cols(g, n0 + 8u);
    let b3 = b_cols(g, n0 + 12u);
    var acc0_0 = vec4<f32>(0.0);
    var acc0_1 = vec4<f32>(0.0);
    var acc0_2 = vec4<f32>(0.0);
    var acc0_3 = vec4<f32>(0.0);
    var acc1_0 = vec4<f32>(0.0);
    var acc1_1 = vec4<f32>(0.0);
    var acc1_2 = vec4<f32>(0.0);
    var acc1_3 = vec4<f32>(0.0);
    var acc2_0 = vec4<f32>(0.0);
    var acc2_1 = vec4<f32>(0.0);
    var acc2_2 = vec4<f32>(0.0);
    var acc2_3 = vec4<f32>(0.0);
    var acc3_0 = vec4<f32>(0.0);
    var acc3_1 = vec4<f32>(0.0);
    var acc3_2 = vec4<f32>(0.0);
    var acc3_3 = vec4<f32>(0.0);
    var acc4_0 = vec4<f32>(0.0);
    var acc4_1 = vec4<f32>(0.0);
    var acc4_2 = vec4<f32>(0.0);
    var acc4_3 = vec4<f32>(0.0);
    var acc5_0 = vec4<f32>(0.0);
    var acc5_1 = vec4<f32>(0.0);
    var acc5_2 = vec4<f32>(0.0);
    var acc5_3 = vec4<f32>(0.0);
    var acc6_0 = vec4<f32>(0.0);
    var acc6_1 = vec4<f32>(0.0);
    var acc6_2 = vec4<f32>(0.0);
    var acc6_3 = vec4<f32>(0.0);
    var acc7_0 = vec4<f32>(0.0);
    var acc7_1 = vec4<f32>(0.0);
    var acc7_2 = vec4<f32>(0.0);
    var acc7_3 = vec4<f32>(0.0);
    var acc8_0 = vec4<f32>(0.0);
    var acc8_1 = vec4<f32>(0.0);
    var acc8_2 = vec4<f32>(0.0);
    var acc8_3 = vec4<f32>(0.0);
    var acc9_0 = vec4<f32>(0.0);
    var acc9_1 = vec4<f32>(0.0);
    var acc9_2 = vec4<f32>(0.0);
    var acc9_3 = vec4<f32>(0.0);
    var acc10_0 = vec4<f32>(0.0);
    var acc10_1 = vec4<f32>(0.0);
    var acc10_2 = vec4<f32>(0.0);
    var acc10_3 = vec4<f32>(0.0);
    var acc11_0 = vec4<f32>(0.0);
    var acc11_1 = vec4<f32>(0.0);
    var acc11_2 = vec4<f32>(0.0);
    var acc11_3 = vec4<f32>(0.0);
    var acc12_0 = vec4<f32>(0.0);
    var acc12_1 = vec4<f32>(0.0);
    var acc12_2 = vec4<f32>(0.0);
    var acc12_3 = vec4<f32>(0.0);
    var acc13_0 = vec4<f32>(0.0);
    var acc13_1 = vec4<f32>(0.0);
    var acc13_2 = vec4<f32>(0.0);
    var acc13_3 = vec4<f32>(0.0);
    var acc14_0 = vec4<f32>(0.0);
    var acc14_1 = vec4<f32>(0.0);
    var acc14_2 = vec4<f32>(0.0);
    var acc14_3 = vec4<f32>(0.0);
    var acc15_0 = vec4<f32>(0.0);
    var acc15_1 = vec4<f32>(0.0);
    var acc15_2 = vec4<f32>(0.0);
    var acc15_3 = vec4<f32>(0.0);
    for (var kk = id.k_begin; kk < id.k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let x0 = load_a4(a0, kk, tap);
        let x1 = load_a4(a1, kk, tap);
        let x2 = load_a4(a2, kk, tap);
        let x3 = load_a4(a3, kk, tap);
        let y0 = load_b4(b0, kk, tap);
        let y1 = load_b4(b1, kk, tap);
        let y2 = load_b4(b2, kk, tap);
        let y3 = load_b4(b3, kk, tap);
        acc0_0 = acc0_0 + x0.x * y0;
        acc0_1 = acc0_1 + x0.x * y1;
        acc0_2 = acc0_2 + x0.x * y2;
        acc0_3 = acc0_3 + x0.x * y3;
        acc1_0 = acc1_0 + x0.y * y0;
        acc1_1 = acc1_1 + x0.y * y1;
        acc1_2 = acc1_2 + x0.y * y2;
        acc1_3 = acc1_3 + x0.y * y3;
        acc2_0 = acc2_0 + x0.z * y0;
        acc2_1 = acc2_1 + x0.z * y1;
        acc2_2 = acc2_2 + x0.z * y2;
        acc2_3 = acc2_3 + x0.z * y3;
        acc3_0 = acc3_0 + x0.w * y0;
        acc3_1 = acc3_1 + x0.w * y1;
        acc3_2 = acc3_2 + x0.w * y2;
        acc3_3 = acc3_3 + x0.w * y3;
        acc4_0 = acc4_0 + x1.x * y0;
        acc4_1 = acc4_1 + x1.x * y1;
        acc4_2 = acc4_2 + x1.x * y2;
        acc4_3 = acc4_3 + x1.x * y3;
        acc5_0 = acc5_0 + x1.y * y0;
        acc5_1 = acc5_1 + x1.y * y1;
        acc5_2 = acc5_2 + x1.y * y2;
        acc5_3 = acc5_3 + x1.y * y3;
        acc6_0 = acc6_0 + x1.z * y0;
        acc6_1 = acc6_1 + x1.z * y1;
        acc6_2 = acc6_2 + x1.z * y2;
        acc6_3 = acc6_3 + x1.z * y3;
        acc7_0 = acc7_0 + x1.w * y0;
        acc7_1 = acc7_1 + x1.w * y1;
        acc7_2 = acc7_2 + x1.w * y2;
        acc7_3 = acc7_3 + x1.w * y3;
        acc8_0 = acc8_0 + x2.x * y0;
        acc8_1 = acc8_1 + x2.x * y1;
        acc8_2 = acc8_2 + x2.x * y2;
        acc8_3 = acc8_3 + x2.x * y3;
        acc9_0 = acc9_0 + x2.y * y0;
        acc9_1 = acc9_1 + x2.y * y1;
        acc9_2 = acc9_2 + x2.y * y2;
        acc9_3 = acc9_3 + x2.y * y3;
        acc10_0 = acc10_0 + x2.z * y0;
        acc10_1 = acc10_1 + x2.z * y1;
        acc10_2 = acc10_2 + x2.z * y2;
        acc10_3 = acc10_3 + x2.z * y3;
        acc11_0 = acc11_0 + x2.w * y0;
        acc11_1 = acc11_1 + x2.w * y1;
        acc11_2 = acc11_2 + x2.w * y2;
        acc11_3 = acc11_3 + x2.w * y3;
        acc12_0 = acc12_0 + x3.x * y0;
        acc12_1 = acc12_1 + x3.x * y1;
        acc12_2 = acc12_2 + x3.x * y2;
        acc12_3 = acc12_3 + x3.x * y3;
        acc13_0 = acc13_0 + x3.y * y0;
        acc13_1 = acc13_1 + x3.y * y1;
        acc13_2 = acc13_2 + x3.y * y2;
        acc13_3 = acc13_3 + x3.y * y3;
        acc14_0 = acc14_0 + x3.z * y0;
        acc14_1 = acc14_1 + x3.z * y1;
        acc14_2 = acc14_2 + x3.z * y2;
        acc14_3 = acc14_3 + x3.z * y3;
        acc15_0 = acc15_0 + x3.w * y0;
        acc15_1 = acc15_1 + x3.w * y1;
        acc15_2 = acc15_2 + x3.w * y2;
        acc15_3 = acc15_3 + x3.w * y3;
    }
    store_row(g, id.split, m0 + 0u, n0 + 0u, acc0_0);
    store_row(g, id.split, m0 + 0u, n0 + 4u, acc0_1);
    store_row(g, id.split, m0 + 0u, n0 + 8u, acc0_2);
    store_row(g, id.split, m0 + 0u, n0 + 12u, acc0_3);
    store_row(g, id.split, m0 + 1u, n0 + 0u, acc1_0);
    store_row(g, id.split, m0 + 1u, n0 + 4u, acc1_1);
    store_row(g, id.split, m0 + 1u, n0 + 8u, acc1_2);
    store_row(g, id.split, m0 + 1u, n0 + 12u, acc1_3);
    store_row(g, id.split, m0 + 2u, n0 + 0u, acc2_0);
    store_row(g, id.split, m0 + 2u, n0 + 4u, acc2_1);
    store_row(g, id.split, m0 + 2u, n0 + 8u, acc2_2);
    store_row(g, id.split, m0 + 2u, n0 + 12u, acc2_3);
    store_row(g, id.split, m0 + 3u, n0 + 0u, acc3_0);
    store_row(g, id.split, m0 + 3u, n0 + 4u, acc3_1);
    store_row(g, id.split, m0 + 3u, n0 + 8u, acc3_2);
    store_row(g, id.split, m0 + 3u, n0 + 12u, acc3_3);
    store_row(g, id.split, m0 + 4u, n0 + 0u, acc4_0);
    store_row(g, id.split, m0 + 4u, n0 + 4u, acc4_1);
    store_row(g, id.split, m0 + 4u, n0 + 8u, acc4_2);
    store_row(g, id.split, m0 + 4u, n0 + 12u, acc4_3);
    store_row(g, id.split, m0 + 5u, n0 + 0u, acc5_0);
    store_row(g, id.split, m0 + 5u, n0 + 4u, acc5_1);
    store_row(g, id.split, m0 + 5u, n0 + 8u, acc5_2);
    store_row(g, id.split, m0 + 5u, n0 + 12u, acc5_3);
    store_row(g, id.split, m0 + 6u, n0 + 0u, acc6_0);
    store_row(g, id.split, m0 + 6u, n0 + 4u, acc6_1);
    store_row(g, id.split, m0 + 6u, n0 + 8u, acc6_2);
    store_row(g, id.split, m0 + 6u, n0 + 12u, acc6_3);
    store_row(g, id.split, m0 + 7u, n0 + 0u, acc7_0);
    store_row(g, id.split, m0 + 7u, n0 + 4u, acc7_1);
    store_row(g, id.split, m0 + 7u, n0 + 8u, acc7_2);
    store_row(g, id.split, m0 + 7u, n0 + 12u, acc7_3);
    store_row(g, id.split, m0 + 8u, n0 + 0u, acc8_0);
    store_row(g, id.split, m0 + 8u, n0 + 4u, acc8_1);
    store_row(g, id.split, m0 + 8u, n0 + 8u, acc8_2);
    store_row(g, id.split, m0 + 8u, n0 + 12u, acc8_3);
    store_row(g, id.split, m0 + 9u, n0 + 0u, acc9_0);
    store_row(g, id.split, m0 + 9u, n0 + 4u, acc9_1);
    store_row(g, id.split, m0 + 9u, n0 + 8u, acc9_2);
    store_row(g, id.split, m0 + 9u, n0 + 12u, acc9_3);
    store_row(g, id.split, m0 + 10u, n0 + 0u, acc10_0);
    store_row(g, id.split, m0 + 10u, n0 + 4u, acc10_1);
    store_row(g, id.split, m0 + 10u, n0 + 8u, acc10_2);
    store_row(g, id.split, m0 + 10u, n0 + 12u, acc10_3);
    store_row(g, id.split, m0 + 11u, n0 + 0u, acc11_0);
    store_row(g, id.split, m0 + 11u, n0 + 4u, acc11_1);
    store_row(g, id.split, m0 + 11u, n0 + 8u, acc11_2);
    store_row(g, id.split, m0 + 11u, n0 + 12u, acc11_3);
    store_row(g, id.split, m0 + 12u, n0 + 0u, acc12_0);
    store_row(g, id.split, m0 + 12u, n0 + 4u, acc12_1);
    store_row(g, id.split, m0 + 12u, n0 + 8u, acc12_2);
    store_row(g, id.split, m0 + 12u, n0 + 12u, acc12_3);
    store_row(g, id.split, m0 + 13u, n0 + 0u, acc13_0);
    store_row(g, id.split, m0 + 13u, n0 + 4u, acc13_1);
    store_row(g, id.split, m0 + 13u, n0 + 8u, acc13_2);
    store_row(g, id.split, m0 + 13u, n0 + 12u, acc13_3);
    store_row(g, id.split, m0 + 14u, n0 + 0u, acc14_0);
    store_row(g, id.split, m0 + 14u, n0 + 4u, acc14_1);
    store_row(g, id.split, m0 + 14u, n0 + 8u, acc14_2);
    store_row(g, id.split, m0 + 14u, n0 + 12u, acc14_3);
    store_row(g, id.split, m0 + 15u, n0 + 0u, acc15_0);
    store_row(g, id.split, m0 + 15u, n0 + 4u, acc15_1);
    store_row(g, id.split, m0 + 15u, n0 + 8u, acc15_2);
    store_row(g, id.split, m0 + 15u, n0 + 12u, acc15_3);
}
