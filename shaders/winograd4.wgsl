// winograd4.wgsl: the transforms of Winograd's F(4×4, 3×3) convolution
// for 3×3 convolutions at stride 1, dilation 1, one group, forward, input
// gradient and weight gradient (plan::winograd_plan says which). Each 4×4
// tile of the output is
//   Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
// for the 6×6 input patch d under it and each 3×3 kernel g: 36 multiplies
// per tile and channel pair where the direct form takes 144 (F(2×2, 3×3),
// winograd.wgsl, takes 64 for the same 16 outputs). The matrices are
// Toom-Cook's at the points 0, 1, −1, ½, −2 and ∞ rather than Lavin's
// 0, ±1, ±2, ∞: their f32 rounding is 2–3× smaller, which keeps the
// result within 1e-5 × max(1, max|ref|) up to plan::WINOGRAD4_MAX_CHANNELS
// input channels (scripts/winograd_error_estimate.py, docs/performance.md):
//   Bᵀ = [1 −3/2 −2 3/2 1 0; 0 −1 1/2 5/2 1 0; 0 1 −5/2 1/2 1 0;
//         0 −2 −1 2 1 0; 0 1/2 −1 −1/2 1 0; 0 1 −3/2 −2 3/2 1],
//   G  = [1 0 0; 1/3 1/3 1/3; −1/3 1/3 −1/3; −16/15 −8/15 −4/15;
//         1/15 −2/15 4/15; 0 0 1],
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 1/2 −2 0; 0 1 1 1/4 4 0; 0 1 −1 1/8 −8 1].
// The sum over input channels of the 36 products is the batched GEMM of
// src/ops/winograd.rs, a 1×1 convolution of 36 groups:
//   M[ξ·K + k][t] = Σ_c U[ξ·K + k][c] · V[ξ·C + c][t],   ξ = 6·i + j < 36.
// Entry points (one invocation each, workgroups of 64, linearised grid),
// as winograd.wgsl's: input_transform (x → V [36·C, T], per (c, t)),
// weight_transform and weight_transform_turned (winograd_common.wgsl,
// w → U [36·K, C] per (k, c) by store_u below; where C is a multiple of 4
// their `_x4` twins below, four kernels per invocation), output_transform (M → y
// (+ bias), per (k, t)); where T is a multiple of 4, input_transform_x4
// and output_transform_x4 take four tiles per invocation and move V and
// M as vec4s; where rows have an even width (plan::WinogradRuns) their
// `_x4_pairs` twins read x and dy and write y in aligned vec2 pairs, the
// input transform reading a run's shared 6×18 patch once (twins, not a
// flag: a pipeline's bindings are every variable its entry point can
// reach, so one body with a flag would need both views bound); and for the
// weight gradient dy_transform (and dy_transform_x4, dy_transform_x4_pairs)
// and dw_transform (at the end of this file).
// A 6×6 matrix is held as 6 rows of two vec3s (columns 0–2 and 3–5); each
// transform is applied to columns with vec3 arithmetic, then to rows after
// a transpose into vec3s of three rows, so one helper per matrix serves
// both sides. Every sum runs in a fixed order: deterministic.

const TILE: u32 = 4u;

// Bᵀ v, for v a column of 6 (each entry a vec3 of three columns).
fn bt6(d: array<vec3<f32>, 6>) -> array<vec3<f32>, 6> {
    return array<vec3<f32>, 6>(
        d[0] - 1.5 * d[1] - 2.0 * d[2] + 1.5 * d[3] + d[4],
        -d[1] + 0.5 * d[2] + 2.5 * d[3] + d[4],
        d[1] - 2.5 * d[2] + 0.5 * d[3] + d[4],
        -2.0 * d[1] - d[2] + 2.0 * d[3] + d[4],
        0.5 * d[1] - d[2] - 0.5 * d[3] + d[4],
        d[1] - 1.5 * d[2] - 2.0 * d[3] + 1.5 * d[4] + d[5],
    );
}

