// conv2d_weight_grad.wgsl
//   dw[k,c,r,s] = Σ_{n, oh, ow} x[n, g·C/g + c, oh·sh − ph + r·dh, ow·sw − pw + s·dw] · dy[n,k,oh,ow]
//   with g = k / (K/g): the input patch under each weight, times the output gradient.
// Layouts: x [N,C,H,W], dy [N,K,Ho,Wo], dw [K,C/g,R,S]; f32, contiguous.
// Entry points:
//   direct: one invocation per (split, dw element) summing the split's
//           range of the N·Ho·Wo terms in order into out[split][element]
//           (with one split, out is dw itself); workgroup of 64. The
//           reference kernel.
//   tiled:  gemm_tiled.wgsl over the GEMM view below, split-K: split j sums
//           the reduction range [j·split_len, (j+1)·split_len) into
//           out[j][K·C/g·R·S] (with one split, out is dw itself).
//   reduce_splits: dw[i] = Σ_j out[j][i] for j = 0, 1, ... in order; one
//           invocation per dw element (reduce_splits_x4: per four, where
//           dw's length is a multiple of 4). Fixed order, no atomics: the
//           same inputs give the same bits every run.
// GEMM view (per group g): rows m = (c, r, s) [C/g·R·S], columns = output
// channel within the group [K/g], reduction kk = (n, oh, ow) [N·Ho·Wo].
// Rows are the contiguous axis of dw, so neighbouring invocations store
// neighbouring words. The tiled loads read a position table instead of
// dividing kk: taps[kk] = (n·C·H·W, n·K·Ho·Wo + oh·Wo + ow, oh·sh, ow·sw)
// for kk = (n, oh, ow), built once per geometry.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> partials: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;
@group(0) @binding(7) var<storage, read> taps: array<vec4<u32>>;

// x at padded coordinates (ihp, iwp) = (ih + ph, iw + pw); zero in the padding.
fn x_at(n: u32, ci: u32, ihp: u32, iwp: u32) -> f32 {
    if (ihp < P.pad_h || ihp >= P.h + P.pad_h || iwp < P.pad_w || iwp >= P.w + P.pad_w) {
        return 0.0;
    }
    return x[((n * P.c + ci) * P.h + ihp - P.pad_h) * P.w + iwp - P.pad_w];
}

fn dw_len() -> u32 { return P.k * P.c_per_group * P.r * P.s; }

@compute @workgroup_size(64)
fn direct(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let linear = workgroup_linear(wid) * 64u + lid;
    let len = dw_len();
    if (linear >= len * P.splits) {
        return;
    }
    let i = linear % len;
    let split = linear / len;
    let s = i % P.s;
    var t = i / P.s;
    let r = t % P.r;
    t = t / P.r;
    let c = t % P.c_per_group;
    let kc = t / P.c_per_group;
    let ci = (kc / P.k_per_group) * P.c_per_group + c;
    // This split's terms [begin, end) of the reduction over (n, oh, ow):
    // decoded once, then walked with carries instead of divisions.
    let hw = P.ho * P.wo;
    let begin = split * P.split_len;
    let end = min(begin + P.split_len, P.n * hw);
    var n = begin / hw;
    var oh = (begin % hw) / P.wo;
    var ow = begin % P.wo;
    var acc = 0.0;
    for (var j = begin; j < end; j = j + 1u) {
        let xv = x_at(n, ci, oh * P.stride_h + r * P.dil_h, ow * P.stride_w + s * P.dil_w);
        acc = acc + xv * dy[((n * P.k + kc) * P.ho + oh) * P.wo + ow];
        ow = ow + 1u;
        if (ow == P.wo) {
            ow = 0u;
            oh = oh + 1u;
            if (oh == P.ho) {
                oh = 0u;
                n = n + 1u;
            }
        }
    }
    out[split * len + i] = acc;
}

@compute @workgroup_size(64)
fn reduce_splits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let len = dw_len();
    if (i >= len) {
        return;
    }
    var acc = 0.0;
    for (var j = 0u; j < P.splits; j = j + 1u) {
        acc = acc + partials[j * len + i];
    }
    dw[i] = acc;
}

// reduce_splits four elements at a time where dw's length is a multiple
// of 4: the partial sums read through x4 and dw written through out4
// (the vec4 views of the bindings at A4 and C4, which the host binds to
// the partial sums and dw for this entry): a quarter of the loads, each a
// loop over the lanes on a CPU adapter, and of the loop's iterations. The
// same sums in the same order.
@compute @workgroup_size(64)
fn reduce_splits_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let len = dw_len() / 4u;
    if (i >= len) {
        return;
    }
    var acc = vec4<f32>(0.0);
    for (var j = 0u; j < P.splits; j = j + 1u) {
        acc = acc + x4[j * len + i];
    }
    out4[i] = acc;
}

fn gemm_m() -> u32 { return P.c_per_group * P.r * P.s; }
fn gemm_n() -> u32 { return P.k_per_group; }
fn gemm_k() -> u32 { return P.n * P.ho * P.wo; }

// base: offset of x[0, ci, −ph, −pw] in wrapping u32 arithmetic.
struct ARow { valid: bool, base: u32, rh: u32, sw: u32 }

fn a_row(g: u32, m: u32) -> ARow {
    let mm = min(m, gemm_m() - 1u);
    let s = mm % P.s;
    let t = mm / P.s;
    let ci = g * P.c_per_group + t / P.r;
    return ARow(m < gemm_m(), ci * P.h * P.w - (P.pad_h * P.w + P.pad_w), (t % P.r) * P.dil_h, s * P.dil_w);
}

