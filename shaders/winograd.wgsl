// winograd.wgsl: the transforms of Winograd's F(2×2, 3×3) convolution
// (Lavin & Gray, 2015), for 3×3 convolutions at stride 1, dilation 1, one
// group; plan::winograd_fits says which. Each 2×2 tile of the output is
//   Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
// for the 4×4 input patch d under it and each 3×3 kernel g, with
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],
//   G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1]:
// 16 multiplies per tile and channel pair where the direct form takes 36.
// The weight gradient is the same algorithm turned around (Winograd's
// F(3×3, 2×2)): y = Aᵀ[(G g) ⊙ (Bᵀ d)] is bilinear in g, so
// ∂/∂g Σ dy·y gives, per tile, the 3×3 kernel's gradient
//   dW = Gᵀ [(A dy Aᵀ) ⊙ (Bᵀ d B)] G
// for the tile's 2×2 output gradient dy and the same 4×4 input patch d:
// the input transform is shared, and the sum over tiles of the 16
// products is a batched GEMM again, the weight gradient of the same 1×1
// convolution of 16 groups:
//   M[ξ·K + k][c] = Σ_t Y[ξ·K + k][t] · V[ξ·C + c][t].
// The sum over input channels of the 16 products is a batched GEMM, run
// by the GEMM kernels as a 1×1 convolution of 16 groups (src/ops/winograd.rs):
//   M[ξ·K + k][t] = Σ_c U[ξ·K + k][c] · V[ξ·C + c][t],   ξ < 16,
// with t = (n, tile row, tile column) over T = N·⌈Ho/2⌉·⌈Wo/2⌉ tiles.
// Entry points (one invocation each, workgroups of 64, linearised grid):
//   input_transform:  x [N,C,H,W] → V [16·C, T], per (c, t).
//   weight_transform: w [K,C,3,3] → U [16·K, C], per (k, c), and
//   weight_transform_turned, the same for the input gradient (the forward
//                     convolution of dy with w turned by 180° and its
//                     channel axes swapped): winograd_common.wgsl's, by
//                     store_u below.
//   output_transform: M → y [N,K,Ho,Wo] (+ bias), per (k, t).
//   dy_transform:     dy [N,K,Ho,Wo] → Y [16·K, T], per (k, t).
//   dw_transform:     M [16·K, C] → dw [K,C,3,3], per (k, c).
// The uniform, bindings, tile grid and weight transforms'
// entry points: winograd_common.wgsl. Every sum
// runs in a fixed order: deterministic.

const TILE: u32 = 2u;

fn x_row(plane: u32, iy: i32, ix: i32) -> vec4<f32> {
    return vec4<f32>(x_at(plane, iy, ix), x_at(plane, iy, ix + 1), x_at(plane, iy, ix + 2), x_at(plane, iy, ix + 3));
}

// The 16 values of one tile (rows of 4 by ξ = 4·row + column) to
// dst[o + ξ·stride].
fn store16(o: u32, stride: u32, rows: array<vec4<f32>, 4>) {
    for (var r = 0u; r < 4u; r = r + 1u) {
        let v = rows[r];
        let at = o + 4u * r * stride;
        dst[at] = v.x;
        dst[at + stride] = v.y;
        dst[at + 2u * stride] = v.z;
        dst[at + 3u * stride] = v.w;
    }
}

// v·B for a row v of Bᵀ d.
fn b_cols(v: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(v.x - v.z, v.y + v.z, v.z - v.y, v.y - v.w);
}

@compute @workgroup_size(64)
fn input_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = tile_at(workgroup_linear(wid) * 64u + lid, P.c);
    if (at.ch >= P.c) {
        return;
    }
    let iy = i32(at.y) - i32(P.pad_h);
    let ix = i32(at.x) - i32(P.pad_w);
    let plane = (at.n * P.c + at.ch) * P.h * P.w;
    let d0 = x_row(plane, iy, ix);
    let d1 = x_row(plane, iy + 1, ix);
    let d2 = x_row(plane, iy + 2, ix);
    let d3 = x_row(plane, iy + 3, ix);
    let rows = array<vec4<f32>, 4>(b_cols(d0 - d2), b_cols(d1 + d2), b_cols(d2 - d1), b_cols(d1 - d3));
    // V[ξ·C + c][t].
    store16(at.ch * tiles() + at.t, P.c * tiles(), rows);
}

