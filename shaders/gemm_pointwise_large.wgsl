// gemm_pointwise_large.wgsl: the `pointwise_large` entry point, `pointwise`
// (gemm_pointwise.wgsl) with 32x32 blocks instead of 16x16. On a CPU
// adapter every load is a per-lane gather that costs far more than the
// multiply-adds it feeds (`examples/block_loads.rs`), and a block of R
// rows and C columns loads R + C values per R·C multiply-adds: 32x32
// makes half the loads per multiply-add of 16x16 (per four reduction
// steps 8 A quads and 8 B quads, 64 vec4 loads for 4 096 multiply-adds).
// Its 1 024 accumulators per invocation live on the invocation's stack,
// which costs less than the loads saved. The host plans it for pointwise
// GEMMs of at least 32 rows and 32 columns on CPU adapters (src/plan.rs).
// Each output sums in k order with the same operations as `pointwise`, so
// the two agree bit for bit.
// Written out as the other blocks kernels are: the accumulators must be
// named variables to stay out of indexed memory (r: columns 0..15 of each
// row, s: columns 16..31).
// The body is `large_block`, which `pointwise_shared`
// (gemm_pointwise_shared.wgsl) runs too: each reduction step's 32 columns
// of B come from `block_slabs`, which the module defines in one of two
// files — gemm_lanes_private.wgsl, where every invocation loads its own,
// or gemm_pointwise_shared.wgsl, where the 8 lanes of a subgroup load one
// eighth each and broadcast them (`lane` says which; PRIVATE_LANE, as
// here, loads them all).

@compute @workgroup_size(64)
fn pointwise_large(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    large_block(workgroup_linear(wid) * 64u + lid, PRIVATE_LANE);
}

// A block's 32 columns of B at four reduction steps: columns 0..15, 16..31.
struct Slabs2 { lo: Slab, hi: Slab }

// `block_slabs`' lane for an invocation that loads all of its block's B.
const PRIVATE_LANE: u32 = 0xffffffffu;