// G v, for v a column of 3.
fn g6(g: array<vec3<f32>, 3>) -> array<vec3<f32>, 6> {
    return array<vec3<f32>, 6>(
        g[0],
        (g[0] + g[1] + g[2]) / 3.0,
        (g[1] - g[0] - g[2]) / 3.0,
        -(16.0 * g[0] + 8.0 * g[1] + 4.0 * g[2]) / 15.0,
        (g[0] - 2.0 * g[1] + 4.0 * g[2]) / 15.0,
        g[2],
    );
}

// Aᵀ v, for v a column of 6.
fn at4(m: array<vec3<f32>, 6>) -> array<vec3<f32>, 4> {
    return array<vec3<f32>, 4>(
        m[0] + m[1] + m[2] + m[3] + m[4],
        m[1] - m[2] + 0.5 * m[3] - 2.0 * m[4],
        m[1] + m[2] + 0.25 * m[3] + 4.0 * m[4],
        m[1] - m[2] + 0.125 * m[3] - 8.0 * m[4] + m[5],
    );
}

// Column j of rows r..r+2 of a matrix held as rows of (lo, hi) vec3s.
fn column3(lo: array<vec3<f32>, 6>, hi: array<vec3<f32>, 6>, r: u32, j: u32) -> vec3<f32> {
    if (j < 3u) {
        return vec3<f32>(lo[r][j], lo[r + 1u][j], lo[r + 2u][j]);
    }
    return vec3<f32>(hi[r][j - 3u], hi[r + 1u][j - 3u], hi[r + 2u][j - 3u]);
}

// The 6×6 matrix whose rows are (lo, hi), transposed into the columns of
// rows 0–2 (`top`) and of rows 3–5 (`bottom`): top[j] = (m0j, m1j, m2j).
struct Columns { top: array<vec3<f32>, 6>, bottom: array<vec3<f32>, 6> }

fn columns(lo: array<vec3<f32>, 6>, hi: array<vec3<f32>, 6>) -> Columns {
    var c: Columns;
    for (var j = 0u; j < 6u; j = j + 1u) {
        c.top[j] = column3(lo, hi, 0u, j);
        c.bottom[j] = column3(lo, hi, 3u, j);
    }
    return c;
}

// The 36 values of a transformed tile to dst[o + ξ·stride], ξ = 6·i + l,
// from its columns: top[l] = rows 0–2 of column l, bottom[l] rows 3–5.
fn store36(o: u32, stride: u32, top: array<vec3<f32>, 6>, bottom: array<vec3<f32>, 6>) {
    for (var l = 0u; l < 6u; l = l + 1u) {
        for (var i = 0u; i < 3u; i = i + 1u) {
            dst[o + (6u * i + l) * stride] = top[l][i];
            dst[o + (6u * (i + 3u) + l) * stride] = bottom[l][i];
        }
    }
}

// Bᵀ d B of the 6×6 input patch under tile `at`, as the columns of its
// rows 0–2 and 3–5.
fn transformed_patch(at: TileAt) -> Columns {
    let iy = i32(at.y) - i32(P.pad_h);
    let ix = i32(at.x) - i32(P.pad_w);
    let plane = (at.n * P.c + at.ch) * P.h * P.w;
    var lo: array<vec3<f32>, 6>;
    var hi: array<vec3<f32>, 6>;
    for (var i = 0; i < 6; i = i + 1) {
        let y = iy + i;
        lo[i] = vec3<f32>(x_at(plane, y, ix), x_at(plane, y, ix + 1), x_at(plane, y, ix + 2));
        hi[i] = vec3<f32>(x_at(plane, y, ix + 3), x_at(plane, y, ix + 4), x_at(plane, y, ix + 5));
    }
    return transformed_rows(lo, hi);
}

// Bᵀ d B of the 6×6 patch d held as rows of (lo, hi): columns 0–2, 3–5.
fn transformed_rows(lo: array<vec3<f32>, 6>, hi: array<vec3<f32>, 6>) -> Columns {
    // Bᵀ d, then its rows times B: (Bᵀ d B)ᵀ = Bᵀ (Bᵀ d)ᵀ.
    let c = columns(bt6(lo), bt6(hi));
    return Columns(bt6(c.top), bt6(c.bottom));
}

