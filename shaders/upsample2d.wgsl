// upsample2d.wgsl: torch's F.interpolate of [N, C, H, W] into
// [N, C, Ho, Wo], mode nearest or bilinear (align_corners either way),
// and its backward pass, one invocation per value, workgroups of 64,
// linearised grid.
//   forward:  y[p, o_r, o_c] = Σ_{a,b} λ_a(o_r) λ_b(o_c) x[p, i_a(o_r), i_b(o_c)]
//   backward: dx[p, i_r, i_c] = Σ over the outputs that read (i_r, i_c), rows
//             then columns in increasing order (a gather, no atomics: the
//             same bits every run), of dy · their weights.
// An axis maps output o to input indices by torch's rules in f32
// (`source` below; shape.rs `upsample_source` is the same on the host):
//   nearest:  i = o if out = in, o >> 1 if out = 2·in, else
//             min(⌊o · scale⌋, in − 1)
//   bilinear: src = scale · o (align_corners) or max(scale · (o + ½) − ½, 0);
//             i0 = ⌊src⌋, i1 = i0 + 1 (i0 below in − 1, else i0),
//             λ1 = src − i0, λ0 = 1 − λ1.
// `span_h`, `span_w`: how far (in outputs) from the centre of an input's
// source a backward invocation looks; each output there is checked by
// recomputing its source.

struct UpsampleParams {
    len: u32,
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    mode: u32,        // 0 nearest, 1 bilinear, 2 bilinear with align_corners
    scale_h: f32,
    scale_w: f32,
    grid_x: u32,
    span_h: u32,      // half-widths of the backward windows
    span_w: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: UpsampleParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

struct Source {
    i0: u32,
    i1: u32,
    l0: f32,
    l1: f32,
}

fn source(o: u32, len: u32, out_len: u32, scale: f32) -> Source {
    if (P.mode == 0u) {
        var i = o;
        if (out_len == 2u * len) {
            i = o >> 1u;
        } else if (out_len != len) {
            i = min(u32(floor(f32(o) * scale)), len - 1u);
        }
        return Source(i, i, 1.0, 0.0);
    }
    var src = scale * f32(o);
    if (P.mode == 1u) {
        src = max(scale * (f32(o) + 0.5) - 0.5, 0.0);
    }
    let i0 = min(u32(src), len - 1u);
    let i1 = select(i0, i0 + 1u, i0 < len - 1u);
    let l1 = src - f32(i0);
    return Source(i0, i1, 1.0 - l1, l1);
}

// The weight output o gives input i along an axis (0 if it does not read it).
fn weight(s: Source, i: u32) -> f32 {
    return select(0.0, s.l0, s.i0 == i) + select(0.0, s.l1, s.i1 == i);
}

@compute @workgroup_size(64)
fn upsample2d_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (idx >= P.len) {
        return;
    }
    let oc = idx % P.wo;
    let orow = (idx / P.wo) % P.ho;
    let plane = idx / (P.wo * P.ho);
    let r = source(orow, P.h, P.ho, P.scale_h);
    let c = source(oc, P.w, P.wo, P.scale_w);
    let base = plane * P.h * P.w;
    let top = r.i0 * P.w;
    let bottom = r.i1 * P.w;
    out[idx] = r.l0 * (c.l0 * input[base + top + c.i0] + c.l1 * input[base + top + c.i1])
        + r.l1 * (c.l0 * input[base + bottom + c.i0] + c.l1 * input[base + bottom + c.i1]);
}

// The outputs [lo, hi) along an axis that a backward invocation for
// input i looks at: those within `half` of where i's source centre maps.
fn output_range(i: u32, out_len: u32, scale: f32, half: u32) -> vec2<u32> {
    if (scale <= 0.0) {
        return vec2<u32>(0u, out_len);
    }
    var centre = f32(i) / scale;
    if (P.mode == 1u) {
        centre = (f32(i) + 0.5) / scale - 0.5;
    }
    let c = i32(floor(centre));
    let lo = clamp(c - i32(half), 0, i32(out_len));
    let hi = clamp(c + i32(half) + 1, 0, i32(out_len));
    return vec2<u32>(u32(lo), u32(hi));
}

@compute @workgroup_size(64)
fn upsample2d_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let idx = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (idx >= P.len) {
        return;
    }
    let ic = idx % P.w;
    let ir = (idx / P.w) % P.h;
    let plane = idx / (P.w * P.h);
    let rows = output_range(ir, P.ho, P.scale_h, P.span_h);
    let cols = output_range(ic, P.wo, P.scale_w, P.span_w);
    let r_lo = rows.x;
    let r_hi = rows.y;
    let c_lo = cols.x;
    let c_hi = cols.y;
    var total = 0.0;
    let base = plane * P.ho * P.wo;
    for (var orow = r_lo; orow < r_hi; orow = orow + 1u) {
        let wr = weight(source(orow, P.h, P.ho, P.scale_h), ir);
        if (wr == 0.0) {
            continue;
        }
        var row = 0.0;
        for (var oc = c_lo; oc < c_hi; oc = oc + 1u) {
            let wc = weight(source(oc, P.w, P.wo, P.scale_w), ic);
            row = row + wc * input[base + orow * P.wo + oc];
        }
        total = total + wr * row;
    }
    out[idx] = total;
}
