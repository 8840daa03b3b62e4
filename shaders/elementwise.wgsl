// elementwise.wgsl: the uniform and index rule shared by the element-wise
// kernels (activation, add, copy, mse_loss, softmax_cross_entropy). Mirrors
// `ElementwiseUniform` in src/ops/elementwise.rs (4 u32s, 16 bytes).
//
// `len` is the number of work items (elements, or rows for a per-row
// kernel), `cols` a second extent where a kernel needs one (classes per row
// for softmax_cross_entropy), `extra` a third where one needs it (the
// channels of add_channel_bias), `grid_x` the x size of the dispatch: grids
// past max_compute_workgroups_per_dimension fold into two dimensions and
// `item` rebuilds the linear index. Workgroups are 64 invocations.
struct ElementwiseParams {
    len: u32,
    cols: u32,
    grid_x: u32,
    extra: u32,
}

@group(0) @binding(0) var<uniform> P: ElementwiseParams;

fn item(wid: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * P.grid_x) * 64u + lid;
}

// NaN test on the bits: comparisons with NaN are not reliable on every
// backend (GL drivers may compile `x < 0.0` or `x != x` as if NaN did not
// exist), integer arithmetic is.
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Fixed-order sum over one workgroup of 256 (the loss kernels): every
// invocation passes its partial sum; the tree halves the 256 values eight
// times, so the result is the same bits on every run.
var<workgroup> partial: array<f32, 256>;

fn workgroup_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half = half / 2u) {
        if (lid < half) {
            partial[lid] = partial[lid] + partial[lid + half];
        }
        workgroupBarrier();
    }
    return partial[0];
}
