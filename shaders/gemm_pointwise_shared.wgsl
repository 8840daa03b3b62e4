// gemm_pointwise_shared.wgsl: the `pointwise_shared` entry point,
// `pointwise_large` (gemm_pointwise_large.wgsl) with the B operand shared
// by the 8 lanes of a subgroup. In the modules wgconv builds with
// subgroups only: on CPU adapters whose subgroups are 8 lanes, one SIMD
// vector of the core (src/plan.rs `shares_lanes`), where a
// `subgroupBroadcast` is a register move and a load a per-lane gather.
// The 8 invocations of a subgroup take 8 consecutive row blocks of the
// same 32 columns. The host rounds the grid's row blocks up to whole
// eights (`Tile::row_run`), so a subgroup never straddles two column
// blocks, splits or groups, and is valid or past the end as a whole; the
// extra blocks load clamped rows, as every block past the last row does,
// and the stores skip their rows. Per four reduction steps lane l loads
// column quad l of the 8 (4 vec4s) and broadcasts it, so each lane loads
// 4 vec4s of B instead of 32 (36 loads per 4 096 multiply-adds instead
// of 64). The values are the ones `pointwise_large` loads, summed in the
// same order: the same bits. `examples/gemm_ceiling.rs` measures the
// loop.

// Column quad `lane` of the block's 8 (c's four, then d's).
fn lane_cols(c: Cols4, d: Cols4, lane: u32) -> vec4<u32> {
    let from_c = select(select(c.c0, c.c1, lane == 1u), select(c.c2, c.c3, lane == 3u), lane >= 2u);
    let from_d = select(select(d.c0, d.c1, lane == 5u), select(d.c2, d.c3, lane == 7u), lane >= 6u);
    return select(from_c, from_d, lane >= 4u);
}

fn block_slabs(c: Cols4, d: Cols4, k: vec2<u32>, lane: u32) -> Slabs2 {
    if (lane == PRIVATE_LANE) {
        return Slabs2(slab(c, k), slab(d, k));
    }
    let mine = pw_b(lane_cols(c, d, lane), k);
    // Lane j's quad in every lane (subgroupBroadcast takes a constant lane).
    let b0 = Quad(subgroupBroadcast(mine.q0, 0u), subgroupBroadcast(mine.q1, 0u), subgroupBroadcast(mine.q2, 0u), subgroupBroadcast(mine.q3, 0u));
    let b1 = Quad(subgroupBroadcast(mine.q0, 1u), subgroupBroadcast(mine.q1, 1u), subgroupBroadcast(mine.q2, 1u), subgroupBroadcast(mine.q3, 1u));
    let b2 = Quad(subgroupBroadcast(mine.q0, 2u), subgroupBroadcast(mine.q1, 2u), subgroupBroadcast(mine.q2, 2u), subgroupBroadcast(mine.q3, 2u));
    let b3 = Quad(subgroupBroadcast(mine.q0, 3u), subgroupBroadcast(mine.q1, 3u), subgroupBroadcast(mine.q2, 3u), subgroupBroadcast(mine.q3, 3u));
    let b4 = Quad(subgroupBroadcast(mine.q0, 4u), subgroupBroadcast(mine.q1, 4u), subgroupBroadcast(mine.q2, 4u), subgroupBroadcast(mine.q3, 4u));
    let b5 = Quad(subgroupBroadcast(mine.q0, 5u), subgroupBroadcast(mine.q1, 5u), subgroupBroadcast(mine.q2, 5u), subgroupBroadcast(mine.q3, 5u));
    let b6 = Quad(subgroupBroadcast(mine.q0, 6u), subgroupBroadcast(mine.q1, 6u), subgroupBroadcast(mine.q2, 6u), subgroupBroadcast(mine.q3, 6u));
    let b7 = Quad(subgroupBroadcast(mine.q0, 7u), subgroupBroadcast(mine.q1, 7u), subgroupBroadcast(mine.q2, 7u), subgroupBroadcast(mine.q3, 7u));
    return Slabs2(slab_of(b0, b1, b2, b3), slab_of(b4, b5, b6, b7));
}

// Item (subgroup, lane) of the workgroup: whatever order an adapter gives
// local invocations, lane l of a subgroup owns the item whose row block
// is l modulo 8, the quad it loads for the others.
@compute @workgroup_size(64)
fn pointwise_shared(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    large_block(workgroup_linear(wid) * 64u + subgroup * 8u + lane, lane);
}

