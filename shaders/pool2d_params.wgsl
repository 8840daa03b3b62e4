// pool2d_params.wgsl: the uniform and window arithmetic shared by the
// pooling kernels (max_pool2d.wgsl, avg_pool2d.wgsl). Mirrors
// `PoolUniform` in src/ops/pool2d.rs (16 u32s, 64 bytes).
//
// Shapes: x, dx [planes = N·C, h, w]; y, dy [planes, ho, wo]. The window of
// output (oh, ow) covers input rows oh·sh − ph .. + kh and columns
// ow·sw − pw .. + kw; positions outside the input are padding. Forward
// kernels: one item per output element; backward kernels gather, one item
// per input element over the windows that cover it
// (output rows ⌈(ih + ph − kh + 1) / sh⌉ ..= ⌊(ih + ph) / sh⌋, likewise
// columns) in ascending order, so overlapping windows need no atomics and
// the sums run in a fixed order. Workgroups of 64, grids linearised.

struct PoolParams {
    planes: u32, h: u32, w: u32, ho: u32,
    wo: u32, kh: u32, kw: u32, sh: u32,
    sw: u32, ph: u32, pw: u32, grid_x: u32,
    // avg_pool2d's count_include_pad (1 or 0).
    include_pad: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: PoolParams;

// Each invocation takes a run of up to RUN consecutive items of one row
// (outputs along ow in the forward kernels and `backward_tiles`, inputs
// along iw in the backward gathers): the plane, row and first column come
// from one chain of divisions per run instead of per item, which is most
// of what a pooling invocation costs on a CPU adapter. `Run` is run `t`
// of a [planes, rows, cols] grid cut into ⌈cols / RUN⌉ runs per row;
// `plane` ≥ P.planes past the grid.
const RUN: u32 = 4u;

struct Run {
    plane: u32,
    row: u32,
    col: u32,
    end: u32,
}

fn run_at(wid: vec3<u32>, lid: u32, rows: u32, cols: u32) -> Run {
    let t = (wid.x + wid.y * P.grid_x) * 64u + lid;
    let runs = (cols + RUN - 1u) / RUN;
    let line = t / runs;
    let col = (t - line * runs) * RUN;
    let plane = line / rows;
    return Run(plane, line - plane * rows, col, min(col + RUN, cols));
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

// The output rows (or columns) whose windows cover input row (column)
// `i` (the gather of every backward pass).
fn covering_rows(ih: u32) -> vec2<u32> {
    return covering(ih + P.ph, P.kh, P.sh, P.ho);
}

fn covering_cols(iw: u32) -> vec2<u32> {
    return covering(iw + P.pw, P.kw, P.sw, P.wo);
}

// Average pooling's divisor along one axis for window `o` (torch's
// avg_pool2d, crate::shape::Pool2dParams::window_count): the window
// clipped to the padded input (ceil mode's last window can stick out), or
// without count_include_pad to the input itself.
fn window_count(o: u32, k: u32, s: u32, p: u32, extent: u32) -> u32 {
    let start = o * s;
    if (P.include_pad != 0u) {
        return min(start + k, extent + 2u * p) - start;
    }
    return min(start + k, p + extent) - max(start, p);
}

fn window_area(oh: u32, ow: u32) -> f32 {
    return f32(window_count(oh, P.kh, P.sh, P.ph, P.h) * window_count(ow, P.kw, P.sw, P.pw, P.w));
}