// Rows iy .. iy + 5 of x's column pair at ix (even), from x_pair.
fn pair_column(plane: u32, iy: i32, ix: i32) -> array<vec2<f32>, 6> {
    var p: array<vec2<f32>, 6>;
    for (var i = 0; i < 6; i = i + 1) {
        p[i] = x_pair(plane, iy + i, ix);
    }
    return p;
}

// transformed_rows of the 6×6 patch whose columns are the first six
// (`odd` false) or the second to seventh of the four column pairs a–d.
fn transformed_pairs(
    a: array<vec2<f32>, 6>, b: array<vec2<f32>, 6>, c: array<vec2<f32>, 6>, d: array<vec2<f32>, 6>,
    odd: bool,
) -> Columns {
    var lo: array<vec3<f32>, 6>;
    var hi: array<vec3<f32>, 6>;
    for (var i = 0u; i < 6u; i = i + 1u) {
        lo[i] = select(vec3<f32>(a[i], b[i].x), vec3<f32>(a[i].y, b[i]), odd);
        hi[i] = select(vec3<f32>(b[i].y, c[i]), vec3<f32>(c[i], d[i].x), odd);
    }
    return transformed_rows(lo, hi);
}

@compute @workgroup_size(64)
fn input_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = tile_at(workgroup_linear(wid) * 64u + lid, P.c);
    if (at.ch >= P.c) {
        return;
    }
    let v = transformed_patch(at);
    // V[ξ·C + c][t].
    store36(at.ch * tiles() + at.t, P.c * tiles(), v.top, v.bottom);
}

// input_transform for four consecutive tiles per invocation (T a multiple
// of 4), each transformed as above, their 36 values stored as vec4s: a
// store is a per-lane scatter on a CPU adapter, and this makes a quarter
// of them. The same arithmetic per tile, so the same bits.
@compute @workgroup_size(64)
fn input_transform_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let at = tile_at4(i, P.c, 0u);
    if (at.ch >= P.c) {
        return;
    }
    let v0 = transformed_patch(at);
    let v1 = transformed_patch(tile_at4(i, P.c, 1u));
    let v2 = transformed_patch(tile_at4(i, P.c, 2u));
    let v3 = transformed_patch(tile_at4(i, P.c, 3u));
    store36_x4((at.ch * tiles() + at.t) / 4u, P.c * tiles() / 4u, v0, v1, v2, v3);
}

// input_transform_x4 where each run of four tiles lies in one tile row
// (a multiple of 4 tiles per row) and x's rows have an even width
// (plan::winograd_runs): the four 6×6 patches overlap by two columns,
// so the run reads its 6×18 patch once, as ten aligned column pairs
// (from the even column at or before the patch's first): 60 vec2 loads
// where input_transform_x4 makes 144 scalar ones. The same values in the
// same arithmetic per tile, so the same bits.
@compute @workgroup_size(64)
fn input_transform_x4_pairs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let at = tile_at4(i, P.c, 0u);
    if (at.ch >= P.c) {
        return;
    }
    let plane = (at.n * P.c + at.ch) * P.h * P.w;
    let iy = i32(at.y) - i32(P.pad_h);
    let ix = i32(at.x) - i32(P.pad_w);
    // at.x is a multiple of 4: odd padding puts the patch one column
    // past its first pair's start.
    let odd = (P.pad_w & 1u) == 1u;
    let x0 = ix - select(0, 1, odd);
    // Tile j's patch is in pairs 2j .. 2j + 3; each tile loads two new ones.
    let p0 = pair_column(plane, iy, x0);
    let p1 = pair_column(plane, iy, x0 + 2);
    let p2 = pair_column(plane, iy, x0 + 4);
    let p3 = pair_column(plane, iy, x0 + 6);
    let v0 = transformed_pairs(p0, p1, p2, p3, odd);
    let p4 = pair_column(plane, iy, x0 + 8);
    let p5 = pair_column(plane, iy, x0 + 10);
    let v1 = transformed_pairs(p2, p3, p4, p5, odd);
    let p6 = pair_column(plane, iy, x0 + 12);
    let p7 = pair_column(plane, iy, x0 + 14);
    let v2 = transformed_pairs(p4, p5, p6, p7, odd);
    let p8 = pair_column(plane, iy, x0 + 16);
    let p9 = pair_column(plane, iy, x0 + 18);
    let v3 = transformed_pairs(p6, p7, p8, p9, odd);
    store36_x4((at.ch * tiles() + at.t) / 4u, P.c * tiles() / 4u, v0, v1, v2, v3);
}

