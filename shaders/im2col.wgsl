// im2col.wgsl: between a convolution and its columns, the matrix
//   cols[n, c·R·S + r·S + s, oh, ow] = x[n, c, oh·sh − ph + r·dh, ow·sw − pw + s·dw]
// (0 in the padding), [N, C·R·S, Ho, Wo]: the input of the 1x1
// convolution, weight [K, C·R·S, 1, 1] (the 3x3 weight's own memory), that
// gives the same y. After conv_params.wgsl and conv_index.wgsl; the
// uniform is the convolution's.
//   im2col, im2col_x4: x → cols (the Im2col algorithm's forward and weight
//     gradient; src/ops/im2col.rs), one row of Wo columns per invocation,
//     stored one value at a time or (Wo % 4 == 0) four as one vec4;
//   im2col_rows: the same from one row of x per invocation, read whole as
//     vec4s, for the S rows of columns its taps make (plan::im2col_entry);
//   col2im: columns → dx, each input element the sum of the columns its
//     taps reached, in (r, s) order (the input gradients of TwoStepColumns
//     and of Im2col); col2im_x4 four columns of dx at a time, col2im_rows
//     whole rows of dx from whole rows of columns (plan::col2im_entry).
// Each invocation writes its own outputs, and col2im sums in a fixed
// order.

@group(0) @binding(5) var<storage, read> src: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(10) var<storage, read_write> dst4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> src4: array<vec4<f32>>;

// x at (plane, ih, iw) of the padded input's coordinates, 0 in the
// padding.
fn x_at(plane: u32, ihp: u32, iwp: u32) -> f32 {
    if (ihp < P.pad_h || iwp < P.pad_w) {
        return 0.0;
    }
    let ih = ihp - P.pad_h;
    let iw = iwp - P.pad_w;
    if (ih >= P.h || iw >= P.w) {
        return 0.0;
    }
    return src[(plane * P.h + ih) * P.w + iw];
}

// Column row `row` = (n, c·R·S + r·S + s) and output row oh: the input
// plane and the padded input row the tap reads, and the tap's column
// offset s·dw.
struct ColRow { plane: u32, ihp: u32, tap_w: u32 }

fn col_row(row: u32, oh: u32) -> ColRow {
    let rs = P.r * P.s;
    let crs = row % (P.c * rs);
    let n = row / (P.c * rs);
    let tap = crs % rs;
    let r = tap / P.s;
    return ColRow(n * P.c + crs / rs, oh * P.stride_h + r * P.dil_h, (tap - r * P.s) * P.dil_w);
}

// One output row (n, c·R·S + r·S + s, oh) per invocation: the index
// arithmetic (divisions, which a CPU adapter pays per lane) once per row
// instead of once per value.
@compute @workgroup_size(64)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.r * P.s * P.ho) {
        return;
    }
    let oh = i % P.ho;
    let at = col_row(i / P.ho, oh);
    let out = i * P.wo;
    for (var ow = 0u; ow < P.wo; ow = ow + 1u) {
        dst[out + ow] = x_at(at.plane, at.ihp, ow * P.stride_w + at.tap_w);
    }
}

// The same, four neighbouring output columns at a time stored as one
// vec4 (Wo % 4 == 0). A row in the padding is zeros; in a row of x, the
// quads whose four columns all lie inside it (most of them) load without
// the padding's tests, which on a CPU adapter cost more than the loads.
@compute @workgroup_size(64)
fn im2col_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.r * P.s * P.ho) {
        return;
    }
    let oh = i % P.ho;
    let at = col_row(i / P.ho, oh);
    let out = i * P.wo / 4u;
    let quads = P.wo / 4u;
    let sw = P.stride_w;
    if (at.ihp < P.pad_h || at.ihp - P.pad_h >= P.h) {
        for (var q = 0u; q < quads; q = q + 1u) {
            dst4[out + q] = vec4<f32>(0.0);
        }
        return;
    }
    // Quads [lo, hi) read columns 4q·sw + tap_w − pad_w + {0, sw, 2sw,
    // 3sw}, all in [0, W).
    let step = 4u * sw;
    let lo = min(quads, (max(P.pad_w, at.tap_w) - at.tap_w + step - 1u) / step);
    let top = P.w - 1u + P.pad_w;
    let need = at.tap_w + 3u * sw;
    var hi = lo;
    if (top >= need) {
        hi = max(lo, min(quads, (top - need) / step + 1u));
    }
    for (var q = 0u; q < lo; q = q + 1u) {
        dst4[out + q] = x4_at(at, q * step, sw);
    }
    let row = (at.plane * P.h + at.ihp - P.pad_h) * P.w + at.tap_w - P.pad_w;
    for (var q = lo; q < hi; q = q + 1u) {
        let c = row + q * step;
        dst4[out + q] = vec4<f32>(src[c], src[c + sw], src[c + 2u * sw], src[c + 3u * sw]);
    }
    for (var q = hi; q < quads; q = q + 1u) {
        dst4[out + q] = x4_at(at, q * step, sw);
    }
}

