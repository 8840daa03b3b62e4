// adaptive_max_pool2d.wgsl: torch's F.adaptive_max_pool2d of [N, C, H, W]
// into [N, C, Ho, Wo] and its backward pass, one invocation per value,
// workgroups of 64, linearised grid. Output row i takes the maximum of
// input rows [⌊i·H/Ho⌋, ⌈(i+1)·H/Ho⌉) (columns alike), the first in a
// row-major scan, each NaN taking over (max_rule.wgsl's takes_over):
//   forward:  y = the window's maximum
//   backward: dx[r, c] = Σ over the windows whose maximum is (r, c), in
//             increasing window order, of dy (a gather from x: the same
//             bits every run)

struct AdaptiveParams {
    len: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    grid_x: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> P: AdaptiveParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn start(i: u32, len: u32, out_len: u32) -> u32 {
    return (i * len) / out_len;
}

fn end(i: u32, len: u32, out_len: u32) -> u32 {
    return ((i + 1u) * len + out_len - 1u) / out_len;
}

// Index within the plane of the maximum of window (i, j).
fn arg_max(base: u32, i: u32, j: u32) -> u32 {
    let r0 = start(i, P.h, P.ho);
    let r1 = end(i, P.h, P.ho);
    let c0 = start(j, P.w, P.wo);
    let c1 = end(j, P.w, P.wo);
    var best = r0 * P.w + c0;
    var m = x[base + best];
    for (var r = r0; r < r1; r = r + 1u) {
        for (var c = c0; c < c1; c = c + 1u) {
            let v = x[base + r * P.w + c];
            if (takes_over(m, v)) {
                m = v;
                best = r * P.w + c;
            }
        }
    }
    return best;
}

@compute @workgroup_size(64)
fn adaptive_max_pool2d_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (idx >= P.len) {
        return;
    }
    let j = idx % P.wo;
    let i = (idx / P.wo) % P.ho;
    let base = (idx / (P.wo * P.ho)) * P.h * P.w;
    out[idx] = x[base + arg_max(base, i, j)];
}

@compute @workgroup_size(64)
fn adaptive_max_pool2d_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (idx >= P.len) {
        return;
    }
    let c = idx % P.w;
    let r = (idx / P.w) % P.h;
    let plane = idx / (P.w * P.h);
    let base = plane * P.h * P.w;
    let here = r * P.w + c;
    // The windows holding row r start at or before it and end after it.
    let i_lo = (r * P.ho) / P.h;
    let i_hi = min(((r + 1u) * P.ho + P.h - 1u) / P.h + 1u, P.ho);
    let j_lo = (c * P.wo) / P.w;
    let j_hi = min(((c + 1u) * P.wo + P.w - 1u) / P.w + 1u, P.wo);
    var total = 0.0;
    for (var i = select(i_lo - 1u, 0u, i_lo == 0u); i < i_hi; i = i + 1u) {
        if (r < start(i, P.h, P.ho) || r >= end(i, P.h, P.ho)) {
            continue;
        }
        for (var j = select(j_lo - 1u, 0u, j_lo == 0u); j < j_hi; j = j + 1u) {
            if (c < start(j, P.w, P.wo) || c >= end(j, P.w, P.wo)) {
                continue;
            }
            if (arg_max(base, i, j) == here) {
                total = total + dy[plane * P.ho * P.wo + i * P.wo + j];
            }
        }
    }
    out[idx] = total;
}