// The 36 values of four consecutive tiles, as columns (store36's), to
// dst4[o + ξ·stride]: one vec4 per ξ, lane j from tile j.
fn store36_x4(o: u32, stride: u32, v0: Columns, v1: Columns, v2: Columns, v3: Columns) {
    for (var l = 0u; l < 6u; l = l + 1u) {
        for (var r = 0u; r < 3u; r = r + 1u) {
            dst4[o + (6u * r + l) * stride] = vec4<f32>(v0.top[l][r], v1.top[l][r], v2.top[l][r], v3.top[l][r]);
            dst4[o + (6u * (r + 3u) + l) * stride] =
                vec4<f32>(v0.bottom[l][r], v1.bottom[l][r], v2.bottom[l][r], v3.bottom[l][r]);
        }
    }
}

// U[ξ·K + k][c] = (G g Gᵀ)[ξ] for the kernel g (rows g0, g1, g2).
fn store_u(k: u32, c: u32, g: array<vec3<f32>, 3>) {
    let v = u_columns(g);
    store36(k * P.c + c, P.k * P.c, v.top, v.bottom);
}

// G g Gᵀ of the kernel g, as store36's columns.
fn u_columns(g: array<vec3<f32>, 3>) -> Columns {
    // G g (6 rows of 3), then (G g Gᵀ)ᵀ = G (G g)ᵀ on its columns.
    let u = g6(g);
    let top = g6(array<vec3<f32>, 3>(
        vec3<f32>(u[0].x, u[1].x, u[2].x), vec3<f32>(u[0].y, u[1].y, u[2].y), vec3<f32>(u[0].z, u[1].z, u[2].z)));
    let bottom = g6(array<vec3<f32>, 3>(
        vec3<f32>(u[3].x, u[4].x, u[5].x), vec3<f32>(u[3].y, u[4].y, u[5].y), vec3<f32>(u[3].z, u[4].z, u[5].z)));
    return Columns(top, bottom);
}

// The kernel of 9 values from offset o of src turned by 180°, as
// weight_transform_turned reads it.
fn turned_kernel_at(o: u32) -> array<vec3<f32>, 3> {
    return array<vec3<f32>, 3>(
        vec3<f32>(src[o + 8u], src[o + 7u], src[o + 6u]),
        vec3<f32>(src[o + 5u], src[o + 4u], src[o + 3u]),
        vec3<f32>(src[o + 2u], src[o + 1u], src[o]));
}

// weight_transform (winograd_common.wgsl) for the kernels of four
// consecutive input channels c .. c + 3 per invocation (C a multiple of
// 4, plan::WinogradRuns::weight_quads): their 36 floats are 9 vec4s of w
// (src4), and U's four values of each product one vec4 (dst4): 9 loads
// and 36 stores where four invocations make 36 and 144. The same
// arithmetic per kernel, so the same bits.
@compute @workgroup_size(64)
fn weight_transform_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.k * P.c / 4u) {
        return;
    }
    let o = i * 9u;
    let v0 = src4[o];
    let v1 = src4[o + 1u];
    let v2 = src4[o + 2u];
    let v3 = src4[o + 3u];
    let v4 = src4[o + 4u];
    let v5 = src4[o + 5u];
    let v6 = src4[o + 6u];
    let v7 = src4[o + 7u];
    let v8 = src4[o + 8u];
    store36_x4(i, P.k * P.c / 4u,
        u_columns(array<vec3<f32>, 3>(v0.xyz, vec3<f32>(v0.w, v1.xy), vec3<f32>(v1.zw, v2.x))),
        u_columns(array<vec3<f32>, 3>(v2.yzw, v3.xyz, vec3<f32>(v3.w, v4.xy))),
        u_columns(array<vec3<f32>, 3>(vec3<f32>(v4.zw, v5.x), v5.yzw, v6.xyz)),
        u_columns(array<vec3<f32>, 3>(vec3<f32>(v6.w, v7.xy), vec3<f32>(v7.zw, v8.x), v8.yzw)));
}