// `pointwise_shared_wide`: blocks of 16 rows x 64 columns instead of
// 32 x 32, the same 1 024 accumulators, with B shared the same way. Per
// four reduction steps lane l loads column quads 2l and 2l + 1 of the 16
// (8 vec4s) and broadcasts them, and loads its own 4 quads of A (16
// vec4s): 24 loads per 4 096 multiply-adds instead of
// `pointwise_shared`'s 36 (`examples/gemm_ceiling.rs`: the loop at about
// 51 % of the multiply-add line instead of 45–46 %). The host plans it
// where the GEMM's columns come in whole 64s (src/plan.rs,
// `pointwise_shared_wide_fits`), its 16-row blocks rounded up to whole
// eights as `pointwise_shared`'s are. Each output sums in k order with the
// same operations as `pointwise_large`: the same bits.
@compute @workgroup_size(64)
fn pointwise_shared_wide(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let id = gemm_tile_at(workgroup_linear(wid) * 64u + subgroup * 8u + lane, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * 16u;
    let n0 = id.tile_n * 64u;
    let a0 = pw_rows(g, m0 + 0u);
    let a1 = pw_rows(g, m0 + 4u);
    let a2 = pw_rows(g, m0 + 8u);
    let a3 = pw_rows(g, m0 + 12u);
    // This lane's two column quads of the 16.
    let mine_lo = pw_cols(g, n0 + 8u * lane);
    let mine_hi = pw_cols(g, n0 + 8u * lane + 4u);
    // Its four 16x16 quarters, columns 0..15, .., 48..63, accumulated one
    // after another (rows outermost instead, as `pointwise_large` runs,
    // measured the same: docs/rejected.md).
    var q0: Block16;
    var q1: Block16;
    var q2: Block16;
    var q3: Block16;
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + 4u) {
        let k = pw_k(k0);
        let lo = pw_b(mine_lo, k);
        let hi = pw_b(mine_hi, k);
        // Column quad 2j is lane j's lo, 2j + 1 its hi (subgroupBroadcast takes a constant lane).
        let b0 = Quad(subgroupBroadcast(lo.q0, 0u), subgroupBroadcast(lo.q1, 0u), subgroupBroadcast(lo.q2, 0u), subgroupBroadcast(lo.q3, 0u));
        let b1 = Quad(subgroupBroadcast(hi.q0, 0u), subgroupBroadcast(hi.q1, 0u), subgroupBroadcast(hi.q2, 0u), subgroupBroadcast(hi.q3, 0u));
        let b2 = Quad(subgroupBroadcast(lo.q0, 1u), subgroupBroadcast(lo.q1, 1u), subgroupBroadcast(lo.q2, 1u), subgroupBroadcast(lo.q3, 1u));
        let b3 = Quad(subgroupBroadcast(hi.q0, 1u), subgroupBroadcast(hi.q1, 1u), subgroupBroadcast(hi.q2, 1u), subgroupBroadcast(hi.q3, 1u));
        let b4 = Quad(subgroupBroadcast(lo.q0, 2u), subgroupBroadcast(lo.q1, 2u), subgroupBroadcast(lo.q2, 2u), subgroupBroadcast(lo.q3, 2u));
        let b5 = Quad(subgroupBroadcast(hi.q0, 2u), subgroupBroadcast(hi.q1, 2u), subgroupBroadcast(hi.q2, 2u), subgroupBroadcast(hi.q3, 2u));
        let b6 = Quad(subgroupBroadcast(lo.q0, 3u), subgroupBroadcast(lo.q1, 3u), subgroupBroadcast(lo.q2, 3u), subgroupBroadcast(lo.q3, 3u));
        let b7 = Quad(subgroupBroadcast(hi.q0, 3u), subgroupBroadcast(hi.q1, 3u), subgroupBroadcast(hi.q2, 3u), subgroupBroadcast(hi.q3, 3u));
        let b8 = Quad(subgroupBroadcast(lo.q0, 4u), subgroupBroadcast(lo.q1, 4u), subgroupBroadcast(lo.q2, 4u), subgroupBroadcast(lo.q3, 4u));
        let b9 = Quad(subgroupBroadcast(hi.q0, 4u), subgroupBroadcast(hi.q1, 4u), subgroupBroadcast(hi.q2, 4u), subgroupBroadcast(hi.q3, 4u));
        let b10 = Quad(subgroupBroadcast(lo.q0, 5u), subgroupBroadcast(lo.q1, 5u), subgroupBroadcast(lo.q2, 5u), subgroupBroadcast(lo.q3, 5u));
        let b11 = Quad(subgroupBroadcast(hi.q0, 5u), subgroupBroadcast(hi.q1, 5u), subgroupBroadcast(hi.q2, 5u), subgroupBroadcast(hi.q3, 5u));
        let b12 = Quad(subgroupBroadcast(lo.q0, 6u), subgroupBroadcast(lo.q1, 6u), subgroupBroadcast(lo.q2, 6u), subgroupBroadcast(lo.q3, 6u));
        let b13 = Quad(subgroupBroadcast(hi.q0, 6u), subgroupBroadcast(hi.q1, 6u), subgroupBroadcast(hi.q2, 6u), subgroupBroadcast(hi.q3, 6u));
        let b14 = Quad(subgroupBroadcast(lo.q0, 7u), subgroupBroadcast(lo.q1, 7u), subgroupBroadcast(lo.q2, 7u), subgroupBroadcast(lo.q3, 7u));
        let b15 = Quad(subgroupBroadcast(hi.q0, 7u), subgroupBroadcast(hi.q1, 7u), subgroupBroadcast(hi.q2, 7u), subgroupBroadcast(hi.q3, 7u));
        let s0 = slab_of(b0, b1, b2, b3);
        let s1 = slab_of(b4, b5, b6, b7);
        let s2 = slab_of(b8, b9, b10, b11);
        let s3 = slab_of(b12, b13, b14, b15);
        let x0 = pw_a(a0, k);
        let x1 = pw_a(a1, k);
        let x2 = pw_a(a2, k);
        let x3 = pw_a(a3, k);
        fma_slab_block16(&q0, x0, x1, x2, x3, s0);
        fma_slab_block16(&q1, x0, x1, x2, x3, s1);
        fma_slab_block16(&q2, x0, x1, x2, x3, s2);
        fma_slab_block16(&q3, x0, x1, x2, x3, s3);
    }
    pw_store_block16(g, id.split, m0, n0, q0);
    pw_store_block16(g, id.split, m0, n0 + 16u, q1);
    pw_store_block16(g, id.split, m0, n0 + 32u, q2);
    pw_store_block16(g, id.split, m0, n0 + 48u, q3);
}
