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
