// gemm_lanes_private.wgsl: `block_slabs` for modules built without
// subgroups (every module on an adapter where wgconv does not share loads
// across lanes, src/plan.rs `shares_lanes`): the invocation loads its
// block's 32 columns itself; `lane` is always PRIVATE_LANE. Its twin with
// the shared loads is gemm_pointwise_shared.wgsl.

fn block_slabs(c: Cols4, d: Cols4, k: vec2<u32>, lane: u32) -> Slabs2 {
    return Slabs2(slab(c, k), slab(d, k));
}