// Four columns sw apart from padded column iwp0 + tap_w, through x_at.
fn x4_at(at: ColRow, iwp0: u32, sw: u32) -> vec4<f32> {
    let iwp = iwp0 + at.tap_w;
    return vec4<f32>(
        x_at(at.plane, at.ihp, iwp),
        x_at(at.plane, at.ihp, iwp + sw),
        x_at(at.plane, at.ihp, iwp + 2u * sw),
        x_at(at.plane, at.ihp, iwp + 3u * sw),
    );
}

// im2col_rows' geometry along W, pipeline constants (the host sets them
// per layer, src/ops/im2col.rs `rows_constants`): with the row's vec4s,
// the taps and every column's offset known when the pipeline is built,
// the loops below unroll and each output value is one lane of a loaded
// vec4, picked at build time.
override IM2COL_S: u32 = 1u;
override IM2COL_STRIDE_W: u32 = 1u;
override IM2COL_PAD_W: u32 = 0u;
override IM2COL_DIL_W: u32 = 1u;
// x's row in vec4s (W / 4, at most plan::MAX_ROW_QUADS) and the columns'
// rows in vec4s (Wo / 4).
override IM2COL_QUADS: u32 = 1u;
override IM2COL_OUT_QUADS: u32 = 1u;

// x's row as IM2COL_QUADS vec4s (the rest zero). Eight variables rather
// than an array: lavapipe moves an array that is indexed at run time to
// scratch memory before the loops that would make its indices constants
// unroll (which made im2col_rows 2.5x slower than im2col_x4).
struct Row8 { q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>, q4: vec4<f32>, q5: vec4<f32>, q6: vec4<f32>, q7: vec4<f32> }

fn zero_row8() -> Row8 {
    return Row8(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0),
                vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
}

// The row of `quads` vec4s at vec4 `at` of src4 (x's row for im2col_rows,
// a row of columns for col2im_rows), zeros past them, or all zeros
// unless `inside`.
fn load_row8(at: u32, quads: u32, inside: bool) -> Row8 {
    if (!inside) {
        return zero_row8();
    }
    return Row8(quad_at(at, 0u, quads), quad_at(at, 1u, quads), quad_at(at, 2u, quads), quad_at(at, 3u, quads),
                quad_at(at, 4u, quads), quad_at(at, 5u, quads), quad_at(at, 6u, quads), quad_at(at, 7u, quads));
}

fn quad_at(at: u32, j: u32, quads: u32) -> vec4<f32> {
    if (j >= quads) {
        return vec4<f32>(0.0);
    }
    return src4[at + j];
}

// Value i of a row held as quads: with i a constant where the pipeline
// is built (the callers' code is written out), the selects fold to one
// lane of one quad.
fn row_lane(r: Row8, i: u32) -> f32 {
    let j = i / 4u;
    var v = select(r.q0, r.q1, j == 1u);
    v = select(v, r.q2, j == 2u);
    v = select(v, r.q3, j == 3u);
    v = select(v, r.q4, j == 4u);
    v = select(v, r.q5, j == 5u);
    v = select(v, r.q6, j == 6u);
    v = select(v, r.q7, j == 7u);
    let e = i % 4u;
    return select(select(v.z, v.w, e == 3u), select(v.x, v.y, e == 1u), e < 2u);
}

