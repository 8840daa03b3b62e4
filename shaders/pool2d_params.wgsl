// pool2d_params.wgsl: the uniform and window arithmetic shared by the
// pooling kernels (max_pool2d.wgsl, avg_pool2d.wgsl). Mirrors
// `PoolUniform` in src/ops/pool2d.rs (12 u32s, 48 bytes).
//
// Shapes: x, dx [planes = N·C, h, w]; y, dy [planes, ho, wo]. The window of
// output (oh, ow) covers input rows oh·sh − ph .. + kh and columns
// ow·sw − pw .. + kw; positions outside the input are padding. Forward
// kernels: one invocation per output element; backward kernels gather,
// one invocation per input element over the windows that cover it
// (output rows ⌈(ih + ph − kh + 1) / sh⌉ ..= ⌊(ih + ph) / sh⌋, likewise
// columns) in ascending order, so overlapping windows need no atomics and
// the sums run in a fixed order. Workgroups of 64, grids linearised.

struct PoolParams {
    planes: u32, h: u32, w: u32, ho: u32,
    wo: u32, kh: u32, kw: u32, sh: u32,
    sw: u32, ph: u32, pw: u32, grid_x: u32,
}

@group(0) @binding(0) var<uniform> P: PoolParams;

fn item(wid: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * P.grid_x) * 64u + lid;
}

// Output rows (or columns) whose window covers padded coordinate `ip`
// (= input coordinate + padding): [first, last), clipped to [0, extent).
fn covering(ip: u32, k: u32, s: u32, extent: u32) -> vec2<u32> {
    var first = 0u;
    if (ip + 1u > k) {
        first = (ip + 1u - k + s - 1u) / s;
    }
    let last = min(ip / s + 1u, extent);
    return vec2<u32>(first, max(first, last));
}

// The plane of input element `i` and the output rows and columns whose
// windows cover it (the gather of every backward pass).
struct Cover { plane: u32, rows: vec2<u32>, cols: vec2<u32> }

fn covering_windows(i: u32) -> Cover {
    let rest = i % (P.h * P.w);
    return Cover(
        i / (P.h * P.w),
        covering(rest / P.w + P.ph, P.kh, P.sh, P.ho),
        covering(rest % P.w + P.pw, P.kw, P.sw, P.wo),
    );
}
