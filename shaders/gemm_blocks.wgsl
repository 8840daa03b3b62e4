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
    let a0 = a_row(g, m0 + 0u);
    let a1 = a_row(g, m0 + 1u);
    let a2 = a_row(g, m0 + 2u);
    let a3 = a_row(g, m0 + 3u);
    let a4 = a_row(g, m0 + 4u);
    let a5 = a_row(g, m0 + 5u);
    let a6 = a_row(g, m0 + 6u);
    let a7 = a_row(g, m0 + 7u);
    let a8 = a_row(g, m0 + 8u);
    let a9 = a_row(g, m0 + 9u);
    let a10 = a_row(g, m0 + 10u);
    let a11 = a_row(g, m0 + 11u);
    let a12 = a_row(g, m0 + 12u);
    let a13 = a_row(g, m0 + 13u);
    let a14 = a_row(g, m0 + 14u);
    let a15 = a_row(g, m0 + 15u);
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
    var acc00 = vec4<f32>(0.0);
    var acc01 = vec4<f32>(0.0);
    var acc02 = vec4<f32>(0.0);
    var acc03 = vec4<f32>(0.0);
    var acc10 = vec4<f32>(0.0);
    var acc11 = vec4<f32>(0.0);
    var acc12 = vec4<f32>(0.0);
    var acc13 = vec4<f32>(0.0);
    var acc20 = vec4<f32>(0.0);
    var acc21 = vec4<f32>(0.0);
    var acc22 = vec4<f32>(0.0);
    var acc23 = vec4<f32>(0.0);
    var acc30 = vec4<f32>(0.0);
    var acc31 = vec4<f32>(0.0);
    var acc32 = vec4<f32>(0.0);
    var acc33 = vec4<f32>(0.0);
    var acc40 = vec4<f32>(0.0);
    var acc41 = vec4<f32>(0.0);
    var acc42 = vec4<f32>(0.0);
    var acc43 = vec4<f32>(0.0);
    var acc50 = vec4<f32>(0.0);
    var acc51 = vec4<f32>(0.0);
    var acc52 = vec4<f32>(0.0);
    var acc53 = vec4<f32>(0.0);
    var acc60 = vec4<f32>(0.0);
    var acc61 = vec4<f32>(0.0);
    var acc62 = vec4<f32>(0.0);
    var acc63 = vec4<f32>(0.0);
    var acc70 = vec4<f32>(0.0);
    var acc71 = vec4<f32>(0.0);
    var acc72 = vec4<f32>(0.0);
    var acc73 = vec4<f32>(0.0);
    var acc80 = vec4<f32>(0.0);
    var acc81 = vec4<f32>(0.0);
    var acc82 = vec4<f32>(0.0);
    var acc83 = vec4<f32>(0.0);
    var acc90 = vec4<f32>(0.0);
    var acc91 = vec4<f32>(0.0);
    var acc92 = vec4<f32>(0.0);
    var acc93 = vec4<f32>(0.0);
    var acc100 = vec4<f32>(0.0);
    var acc101 = vec4<f32>(0.0);
    var acc102 = vec4<f32>(0.0);
    var acc103 = vec4<f32>(0.0);
    var acc110 = vec4<f32>(0.0);
    var acc111 = vec4<f32>(0.0);
    var acc112 = vec4<f32>(0.0);
    var acc113 = vec4<f32>(0.0);
    var acc120 = vec4<f32>(0.0);
    var acc121 = vec4<f32>(0.0);
    var acc122 = vec4<f32>(0.0);
    var acc123 = vec4<f32>(0.0);
    var acc130 = vec4<f32>(0.0);
    var acc131 = vec4<f32>(0.0);
    var acc132 = vec4<f32>(0.0);
    var acc133 = vec4<f32>(0.0);
    var acc140 = vec4<f32>(0.0);
    var acc141 = vec4<f32>(0.0);
    var acc142 = vec4<f32>(0.0);
    var acc143 = vec4<f32>(0.0);
    var acc150 = vec4<f32>(0.0);
    var acc151 = vec4<f32>(0.0);
    var acc152 = vec4<f32>(0.0);
    var acc153 = vec4<f32>(0.0);
    for (var kk = id.k_begin; kk < id.k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let x0 = load_a(a0, kk, tap);
        let x1 = load_a(a1, kk, tap);
        let x2 = load_a(a2, kk, tap);
        let x3 = load_a(a3, kk, tap);
        let x4 = load_a(a4, kk, tap);
        let x5 = load_a(a5, kk, tap);
        let x6 = load_a(a6, kk, tap);
        let x7 = load_a(a7, kk, tap);
        let x8 = load_a(a8, kk, tap);
        let x9 = load_a(a9, kk, tap);
        let x10 = load_a(a10, kk, tap);
        let x11 = load_a(a11, kk, tap);
        let x12 = load_a(a12, kk, tap);
        let x13 = load_a(a13, kk, tap);
        let x14 = load_a(a14, kk, tap);
        let x15 = load_a(a15, kk, tap);
        let b0 = vec4<f32>(load_b(c0, kk, tap), load_b(c1, kk, tap), load_b(c2, kk, tap), load_b(c3, kk, tap));
        let b1 = vec4<f32>(load_b(c4, kk, tap), load_b(c5, kk, tap), load_b(c6, kk, tap), load_b(c7, kk, tap));
        let b2 = vec4<f32>(load_b(c8, kk, tap), load_b(c9, kk, tap), load_b(c10, kk, tap), load_b(c11, kk, tap));
        let b3 = vec4<f32>(load_b(c12, kk, tap), load_b(c13, kk, tap), load_b(c14, kk, tap), load_b(c15, kk, tap));
        acc00 = acc00 + x0 * b0;
        acc01 = acc01 + x0 * b1;
        acc02 = acc02 + x0 * b2;
        acc03 = acc03 + x0 * b3;
        acc10 = acc10 + x1 * b0;
        acc11 = acc11 + x1 * b1;
        acc12 = acc12 + x1 * b2;
        acc13 = acc13 + x1 * b3;
        acc20 = acc20 + x2 * b0;
        acc21 = acc21 + x2 * b1;
        acc22 = acc22 + x2 * b2;
        acc23 = acc23 + x2 * b3;
        acc30 = acc30 + x3 * b0;
        acc31 = acc31 + x3 * b1;
        acc32 = acc32 + x3 * b2;
        acc33 = acc33 + x3 * b3;
        acc40 = acc40 + x4 * b0;
        acc41 = acc41 + x4 * b1;
        acc42 = acc42 + x4 * b2;
        acc43 = acc43 + x4 * b3;
        acc50 = acc50 + x5 * b0;
        acc51 = acc51 + x5 * b1;
        acc52 = acc52 + x5 * b2;
        acc53 = acc53 + x5 * b3;
        acc60 = acc60 + x6 * b0;
        acc61 = acc61 + x6 * b1;
        acc62 = acc62 + x6 * b2;
        acc63 = acc63 + x6 * b3;
        acc70 = acc70 + x7 * b0;
        acc71 = acc71 + x7 * b1;
        acc72 = acc72 + x7 * b2;
        acc73 = acc73 + x7 * b3;
        acc80 = acc80 + x8 * b0;
        acc81 = acc81 + x8 * b1;
        acc82 = acc82 + x8 * b2;
        acc83 = acc83 + x8 * b3;
        acc90 = acc90 + x9 * b0;
        acc91 = acc91 + x9 * b1;
        acc92 = acc92 + x9 * b2;
        acc93 = acc93 + x9 * b3;
        acc100 = acc100 + x10 * b0;
        acc101 = acc101 + x10 * b1;
        acc102 = acc102 + x10 * b2;
        acc103 = acc103 + x10 * b3;
        acc110 = acc110 + x11 * b0;
        acc111 = acc111 + x11 * b1;
        acc112 = acc112 + x11 * b2;
        acc113 = acc113 + x11 * b3;
        acc120 = acc120 + x12 * b0;
        acc121 = acc121 + x12 * b1;
        acc122 = acc122 + x12 * b2;
        acc123 = acc123 + x12 * b3;
        acc130 = acc130 + x13 * b0;
        acc131 = acc131 + x13 * b1;
        acc132 = acc132 + x13 * b2;
        acc133 = acc133 + x13 * b3;
        acc140 = acc140 + x14 * b0;
        acc141 = acc141 + x14 * b1;
        acc142 = acc142 + x14 * b2;
        acc143 = acc143 + x14 * b3;
        acc150 = acc150 + x15 * b0;
        acc151 = acc151 + x15 * b1;
        acc152 = acc152 + x15 * b2;
        acc153 = acc153 + x15 * b3;
    }
    store_row(g, id.split, m0 + 0u, n0 + 0u, acc00);
    store_row(g, id.split, m0 + 0u, n0 + 4u, acc01);
    store_row(g, id.split, m0 + 0u, n0 + 8u, acc02);
    store_row(g, id.split, m0 + 0u, n0 + 12u, acc03);
    store_row(g, id.split, m0 + 1u, n0 + 0u, acc10);
    store_row(g, id.split, m0 + 1u, n0 + 4u, acc11);
    store_row(g, id.split, m0 + 1u, n0 + 8u, acc12);
    store_row(g, id.split, m0 + 1u, n0 + 12u, acc13);
    store_row(g, id.split, m0 + 2u, n0 + 0u, acc20);
    store_row(g, id.split, m0 + 2u, n0 + 4u, acc21);
    store_row(g, id.split, m0 + 2u, n0 + 8u, acc22);
    store_row(g, id.split, m0 + 2u, n0 + 12u, acc23);
    store_row(g, id.split, m0 + 3u, n0 + 0u, acc30);
    store_row(g, id.split, m0 + 3u, n0 + 4u, acc31);
    store_row(g, id.split, m0 + 3u, n0 + 8u, acc32);
    store_row(g, id.split, m0 + 3u, n0 + 12u, acc33);
    store_row(g, id.split, m0 + 4u, n0 + 0u, acc40);
    store_row(g, id.split, m0 + 4u, n0 + 4u, acc41);
    store_row(g, id.split, m0 + 4u, n0 + 8u, acc42);
    store_row(g, id.split, m0 + 4u, n0 + 12u, acc43);
    store_row(g, id.split, m0 + 5u, n0 + 0u, acc50);
    store_row(g, id.split, m0 + 5u, n0 + 4u, acc51);
    store_row(g, id.split, m0 + 5u, n0 + 8u, acc52);
    store_row(g, id.split, m0 + 5u, n0 + 12u, acc53);
    store_row(g, id.split, m0 + 6u, n0 + 0u, acc60);
    store_row(g, id.split, m0 + 6u, n0 + 4u, acc61);
    store_row(g, id.split, m0 + 6u, n0 + 8u, acc62);
    store_row(g, id.split, m0 + 6u, n0 + 12u, acc63);
    store_row(g, id.split, m0 + 7u, n0 + 0u, acc70);
    store_row(g, id.split, m0 + 7u, n0 + 4u, acc71);
    store_row(g, id.split, m0 + 7u, n0 + 8u, acc72);
    store_row(g, id.split, m0 + 7u, n0 + 12u, acc73);
    store_row(g, id.split, m0 + 8u, n0 + 0u, acc80);
    store_row(g, id.split, m0 + 8u, n0 + 4u, acc81);
    store_row(g, id.split, m0 + 8u, n0 + 8u, acc82);
    store_row(g, id.split, m0 + 8u, n0 + 12u, acc83);
    store_row(g, id.split, m0 + 9u, n0 + 0u, acc90);
    store_row(g, id.split, m0 + 9u, n0 + 4u, acc91);
    store_row(g, id.split, m0 + 9u, n0 + 8u, acc92);
    store_row(g, id.split, m0 + 9u, n0 + 12u, acc93);
    store_row(g, id.split, m0 + 10u, n0 + 0u, acc100);
    store_row(g, id.split, m0 + 10u, n0 + 4u, acc101);
    store_row(g, id.split, m0 + 10u, n0 + 8u, acc102);
    store_row(g, id.split, m0 + 10u, n0 + 12u, acc103);
    store_row(g, id.split, m0 + 11u, n0 + 0u, acc110);
    store_row(g, id.split, m0 + 11u, n0 + 4u, acc111);
    store_row(g, id.split, m0 + 11u, n0 + 8u, acc112);
    store_row(g, id.split, m0 + 11u, n0 + 12u, acc113);
    store_row(g, id.split, m0 + 12u, n0 + 0u, acc120);
    store_row(g, id.split, m0 + 12u, n0 + 4u, acc121);
    store_row(g, id.split, m0 + 12u, n0 + 8u, acc122);
    store_row(g, id.split, m0 + 12u, n0 + 12u, acc123);
    store_row(g, id.split, m0 + 13u, n0 + 0u, acc130);
    store_row(g, id.split, m0 + 13u, n0 + 4u, acc131);
    store_row(g, id.split, m0 + 13u, n0 + 8u, acc132);
    store_row(g, id.split, m0 + 13u, n0 + 12u, acc133);
    store_row(g, id.split, m0 + 14u, n0 + 0u, acc140);
    store_row(g, id.split, m0 + 14u, n0 + 4u, acc141);
    store_row(g, id.split, m0 + 14u, n0 + 8u, acc142);
    store_row(g, id.split, m0 + 14u, n0 + 12u, acc143);
    store_row(g, id.split, m0 + 15u, n0 + 0u, acc150);
    store_row(g, id.split, m0 + 15u, n0 + 4u, acc151);
    store_row(g, id.split, m0 + 15u, n0 + 8u, acc152);
    store_row(g, id.split, m0 + 15u, n0 + 12u, acc153);
}