// weight_transform_turned for four consecutive c per invocation, as
// weight_transform_x4: the layer's kernels w[c + j][k] lie K·9 apart, so
// they load as scalars; U's values store as vec4s.
@compute @workgroup_size(64)
fn weight_transform_turned_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.k * P.c / 4u) {
        return;
    }
    let k = 4u * i / P.c;
    let c = 4u * i % P.c;
    let o = (c * P.k + k) * 9u;
    let step = P.k * 9u;
    store36_x4(i, P.k * P.c / 4u,
        u_columns(turned_kernel_at(o)),
        u_columns(turned_kernel_at(o + step)),
        u_columns(turned_kernel_at(o + 2u * step)),
        u_columns(turned_kernel_at(o + 3u * step)));
}

@compute @workgroup_size(64)
fn output_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = tile_at(workgroup_linear(wid) * 64u + lid, P.k);
    if (at.ch >= P.k) {
        return;
    }
    // m[ξ] = M[ξ·K + k][t], as rows of (lo, hi).
    let stride = P.k * tiles();
    let base = at.ch * tiles() + at.t;
    var lo: array<vec3<f32>, 6>;
    var hi: array<vec3<f32>, 6>;
    for (var i = 0u; i < 6u; i = i + 1u) {
        let o = base + 6u * i * stride;
        lo[i] = vec3<f32>(src[o], src[o + stride], src[o + 2u * stride]);
        hi[i] = vec3<f32>(src[o + 3u * stride], src[o + 4u * stride], src[o + 5u * stride]);
    }
    store_output_tile(at, lo, hi);
}

// output_transform for four consecutive tiles per invocation (T a
// multiple of 4): each ξ's four values are one vec4 load of M, a quarter
// of the loads; the same arithmetic per tile, so the same bits.
@compute @workgroup_size(64)
fn output_transform_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let at = tile_at4(i, P.k, 0u);
    if (at.ch >= P.k) {
        return;
    }
    let m = run_of_m(at);
    store_output_tile(at, tile_rows(m.lo, 0u), tile_rows(m.hi, 0u));
    store_output_tile(tile_at4(i, P.k, 1u), tile_rows(m.lo, 1u), tile_rows(m.hi, 1u));
    store_output_tile(tile_at4(i, P.k, 2u), tile_rows(m.lo, 2u), tile_rows(m.hi, 2u));
    store_output_tile(tile_at4(i, P.k, 3u), tile_rows(m.lo, 3u), tile_rows(m.hi, 3u));
}

// output_transform_x4 where the output's rows have an even width
// (plan::winograd_runs): each row of a tile is two aligned pairs, stored
// as vec2s (32 stores per run where output_transform_x4 makes 64
// scalar ones; on lavapipe a store costs more than a load). The same
// arithmetic, so the same bits.
@compute @workgroup_size(64)
fn output_transform_x4_pairs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let at = tile_at4(i, P.k, 0u);
    if (at.ch >= P.k) {
        return;
    }
    let m = run_of_m(at);
    store_output_pairs(at, tile_rows(m.lo, 0u), tile_rows(m.hi, 0u));
    store_output_pairs(tile_at4(i, P.k, 1u), tile_rows(m.lo, 1u), tile_rows(m.hi, 1u));
    store_output_pairs(tile_at4(i, P.k, 2u), tile_rows(m.lo, 2u), tile_rows(m.hi, 2u));
    store_output_pairs(tile_at4(i, P.k, 3u), tile_rows(m.lo, 3u), tile_rows(m.hi, 3u));
}

// The 36 products of a run of four tiles starting at `at`: row r of m,
// ξ = 6·r + l, as lo[r][l] (ξ = 6·r + l) and hi[r][l] (ξ = 6·r + 3 + l),
// one lane per tile: one vec4 load of M per ξ.
struct RunOfM { lo: array<array<vec4<f32>, 3>, 6>, hi: array<array<vec4<f32>, 3>, 6> }

