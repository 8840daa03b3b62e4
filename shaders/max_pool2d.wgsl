// max_pool2d.wgsl: torch's max_pool2d (kernel, stride, padding, floor
// mode; after pool2d_params.wgsl).
//   forward:  y[p, oh, ow] = max over the window (padding counts as −∞)
//   backward: dx[p, ih, iw] = Σ dy[p, oh, ow] over the windows whose
//             maximum is (ih, iw): the first maximum in a row-major scan,
//             where a NaN counts as the maximum (the last NaN wins), as in
//             torch
// The backward pass recomputes each covering window's maximum instead of
// storing indices: ⌈kh/sh⌉·⌈kw/sw⌉ windows of kh·kw loads per input
// element (36 for 3x3 at stride 2), and no index tensor to keep. Where the
// windows tile the input (stride = kernel, no remainder:
// Pool2dGeometry::windows_tile_input) `backward_tiles` runs per window
// instead and writes its kh·kw inputs itself: one scan per window rather
// than one per input, and each input is written by exactly one window, so
// the result is the same, bit for bit (a sum of one term).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Index in x of the first maximum of window (oh, ow) of plane `plane`.
// The window holds at least one input position (padding ≤ kernel / 2).
fn arg_max(plane: u32, oh: u32, ow: u32) -> u32 {
    var best_i = 0xffffffffu;
    var best = 0.0;
    for (var r = 0u; r < P.kh; r = r + 1u) {
        let ihp = oh * P.sh + r;
        if (ihp < P.ph || ihp - P.ph >= P.h) {
            continue;
        }
        for (var s = 0u; s < P.kw; s = s + 1u) {
            let iwp = ow * P.sw + s;
            if (iwp < P.pw || iwp - P.pw >= P.w) {
                continue;
            }
            let i = (plane * P.h + ihp - P.ph) * P.w + iwp - P.pw;
            let v = x[i];
            if (best_i == 0xffffffffu || takes_over(best, v)) {
                best = v;
                best_i = i;
            }
        }
    }
    return best_i;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.ho, P.wo);
    if (r.plane >= P.planes) {
        return;
    }
    let base = (r.plane * P.ho + r.row) * P.wo;
    for (var ow = r.col; ow < r.end; ow = ow + 1u) {
        out[base + ow] = x[arg_max(r.plane, r.row, ow)];
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.h, P.w);
    if (r.plane >= P.planes) {
        return;
    }
    let plane = r.plane;
    let rows = covering_rows(r.row);
    let base = (plane * P.h + r.row) * P.w;
    for (var iw = r.col; iw < r.end; iw = iw + 1u) {
        let i = base + iw;
        let cols = covering_cols(iw);
        var acc = 0.0;
        for (var oh = rows.x; oh < rows.y; oh = oh + 1u) {
            for (var ow = cols.x; ow < cols.y; ow = ow + 1u) {
                if (arg_max(plane, oh, ow) == i) {
                    acc = acc + dy[(plane * P.ho + oh) * P.wo + ow];
                }
            }
        }
        out[i] = acc;
    }
}

@compute @workgroup_size(64)
fn backward_tiles(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let run = run_at(wid, lid, P.ho, P.wo);
    if (run.plane >= P.planes) {
        return;
    }
    let plane = run.plane;
    let oh = run.row;
    for (var ow = run.col; ow < run.end; ow = ow + 1u) {
        let best = arg_max(plane, oh, ow);
        let g = dy[(plane * P.ho + oh) * P.wo + ow];
        for (var r = 0u; r < P.kh; r = r + 1u) {
            let ihp = oh * P.sh + r;
            if (ihp < P.ph || ihp - P.ph >= P.h) {
                continue;
            }
            for (var s = 0u; s < P.kw; s = s + 1u) {
                let iwp = ow * P.sw + s;
                if (iwp < P.pw || iwp - P.pw >= P.w) {
                    continue;
                }
                let i = (plane * P.h + ihp - P.ph) * P.w + iwp - P.pw;
                out[i] = select(0.0, g, i == best);
            }
        }
    }
}

// 2x2 windows at stride 2 without padding, the common max pooling, have
// entry points of their own: the generic window loop (bounds tests per
// tap, a loop the compiler cannot unroll) costs a CPU adapter about three
// times the four loads it guards. Same rule, same results, bit for bit.

// The window's four inputs in scan order and which is the first maximum.
struct Window2x2 {
    v: vec4<f32>,
    best: u32,
}

fn window_2x2(plane: u32, oh: u32, ow: u32) -> Window2x2 {
    let i = (plane * P.h + 2u * oh) * P.w + 2u * ow;
    let v = vec4<f32>(x[i], x[i + 1u], x[i + P.w], x[i + P.w + 1u]);
    return Window2x2(v, first_max(v));
}

@compute @workgroup_size(64)
fn forward_2x2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.ho, P.wo);
    if (r.plane >= P.planes) {
        return;
    }
    let base = (r.plane * P.ho + r.row) * P.wo;
    for (var ow = r.col; ow < r.end; ow = ow + 1u) {
        let win = window_2x2(r.plane, r.row, ow);
        out[base + ow] = win.v[win.best];
    }
}

