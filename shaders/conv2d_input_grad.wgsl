// conv2d_input_grad.wgsl
//   dx[n,c,ih,iw] = Σ_{k in group(c), r, s} dy[n,k,oh,ow] · w[k, c mod C/g, r, s]
//   over the taps with ih + ph − r·dh = oh·sh and iw + pw − s·dw = ow·sw
//   (divisible by the stride, 0 ≤ oh < Ho, 0 ≤ ow < Wo): the transpose of
//   the forward gather.
// Layouts: dy [N,K,Ho,Wo], w [K,C/g,R,S], dx [N,C,H,W]; f32, contiguous.
// Entry points:
//   direct: one invocation per dx element, workgroup of 64,
//           ceil(N·C·H·W / 64) workgroups (linearised). The reference variant.
//   tiled:  gemm_tiled.wgsl over the GEMM view below.
// GEMM view (per group g): rows m = (n, ih, iw) [N·H·W], columns = input
// channel within the group [C/g], reduction kk = (k, r, s) [K/g·R·S]; taps
// that do not land on an output position read as zero. The tiled loads
// read a tap table instead of dividing kk: taps[kk] = (k·Ho·Wo, r·dh, s·dw,
// k·(C/g)·R·S + r·S + s) for kk = (k, r, s), built once per geometry.

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read> taps: array<vec4<u32>>;

// Output coordinate that tap `t` (r·dh or s·dw) of padded input coordinate
// `ip` came from: (o, 1) with o = (ip − t) / stride when that is a whole
// output position below `extent`, else (0, 0).
fn tap_source(ip: u32, t: u32, stride: u32, extent: u32) -> vec2<u32> {
    if (ip < t) {
        return vec2<u32>(0u, 0u);
    }
    let q = div_mod(ip - t, stride);
    if (q.y != 0u || q.x >= extent) {
        return vec2<u32>(0u, 0u);
    }
    return vec2<u32>(q.x, 1u);
}

@compute @workgroup_size(64)
fn direct(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.h * P.w) {
        return;
    }
    let iw = i % P.w;
    var t = i / P.w;
    let ih = t % P.h;
    t = t / P.h;
    let ci = t % P.c;
    let n = t / P.c;
    let g = ci / P.c_per_group;
    let c = ci % P.c_per_group;
    // Taps outermost: the output position a tap reads is found once per
    // (r, s) (the divisions by the stride), then the channel loop is
    // straight loads and multiply-adds.
    let hw_out = P.ho * P.wo;
    let dy_n = (n * P.k + g * P.k_per_group) * hw_out;
    let w_c = (g * P.k_per_group * P.c_per_group + c) * P.r * P.s;
    let w_k_step = P.c_per_group * P.r * P.s;
    var acc = 0.0;
    for (var r = 0u; r < P.r; r = r + 1u) {
        let oh = tap_source(ih + P.pad_h, r * P.dil_h, P.stride_h, P.ho);
        if (oh.y == 0u) {
            continue;
        }
        for (var s = 0u; s < P.s; s = s + 1u) {
            let ow = tap_source(iw + P.pad_w, s * P.dil_w, P.stride_w, P.wo);
            if (ow.y == 0u) {
                continue;
            }
            var dy_i = dy_n + oh.x * P.wo + ow.x;
            var w_i = w_c + r * P.s + s;
            for (var kl = 0u; kl < P.k_per_group; kl = kl + 1u) {
                acc = acc + dy[dy_i] * wt[w_i];
                dy_i = dy_i + hw_out;
                w_i = w_i + w_k_step;
            }
        }
    }
    dx[i] = acc;
}

fn gemm_m() -> u32 { return P.n * P.h * P.w; }
fn gemm_n() -> u32 { return P.c_per_group; }
fn gemm_k() -> u32 { return P.k_per_group * P.r * P.s; }

// base: offset of dy[n, g·K/g, 0, 0]; ihp, iwp: the input position plus padding.
struct ARow { valid: bool, base: u32, ihp: u32, iwp: u32 }

fn a_row(g: u32, m: u32) -> ARow {
    let mm = min(m, gemm_m() - 1u);
    let iw = mm % P.w;
    let t = mm / P.w;
    return ARow(m < gemm_m(), ((t / P.h) * P.k + g * P.k_per_group) * P.ho * P.wo, t % P.h + P.pad_h, iw + P.pad_w);
}

fn load_a(a: ARow, kk: u32) -> f32 {
    let tap = taps[kk];
    if (!a.valid || a.ihp < tap.y || a.iwp < tap.z) {
        return 0.0;
    }
    let oh = div_mod(a.ihp - tap.y, P.stride_h);
    let ow = div_mod(a.iwp - tap.z, P.stride_w);
    if (oh.y != 0u || ow.y != 0u || oh.x >= P.ho || ow.x >= P.wo) {
        return 0.0;
    }
    return dy[a.base + tap.x + oh.x * P.wo + ow.x];
}

// base: offset of w[g·K/g, c, 0, 0]; a tap's w-offset adds k·(C/g)·R·S + r·S + s.
struct BCol { valid: bool, base: u32 }

fn b_col(g: u32, col: u32) -> BCol {
    return BCol(col < gemm_n(), (g * P.k_per_group * P.c_per_group + min(col, gemm_n() - 1u)) * P.r * P.s);
}

fn load_b(b: BCol, kk: u32) -> f32 {
    if (!b.valid) {
        return 0.0;
    }
    return wt[b.base + taps[kk].w];
}

fn store_c(g: u32, split: u32, m: u32, col: u32, v: f32) {
    if (m >= gemm_m() || col >= gemm_n()) {
        return;
    }
    let hw = P.h * P.w;
    dx[((m / hw) * P.c + g * P.c_per_group + col) * hw + m % hw] = v;
}