// Column iwp of x's row (in padded coordinates: iwp − pad_w of the row),
// 0 in the padding.
fn row_at(r: Row8, iwp: u32) -> f32 {
    if (iwp < IM2COL_PAD_W || iwp - IM2COL_PAD_W >= 4u * IM2COL_QUADS) {
        return 0.0;
    }
    return row_lane(r, iwp - IM2COL_PAD_W);
}

// Output quad j of tap s's row of columns, from x's row: column
// 4j + e reads padded column (4j + e)·stride_w + s·dil_w.
fn cols_quad(r: Row8, s: u32, j: u32) -> vec4<f32> {
    let iwp = 4u * j * IM2COL_STRIDE_W + s * IM2COL_DIL_W;
    return vec4<f32>(
        row_at(r, iwp),
        row_at(r, iwp + IM2COL_STRIDE_W),
        row_at(r, iwp + 2u * IM2COL_STRIDE_W),
        row_at(r, iwp + 3u * IM2COL_STRIDE_W),
    );
}

// Tap s's row of columns at vec4 `out`, its IM2COL_OUT_QUADS quads
// written out (lavapipe leaves loops rolled, and with j a loop variable
// every value would be picked at run time).
fn store_cols_row(r: Row8, s: u32, out: u32) {
    dst4[out] = cols_quad(r, s, 0u);
    if (IM2COL_OUT_QUADS > 1u) {
        dst4[out + 1u] = cols_quad(r, s, 1u);
    }
    if (IM2COL_OUT_QUADS > 2u) {
        dst4[out + 2u] = cols_quad(r, s, 2u);
    }
    if (IM2COL_OUT_QUADS > 3u) {
        dst4[out + 3u] = cols_quad(r, s, 3u);
    }
    if (IM2COL_OUT_QUADS > 4u) {
        dst4[out + 4u] = cols_quad(r, s, 4u);
    }
    if (IM2COL_OUT_QUADS > 5u) {
        dst4[out + 5u] = cols_quad(r, s, 5u);
    }
    if (IM2COL_OUT_QUADS > 6u) {
        dst4[out + 6u] = cols_quad(r, s, 6u);
    }
    if (IM2COL_OUT_QUADS > 7u) {
        dst4[out + 7u] = cols_quad(r, s, 7u);
    }
}

// One row of x per invocation, (n, c, r, oh) (Ho fastest), loaded as
// IM2COL_QUADS vec4s (zeros in the padding), and its S (at most 3) rows
// of columns (n, c·R·S + r·S + s, oh) stored from it, each of at most 8
// vec4s (plan::im2col_entry): where im2col_x4 gathers each value with a
// scalar load, per lane and per tap, this loads the row once for all S
// taps. The same values: the same columns.
@compute @workgroup_size(64)
fn im2col_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.r * P.ho) {
        return;
    }
    let oh = i % P.ho;
    // t = (n·C + c)·R + r.
    let t = i / P.ho;
    let r = t % P.r;
    let ihp = oh * P.stride_h + r * P.dil_h;
    let inside = ihp >= P.pad_h && ihp - P.pad_h < P.h;
    let row = load_row8(((t / P.r) * P.h + ihp - P.pad_h) * IM2COL_QUADS, IM2COL_QUADS, inside);
    // Tap s's row of columns starts at vec4 (t·S + s)·Ho·OUT_QUADS + oh·OUT_QUADS.
    let out = (t * IM2COL_S * P.ho + oh) * IM2COL_OUT_QUADS;
    let step = P.ho * IM2COL_OUT_QUADS;
    store_cols_row(row, 0u, out);
    if (IM2COL_S > 1u) {
        store_cols_row(row, 1u, out + step);
    }
    if (IM2COL_S > 2u) {
        store_cols_row(row, 2u, out + 2u * step);
    }
}