// u·Gᵀ for a row u of G g.
fn g_cols(u: vec3<f32>) -> vec4<f32> {
    return vec4<f32>(u.x, 0.5 * (u.x + u.y + u.z), 0.5 * (u.x - u.y + u.z), u.z);
}

// U[ξ·K + k][c] from the kernel g (rows g[0], g[1], g[2]); the entry
// points that call it are in winograd_common.wgsl.
fn store_u(k: u32, c: u32, g: array<vec3<f32>, 3>) {
    let rows = array<vec4<f32>, 4>(g_cols(g[0]), g_cols(0.5 * (g[0] + g[1] + g[2])), g_cols(0.5 * (g[0] - g[1] + g[2])), g_cols(g[2]));
    store16(k * P.c + c, P.k * P.c, rows);
}

@compute @workgroup_size(64)
fn output_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = tile_at(workgroup_linear(wid) * 64u + lid, P.k);
    if (at.ch >= P.k) {
        return;
    }
    let k = at.ch;
    // The 16 products' sums m[ξ] = M[ξ·K + k][t], a row of 4 at a time.
    let stride = P.k * tiles();
    let base = k * tiles() + at.t;
    var m: array<vec4<f32>, 4>;
    for (var r = 0u; r < 4u; r = r + 1u) {
        let o = base + 4u * r * stride;
        m[r] = vec4<f32>(src[o], src[o + stride], src[o + 2u * stride], src[o + 3u * stride]);
    }
    // Aᵀ m A.
    let s0 = m[0] + m[1] + m[2];
    let s1 = m[1] - m[2] - m[3];
    var b = 0.0;
    if (P.has_bias != 0u) {
        b = bias[k];
    }
    let oy = at.y;
    let ox = at.x;
    let plane = (at.n * P.k + k) * P.ho * P.wo;
    store_y(plane, oy, ox, s0.x + s0.y + s0.z + b);
    store_y(plane, oy, ox + 1u, s0.y - s0.z - s0.w + b);
    store_y(plane, oy + 1u, ox, s1.x + s1.y + s1.z + b);
    store_y(plane, oy + 1u, ox + 1u, s1.y - s1.z - s1.w + b);
}

// A·v for a row v = (a, b) of a 2×2 tile of dy.
fn a_row(a: f32, b: f32) -> vec4<f32> {
    return vec4<f32>(a, a + b, a - b, -b);
}

@compute @workgroup_size(64)
fn dy_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = tile_at(workgroup_linear(wid) * 64u + lid, P.k);
    if (at.ch >= P.k) {
        return;
    }
    let plane = (at.n * P.k + at.ch) * P.ho * P.wo;
    let r0 = a_row(dy_at(plane, at.y, at.x), dy_at(plane, at.y, at.x + 1u));
    let r1 = a_row(dy_at(plane, at.y + 1u, at.x), dy_at(plane, at.y + 1u, at.x + 1u));
    // Y[ξ·K + k][t] = (A dy Aᵀ)[ξ].
    store16(at.ch * tiles() + at.t, P.k * tiles(), array<vec4<f32>, 4>(r0, r0 + r1, r0 - r1, -r1));
}

// t·G for a row t of Gᵀ m.
fn g_rows(t: vec4<f32>) -> vec3<f32> {
    let h = 0.5 * (t.y + t.z);
    return vec3<f32>(t.x + h, 0.5 * (t.y - t.z), h + t.w);
}

@compute @workgroup_size(64)
fn dw_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let kc = P.k * P.c;
    if (i >= kc) {
        return;
    }
    // m[ξ] = M[ξ·K + k][c] = M[ξ·K·C + i] for i = k·C + c, a row of 4 at a time.
    var m: array<vec4<f32>, 4>;
    for (var r = 0u; r < 4u; r = r + 1u) {
        let o = i + 4u * r * kc;
        m[r] = vec4<f32>(src[o], src[o + kc], src[o + 2u * kc], src[o + 3u * kc]);
    }
    // Gᵀ m G, row by row.
    let h = 0.5 * (m[1] + m[2]);
    store_dw(i, array<vec3<f32>, 3>(g_rows(m[0] + h), g_rows(0.5 * (m[1] - m[2])), g_rows(h + m[3])));
}