fn run_of_m(at: TileAt) -> RunOfM {
    let stride = P.k * tiles() / 4u;
    let base = (at.ch * tiles() + at.t) / 4u;
    var m: RunOfM;
    for (var r = 0u; r < 6u; r = r + 1u) {
        for (var l = 0u; l < 3u; l = l + 1u) {
            m.lo[r][l] = src4[base + (6u * r + l) * stride];
            m.hi[r][l] = src4[base + (6u * r + 3u + l) * stride];
        }
    }
    return m;
}

// Tile j's six rows of three from rows of three vec4s (one lane per tile).
fn tile_rows(m: array<array<vec4<f32>, 3>, 6>, j: u32) -> array<vec3<f32>, 6> {
    var out: array<vec3<f32>, 6>;
    for (var r = 0u; r < 6u; r = r + 1u) {
        out[r] = vec3<f32>(m[r][0][j], m[r][1][j], m[r][2][j]);
    }
    return out;
}

// y's 4×4 tile `at` (+ the bias) from m[ξ] held as rows of (lo, hi).
fn store_output_tile(at: TileAt, lo: array<vec3<f32>, 6>, hi: array<vec3<f32>, 6>) {
    let rows = output_rows(at.ch, lo, hi);
    let plane = (at.n * P.k + at.ch) * P.ho * P.wo;
    for (var r = 0u; r < 4u; r = r + 1u) {
        for (var q = 0u; q < 4u; q = q + 1u) {
            store_y(plane, at.y + r, at.x + q, rows[r][q]);
        }
    }
}

// store_output_tile in aligned pairs, for Wo even.
fn store_output_pairs(at: TileAt, lo: array<vec3<f32>, 6>, hi: array<vec3<f32>, 6>) {
    let rows = output_rows(at.ch, lo, hi);
    let plane = (at.n * P.k + at.ch) * P.ho * P.wo;
    for (var r = 0u; r < 4u; r = r + 1u) {
        store_y_pair(plane, at.y + r, at.x, rows[r].xy);
        store_y_pair(plane, at.y + r, at.x + 2u, rows[r].zw);
    }
}

// The four rows of output channel k's 4×4 tile Aᵀ m A (+ the bias) from
// m[ξ] held as rows of (lo, hi).
fn output_rows(k: u32, lo: array<vec3<f32>, 6>, hi: array<vec3<f32>, 6>) -> array<vec4<f32>, 4> {
    // Aᵀ m (4 rows), then (Aᵀ m A)ᵀ = Aᵀ (Aᵀ m)ᵀ on its columns.
    let s_lo = at4(lo);
    let s_hi = at4(hi);
    var top: array<vec3<f32>, 6>;
    var last: array<vec3<f32>, 6>;
    for (var j = 0u; j < 6u; j = j + 1u) {
        if (j < 3u) {
            top[j] = vec3<f32>(s_lo[0][j], s_lo[1][j], s_lo[2][j]);
            last[j] = vec3<f32>(s_lo[3][j], 0.0, 0.0);
        } else {
            top[j] = vec3<f32>(s_hi[0][j - 3u], s_hi[1][j - 3u], s_hi[2][j - 3u]);
            last[j] = vec3<f32>(s_hi[3][j - 3u], 0.0, 0.0);
        }
    }
    // y_top[q] = rows 0–2 of output column q, y_last[q].x = row 3.
    let y_top = at4(top);
    let y_last = at4(last);
    var b = 0.0;
    if (P.has_bias != 0u) {
        b = bias[k];
    }
    var rows: array<vec4<f32>, 4>;
    for (var r = 0u; r < 3u; r = r + 1u) {
        rows[r] = vec4<f32>(y_top[0][r], y_top[1][r], y_top[2][r], y_top[3][r]) + b;
    }
    rows[3] = vec4<f32>(y_last[0].x, y_last[1].x, y_last[2].x, y_last[3].x) + b;
    return rows;
}

