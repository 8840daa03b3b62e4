// gemm_blocks_k4.wgsl: the `blocks_k4` entry point of the forward and
// weight-gradient convolutions: `blocks` (gemm_blocks.wgsl) with the B
// operand from vec4s. Where B is contiguous along the reduction (the
// forward's weight rows, C/g·R·S long; the weight gradient's dy planes,
// Ho·Wo long), four reduction steps of 16 columns are 16 vec4 loads
// (the pointwise views' `pw_cols` / `pw_b`, gemm_pointwise.wgsl) instead
// of 64 scalar ones; A stays the im2col gather through the tap table. Per
// four steps: 4 tap entries, 64 A values, 16 B vec4s for 1 024
// multiply-adds, where `blocks` makes 132 loads. The host plans it where
// every such vec4 is aligned (src/plan.rs, `blocks_k4_fits`).

@compute @workgroup_size(64)
fn blocks_k4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
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
    let c = Cols4(pw_cols(g, n0), pw_cols(g, n0 + 4u), pw_cols(g, n0 + 8u), pw_cols(g, n0 + 12u));
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
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + 4u) {
        let s = slab(c, pw_k(k0));
        let t0 = taps[k0];
        let t1 = taps[k0 + 1u];
        let t2 = taps[k0 + 2u];
        let t3 = taps[k0 + 3u];
        // load_a4 gives four rows at one step; transposed, four steps of one row.
        let x0 = transpose_quad(Quad(load_a4(a0, k0, t0), load_a4(a0, k0 + 1u, t1), load_a4(a0, k0 + 2u, t2), load_a4(a0, k0 + 3u, t3)));
        fma_slab(&r0, x0.q0, s);
        fma_slab(&r1, x0.q1, s);
        fma_slab(&r2, x0.q2, s);
        fma_slab(&r3, x0.q3, s);
        let x1 = transpose_quad(Quad(load_a4(a1, k0, t0), load_a4(a1, k0 + 1u, t1), load_a4(a1, k0 + 2u, t2), load_a4(a1, k0 + 3u, t3)));
        fma_slab(&r4, x1.q0, s);
        fma_slab(&r5, x1.q1, s);
        fma_slab(&r6, x1.q2, s);
        fma_slab(&r7, x1.q3, s);
        let x2 = transpose_quad(Quad(load_a4(a2, k0, t0), load_a4(a2, k0 + 1u, t1), load_a4(a2, k0 + 2u, t2), load_a4(a2, k0 + 3u, t3)));
        fma_slab(&r8, x2.q0, s);
        fma_slab(&r9, x2.q1, s);
        fma_slab(&r10, x2.q2, s);
        fma_slab(&r11, x2.q3, s);
        let x3 = transpose_quad(Quad(load_a4(a3, k0, t0), load_a4(a3, k0 + 1u, t1), load_a4(a3, k0 + 2u, t2), load_a4(a3, k0 + 3u, t3)));
        fma_slab(&r12, x3.q0, s);
        fma_slab(&r13, x3.q1, s);
        fma_slab(&r14, x3.q2, s);
        fma_slab(&r15, x3.q3, s);
    }
    store_block16(g, id.split, m0, n0, Block16(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15));
}