// Where the windows tile the input (backward_tiles' condition).
@compute @workgroup_size(64)
fn backward_tiles_2x2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.ho, P.wo);
    if (r.plane >= P.planes) {
        return;
    }
    let base = (r.plane * P.ho + r.row) * P.wo;
    for (var ow = r.col; ow < r.end; ow = ow + 1u) {
        let best = window_2x2(r.plane, r.row, ow).best;
        let g = dy[base + ow];
        let i = (r.plane * P.h + 2u * r.row) * P.w + 2u * ow;
        out[i] = select(0.0, g, best == 0u);
        out[i + 1u] = select(0.0, g, best == 1u);
        out[i + P.w] = select(0.0, g, best == 2u);
        out[i + P.w + 1u] = select(0.0, g, best == 3u);
    }
}

// Where a row holds a multiple of 4 inputs (W % 4 == 0), a run of 4
// windows starts at an input column that is a multiple of 8, so its 2x8
// inputs are four vec4s (x4: the input at binding 4), two windows each:
// four loads instead of sixteen, where a vec4 load costs a CPU adapter
// about 1.5 scalar ones. The backward pass writes its 2x8 gradients as
// four vec4s too (out4: the output at binding 5). W even makes Wo = W / 2
// even, so a run holds 2 or 4 windows, whole pairs. Same rule as the
// scalar entry points, bit for bit.
@group(0) @binding(4) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out4: array<vec4<f32>>;

// A run's inputs as vec4 pairs: the top row's first vec4, the bottom
// row's, the run's first output, and how many pairs of windows it holds.
struct PairRun { top: u32, below: u32, base: u32, pairs: u32 }

fn pair_run(r: Run) -> PairRun {
    let top = ((r.plane * P.h + 2u * r.row) * P.w + 2u * r.col) / 4u;
    let base = (r.plane * P.ho + r.row) * P.wo + r.col;
    return PairRun(top, top + P.w / 4u, base, (r.end - r.col) / 2u);
}

// The two windows of a vec4 pair, top row t and bottom row b, in scan order.
fn left_window(t: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(t.x, t.y, b.x, b.y);
}

fn right_window(t: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(t.z, t.w, b.z, b.w);
}

@compute @workgroup_size(64)
fn forward_2x2_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.ho, P.wo);
    if (r.plane >= P.planes) {
        return;
    }
    let p = pair_run(r);
    for (var pair = 0u; pair < p.pairs; pair = pair + 1u) {
        let t = x4[p.top + pair];
        let b = x4[p.below + pair];
        let lw = left_window(t, b);
        let rw = right_window(t, b);
        out[p.base + 2u * pair] = lw[first_max(lw)];
        out[p.base + 2u * pair + 1u] = rw[first_max(rw)];
    }
}

@compute @workgroup_size(64)
fn backward_tiles_2x2_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.ho, P.wo);
    if (r.plane >= P.planes) {
        return;
    }
    let p = pair_run(r);
    for (var pair = 0u; pair < p.pairs; pair = pair + 1u) {
        let t = x4[p.top + pair];
        let b = x4[p.below + pair];
        let l = first_max(left_window(t, b));
        let rt = first_max(right_window(t, b));
        let gl = dy[p.base + 2u * pair];
        let gr = dy[p.base + 2u * pair + 1u];
        out4[p.top + pair] = vec4<f32>(select(0.0, gl, l == 0u), select(0.0, gl, l == 1u), select(0.0, gr, rt == 0u), select(0.0, gr, rt == 1u));
        out4[p.below + pair] = vec4<f32>(select(0.0, gl, l == 2u), select(0.0, gl, l == 3u), select(0.0, gr, rt == 2u), select(0.0, gr, rt == 3u));
    }
}

// Where a row holds an even number of inputs that is not a multiple of 4
// (14 at the second block of the Fashion model), each window's two rows
// are one vec2 each (x2: the input at binding 6), two loads instead of
// four; the backward pass writes them as vec2s (out2 at binding 7). W
// even makes every window start at an even column. Same rule as the
// scalar entry points, bit for bit.
@group(0) @binding(6) var<storage, read> x2: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> out2: array<vec2<f32>>;

// A run's windows as vec2 rows: the top row's first vec2 and the run's
// first output; the bottom row's is W / 2 vec2s on.
fn row_pairs(r: Run) -> vec2<u32> {
    let top = ((r.plane * P.h + 2u * r.row) * P.w + 2u * r.col) / 2u;
    return vec2<u32>(top, (r.plane * P.ho + r.row) * P.wo + r.col);
}

@compute @workgroup_size(64)
fn forward_2x2_vec2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.ho, P.wo);
    if (r.plane >= P.planes) {
        return;
    }
    let at = row_pairs(r);
    for (var k = 0u; k < r.end - r.col; k = k + 1u) {
        let t = x2[at.x + k];
        let b = x2[at.x + P.w / 2u + k];
        let v = vec4<f32>(t, b);
        out[at.y + k] = v[first_max(v)];
    }
}

@compute @workgroup_size(64)
fn backward_tiles_2x2_vec2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = run_at(wid, lid, P.ho, P.wo);
    if (r.plane >= P.planes) {
        return;
    }
    let at = row_pairs(r);
    for (var k = 0u; k < r.end - r.col; k = k + 1u) {
        let top = at.x + k;
        let below = top + P.w / 2u;
        let best = first_max(vec4<f32>(x2[top], x2[below]));
        let g = dy[at.y + k];
        out2[top] = vec2<f32>(select(0.0, g, best == 0u), select(0.0, g, best == 1u));
        out2[below] = vec2<f32>(select(0.0, g, best == 2u), select(0.0, g, best == 3u));
    }
}
