// conv2d_input_grad_cols.wgsl: the input gradient in two steps, for
// convolutions with few input channels per group (C/g < 8), where the
// GEMM view of conv2d_input_grad.wgsl has C/g columns and no operand is
// reused:
//   1. cols[n, ci·R·S + r·S + s, oh, ow] = Σ_{k in group} dy[n,k,oh,ow] · w[k, c, r, s]
//      a GEMM per group with rows m = (n, oh, ow) [N·Ho·Wo], columns
//      (c, r, s) [C/g·R·S], reduction over the group's K/g output channels,
//      run by any GEMM entry point (gemm_blocks.wgsl, gemm_tiled.wgsl, ...);
//   2. col2im: dx[n,ci,ih,iw] = Σ_{r,s} cols[n, ci·R·S + r·S + s, oh, ow] over
//      the taps with ih + ph − r·dh = oh·sh and iw + pw − s·dw = ow·sw,
//      as in conv2d_input_grad.wgsl (R·S loads per output).
// Each dy element is then loaded once per block of 16 columns instead of
// once per multiply-add (figures: docs/performance.md). src/plan.rs picks
// this algorithm (TwoStepColumns) for C/g < 8 under every GEMM kernel.
// Layouts: dy [N,K,Ho,Wo], w [K,C/g,R,S], cols [N, C·R·S, Ho, Wo],
// dx [N,C,H,W]; f32, contiguous. The GEMM reads no tap table (binding 7
// holds a placeholder); kk is the output channel within the group.

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> cols: array<f32>;
@group(0) @binding(5) var<storage, read> cols_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read> taps: array<vec4<u32>>;

fn gemm_m() -> u32 { return P.n * P.ho * P.wo; }
fn gemm_n() -> u32 { return P.c_per_group * P.r * P.s; }
fn gemm_k() -> u32 { return P.k_per_group; }

// base: offset of dy[n, g·K/g, oh, ow]; the reduction steps by Ho·Wo.
struct ARow { valid: bool, base: u32 }

fn a_row(g: u32, m: u32) -> ARow {
    let mm = min(m, gemm_m() - 1u);
    let hw = P.ho * P.wo;
    return ARow(m < gemm_m(), ((mm / hw) * P.k + g * P.k_per_group) * hw + mm % hw);
}

fn load_a(a: ARow, kk: u32, tap: vec4<u32>) -> f32 {
    if (!a.valid) {
        return 0.0;
    }
    return dy[a.base + kk * P.ho * P.wo];
}

// base: offset of w[g·K/g, 0, 0, 0] + col; the reduction steps by (C/g)·R·S.
struct BCol { valid: bool, base: u32 }

fn b_col(g: u32, col: u32) -> BCol {
    return BCol(col < gemm_n(), g * P.k_per_group * gemm_n() + min(col, gemm_n() - 1u));
}

fn load_b(b: BCol, kk: u32, tap: vec4<u32>) -> f32 {
    if (!b.valid) {
        return 0.0;
    }
    return wt[b.base + kk * gemm_n()];
}

fn store_c(g: u32, split: u32, m: u32, col: u32, v: f32) {
    if (m >= gemm_m() || col >= gemm_n()) {
        return;
    }
    let hw = P.ho * P.wo;
    cols[(((m / hw) * P.groups + g) * gemm_n() + col) * hw + m % hw] = v;
}

// One invocation per dx element, in NCHW order; workgroup of 64,
// ceil(N·C·H·W / 64) workgroups (linearised).
@compute @workgroup_size(64)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.h * P.w) {
        return;
    }
    let iw = i % P.w;
    let t = i / P.w;
    let ih = t % P.h;
    let nc = t / P.h;
    let hw = P.ho * P.wo;
    let base = nc * P.r * P.s * hw;
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
            acc = acc + cols_in[base + (r * P.s + s) * hw + oh.x * P.wo + ow.x];
        }
    }
    dx[i] = acc;
}
