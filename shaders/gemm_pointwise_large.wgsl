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
    // Row quad i of the block (rows 4i..4i+3) in columns 0..15 (l_i) and
    // 16..31 (r_i).
    var l0: Rows4;
    var l1: Rows4;
    var l2: Rows4;
    var l3: Rows4;
    var l4: Rows4;
    var l5: Rows4;
    var l6: Rows4;
    var l7: Rows4;
    var r0: Rows4;
    var r1: Rows4;
    var r2: Rows4;
    var r3: Rows4;
    var r4: Rows4;
    var r5: Rows4;
    var r6: Rows4;
    var r7: Rows4;
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + 4u) {
        let k = pw_k(k0);
        let both = block_slabs(c, d, k, lane);
        fma_slab_rows4_pair(&l0, &r0, pw_a(a0, k), both.lo, both.hi);
        fma_slab_rows4_pair(&l1, &r1, pw_a(a1, k), both.lo, both.hi);
        fma_slab_rows4_pair(&l2, &r2, pw_a(a2, k), both.lo, both.hi);
        fma_slab_rows4_pair(&l3, &r3, pw_a(a3, k), both.lo, both.hi);
        fma_slab_rows4_pair(&l4, &r4, pw_a(a4, k), both.lo, both.hi);
        fma_slab_rows4_pair(&l5, &r5, pw_a(a5, k), both.lo, both.hi);
        fma_slab_rows4_pair(&l6, &r6, pw_a(a6, k), both.lo, both.hi);
        fma_slab_rows4_pair(&l7, &r7, pw_a(a7, k), both.lo, both.hi);
    }
    pw_store_quads(g, id.split, m0, n0, l0, l1, l2, l3);
    pw_store_quads(g, id.split, m0, n0 + 16u, r0, r1, r2, r3);
    pw_store_quads(g, id.split, m0 + 16u, n0, l4, l5, l6, l7);
    pw_store_quads(g, id.split, m0 + 16u, n0 + 16u, r4, r5, r6, r7);
}
