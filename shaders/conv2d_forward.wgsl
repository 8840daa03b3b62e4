// conv2d_forward.wgsl
//   y[n,k,oh,ow] = bias[k] + Σ_{c<C/g, r<R, s<S} x[n, g·C/g + c, oh·sh − ph + r·dh, ow·sw − pw + s·dw] · w[k,c,r,s]
//   with g = k / (K/g); taps that fall in the zero padding contribute nothing.
// Layouts: x [N,C,H,W], w [K,C/g,R,S], y [N,K,Ho,Wo], bias [K]; f32, contiguous.
// Entry points:
//   direct: one invocation per output element, workgroup of 64,
//           ceil(N·K·Ho·Wo / 64) workgroups (linearised). The reference kernel.
//   tiled:  gemm_tiled.wgsl over the GEMM view below.
//   reduce_splits: where the host cuts a GEMM's reduction into P.splits
//           ranges (few output tiles and a long reduction: a linear
//           layer), each range writes its partial sums to its own slice
//           of binding 3 without the bias; this adds them in split order
//           and the bias last, one invocation per y element: the same
//           inputs give the same bits every run.
// GEMM view (per group g): rows m = (n, oh, ow) [N·Ho·Wo], columns = output
// channel within the group [K/g], reduction kk = (c, r, s) [C/g·R·S]. Since
// w is OIHW, B[kk][col] = w[(g·K/g + col)·(C/g·R·S) + kk]: one contiguous row.
// The tiled loads read a tap table instead of dividing: taps[kk] =
// (c·H·W + r·dh·W + s·dw, r·dh, s·dw, 0) for kk = (c, r, s), built once per
// geometry on the host. Integer division is slow on every GPU and is
// scalarised on CPU SIMD (lavapipe); the table turns it into one load.
// Without a bias the host binds the weight buffer at binding 4 and sets
// has_bias = 0 (a binding cannot be left empty).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> partials: array<f32>;
@group(0) @binding(6) var<storage, read_write> y_sum: array<f32>;
@group(0) @binding(7) var<storage, read> taps: array<vec4<u32>>;

// Offset of x[n, ci, ihp − ph, iwp − pw], or -1 when (ihp, iwp) lies in the padding.
// ihp, iwp are coordinates in the padded input, so they are never negative.
fn x_index(n: u32, ci: u32, ihp: u32, iwp: u32) -> i32 {
    if (ihp < P.pad_h || ihp >= P.h + P.pad_h || iwp < P.pad_w || iwp >= P.w + P.pad_w) {
        return -1;
    }
    return i32(((n * P.c + ci) * P.h + ihp - P.pad_h) * P.w + iwp - P.pad_w);
}

@compute @workgroup_size(64)
fn direct(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.k * P.ho * P.wo) {
        return;
    }
    let ow = i % P.wo;
    var t = i / P.wo;
    let oh = t % P.ho;
    t = t / P.ho;
    let kc = t % P.k;
    let n = t / P.k;
    let g = kc / P.k_per_group;
    var acc = 0.0;
    for (var c = 0u; c < P.c_per_group; c = c + 1u) {
        let w_base = (kc * P.c_per_group + c) * P.r * P.s;
        for (var r = 0u; r < P.r; r = r + 1u) {
            for (var s = 0u; s < P.s; s = s + 1u) {
                let xi = x_index(n, g * P.c_per_group + c, oh * P.stride_h + r * P.dil_h, ow * P.stride_w + s * P.dil_w);
                if (xi >= 0) {
                    acc = acc + x[u32(xi)] * wt[w_base + r * P.s + s];
                }
            }
        }
    }
    if (ADD_BIAS != 0u) {
        acc = acc + bias[kc];
    }
    y[i] = acc;
}

fn gemm_m() -> u32 { return P.n * P.ho * P.wo; }
fn gemm_n() -> u32 { return P.k_per_group; }
fn gemm_k() -> u32 { return P.c_per_group * P.r * P.s; }

// base: offset of x[n, g·C/g, oh·sh − ph, ow·sw − pw] in wrapping u32
// arithmetic; adding a tap's offset lands in range whenever the tap does.
struct ARow { valid: bool, base: u32, ihp0: u32, iwp0: u32 }

fn a_row(g: u32, m: u32) -> ARow {
    let mm = min(m, gemm_m() - 1u);
    let ow = mm % P.wo;
    let t = mm / P.wo;
    let ihp0 = (t % P.ho) * P.stride_h;
    let iwp0 = ow * P.stride_w;
    let base = ((t / P.ho) * P.c + g * P.c_per_group) * P.h * P.w + ihp0 * P.w + iwp0 - (P.pad_h * P.w + P.pad_w);
    return ARow(m < gemm_m(), base, ihp0, iwp0);
}

fn load_a(a: ARow, kk: u32, tap: vec4<u32>) -> f32 {
    let ihp = a.ihp0 + tap.y;
    let iwp = a.iwp0 + tap.z;
    if (!a.valid || ihp < P.pad_h || ihp >= P.h + P.pad_h || iwp < P.pad_w || iwp >= P.w + P.pad_w) {
        return 0.0;
    }
    return x[a.base + tap.x];
}

struct BCol { valid: bool, base: u32 }

fn b_col(g: u32, col: u32) -> BCol {
    return BCol(col < gemm_n(), (g * P.k_per_group + min(col, gemm_n() - 1u)) * gemm_k());
}

fn load_b(b: BCol, kk: u32, tap: vec4<u32>) -> f32 {
    if (!b.valid) {
        return 0.0;
    }
    return wt[b.base + kk];
}

