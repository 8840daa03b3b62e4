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
    // Row quad i of the block.
    var q0: Rows4;
    var q1: Rows4;
    var q2: Rows4;
    var q3: Rows4;
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + 4u) {
        let s = slab(c, pw_k(k0));
        let t = Steps4(k0, taps[k0], taps[k0 + 1u], taps[k0 + 2u], taps[k0 + 3u]);
        fma_slab_rows4(&q0, a_steps(a0, t), s);
        fma_slab_rows4(&q1, a_steps(a1, t), s);
        fma_slab_rows4(&q2, a_steps(a2, t), s);
        fma_slab_rows4(&q3, a_steps(a3, t), s);
    }
    store_rows4(g, id.split, m0, n0, q0);
    store_rows4(g, id.split, m0 + 4u, n0, q1);
    store_rows4(g, id.split, m0 + 8u, n0, q2);
    store_rows4(g, id.split, m0 + 12u, n0, q3);
}

// Four reduction steps from k0, with their tap entries.
struct Steps4 { k0: u32, t0: vec4<u32>, t1: vec4<u32>, t2: vec4<u32>, t3: vec4<u32> }

// Rows a's values at the four steps, as a quad of rows: load_a4 gives
// four rows at one step; transposed, four steps of one row.
fn a_steps(a: ARows, t: Steps4) -> Quad {
    let k = t.k0;
    return transpose_quad(Quad(load_a4(a, k, t.t0), load_a4(a, k + 1u, t.t1), load_a4(a, k + 2u, t.t2), load_a4(a, k + 3u, t.t3)));
}