// col2im's taps, pipeline constants (the host sets them per geometry,
// src/ops/conv2d_input_grad.rs `col2im_constants`): with the loop bounds
// and the tests of which taps reach which output known when the pipeline
// is built, the compiler unrolls the loops and drops the taps that never
// land; with them read from the uniform, every lane steps through every
// tap's loop iteration and tests, which on a CPU adapter cost more than
// the loads (3–4x the time, docs/performance.md). The host clamps a
// stride past the input's side, which changes no offset, so that every
// value here stays below 2^31; CELL is the stride, or the side where the
// stride is longer.
override COL2IM_R: u32 = 1u;
override COL2IM_S: u32 = 1u;
override COL2IM_STRIDE_H: u32 = 1u;
override COL2IM_STRIDE_W: u32 = 1u;
override COL2IM_PAD_H: u32 = 0u;
override COL2IM_PAD_W: u32 = 0u;
override COL2IM_DIL_H: u32 = 1u;
override COL2IM_DIL_W: u32 = 1u;
override COL2IM_CELL_H: u32 = 1u;
override COL2IM_CELL_W: u32 = 1u;
// The least multiple of the stride that is at least the dilated kernel's
// reach, (R − 1)·dil: added to keep the offsets' operands unsigned.
override COL2IM_LIFT_H: u32 = ((COL2IM_R - 1u) * COL2IM_DIL_H + COL2IM_STRIDE_H - 1u) / COL2IM_STRIDE_H * COL2IM_STRIDE_H;
override COL2IM_LIFT_W: u32 = ((COL2IM_S - 1u) * COL2IM_DIL_W + COL2IM_STRIDE_W - 1u) / COL2IM_STRIDE_W * COL2IM_STRIDE_W;

// The output row (or column) offset of tap t of input phase a along one
// axis (the input at q·stride + a came from output q + offset), offset =
// (a + pad − t·dil) / stride, and whether it is a whole one (else the
// tap reaches no output of the phase). Constant where the pipeline is
// built, as every argument is. Unsigned, lifted by a multiple of the
// stride: GLSL leaves % of a negative undefined, and with signed operands
// llvmpipe's GL got the cells of stride 3 wrong. Few operations before
// they fold, or the compiler leaves the loops rolled (twice the time).
fn col2im_offset(a: u32, pad: u32, t: u32, dil: u32, stride: u32, lift: u32) -> vec2<i32> {
    let d = a + pad + lift - t * dil;
    return vec2<i32>(bitcast<i32>(d / stride - lift / stride), select(0, 1, d % stride == 0u));
}

// Input element (a, b) of the cell (qh, qw) of the plane whose columns
// start at `base`: the sum of the columns its taps reached, in (r, s)
// order.
fn col2im_element(base: u32, qh: u32, qw: u32, a: u32, b: u32) -> f32 {
    let hw = P.ho * P.wo;
    var acc = 0.0;
    for (var r = 0u; r < COL2IM_R; r = r + 1u) {
        let off_h = col2im_offset(a, COL2IM_PAD_H, r, COL2IM_DIL_H, COL2IM_STRIDE_H, COL2IM_LIFT_H);
        let oh = i32(qh) + off_h.x;
        for (var s = 0u; s < COL2IM_S; s = s + 1u) {
            let off_w = col2im_offset(b, COL2IM_PAD_W, s, COL2IM_DIL_W, COL2IM_STRIDE_W, COL2IM_LIFT_W);
            let ow = i32(qw) + off_w.x;
            if (off_h.y == 1 && off_w.y == 1 && oh >= 0 && ow >= 0 && oh < i32(P.ho) && ow < i32(P.wo)) {
                acc = acc + src[base + (r * COL2IM_S + s) * hw + u32(oh) * P.wo + u32(ow)];
            }
        }
    }
    return acc;
}

// Invocation i's plane (n·C + c; N·C or more past the last), row of
// cells and item along that row, over rows of `across` items (cells, or
// quads of columns). Two divisions, each remainder from its quotient (a
// CPU adapter divides lane by lane).
fn col2im_item(i: u32, across: u32) -> vec3<u32> {
    let cells_h = (P.h - 1u) / COL2IM_STRIDE_H + 1u;
    let t = i / across;
    let plane = t / cells_h;
    return vec3<u32>(plane, t - plane * cells_h, i - t * across);
}

// One invocation per cell of stride_h x stride_w input elements (a cell
// per output position, N·C·⌈H/sh⌉·⌈W/sw⌉ of them, linearised, 64 per
// workgroup): in a cell every element's taps, and where they read, are
// constants.
@compute @workgroup_size(64)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = col2im_item(workgroup_linear(wid) * 64u + lid, (P.w - 1u) / COL2IM_STRIDE_W + 1u);
    let plane = at.x;
    if (plane >= P.n * P.c) {
        return;
    }
    let qh = at.y;
    let qw = at.z;
    let base = plane * COL2IM_R * COL2IM_S * P.ho * P.wo;
    for (var a = 0u; a < COL2IM_CELL_H; a = a + 1u) {
        let ih = qh * COL2IM_STRIDE_H + a;
        for (var b = 0u; b < COL2IM_CELL_W; b = b + 1u) {
            let iw = qw * COL2IM_STRIDE_W + b;
            let v = col2im_element(base, qh, qw, a, b);
            if (ih < P.h && iw < P.w) {
                dst[(plane * P.h + ih) * P.w + iw] = v;
            }
        }
    }
}