fn store_c(g: u32, split: u32, m: u32, col: u32, v: f32) {
    if (m >= gemm_m() || col >= gemm_n()) {
        return;
    }
    let hw = P.ho * P.wo;
    let kc = g * P.k_per_group + col;
    let i = ((m / hw) * P.k + kc) * hw + m % hw;
    if (SPLIT_K != 0u) {
        y[split * y_len() + i] = v;
        return;
    }
    var out = v;
    if (ADD_BIAS != 0u) {
        out = out + bias[kc];
    }
    y[i] = out;
}

fn y_len() -> u32 { return P.n * P.k * P.ho * P.wo; }

@compute @workgroup_size(64)
fn reduce_splits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let len = y_len();
    if (i >= len) {
        return;
    }
    var acc = 0.0;
    for (var j = 0u; j < P.splits; j = j + 1u) {
        acc = acc + partials[j * len + i];
    }
    if (ADD_BIAS != 0u) {
        acc = acc + bias[(i / (P.ho * P.wo)) % P.k];
    }
    y_sum[i] = acc;
}

// The pointwise view (gemm_pointwise.wgsl; a 1x1 kernel at stride 1
// without padding): A[m][c] = x[n, g·C/g + c, p] for m = (n, p), B[c][col]
// = w[g·K/g + col, c], each as vec4s. Four rows from a multiple of 4 are
// four positions of one image (H·W % 4 == 0), contiguous along the rows;
// on a 1x1 image (a linear layer) they are four images, each contiguous
// along the reduction. Rows and columns past the end repeat the last
// valid ones, which store_c drops.
@group(0) @binding(8) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> wt4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> y4: array<vec4<f32>>;

fn pw_k(k0: u32) -> vec2<u32> { return vec2<u32>(k0, 0u); }

fn pw_rows(g: u32, m0: u32) -> vec4<u32> {
    return plane_rows(m0, gemm_m(), P.c, g * P.c_per_group, P.h * P.w);
}

fn pw_a(a: vec4<u32>, k: vec2<u32>) -> Quad {
    let hw = P.h * P.w;
    if (X_PLANE_ONE != 0u) {
        return Quad(x4[(a.x + k.x) / 4u], x4[(a.y + k.x) / 4u], x4[(a.z + k.x) / 4u], x4[(a.w + k.x) / 4u]);
    }
    let o = a.x + k.x * hw;
    return transpose_quad(Quad(x4[o / 4u], x4[(o + hw) / 4u], x4[(o + 2u * hw) / 4u], x4[(o + 3u * hw) / 4u]));
}

// Each column's weight row, C/g·R·S long: also the B view of
// `blocks_k4` (gemm_blocks_k4.wgsl), for any kernel size.
fn pw_cols(g: u32, n0: u32) -> vec4<u32> {
    let last = gemm_n() - 1u;
    return (g * P.k_per_group + min(vec4<u32>(n0, n0 + 1u, n0 + 2u, n0 + 3u), vec4<u32>(last))) * gemm_k();
}

fn pw_b(b: vec4<u32>, k: vec2<u32>) -> Quad {
    return transpose_quad(Quad(wt4[(b.x + k.x) / 4u], wt4[(b.y + k.x) / 4u], wt4[(b.z + k.x) / 4u], wt4[(b.w + k.x) / 4u]));
}

// A quad of y (or of a split's partial sums, without the bias): on planes
// of H·W % 4 == 0 each column's four rows are four neighbouring positions,
// else (1x1 planes) each row's four columns are neighbouring channels.
fn pw_store(g: u32, split: u32, m0: u32, n0: u32, q: Quad) {
    if (n0 >= gemm_n()) {
        return;
    }
    let hw = P.ho * P.wo;
    let kc = g * P.k_per_group + n0;
    var base = 0u;
    var b = vec4<f32>(0.0);
    let add_bias = SPLIT_K == 0u && ADD_BIAS != 0u;
    if (SPLIT_K != 0u) {
        base = split * y_len();
    } else if (add_bias) {
        b = vec4<f32>(bias[kc], bias[kc + 1u], bias[kc + 2u], bias[kc + 3u]);
    }
    if (Y_PLANE_ONE != 0u) {
        store_y4_row(base + m0 * P.k + kc, m0, q.q0, add_bias, b);
        store_y4_row(base + (m0 + 1u) * P.k + kc, m0 + 1u, q.q1, add_bias, b);
        store_y4_row(base + (m0 + 2u) * P.k + kc, m0 + 2u, q.q2, add_bias, b);
        store_y4_row(base + (m0 + 3u) * P.k + kc, m0 + 3u, q.q3, add_bias, b);
        return;
    }
    if (m0 >= gemm_m()) {
        return;
    }
    let i = (base + ((m0 / hw) * P.k + kc) * hw + m0 % hw) / 4u;
    let step = hw / 4u;
    y4[i] = with_bias(quad_column(q, 0u), add_bias, vec4<f32>(b.x));
    y4[i + step] = with_bias(quad_column(q, 1u), add_bias, vec4<f32>(b.y));
    y4[i + 2u * step] = with_bias(quad_column(q, 2u), add_bias, vec4<f32>(b.z));
    y4[i + 3u * step] = with_bias(quad_column(q, 3u), add_bias, vec4<f32>(b.w));
}

// Row m's four columns, at y offset i, where m is inside C.
fn store_y4_row(i: u32, m: u32, v: vec4<f32>, add_bias: bool, b: vec4<f32>) {
    if (m < gemm_m()) {
        y4[i / 4u] = with_bias(v, add_bias, b);
    }
}

// v + b where the bias is added, else v as it is (adding 0 would turn
// −0 into +0, and the scalar kernels leave it).
fn with_bias(v: vec4<f32>, add_bias: bool, b: vec4<f32>) -> vec4<f32> {
    if (add_bias) {
        return v + b;
    }
    return v;
}