// The weight gradient (F(3×3, 4×4), as winograd.wgsl's F(3×3, 2×2)): per
// tile, the 3×3 kernel's gradient is Gᵀ [(A dy Aᵀ) ⊙ (Bᵀ d B)] G for the
// tile's 4×4 output gradient dy and the 6×6 input patch d under it, so the
// input transform is the forward's, and the sum over tiles of the 36
// products is the weight gradient of the same batched 1×1 convolution:
//   M[ξ·K + k][c] = Σ_t Y[ξ·K + k][t] · V[ξ·C + c][t],  Y = A dy Aᵀ.
// Entry points: dy_transform (dy → Y [36·K, T], per (k, t)) and
// dw_transform (M [36·K, C] → dw [K, C, 3, 3], per (k, c)).

// A v, for v a column of 4 (each entry a vec4: one row of dy).
fn a6_rows(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) -> array<vec4<f32>, 6> {
    return array<vec4<f32>, 6>(
        v0,
        v0 + v1 + v2 + v3,
        v0 - v1 + v2 - v3,
        v0 + 0.5 * v1 + 0.25 * v2 + 0.125 * v3,
        v0 - 2.0 * v1 + 4.0 * v2 - 8.0 * v3,
        v3,
    );
}

// A v, for v a column of 4 (each entry a vec3 of three rows).
fn a6(v: array<vec3<f32>, 4>) -> array<vec3<f32>, 6> {
    return array<vec3<f32>, 6>(
        v[0],
        v[0] + v[1] + v[2] + v[3],
        v[0] - v[1] + v[2] - v[3],
        v[0] + 0.5 * v[1] + 0.25 * v[2] + 0.125 * v[3],
        v[0] - 2.0 * v[1] + 4.0 * v[2] - 8.0 * v[3],
        v[3],
    );
}

// Column j of rows r..r+2 of a 6×4 matrix held as rows of vec4s.
fn column3_of4(q: array<vec4<f32>, 6>, r: u32, j: u32) -> vec3<f32> {
    return vec3<f32>(q[r][j], q[r + 1u][j], q[r + 2u][j]);
}

// A dy Aᵀ of tile `at`'s 4×4 block of dy (zero past the output's edge),
// as the columns of its rows 0–2 and 3–5.
fn transformed_dy(at: TileAt) -> Columns {
    let plane = (at.n * P.k + at.ch) * P.ho * P.wo;
    var r: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let y = at.y + i;
        r[i] = vec4<f32>(dy_at(plane, y, at.x), dy_at(plane, y, at.x + 1u), dy_at(plane, y, at.x + 2u), dy_at(plane, y, at.x + 3u));
    }
    return transformed_dy_rows(r);
}

// transformed_dy reading each row of the block as two aligned pairs
// (Wo even).
fn transformed_dy_pairs(at: TileAt) -> Columns {
    let plane = (at.n * P.k + at.ch) * P.ho * P.wo;
    var r: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let y = at.y + i;
        r[i] = vec4<f32>(dy_pair(plane, y, at.x), dy_pair(plane, y, at.x + 2u));
    }
    return transformed_dy_rows(r);
}

// A dy Aᵀ of the 4×4 block dy held as its rows r.
fn transformed_dy_rows(r: array<vec4<f32>, 4>) -> Columns {
    // A dy (6 rows of 4), then its rows times Aᵀ: (A dy Aᵀ) column l is
    // A applied to the transposed rows, three at a time.
    let q = a6_rows(r[0], r[1], r[2], r[3]);
    let top = a6(array<vec3<f32>, 4>(column3_of4(q, 0u, 0u), column3_of4(q, 0u, 1u), column3_of4(q, 0u, 2u), column3_of4(q, 0u, 3u)));
    let bottom = a6(array<vec3<f32>, 4>(column3_of4(q, 3u, 0u), column3_of4(q, 3u, 1u), column3_of4(q, 3u, 2u), column3_of4(q, 3u, 3u)));
    return Columns(top, bottom);
}

