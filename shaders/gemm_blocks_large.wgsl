// gemm_blocks_large.wgsl: the `blocks_large` entry point, `blocks`
// (gemm_blocks.wgsl) with 32x32 blocks instead of 16x16: per reduction
// step one tap-table entry, 32 A and 32 B values for 1 024 multiply-adds,
// half the loads per multiply-add of `blocks`. On a CPU adapter every load
// is a per-lane gather that costs far more than the multiply-adds it
// feeds (`examples/block_loads.rs`), and the 1 024 accumulators per
// invocation cost less on its stack than the loads saved. The host plans
// it for GEMMs of at least 32 rows and 32 columns on CPU adapters
// (src/plan.rs). Each output sums in k order with the same operations as
// `blocks`, so the two agree bit for bit.
// Written out as the other blocks kernels are: the accumulators must be
// named variables to stay out of indexed memory (r: columns 0..15 of each
// row, s: columns 16..31).

@compute @workgroup_size(64)
fn blocks_large(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_at(workgroup_linear(wid) * 64u + lid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * 32u;
    let n0 = id.tile_n * 32u;
    let a0 = a_rows(g, m0 + 0u);
    let a1 = a_rows(g, m0 + 4u);
    let a2 = a_rows(g, m0 + 8u);
    let a3 = a_rows(g, m0 + 12u);
    let a4 = a_rows(g, m0 + 16u);
    let a5 = a_rows(g, m0 + 20u);
    let a6 = a_rows(g, m0 + 24u);
    let a7 = a_rows(g, m0 + 28u);
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
    for (var kk = id.k_begin; kk < id.k_end; kk = kk + 1u) {
        let tap = taps[kk];
        let lo = load_b16(c, kk, tap);
        let hi = load_b16(d, kk, tap);
        let x0 = load_a4(a0, kk, tap);
        fma16(&r0, x0.x, lo);
        fma16(&s0, x0.x, hi);
        fma16(&r1, x0.y, lo);
        fma16(&s1, x0.y, hi);
        fma16(&r2, x0.z, lo);
        fma16(&s2, x0.z, hi);
        fma16(&r3, x0.w, lo);
        fma16(&s3, x0.w, hi);
        let x1 = load_a4(a1, kk, tap);
        fma16(&r4, x1.x, lo);
        fma16(&s4, x1.x, hi);
        fma16(&r5, x1.y, lo);
        fma16(&s5, x1.y, hi);
        fma16(&r6, x1.z, lo);
        fma16(&s6, x1.z, hi);
        fma16(&r7, x1.w, lo);
        fma16(&s7, x1.w, hi);
        let x2 = load_a4(a2, kk, tap);
        fma16(&r8, x2.x, lo);
        fma16(&s8, x2.x, hi);
        fma16(&r9, x2.y, lo);
        fma16(&s9, x2.y, hi);
        fma16(&r10, x2.z, lo);
        fma16(&s10, x2.z, hi);
        fma16(&r11, x2.w, lo);
        fma16(&s11, x2.w, hi);
        let x3 = load_a4(a3, kk, tap);
        fma16(&r12, x3.x, lo);
        fma16(&s12, x3.x, hi);
        fma16(&r13, x3.y, lo);
        fma16(&s13, x3.y, hi);
        fma16(&r14, x3.z, lo);
        fma16(&s14, x3.z, hi);
        fma16(&r15, x3.w, lo);
        fma16(&s15, x3.w, hi);
        let x4 = load_a4(a4, kk, tap);
        fma16(&r16, x4.x, lo);
        fma16(&s16, x4.x, hi);
        fma16(&r17, x4.y, lo);
        fma16(&s17, x4.y, hi);
        fma16(&r18, x4.z, lo);
        fma16(&s18, x4.z, hi);
        fma16(&r19, x4.w, lo);
        fma16(&s19, x4.w, hi);
        let x5 = load_a4(a5, kk, tap);
        fma16(&r20, x5.x, lo);
        fma16(&s20, x5.x, hi);
        fma16(&r21, x5.y, lo);
        fma16(&s21, x5.y, hi);
        fma16(&r22, x5.z, lo);
        fma16(&s22, x5.z, hi);
        fma16(&r23, x5.w, lo);
        fma16(&s23, x5.w, hi);
        let x6 = load_a4(a6, kk, tap);
        fma16(&r24, x6.x, lo);
        fma16(&s24, x6.x, hi);
        fma16(&r25, x6.y, lo);
        fma16(&s25, x6.y, hi);
        fma16(&r26, x6.z, lo);
        fma16(&s26, x6.z, hi);
        fma16(&r27, x6.w, lo);
        fma16(&s27, x6.w, hi);
        let x7 = load_a4(a7, kk, tap);
        fma16(&r28, x7.x, lo);
        fma16(&s28, x7.x, hi);
        fma16(&r29, x7.y, lo);
        fma16(&s29, x7.y, hi);
        fma16(&r30, x7.z, lo);
        fma16(&s30, x7.z, hi);
        fma16(&r31, x7.w, lo);
        fma16(&s31, x7.w, hi);
    }
    store_block16(g, id.split, m0, n0, Block16(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15));
    store_block16(g, id.split, m0, n0 + 16u, Block16(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15));
    store_block16(g, id.split, m0 + 16u, n0, Block16(r16, r17, r18, r19, r20, r21, r22, r23, r24, r25, r26, r27, r28, r29, r30, r31));
    store_block16(g, id.split, m0 + 16u, n0 + 16u, Block16(s16, s17, s18, s19, s20, s21, s22, s23, s24, s25, s26, s27, s28, s29, s30, s31));
}
