// conv2d_input_grad.wgsl
//   dx[n,c,ih,iw] = Σ_{k in group(c), r, s} dy[n,k,oh,ow] · w[k, c mod C/g, r, s]
//   over the taps with ih + ph − r·dh = oh·sh and iw + pw − s·dw = ow·sw
//   (divisible by the stride, 0 ≤ oh < Ho, 0 ≤ ow < Wo): the transpose of
//   the forward gather.
// Layouts: dy [N,K,Ho,Wo], w [K,C/g,R,S], dx [N,C,H,W]; f32, contiguous.
// Entry points:
//   direct: one invocation per dx element (ordered by stride phase, over a
//           grid padded to N·C·min(sh,H)·min(sw,W)·ceil(H/sh)·ceil(W/sw)),
//           workgroup of 64, linearised. The reference kernel.
//   tiled:  gemm_tiled.wgsl over the GEMM view below.
// GEMM view (per group g and stride phase (a, b) — one dispatch per phase,
// stride_h · stride_w of them): rows m = (n, i, j) for the input positions
// (ih, iw) = (a + stride_h·i, b + stride_w·j) [N·rows_h·rows_w], columns =
// input channel within the group [C/g], reduction kk over the taps (k, r, s)
// whose (a + ph − r·dh) and (b + pw − s·dw) divide by the stride: only
// those reach an output position from this phase, so a stride-2 gradient
// does a quarter of the work of the full K/g·R·S reduction, with no
// division in the loads. taps[kk] = (k·Ho·Wo, off_h, off_w,
// k·(C/g)·R·S + r·S + s) with off = (phase + pad − tap) / stride as i32
// bits; the tap reads dy at (i + off_h, j + off_w). Built once per
// geometry and phase (src/ops/taps.rs).

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read> taps: array<vec4<u32>>;

@compute @workgroup_size(64)
fn direct(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // Invocations are ordered by stride phase: i = (n, c, a, b, i', j') over
    // a padded ceil(H/sh) x ceil(W/sw) grid per phase, for the input
    // position (a + sh·i', b + sw·j'). Neighbouring lanes then share a
    // phase, so they agree on which taps reach an output and do not
    // diverge (in plain row order, alternate lanes would).
    // Phases past the input (a stride larger than the input) hold nothing:
    // min(stride, extent) phases of ceil(extent / stride) rows, under
    // twice the extent, so the padded grid stays within u32.
    let phases_h = min(P.stride_h, P.h);
    let phases_w = min(P.stride_w, P.w);
    let rows_h = (P.h - 1u) / P.stride_h + 1u;
    let rows_w = (P.w - 1u) / P.stride_w + 1u;
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * phases_h * phases_w * rows_h * rows_w) {
        return;
    }
    let jw = i % rows_w;
    var t = i / rows_w;
    let jh = t % rows_h;
    t = t / rows_h;
    let b = t % phases_w;
    t = t / phases_w;
    let a = t % phases_h;
    t = t / phases_h;
    let ci = t % P.c;
    let n = t / P.c;
    let ih = a + jh * P.stride_h;
    let iw = b + jw * P.stride_w;
    if (ih >= P.h || iw >= P.w) {
        return;
    }
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
    dx[((n * P.c + ci) * P.h + ih) * P.w + iw] = acc;
}

fn gemm_m() -> u32 { return P.n * P.rows_h * P.rows_w; }
fn gemm_n() -> u32 { return P.c_per_group; }
fn gemm_k() -> u32 { return P.taps_len; }

// One stride phase's input position (n, phase_h + stride_h·i, phase_w +
// stride_w·j) for GEMM row m = (n, i, j).
struct PhaseRow { n: u32, i: u32, j: u32 }

fn phase_row(m: u32) -> PhaseRow {
    let j = m % P.rows_w;
    let t = m / P.rows_w;
    return PhaseRow(t / P.rows_h, t % P.rows_h, j);
}

// base: offset of dy[n, g·K/g, 0, 0]; i, j: the row's position in the phase.
struct ARow { valid: bool, base: u32, i: i32, j: i32 }

fn a_row(g: u32, m: u32) -> ARow {
    let pr = phase_row(min(m, gemm_m() - 1u));
    return ARow(m < gemm_m(), (pr.n * P.k + g * P.k_per_group) * P.ho * P.wo, i32(pr.i), i32(pr.j));
}

// A tap of the phase reads output position (i + off_h, j + off_w): no
// division, and only taps that can land on an output are in the table.
fn load_a(a: ARow, kk: u32, tap: vec4<u32>) -> f32 {
    let oh = a.i + bitcast<i32>(tap.y);
    let ow = a.j + bitcast<i32>(tap.z);
    if (!a.valid || oh < 0 || ow < 0 || oh >= i32(P.ho) || ow >= i32(P.wo)) {
        return 0.0;
    }
    return dy[a.base + tap.x + u32(oh) * P.wo + u32(ow)];
}