@compute @workgroup_size(64)
fn dy_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = tile_at(workgroup_linear(wid) * 64u + lid, P.k);
    if (at.ch >= P.k) {
        return;
    }
    let v = transformed_dy(at);
    // Y[ξ·K + k][t], ξ = 6·i + l: top[l] holds rows 0–2 of column l.
    store36(at.ch * tiles() + at.t, P.k * tiles(), v.top, v.bottom);
}

// dy_transform for four consecutive tiles per invocation (T a multiple
// of 4), as input_transform_x4: the same arithmetic per tile, Y stored
// as vec4s.
@compute @workgroup_size(64)
fn dy_transform_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let at = tile_at4(i, P.k, 0u);
    if (at.ch >= P.k) {
        return;
    }
    let v0 = transformed_dy(at);
    let v1 = transformed_dy(tile_at4(i, P.k, 1u));
    let v2 = transformed_dy(tile_at4(i, P.k, 2u));
    let v3 = transformed_dy(tile_at4(i, P.k, 3u));
    store36_x4((at.ch * tiles() + at.t) / 4u, P.k * tiles() / 4u, v0, v1, v2, v3);
}

// dy_transform_x4 where dy's rows have an even width
// (plan::winograd_runs): each block row is two aligned vec2 loads
// (32 per run where dy_transform_x4 makes 64 scalar ones). The same
// values, so the same bits.
@compute @workgroup_size(64)
fn dy_transform_x4_pairs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let at = tile_at4(i, P.k, 0u);
    if (at.ch >= P.k) {
        return;
    }
    let v0 = transformed_dy_pairs(at);
    let v1 = transformed_dy_pairs(tile_at4(i, P.k, 1u));
    let v2 = transformed_dy_pairs(tile_at4(i, P.k, 2u));
    let v3 = transformed_dy_pairs(tile_at4(i, P.k, 3u));
    store36_x4((at.ch * tiles() + at.t) / 4u, P.k * tiles() / 4u, v0, v1, v2, v3);
}

// Gᵀ u, for u a column of 6 (each entry a vec3).
fn gt3(u: array<vec3<f32>, 6>) -> array<vec3<f32>, 3> {
    return array<vec3<f32>, 3>(
        u[0] + (u[1] - u[2]) / 3.0 + (u[4] - 16.0 * u[3]) / 15.0,
        (u[1] + u[2]) / 3.0 - (8.0 * u[3] + 2.0 * u[4]) / 15.0,
        (u[1] - u[2]) / 3.0 + (4.0 * u[4] - 4.0 * u[3]) / 15.0 + u[5],
    );
}

@compute @workgroup_size(64)
fn dw_transform(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    let kc = P.k * P.c;
    if (i >= kc) {
        return;
    }
    // m[ξ] = M[ξ·K + k][c] = M[ξ·K·C + i] for i = k·C + c, as rows of
    // (lo, hi): columns 0–2 and 3–5.
    var lo: array<vec3<f32>, 6>;
    var hi: array<vec3<f32>, 6>;
    for (var r = 0u; r < 6u; r = r + 1u) {
        let o = i + 6u * r * kc;
        lo[r] = vec3<f32>(src[o], src[o + kc], src[o + 2u * kc]);
        hi[r] = vec3<f32>(src[o + 3u * kc], src[o + 4u * kc], src[o + 5u * kc]);
    }
    // Gᵀ m (3 rows of 6), then its rows times G: dw column b, as a vec3 of
    // the three rows, is Gᵀ applied to the transposed rows.
    let t_lo = gt3(lo);
    let t_hi = gt3(hi);
    var u: array<vec3<f32>, 6>;
    for (var j = 0u; j < 3u; j = j + 1u) {
        u[j] = vec3<f32>(t_lo[0][j], t_lo[1][j], t_lo[2][j]);
        u[j + 3u] = vec3<f32>(t_hi[0][j], t_hi[1][j], t_hi[2][j]);
    }
    let cols = gt3(u);
    store_dw(i, array<vec3<f32>, 3>(
        vec3<f32>(cols[0].x, cols[1].x, cols[2].x),
        vec3<f32>(cols[0].y, cols[1].y, cols[2].y),
        vec3<f32>(cols[0].z, cols[1].z, cols[2].z)));
}
