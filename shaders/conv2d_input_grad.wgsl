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

// Offset of dy[n, kc, oh, ow] for the output position that tap (r, s) of
// input position (ihp, iwp) = (ih + ph, iw + pw) came from, or -1 if none.
fn dy_index(n: u32, kc: u32, ihp: u32, iwp: u32, r: u32, s: u32) -> i32 {
    let rh = r * P.dil_h;
    let sw = s * P.dil_w;
    if (ihp < rh || iwp < sw) {
        return -1;
    }
    let th = ihp - rh;
    let tw = iwp - sw;
    if (th % P.stride_h != 0u || tw % P.stride_w != 0u) {
        return -1;
    }
    let oh = th / P.stride_h;
    let ow = tw / P.stride_w;
    if (oh >= P.ho || ow >= P.wo) {
        return -1;
    }
    return i32(((n * P.k + kc) * P.ho + oh) * P.wo + ow);
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
    var acc = 0.0;
    for (var kl = 0u; kl < P.k_per_group; kl = kl + 1u) {
        let kc = g * P.k_per_group + kl;
        let w_base = (kc * P.c_per_group + c) * P.r * P.s;
        for (var r = 0u; r < P.r; r = r + 1u) {
            for (var s = 0u; s < P.s; s = s + 1u) {
                let di = dy_index(n, kc, ih + P.pad_h, iw + P.pad_w, r, s);
                if (di >= 0) {
                    acc = acc + dy[u32(di)] * wt[w_base + r * P.s + s];
                }
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
    var oh = a.ihp - tap.y;
    var ow = a.iwp - tap.z;
    // Stride 1 (the common case) needs no division.
    if (P.stride_h != 1u) {
        if (oh % P.stride_h != 0u) {
            return 0.0;
        }
        oh = oh / P.stride_h;
    }
    if (P.stride_w != 1u) {
        if (ow % P.stride_w != 0u) {
            return 0.0;
        }
        ow = ow / P.stride_w;
    }
    if (oh >= P.ho || ow >= P.wo) {
        return 0.0;
    }
    return dy[a.base + tap.x + oh * P.wo + ow];
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
