// conv2d_input_grad_cols.wgsl: the input gradient in two steps, for
// convolutions with few input channels per group (C/g < 8), where the
// GEMM view of conv2d_input_grad.wgsl has C/g columns and no operand is
// reused:
//   1. cols[n, ci·R·S + r·S + s, oh, ow] = Σ_{k in group} dy[n,k,oh,ow] · w[k, c, r, s]
//      a GEMM per group with rows m = (n, oh, ow) [N·Ho·Wo], columns
//      (c, r, s) [C/g·R·S], reduction over the group's K/g output channels,
//      run by any GEMM entry point (gemm_blocks.wgsl, gemm_tiled.wgsl, ...);
//   2. col2im (im2col.wgsl): dx[n,ci,ih,iw] = Σ_{r,s} cols[n, ci·R·S + r·S + s,
//      oh, ow] over the taps with ih + ph − r·dh = oh·sh and iw + pw − s·dw
//      = ow·sw, as in conv2d_input_grad.wgsl (R·S loads per output).
// Each dy element is then loaded once per block of 16 columns instead of
// once per multiply-add (figures: docs/performance.md). src/plan.rs picks
// this algorithm (TwoStepColumns) for C/g < 8 under every GEMM kernel.
// Layouts: dy [N,K,Ho,Wo], w [K,C/g,R,S], cols [N, C·R·S, Ho, Wo],
// dx [N,C,H,W]; f32, contiguous. The GEMM reads no tap table (binding 7
// holds a placeholder); kk is the output channel within the group.

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> cols: array<f32>;
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