// col2im with each invocation's cells 4 input columns wide, stored as one
// vec4 per row (dst4), where W is a multiple of 4 and the stride along W
// divides 4 (plan::col2im_entry): a store costs a CPU adapter several
// loads, and col2im stores every input element once. The same sums.
@compute @workgroup_size(64)
fn col2im_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let quads = P.w / 4u;
    let at = col2im_item(workgroup_linear(wid) * 64u + lid, quads);
    let plane = at.x;
    if (plane >= P.n * P.c) {
        return;
    }
    let qh = at.y;
    let qd = at.z;
    let base = plane * COL2IM_R * COL2IM_S * P.ho * P.wo;
    // Column 4·qd + e is element e % sw of cell 4·qd / sw + e / sw: written
    // out for each e, so that both are constants where the pipeline is
    // built (in a loop over e the compiler left them variables).
    let qw = qd * (4u / COL2IM_STRIDE_W);
    let sw = COL2IM_STRIDE_W;
    for (var a = 0u; a < COL2IM_CELL_H; a = a + 1u) {
        let ih = qh * COL2IM_STRIDE_H + a;
        let v = vec4<f32>(
            col2im_element(base, qh, qw, a, 0u),
            col2im_element(base, qh, qw + 1u / sw, a, 1u % sw),
            col2im_element(base, qh, qw + 2u / sw, a, 2u % sw),
            col2im_element(base, qh, qw + 3u / sw, a, 3u % sw),
        );
        if (ih < P.h) {
            dst4[(plane * P.h + ih) * quads + qd] = v;
        }
    }
}

// col2im with each invocation's cells whole rows of dx (at most 2 rows of
// at most 8 vec4s, plan::col2im_entry), from whole rows of the columns
// (IM2COL_OUT_QUADS vec4s each, at most 8) loaded once as vec4s: where
// col2im_x4 makes one scalar load per value, per lane and per tap, this
// makes a vec4 load per four. Which taps reach which row of the cell
// (col2im_offset) and which column of a row reaches each of dx's
// (`add_tap_row`) are constants, written out (lavapipe leaves loops
// rolled). Each element sums what col2im_element sums in the same (r, s)
// order; a row of columns past the output's edge adds zeros, which leaves
// every sum's bits as they are (the sums start at +0).
@compute @workgroup_size(64)
fn col2im_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let at = col2im_item(workgroup_linear(wid) * 64u + lid, 1u);
    let plane = at.x;
    if (plane >= P.n * P.c) {
        return;
    }
    let qh = at.y;
    // Tap (r, s)'s rows of columns start at vec4 base + (r·S + s)·step.
    let step = P.ho * IM2COL_OUT_QUADS;
    let base = plane * COL2IM_R * COL2IM_S * step;
    store_dx_row(plane, qh, 0u, cell_row(base, step, qh, 0u));
    if (COL2IM_CELL_H > 1u) {
        store_dx_row(plane, qh, 1u, cell_row(base, step, qh, 1u));
    }
}

// Row a of cell row qh of dx: the sums over the taps r (at most 3) whose
// offset reaches it.
fn cell_row(base: u32, step: u32, qh: u32, a: u32) -> Row8 {
    var acc = zero_row8();
    acc = add_tap(acc, base, step, qh, a, 0u);
    if (COL2IM_R > 1u) {
        acc = add_tap(acc, base, step, qh, a, 1u);
    }
    if (COL2IM_R > 2u) {
        acc = add_tap(acc, base, step, qh, a, 2u);
    }
    return acc;
}

