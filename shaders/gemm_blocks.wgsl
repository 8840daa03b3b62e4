// gemm_blocks.wgsl: the `blocks`, `blocks_tall` and `blocks_wide` entry
// points shared by the three convolutions, written against the same GEMM
// view as gemm_tiled.wgsl (a_row / load_a, b_col / load_b, store_c,
// gemm_m / gemm_n / gemm_k).
//
// One invocation computes one block of C over its own split of the
// reduction, straight from the tensors: no workgroup memory, no barriers.
//   blocks:      16x16 block (64 vec4 accumulators); each reduction step
//                loads one tap-table entry, 16 A and 16 B values for 256
//                multiply-adds
//   blocks_tall: 32x16 block (128 vec4 accumulators), 48 loads per 512,
//                for GEMMs of at least 128 rows and a 64-deep reduction
//                (the host's choice: on small or shallow GEMMs the taller
//                block idles rows or spends its time on setup)
//   blocks_wide: 16x32 block (128 vec4 accumulators), 48 loads per 512,
//                for weight gradients of at least 32 columns and 64
//                rows, whose 16 row loads per step are the dear ones
//                (gathers from the padded input, each with its bounds
//                tests) and its 32 column loads plain reads of dy
// Written for adapters whose invocations are SIMD lanes of a CPU
// (lavapipe): there every load is a per-lane gather costing as much as
// about 16 multiply-adds, workgroup memory is no cheaper than a cached
// global load, and barriers switch coroutines, so the fewest loads per
// multiply-add wins (block sizes measured: docs/performance.md). A GPU
// would spill these accumulators, so Auto picks these kernels on CPU
// adapters only (src/plan.rs).
// The three entry points are the same code at three block shapes. Their
// accumulators are structs of named vec4s, never an array indexed at run
// time (which the compilers keep in memory), and every GEMM kernel adds
// into them through one helper per loop shape: `fma_block16` here (a
// `Block16` per 16x16 block: `blocks`, the two of `blocks_tall`), and in
// gemm_pointwise.wgsl `fma_slab_block16`, `fma_slab_rows4` and
// `fma_slab_rows4_pair` for the kernels that step the reduction 4 at a
// time. Helpers return new values rather than take pointers to a struct's
// members, which SPIR-V's logical addressing does not pass to a function.
// `blocks_wide` stays written out: through the helpers (a `Block16` or a
// `Rows4` per side, the same operations in the same order) it measured
// 2–5 % slower on lavapipe (docs/rejected.md).
// Long reductions (weight gradients: N·Ho·Wo) are spread over
// invocations by split-K, the partial sums added in split order
// afterwards, as for the other GEMM kernels.
// Items (block, split, group) are numbered blocks along M fastest, then
// blocks along N, splits, groups (tiles_m, tiles_n of the uniform count
// blocks), 64 consecutive items per workgroup, so neighbouring lanes share
// a split and read the same tap-table entries.
// The reduction runs in k order per invocation: deterministic.

// Sixteen consecutive columns of one row: an A value times a B row,
// accumulated as four named vec4s (a struct in a function variable; the
// compilers scalarise it after inlining, as they do the named vec4s).
struct Row16 { q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32> }
struct Cols16 { c0: BCols, c1: BCols, c2: BCols, c3: BCols }

fn cols16(g: u32, n0: u32) -> Cols16 {
    return Cols16(b_cols(g, n0), b_cols(g, n0 + 4u), b_cols(g, n0 + 8u), b_cols(g, n0 + 12u));
}

fn load_b16(c: Cols16, kk: u32, tap: vec4<u32>) -> Row16 {
    return Row16(load_b4(c.c0, kk, tap), load_b4(c.c1, kk, tap), load_b4(c.c2, kk, tap), load_b4(c.c3, kk, tap));
}

fn fma16(acc: Row16, x: f32, y: Row16) -> Row16 {
    return Row16(acc.q0 + x * y.q0, acc.q1 + x * y.q1, acc.q2 + x * y.q2, acc.q3 + x * y.q3);
}

fn store16(g: u32, split: u32, m: u32, n0: u32, acc: Row16) {
    store_row(g, split, m, n0, acc.q0);
    store_row(g, split, m, n0 + 4u, acc.q1);
    store_row(g, split, m, n0 + 8u, acc.q2);
    store_row(g, split, m, n0 + 12u, acc.q3);
}

// A 16x16 block's rows, stored at the end of a kernel in one call.
struct Block16 {
    r0: Row16, r1: Row16, r2: Row16, r3: Row16, r4: Row16, r5: Row16, r6: Row16, r7: Row16,
    r8: Row16, r9: Row16, r10: Row16, r11: Row16, r12: Row16, r13: Row16, r14: Row16, r15: Row16,
}