// base: offset of w[g·K/g, c, 0, 0]; a tap's w-offset adds k·(C/g)·R·S + r·S + s.
struct BCol { valid: bool, base: u32 }

fn b_col(g: u32, col: u32) -> BCol {
    return BCol(col < gemm_n(), (g * P.k_per_group * P.c_per_group + min(col, gemm_n() - 1u)) * P.r * P.s);
}

fn load_b(b: BCol, kk: u32, tap: vec4<u32>) -> f32 {
    if (!b.valid) {
        return 0.0;
    }
    return wt[b.base + tap.w];
}

fn store_c(g: u32, split: u32, m: u32, col: u32, v: f32) {
    if (m >= gemm_m() || col >= gemm_n()) {
        return;
    }
    let pr = phase_row(m);
    let ih = P.phase_h + pr.i * P.stride_h;
    let iw = P.phase_w + pr.j * P.stride_w;
    dx[((pr.n * P.c + g * P.c_per_group + col) * P.h + ih) * P.w + iw] = v;
}

// The pointwise view (gemm_pointwise.wgsl; a 1x1 kernel at stride 1
// without padding, so one stride phase covering every position):
// A[m][kk] = dy[n, g·K/g + kk, p] for m = (n, p), laid out as the forward
// view's x (conv2d_forward.wgsl); B[kk][col] = w[g·K/g + kk, col], four
// columns contiguous.
@group(0) @binding(8) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> wt4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> dx4: array<vec4<f32>>;

fn pw_k(k0: u32) -> vec2<u32> { return vec2<u32>(k0, 0u); }

fn pw_rows(g: u32, m0: u32) -> vec4<u32> {
    return plane_rows(m0, gemm_m(), P.k, g * P.k_per_group, P.h * P.w);
}

fn pw_a(a: vec4<u32>, k: vec2<u32>) -> Quad {
    let hw = P.h * P.w;
    if (X_PLANE_ONE != 0u) {
        return Quad(dy4[(a.x + k.x) / 4u], dy4[(a.y + k.x) / 4u], dy4[(a.z + k.x) / 4u], dy4[(a.w + k.x) / 4u]);
    }
    let o = a.x + k.x * hw;
    return transpose_quad(Quad(dy4[o / 4u], dy4[(o + hw) / 4u], dy4[(o + 2u * hw) / 4u], dy4[(o + 3u * hw) / 4u]));
}

// The offset of w[g·K/g, n0], in .x.
fn pw_cols(g: u32, n0: u32) -> vec4<u32> {
    return vec4<u32>(g * P.k_per_group * P.c_per_group + min(n0, gemm_n() - 4u));
}

fn pw_b(b: vec4<u32>, k: vec2<u32>) -> Quad {
    let o = b.x + k.x * P.c_per_group;
    let row = P.c_per_group;
    return Quad(wt4[o / 4u], wt4[(o + row) / 4u], wt4[(o + 2u * row) / 4u], wt4[(o + 3u * row) / 4u]);
}

// A quad of dx (one stride phase covering every position, rows m = (n,
// p)): on planes of H·W % 4 == 0 each column's four rows are four
// neighbouring positions, else (1x1 planes) each row's four columns are
// neighbouring channels. The input gradient never splits its reduction.
fn pw_store(g: u32, split: u32, m0: u32, n0: u32, q: Quad) {
    if (n0 >= gemm_n()) {
        return;
    }
    let hw = P.h * P.w;
    let c = g * P.c_per_group + n0;
    if (X_PLANE_ONE != 0u) {
        if (m0 < gemm_m()) {
            dx4[(m0 * P.c + c) / 4u] = q.q0;
        }
        if (m0 + 1u < gemm_m()) {
            dx4[((m0 + 1u) * P.c + c) / 4u] = q.q1;
        }
        if (m0 + 2u < gemm_m()) {
            dx4[((m0 + 2u) * P.c + c) / 4u] = q.q2;
        }
        if (m0 + 3u < gemm_m()) {
            dx4[((m0 + 3u) * P.c + c) / 4u] = q.q3;
        }
        return;
    }
    if (m0 >= gemm_m()) {
        return;
    }
    let i = (((m0 / hw) * P.c + c) * hw + m0 % hw) / 4u;
    let step = hw / 4u;
    dx4[i] = quad_column(q, 0u);
    dx4[i + step] = quad_column(q, 1u);
    dx4[i + 2u * step] = quad_column(q, 2u);
    dx4[i + 3u * step] = quad_column(q, 3u);
}
