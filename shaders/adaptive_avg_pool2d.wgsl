// adaptive_avg_pool2d.wgsl: torch's F.adaptive_avg_pool2d of [N, C, H, W]
// into [N, C, Ho, Wo] and its backward pass, one invocation per value,
// workgroups of 64, linearised grid. Output row i averages input rows
// [⌊i·H/Ho⌋, ⌈(i+1)·H/Ho⌉) (columns alike), integer arithmetic as torch's:
//   forward:  y = (Σ over the window, row-major) / kh / kw
//   backward: dx[r, c] = Σ over the windows holding (r, c), rows then
//             columns in increasing order, of dy / kh / kw (a gather: the
//             same bits every run)

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
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn start(i: u32, len: u32, out_len: u32) -> u32 {
    return (i * len) / out_len;
}

fn end(i: u32, len: u32, out_len: u32) -> u32 {
    return ((i + 1u) * len + out_len - 1u) / out_len;
}

@compute @workgroup_size(64)
fn adaptive_avg_pool2d_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (idx >= P.len) {
        return;
    }
    let oc = idx % P.wo;
    let orow = (idx / P.wo) % P.ho;
    let plane = idx / (P.wo * P.ho);
    let r0 = start(orow, P.h, P.ho);
    let r1 = end(orow, P.h, P.ho);
    let c0 = start(oc, P.w, P.wo);
    let c1 = end(oc, P.w, P.wo);
    var sum = 0.0;
    let base = plane * P.h * P.w;
    for (var r = r0; r < r1; r = r + 1u) {
        for (var c = c0; c < c1; c = c + 1u) {
            sum = sum + input[base + r * P.w + c];
        }
    }
    out[idx] = sum / f32(r1 - r0) / f32(c1 - c0);
}

@compute @workgroup_size(64)
fn adaptive_avg_pool2d_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (idx >= P.len) {
        return;
    }
    let c = idx % P.w;
    let r = (idx / P.w) % P.h;
    let plane = idx / (P.w * P.h);
    // The windows holding row r start at or before it and end after it.
    let i_lo = (r * P.ho) / P.h;
    let i_hi = min(((r + 1u) * P.ho + P.h - 1u) / P.h + 1u, P.ho);
    let j_lo = (c * P.wo) / P.w;
    let j_hi = min(((c + 1u) * P.wo + P.w - 1u) / P.w + 1u, P.wo);
    let base = plane * P.ho * P.wo;
    var total = 0.0;
    for (var i = select(i_lo - 1u, 0u, i_lo == 0u); i < i_hi; i = i + 1u) {
        let r0 = start(i, P.h, P.ho);
        let r1 = end(i, P.h, P.ho);
        if (r < r0 || r >= r1) {
            continue;
        }
        for (var j = select(j_lo - 1u, 0u, j_lo == 0u); j < j_hi; j = j + 1u) {
            let c0 = start(j, P.w, P.wo);
            let c1 = end(j, P.w, P.wo);
            if (c < c0 || c >= c1) {
                continue;
            }
            total = total + input[base + i * P.wo + j] / f32(r1 - r0) / f32(c1 - c0);
        }
    }
    out[idx] = total;
}