// acc += one reduction step of a 16x16 block: row 4i + j of the block
// (its A value lane j of x_i) times the B row y.
fn fma_block16(acc: ptr<function, Block16>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, y: Row16) {
    (*acc).r0 = fma16((*acc).r0, x0.x, y);
    (*acc).r1 = fma16((*acc).r1, x0.y, y);
    (*acc).r2 = fma16((*acc).r2, x0.z, y);
    (*acc).r3 = fma16((*acc).r3, x0.w, y);
    (*acc).r4 = fma16((*acc).r4, x1.x, y);
    (*acc).r5 = fma16((*acc).r5, x1.y, y);
    (*acc).r6 = fma16((*acc).r6, x1.z, y);
    (*acc).r7 = fma16((*acc).r7, x1.w, y);
    (*acc).r8 = fma16((*acc).r8, x2.x, y);
    (*acc).r9 = fma16((*acc).r9, x2.y, y);
    (*acc).r10 = fma16((*acc).r10, x2.z, y);
    (*acc).r11 = fma16((*acc).r11, x2.w, y);
    (*acc).r12 = fma16((*acc).r12, x3.x, y);
    (*acc).r13 = fma16((*acc).r13, x3.y, y);
    (*acc).r14 = fma16((*acc).r14, x3.z, y);
    (*acc).r15 = fma16((*acc).r15, x3.w, y);
}

fn store_block16(g: u32, split: u32, m0: u32, n0: u32, b: Block16) {
    store16(g, split, m0 + 0u, n0, b.r0);
    store16(g, split, m0 + 1u, n0, b.r1);
    store16(g, split, m0 + 2u, n0, b.r2);
    store16(g, split, m0 + 3u, n0, b.r3);
    store16(g, split, m0 + 4u, n0, b.r4);
    store16(g, split, m0 + 5u, n0, b.r5);
    store16(g, split, m0 + 6u, n0, b.r6);
    store16(g, split, m0 + 7u, n0, b.r7);
    store16(g, split, m0 + 8u, n0, b.r8);
    store16(g, split, m0 + 9u, n0, b.r9);
    store16(g, split, m0 + 10u, n0, b.r10);
    store16(g, split, m0 + 11u, n0, b.r11);
    store16(g, split, m0 + 12u, n0, b.r12);
    store16(g, split, m0 + 13u, n0, b.r13);
    store16(g, split, m0 + 14u, n0, b.r14);
    store16(g, split, m0 + 15u, n0, b.r15);
}

// Four rows of a block's accumulators: one quad of A's rows. Kernels that
// load A a quad at a time between their multiply-adds keep one per quad
// (`blocks_k4`, `pointwise_large`): a `Block16` helper takes all four
// quads loaded at once, and loading them ahead measured up to 5 %
// slower there (docs/rejected.md).
struct Rows4 { r0: Row16, r1: Row16, r2: Row16, r3: Row16 }

fn store_rows4(g: u32, split: u32, m0: u32, n0: u32, r: Rows4) {
    store16(g, split, m0, n0, r.r0);
    store16(g, split, m0 + 1u, n0, r.r1);
    store16(g, split, m0 + 2u, n0, r.r2);
    store16(g, split, m0 + 3u, n0, r.r3);
}

@compute @workgroup_size(64)
fn blocks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_at(workgroup_linear(wid) * 64u + lid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * 16u;
    let n0 = id.tile_n * 16u;
    let a0 = a_rows(g, m0 + 0u);
    let a1 = a_rows(g, m0 + 4u);
    let a2 = a_rows(g, m0 + 8u);
    let a3 = a_rows(g, m0 + 12u);
    let c = cols16(g, n0);
    var acc: Block16;
    for (var kk = id.k_begin; kk < id.k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let y = load_b16(c, kk, tap);
        fma_block16(&acc, load_a4(a0, kk, tap), load_a4(a1, kk, tap), load_a4(a2, kk, tap), load_a4(a3, kk, tap), y);
    }
    store_block16(g, id.split, m0, n0, acc);
}