// acc plus tap row r's contributions (its taps s in order) to row a of
// cell row qh: nothing where the tap does not reach that row (a constant),
// zeros where the output row it reads lies past the output's edge.
fn add_tap(acc: Row8, base: u32, step: u32, qh: u32, a: u32, r: u32) -> Row8 {
    let off = col2im_offset(a, COL2IM_PAD_H, r, COL2IM_DIL_H, COL2IM_STRIDE_H, COL2IM_LIFT_H);
    if (off.y == 0) {
        return acc;
    }
    let oh = i32(qh) + off.x;
    let inside = oh >= 0 && oh < i32(P.ho);
    let row = base + (r * COL2IM_S) * step + u32(max(oh, 0)) * IM2COL_OUT_QUADS;
    var sum = add_tap_row(acc, load_row8(row, IM2COL_OUT_QUADS, inside), 0u);
    if (COL2IM_S > 1u) {
        sum = add_tap_row(sum, load_row8(row + step, IM2COL_OUT_QUADS, inside), 1u);
    }
    if (COL2IM_S > 2u) {
        sum = add_tap_row(sum, load_row8(row + 2u * step, IM2COL_OUT_QUADS, inside), 2u);
    }
    return sum;
}

// Column iw of dx's row from tap s's row of columns `c`: the column ow its
// offset reaches, or 0 where it reaches none.
fn tap_value(c: Row8, iw: u32, s: u32) -> f32 {
    let off = col2im_offset(iw % COL2IM_STRIDE_W, COL2IM_PAD_W, s, COL2IM_DIL_W, COL2IM_STRIDE_W, COL2IM_LIFT_W);
    let ow = i32(iw / COL2IM_STRIDE_W) + off.x;
    if (off.y == 0 || ow < 0 || ow >= 4 * i32(IM2COL_OUT_QUADS)) {
        return 0.0;
    }
    return row_lane(c, u32(ow));
}

fn tap_quad(c: Row8, j: u32, s: u32) -> vec4<f32> {
    return vec4<f32>(tap_value(c, 4u * j, s), tap_value(c, 4u * j + 1u, s), tap_value(c, 4u * j + 2u, s), tap_value(c, 4u * j + 3u, s));
}

// acc plus tap s's row of columns `c` on each of dx's IM2COL_QUADS quads.
fn add_tap_row(acc: Row8, c: Row8, s: u32) -> Row8 {
    var o = acc;
    o.q0 = o.q0 + tap_quad(c, 0u, s);
    if (IM2COL_QUADS > 1u) {
        o.q1 = o.q1 + tap_quad(c, 1u, s);
    }
    if (IM2COL_QUADS > 2u) {
        o.q2 = o.q2 + tap_quad(c, 2u, s);
    }
    if (IM2COL_QUADS > 3u) {
        o.q3 = o.q3 + tap_quad(c, 3u, s);
    }
    if (IM2COL_QUADS > 4u) {
        o.q4 = o.q4 + tap_quad(c, 4u, s);
    }
    if (IM2COL_QUADS > 5u) {
        o.q5 = o.q5 + tap_quad(c, 5u, s);
    }
    if (IM2COL_QUADS > 6u) {
        o.q6 = o.q6 + tap_quad(c, 6u, s);
    }
    if (IM2COL_QUADS > 7u) {
        o.q7 = o.q7 + tap_quad(c, 7u, s);
    }
    return o;
}

// Row a of cell row qh of plane `plane` of dx, where it lies inside dx.
fn store_dx_row(plane: u32, qh: u32, a: u32, v: Row8) {
    let ih = qh * COL2IM_STRIDE_H + a;
    if (ih >= P.h) {
        return;
    }
    let at = (plane * P.h + ih) * IM2COL_QUADS;
    dst4[at] = v.q0;
    if (IM2COL_QUADS > 1u) {
        dst4[at + 1u] = v.q1;
    }
    if (IM2COL_QUADS > 2u) {
        dst4[at + 2u] = v.q2;
    }
    if (IM2COL_QUADS > 3u) {
        dst4[at + 3u] = v.q3;
    }
    if (IM2COL_QUADS > 4u) {
        dst4[at + 4u] = v.q4;
    }
    if (IM2COL_QUADS > 5u) {
        dst4[at + 5u] = v.q5;
    }
    if (IM2COL_QUADS > 6u) {
        dst4[at + 6u] = v.q6;
    }
    if (IM2COL_QUADS > 7u) {
        dst4[at + 7u] = v.q7;
    }
}