fn load_a(a: ARow, kk: u32, tap: vec4<u32>) -> f32 {
    let ihp = tap.z + a.rh;
    let iwp = tap.w + a.sw;
    if (!a.valid || ihp < P.pad_h || ihp >= P.h + P.pad_h || iwp < P.pad_w || iwp >= P.w + P.pad_w) {
        return 0.0;
    }
    return x[tap.x + a.base + ihp * P.w + iwp];
}

// off: offset of channel kc within one sample of dy.
struct BCol { valid: bool, off: u32 }

fn b_col(g: u32, col: u32) -> BCol {
    return BCol(col < gemm_n(), (g * P.k_per_group + min(col, gemm_n() - 1u)) * P.ho * P.wo);
}

fn load_b(b: BCol, kk: u32, tap: vec4<u32>) -> f32 {
    if (!b.valid) {
        return 0.0;
    }
    return dy[tap.y + b.off];
}

fn store_c(g: u32, split: u32, m: u32, col: u32, v: f32) {
    if (m >= gemm_m() || col >= gemm_n()) {
        return;
    }
    out[split * dw_len() + (g * P.k_per_group + col) * gemm_m() + m] = v;
}

// The pointwise view (gemm_pointwise.wgsl; a 1x1 kernel at stride 1
// without padding): A[c][kk] = x[n, g·C/g + c, p], B[kk][col] = dy[n, g·K/g
// + col, p] for kk = (n, p). On planes of H·W % 4 == 0 four reduction steps
// from a multiple of 4 are four positions of one image, contiguous in both
// operands; on 1x1 images (a linear layer) kk is the image, and four rows
// (input features) or columns (output features) are contiguous instead.
@group(0) @binding(8) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> out4: array<vec4<f32>>;

// (n, p): one division per four reduction steps. pw_k, pw_cols and pw_b
// take p over the output plane (Ho·Wo, the same plane as H·W here), so
// they are also the B view of `blocks_k4` (gemm_blocks_k4.wgsl), for any
// kernel size.
fn pw_k(k0: u32) -> vec2<u32> {
    let hw = P.ho * P.wo;
    if (Y_PLANE_ONE != 0u) {
        return vec2<u32>(k0, 0u);
    }
    return div_mod(k0, hw);
}

// hw == 1: the offset of x[0, g·C/g + m0] in .x; else each row's plane.
fn pw_rows(g: u32, m0: u32) -> vec4<u32> {
    let hw = P.h * P.w;
    let c0 = g * P.c_per_group;
    if (X_PLANE_ONE != 0u) {
        return vec4<u32>(c0 + min(m0, gemm_m() - 4u));
    }
    let last = gemm_m() - 1u;
    return (c0 + min(vec4<u32>(m0, m0 + 1u, m0 + 2u, m0 + 3u), vec4<u32>(last))) * hw;
}

fn pw_a(a: vec4<u32>, k: vec2<u32>) -> Quad {
    let hw = P.h * P.w;
    if (X_PLANE_ONE != 0u) {
        let o = a.x + k.x * P.c;
        return transpose_quad(Quad(x4[o / 4u], x4[(o + P.c) / 4u], x4[(o + 2u * P.c) / 4u], x4[(o + 3u * P.c) / 4u]));
    }
    let o = k.x * P.c * hw + k.y;
    return Quad(x4[(a.x + o) / 4u], x4[(a.y + o) / 4u], x4[(a.z + o) / 4u], x4[(a.w + o) / 4u]);
}

fn pw_cols(g: u32, n0: u32) -> vec4<u32> {
    let hw = P.ho * P.wo;
    let k0 = g * P.k_per_group;
    if (Y_PLANE_ONE != 0u) {
        return vec4<u32>(k0 + min(n0, gemm_n() - 4u));
    }
    let last = gemm_n() - 1u;
    return (k0 + min(vec4<u32>(n0, n0 + 1u, n0 + 2u, n0 + 3u), vec4<u32>(last))) * hw;
}

fn pw_b(b: vec4<u32>, k: vec2<u32>) -> Quad {
    let hw = P.ho * P.wo;
    if (Y_PLANE_ONE != 0u) {
        let o = b.x + k.x * P.k;
        return Quad(dy4[o / 4u], dy4[(o + P.k) / 4u], dy4[(o + 2u * P.k) / 4u], dy4[(o + 3u * P.k) / 4u]);
    }
    let o = k.x * P.k * hw + k.y;
    return transpose_quad(Quad(dy4[(b.x + o) / 4u], dy4[(b.y + o) / 4u], dy4[(b.z + o) / 4u], dy4[(b.w + o) / 4u]));
}

// A quad of dw (or of a split's partial sums): each column's four rows
// are four neighbouring input channels of one output channel's row.
fn pw_store(g: u32, split: u32, m0: u32, n0: u32, q: Quad) {
    if (m0 >= gemm_m() || n0 >= gemm_n()) {
        return;
    }
    let i = (split * dw_len() + (g * P.k_per_group + n0) * gemm_m() + m0) / 4u;
    let step = gemm_m() / 4u;
    out4[i] = quad_column(q, 0u);
    out4[i + step] = quad_column(q, 1u);
    out4[i + 2u * step] = quad_column(q, 2u);
    out4[i + 3u * step] = quad_column(q, 3u);
}