@compute @workgroup_size(64)
fn blocks_tall(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_at(workgroup_linear(wid) * 64u + lid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * 32u;
    let n0 = id.tile_n * 16u;
    let a0 = a_rows(g, m0 + 0u);
    let a1 = a_rows(g, m0 + 4u);
    let a2 = a_rows(g, m0 + 8u);
    let a3 = a_rows(g, m0 + 12u);
    let a4 = a_rows(g, m0 + 16u);
    let a5 = a_rows(g, m0 + 20u);
    let a6 = a_rows(g, m0 + 24u);
    let a7 = a_rows(g, m0 + 28u);
    let c = cols16(g, n0);
    // Rows 0..15 and 16..31.
    var top: Block16;
    var bottom: Block16;
    for (var kk = id.k_begin; kk < id.k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let y = load_b16(c, kk, tap);
        let x0 = load_a4(a0, kk, tap);
        let x1 = load_a4(a1, kk, tap);
        let x2 = load_a4(a2, kk, tap);
        let x3 = load_a4(a3, kk, tap);
        let x4 = load_a4(a4, kk, tap);
        let x5 = load_a4(a5, kk, tap);
        let x6 = load_a4(a6, kk, tap);
        let x7 = load_a4(a7, kk, tap);
        fma_block16(&top, x0, x1, x2, x3, y);
        fma_block16(&bottom, x4, x5, x6, x7, y);
    }
    store_block16(g, id.split, m0, n0, top);
    store_block16(g, id.split, m0 + 16u, n0, bottom);
}

@compute @workgroup_size(64)
fn blocks_wide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_at(workgroup_linear(wid) * 64u + lid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * 16u;
    let n0 = id.tile_n * 32u;
    let a0 = a_rows(g, m0 + 0u);
    let a1 = a_rows(g, m0 + 4u);
    let a2 = a_rows(g, m0 + 8u);
    let a3 = a_rows(g, m0 + 12u);
    let c = cols16(g, n0);
    let d = cols16(g, n0 + 16u);
    var r0: Row16;
    var r1: Row16;
    var r2: Row16;
    var r3: Row16;
    var r4: Row16;
    var r5: Row16;
    var r6: Row16;
    var r7: Row16;
    var r8: Row16;
    var r9: Row16;
    var r10: Row16;
    var r11: Row16;
    var r12: Row16;
    var r13: Row16;
    var r14: Row16;
    var r15: Row16;
    var s0: Row16;
    var s1: Row16;
    var s2: Row16;
    var s3: Row16;
    var s4: Row16;
    var s5: Row16;
    var s6: Row16;
    var s7: Row16;
    var s8: Row16;
    var s9: Row16;
    var s10: Row16;
    var s11: Row16;
    var s12: Row16;
    var s13: Row16;
    var s14: Row16;
    var s15: Row16;
    for (var kk = id.k_begin; kk < id.k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let y = load_b16(c, kk, tap);
        let z = load_b16(d, kk, tap);
        let x0 = load_a4(a0, kk, tap);
        let x1 = load_a4(a1, kk, tap);
        let x2 = load_a4(a2, kk, tap);
        let x3 = load_a4(a3, kk, tap);
        r0 = fma16(r0, x0.x, y);
        s0 = fma16(s0, x0.x, z);
        r1 = fma16(r1, x0.y, y);
        s1 = fma16(s1, x0.y, z);
        r2 = fma16(r2, x0.z, y);
        s2 = fma16(s2, x0.z, z);
        r3 = fma16(r3, x0.w, y);
        s3 = fma16(s3, x0.w, z);
        r4 = fma16(r4, x1.x, y);
        s4 = fma16(s4, x1.x, z);
        r5 = fma16(r5, x1.y, y);
        s5 = fma16(s5, x1.y, z);
        r6 = fma16(r6, x1.z, y);
        s6 = fma16(s6, x1.z, z);
        r7 = fma16(r7, x1.w, y);
        s7 = fma16(s7, x1.w, z);
        r8 = fma16(r8, x2.x, y);
        s8 = fma16(s8, x2.x, z);
        r9 = fma16(r9, x2.y, y);
        s9 = fma16(s9, x2.y, z);
        r10 = fma16(r10, x2.z, y);
        s10 = fma16(s10, x2.z, z);
        r11 = fma16(r11, x2.w, y);
        s11 = fma16(s11, x2.w, z);
        r12 = fma16(r12, x3.x, y);
        s12 = fma16(s12, x3.x, z);
        r13 = fma16(r13, x3.y, y);
        s13 = fma16(s13, x3.y, z);
        r14 = fma16(r14, x3.z, y);
        s14 = fma16(s14, x3.z, z);
        r15 = fma16(r15, x3.w, y);
        s15 = fma16(s15, x3.w, z);
    }
    store_block16(g, id.split, m0, n0, Block16(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15));
    store_block16(g, id.split, m0, n0 + 16u, Block16(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15));
}