// The 32x32 block of GEMM item `linear` (gemm_tile_at), its B columns
// through `block_slabs(.., lane)`.
fn large_block(linear: u32, lane: u32) {
    let id = gemm_tile_at(linear, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * 32u;
    let n0 = id.tile_n * 32u;
    let a0 = pw_rows(g, m0 + 0u);
    let a1 = pw_rows(g, m0 + 4u);
    let a2 = pw_rows(g, m0 + 8u);
    let a3 = pw_rows(g, m0 + 12u);
    let a4 = pw_rows(g, m0 + 16u);
    let a5 = pw_rows(g, m0 + 20u);
    let a6 = pw_rows(g, m0 + 24u);
    let a7 = pw_rows(g, m0 + 28u);
    let c = Cols4(pw_cols(g, n0), pw_cols(g, n0 + 4u), pw_cols(g, n0 + 8u), pw_cols(g, n0 + 12u));
    let d = Cols4(pw_cols(g, n0 + 16u), pw_cols(g, n0 + 20u), pw_cols(g, n0 + 24u), pw_cols(g, n0 + 28u));
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
    var r16: Row16;
    var r17: Row16;
    var r18: Row16;
    var r19: Row16;
    var r20: Row16;
    var r21: Row16;
    var r22: Row16;
    var r23: Row16;
    var r24: Row16;
    var r25: Row16;
    var r26: Row16;
    var r27: Row16;
    var r28: Row16;
    var r29: Row16;
    var r30: Row16;
    var r31: Row16;
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
    var s16: Row16;
    var s17: Row16;
    var s18: Row16;
    var s19: Row16;
    var s20: Row16;
    var s21: Row16;
    var s22: Row16;
    var s23: Row16;
    var s24: Row16;
    var s25: Row16;
    var s26: Row16;
    var s27: Row16;
    var s28: Row16;
    var s29: Row16;
    var s30: Row16;
    var s31: Row16;
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + 4u) {
        let k = pw_k(k0);
        let both = block_slabs(c, d, k, lane);
        let lo = both.lo;
        let hi = both.hi;
        let x0 = pw_a(a0, k);
        fma_slab(&r0, x0.q0, lo);
        fma_slab(&s0, x0.q0, hi);
        fma_slab(&r1, x0.q1, lo);
        fma_slab(&s1, x0.q1, hi);
        fma_slab(&r2, x0.q2, lo);
        fma_slab(&s2, x0.q2, hi);
        fma_slab(&r3, x0.q3, lo);
        fma_slab(&s3, x0.q3, hi);
        let x1 = pw_a(a1, k);
        fma_slab(&r4, x1.q0, lo);
        fma_slab(&s4, x1.q0, hi);
        fma_slab(&r5, x1.q1, lo);
        fma_slab(&s5, x1.q1, hi);
        fma_slab(&r6, x1.q2, lo);
        fma_slab(&s6, x1.q2, hi);
        fma_slab(&r7, x1.q3, lo);
        fma_slab(&s7, x1.q3, hi);
        let x2 = pw_a(a2, k);
        fma_slab(&r8, x2.q0, lo);
        fma_slab(&s8, x2.q0, hi);
        fma_slab(&r9, x2.q1, lo);
        fma_slab(&s9, x2.q1, hi);
        fma_slab(&r10, x2.q2, lo);
        fma_slab(&s10, x2.q2, hi);
        fma_slab(&r11, x2.q3, lo);
        fma_slab(&s11, x2.q3, hi);
        let x3 = pw_a(a3, k);
        fma_slab(&r12, x3.q0, lo);
        fma_slab(&s12, x3.q0, hi);
        fma_slab(&r13, x3.q1, lo);
        fma_slab(&s13, x3.q1, hi);
        fma_slab(&r14, x3.q2, lo);
        fma_slab(&s14, x3.q2, hi);
        fma_slab(&r15, x3.q3, lo);
        fma_slab(&s15, x3.q3, hi);
        let x4 = pw_a(a4, k);
        fma_slab(&r16, x4.q0, lo);
        fma_slab(&s16, x4.q0, hi);
        fma_slab(&r17, x4.q1, lo);
        fma_slab(&s17, x4.q1, hi);
        fma_slab(&r18, x4.q2, lo);
        fma_slab(&s18, x4.q2, hi);
        fma_slab(&r19, x4.q3, lo);
        fma_slab(&s19, x4.q3, hi);
        let x5 = pw_a(a5, k);
        fma_slab(&r20, x5.q0, lo);
        fma_slab(&s20, x5.q0, hi);
        fma_slab(&r21, x5.q1, lo);
        fma_slab(&s21, x5.q1, hi);
        fma_slab(&r22, x5.q2, lo);
        fma_slab(&s22, x5.q2, hi);
        fma_slab(&r23, x5.q3, lo);
        fma_slab(&s23, x5.q3, hi);
        let x6 = pw_a(a6, k);
        fma_slab(&r24, x6.q0, lo);
        fma_slab(&s24, x6.q0, hi);
        fma_slab(&r25, x6.q1, lo);
        fma_slab(&s25, x6.q1, hi);
        fma_slab(&r26, x6.q2, lo);
        fma_slab(&s26, x6.q2, hi);
        fma_slab(&r27, x6.q3, lo);
        fma_slab(&s27, x6.q3, hi);
        let x7 = pw_a(a7, k);
        fma_slab(&r28, x7.q0, lo);
        fma_slab(&s28, x7.q0, hi);
        fma_slab(&r29, x7.q1, lo);
        fma_slab(&s29, x7.q1, hi);
        fma_slab(&r30, x7.q2, lo);
        fma_slab(&s30, x7.q2, hi);
        fma_slab(&r31, x7.q3, lo);
        fma_slab(&s31, x7.q3, hi);
    }
    pw_store_block16(g, id.split, m0, n0, Block16(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15));
    pw_store_block16(g, id.split, m0, n0 + 16u, Block16(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15));
    pw_store_block16(g, id.split, m0 + 16u, n0, Block16(r16, r17, r18, r19, r20, r21, r22, r23, r24, r25, r26, r27, r28, r29, r30, r31));
    pw_store_block16(g, id.split, m0 + 16u, n0 + 16u, Block16(s16, s17, s18, s19, s20, s21, s22, s23, s24, s25, s26, s27, s28, s29, s30, s31));
}
