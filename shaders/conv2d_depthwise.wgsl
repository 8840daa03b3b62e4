// conv2d_depthwise.wgsl: the three convolutions of a depthwise 3×3 layer
// (C/g = 1: output channel k reads input channel k / (K/g) alone, as in
// MobileNets), dilation 1, any padding, stride 1 or 2 on each axis.
// plan::depthwise_fits says
// which problems these entries take; the formulas are the conv ops' own
// (conv2d_forward.wgsl, conv2d_input_grad.wgsl, conv2d_weight_grad.wgsl).
// Layouts: x [N,C,H,W], w [K,1,3,3], y and dy [N,K,Ho,Wo]; f32, contiguous.
//
// The generic `direct` kernels run one output per invocation through loops
// over C/g·R·S with a bounds check and index arithmetic per tap. Here each
// invocation owns a 4×4 block of outputs with the 3×3 written out: it
// reads each input row of the block's window once (6 values at stride 1,
// 9 at stride 2), turns it into three 4-wide windows (one per tap column)
// and adds each window times a tap row into the output rows that use it,
// so an input value is loaded once for up to 9 multiply-adds.
// Entry points (workgroups of 64, linearised grid):
//   forward:     y = conv2d(x, w) + bias; one invocation per 4×4 block of y
//                (N·K·⌈Ho/4⌉·⌈Wo/4⌉ of them).
//   input_grad:  dx, summed over the K/g output channels of each input
//                channel; one invocation per 4×4 block of dx, reading the
//                dy rows and columns that reach it (at stride 1 the
//                forward correlation with the taps turned by 180°; at
//                stride 2 three dy values per axis, each through the taps
//                of one parity).
//   weight_grad: one invocation per (split, k): the split's range of the
//                N·Ho output rows (rows [split·split_len, ...)), 4 outputs
//                of a row at a time, summed in order into the 9 partial
//                sums out[split][k·9 + r·3 + s] (with one split, out is dw
//                itself); conv2d_weight_grad.wgsl's reduce_splits adds the
//                splits in order. Deterministic: no atomics.
// Coordinates are i32 so that a window may start in the padding.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(8) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read_write> out4: array<vec4<f32>>;

// The stride, a pipeline constant of every pipeline of this module (the
// host sets it per layer: src/ops/conv2d_depthwise.rs `constants`): with
// it read from the uniform, every lane ran both strides' branches of the
// window code, and the input gradient took 2–3x as long
// (docs/performance.md). The vec4 forward entries have it written in.
override DEPTHWISE_STRIDE_H: u32 = 1u;
override DEPTHWISE_STRIDE_W: u32 = 1u;

// Whether the forward adds a bias (the uniform's has_bias), a pipeline
// constant for the same reason: read from the uniform, every lane ran the
// bias branch too, a load and a select per output, bias or not. 0 for the
// gradients' pipelines, which have none.
override DEPTHWISE_BIAS: u32;

fn depthwise_stride() -> vec2<u32> {
    return vec2<u32>(DEPTHWISE_STRIDE_H, DEPTHWISE_STRIDE_W);
}

// One input row seen through a 3-wide kernel by 4 neighbouring outputs:
// lane o of t<s> is the value tap column s of output o reads.
struct Windows {
    t0: vec4<f32>,
    t1: vec4<f32>,
    t2: vec4<f32>,
}

// a[row + ix], or 0 outside [0, cols): the zero padding.
fn at(row: u32, ix: i32, cols: u32) -> f32 {
    if (ix < 0 || u32(ix) >= cols) {
        return 0.0;
    }
    return a[row + u32(ix)];
}

// Row iy of the rows × cols plane at `plane` in a, from column ix0, for 4
// outputs `stride` apart.
fn windows(plane: u32, iy: i32, ix0: i32, rows: u32, cols: u32, stride: u32) -> Windows {
    if (iy < 0 || u32(iy) >= rows) {
        return Windows(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    }
    let row = plane + u32(iy) * cols;
    let v0 = at(row, ix0, cols);
    let v1 = at(row, ix0 + 1, cols);
    let v2 = at(row, ix0 + 2, cols);
    let v3 = at(row, ix0 + 3, cols);
    let v4 = at(row, ix0 + 4, cols);
    let v5 = at(row, ix0 + 5, cols);
    if (stride == 1u) {
        return Windows(vec4<f32>(v0, v1, v2, v3), vec4<f32>(v1, v2, v3, v4), vec4<f32>(v2, v3, v4, v5));
    }
    let v6 = at(row, ix0 + 6, cols);
    let v7 = at(row, ix0 + 7, cols);
    let v8 = at(row, ix0 + 8, cols);
    return Windows(vec4<f32>(v0, v2, v4, v6), vec4<f32>(v1, v3, v5, v7), vec4<f32>(v2, v4, v6, v8));
}

// One tap row's contribution to 4 outputs.
fn mac(t: Windows, w: vec3<f32>) -> vec4<f32> {
    return t.t0 * w.x + t.t1 * w.y + t.t2 * w.z;
}

// The 3×3 kernel as its three rows.
struct Taps {
    r0: vec3<f32>,
    r1: vec3<f32>,
    r2: vec3<f32>,
}

fn taps(k: u32) -> Taps {
    let o = k * 9u;
    return Taps(
        vec3<f32>(b[o], b[o + 1u], b[o + 2u]),
        vec3<f32>(b[o + 3u], b[o + 4u], b[o + 5u]),
        vec3<f32>(b[o + 6u], b[o + 7u], b[o + 8u]),
    );
}

// A 4×4 block of outputs, a row per vector.
struct Block {
    y0: vec4<f32>,
    y1: vec4<f32>,
    y2: vec4<f32>,
    y3: vec4<f32>,
}

// load_patch: the input rows under a 4×4 block of outputs whose window starts at
// (iy0, ix0) in the rows × cols plane at `plane`, outputs `stride` apart:
// t[j] is row iy0 + j as `windows` gives it, 6 rows at stride 1 (t[6..8]
// unused), 9 at stride 2. Loaded once, read for every output channel of
// the input's group.
struct Patch {
    t0: Windows,
    t1: Windows,
    t2: Windows,
    t3: Windows,
    t4: Windows,
    t5: Windows,
    t6: Windows,
    t7: Windows,
    t8: Windows,
}

fn load_patch(plane: u32, iy0: i32, ix0: i32, rows: u32, cols: u32, stride: vec2<u32>) -> Patch {
    var p: Patch;
    p.t0 = windows(plane, iy0, ix0, rows, cols, stride.y);
    p.t1 = windows(plane, iy0 + 1, ix0, rows, cols, stride.y);
    p.t2 = windows(plane, iy0 + 2, ix0, rows, cols, stride.y);
    p.t3 = windows(plane, iy0 + 3, ix0, rows, cols, stride.y);
    p.t4 = windows(plane, iy0 + 4, ix0, rows, cols, stride.y);
    p.t5 = windows(plane, iy0 + 5, ix0, rows, cols, stride.y);
    if (stride.x == 2u) {
        p.t6 = windows(plane, iy0 + 6, ix0, rows, cols, stride.y);
        p.t7 = windows(plane, iy0 + 7, ix0, rows, cols, stride.y);
        p.t8 = windows(plane, iy0 + 8, ix0, rows, cols, stride.y);
    }
    return p;
}

// The 3×3 correlation of a patch with `w`: output row m reads input rows
// m·stride_h + 0, 1, 2 through tap rows 0, 1, 2, summed in that order.
fn correlate(p: Patch, stride_h: u32, w: Taps) -> Block {
    if (stride_h == 1u) {
        return Block(
            mac(p.t0, w.r0) + mac(p.t1, w.r1) + mac(p.t2, w.r2),
            mac(p.t1, w.r0) + mac(p.t2, w.r1) + mac(p.t3, w.r2),
            mac(p.t2, w.r0) + mac(p.t3, w.r1) + mac(p.t4, w.r2),
            mac(p.t3, w.r0) + mac(p.t4, w.r1) + mac(p.t5, w.r2),
        );
    }
    return Block(
        mac(p.t0, w.r0) + mac(p.t1, w.r1) + mac(p.t2, w.r2),
        mac(p.t2, w.r0) + mac(p.t3, w.r1) + mac(p.t4, w.r2),
        mac(p.t4, w.r0) + mac(p.t5, w.r1) + mac(p.t6, w.r2),
        mac(p.t6, w.r0) + mac(p.t7, w.r1) + mac(p.t8, w.r2),
    );
}

// The input gradient's side of `windows`: row iy of the rows × cols plane
// of dy at `plane`, as it reaches the 4 input columns x0 .. x0 + 3 (x0 a
// multiple of 4) through a 3-wide kernel at `stride` with padding `pad`:
// lane o of t<s> is the dy value that tap column s carries to column x0 + o,
// or 0 where none does. dx[x] takes dy[(x + pad − s) / stride]·w[s] where
// that is a whole column in range.
fn windows_back(plane: u32, iy: i32, x0: u32, rows: u32, cols: u32, stride: u32, pad: u32) -> Windows {
    if (iy < 0 || u32(iy) >= rows) {
        return Windows(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    }
    let row = plane + u32(iy) * cols;
    let q = x0 + pad;
    if (stride == 1u) {
        let ix0 = i32(q) - 2;
        let v0 = at(row, ix0, cols);
        let v1 = at(row, ix0 + 1, cols);
        let v2 = at(row, ix0 + 2, cols);
        let v3 = at(row, ix0 + 3, cols);
        let v4 = at(row, ix0 + 4, cols);
        let v5 = at(row, ix0 + 5, cols);
        return Windows(vec4<f32>(v2, v3, v4, v5), vec4<f32>(v1, v2, v3, v4), vec4<f32>(v0, v1, v2, v3));
    }
    // Stride 2: dy columns ⌊(q − 1) / 2⌋ + 0, 1, 2 reach the 4 columns, each
    // through the taps of matching parity; which ones depends on q's parity
    // alone (the same in every lane, since x0 is a multiple of 4).
    let ix0 = i32((q + 1u) / 2u) - 1;
    let v0 = at(row, ix0, cols);
    let v1 = at(row, ix0 + 1, cols);
    let v2 = at(row, ix0 + 2, cols);
    if ((q & 1u) == 0u) {
        return Windows(vec4<f32>(v1, 0.0, v2, 0.0), vec4<f32>(0.0, v1, 0.0, v2), vec4<f32>(v0, 0.0, v1, 0.0));
    }
    return Windows(vec4<f32>(0.0, v1, 0.0, v2), vec4<f32>(v0, 0.0, v1, 0.0), vec4<f32>(0.0, v0, 0.0, v1));
}

// The 4×4 block of dx at stride 1 from the 6 dy rows t0..t5 that reach
// it (row m feeds dx rows m − 2 .. m), each output row summed in tap-row
// order 2, 1, 0.
fn back_rows(t0: Windows, t1: Windows, t2: Windows, t3: Windows, t4: Windows, t5: Windows, w: Taps) -> Block {
    return Block(
        mac(t0, w.r2) + mac(t1, w.r1) + mac(t2, w.r0),
        mac(t1, w.r2) + mac(t2, w.r1) + mac(t3, w.r0),
        mac(t2, w.r2) + mac(t3, w.r1) + mac(t4, w.r0),
        mac(t3, w.r2) + mac(t4, w.r1) + mac(t5, w.r0),
    );
}

// The input gradient of the 3×3 correlation for the 4×4 block of dx at (y0,
// x0), from the rows × cols plane of dy at `plane` (`correlate` run
// backwards: rows as `windows_back` does columns).
fn correlate_back(plane: u32, y0: u32, x0: u32, rows: u32, cols: u32, stride: vec2<u32>, pad: vec2<u32>, w: Taps) -> Block {
    let q = y0 + pad.x;
    if (stride.x == 1u) {
        let iy0 = i32(q) - 2;
        return back_rows(
            windows_back(plane, iy0, x0, rows, cols, stride.y, pad.y),
            windows_back(plane, iy0 + 1, x0, rows, cols, stride.y, pad.y),
            windows_back(plane, iy0 + 2, x0, rows, cols, stride.y, pad.y),
            windows_back(plane, iy0 + 3, x0, rows, cols, stride.y, pad.y),
            windows_back(plane, iy0 + 4, x0, rows, cols, stride.y, pad.y),
            windows_back(plane, iy0 + 5, x0, rows, cols, stride.y, pad.y),
            w,
        );
    }
    // Stride 2: as windows_back's columns.
    let iy0 = i32((q + 1u) / 2u) - 1;
    let t0 = windows_back(plane, iy0, x0, rows, cols, stride.y, pad.y);
    let t1 = windows_back(plane, iy0 + 1, x0, rows, cols, stride.y, pad.y);
    let t2 = windows_back(plane, iy0 + 2, x0, rows, cols, stride.y, pad.y);
    if ((q & 1u) == 0u) {
        return Block(mac(t1, w.r0) + mac(t0, w.r2), mac(t1, w.r1), mac(t2, w.r0) + mac(t1, w.r2), mac(t2, w.r1));
    }
    return Block(mac(t0, w.r1), mac(t1, w.r0) + mac(t0, w.r2), mac(t1, w.r1), mac(t2, w.r0) + mac(t1, w.r2));
}

fn add_block(o: Block, v: Block) -> Block {
    return Block(o.y0 + v.y0, o.y1 + v.y1, o.y2 + v.y2, o.y3 + v.y3);
}

// Stores the lanes of row v of a block that fall inside the rows × cols
// plane at `plane` of out.
fn store_row(plane: u32, oy: u32, ox0: u32, rows: u32, cols: u32, v: vec4<f32>) {
    if (oy >= rows) {
        return;
    }
    let row = plane + oy * cols + ox0;
    out[row] = v.x;
    if (ox0 + 1u < cols) {
        out[row + 1u] = v.y;
    }
    if (ox0 + 2u < cols) {
        out[row + 2u] = v.z;
    }
    if (ox0 + 3u < cols) {
        out[row + 3u] = v.w;
    }
}

fn store_block(plane: u32, oy0: u32, ox0: u32, rows: u32, cols: u32, o: Block) {
    store_row(plane, oy0, ox0, rows, cols, o.y0);
    store_row(plane, oy0 + 1u, ox0, rows, cols, o.y1);
    store_row(plane, oy0 + 2u, ox0, rows, cols, o.y2);
    store_row(plane, oy0 + 3u, ox0, rows, cols, o.y3);
}

// store_block through out4, for planes of cols a multiple of 4 (so that
// each row of the block is one aligned vec4 inside the plane): a lavapipe
// store is a per-lane scatter, and one vec4 store costs about what one
// scalar store does.
fn store_block4(plane: u32, oy0: u32, ox0: u32, rows: u32, cols: u32, o: Block) {
    let at = (plane + oy0 * cols + ox0) / 4u;
    let q = cols / 4u;
    out4[at] = o.y0;
    if (oy0 + 1u < rows) {
        out4[at + q] = o.y1;
    }
    if (oy0 + 2u < rows) {
        out4[at + 2u * q] = o.y2;
    }
    if (oy0 + 3u < rows) {
        out4[at + 3u * q] = o.y3;
    }
}

// Invocation `i`'s 4×4 block of `planes` planes of rows × cols: (plane,
// first row, first column), or plane = planes past the last block.
fn block_of(i: u32, planes: u32, rows: u32, cols: u32) -> vec3<u32> {
    let across = (cols + 3u) / 4u;
    let down = (rows + 3u) / 4u;
    let bx = i % across;
    let t = i / across;
    return vec3<u32>(t / down, (t % down) * 4u, bx * 4u);
}

// The forward's workgroups per group: each workgroup's 64 blocks lie in
// one group (its one input channel), so that the group, and with it each
// output channel's taps, is the same in every lane (one load, where a
// per-lane index would make a gather).
fn forward_workgroups() -> u32 {
    return (P.n * ((P.ho + 3u) / 4u) * ((P.wo + 3u) / 4u) + 63u) / 64u;
}

// The forward's invocation: its group, image and 4×4 block of the image's
// outputs; group = P.groups past the last block.
struct ForwardAt {
    g: u32,
    n: u32,
    blk: vec3<u32>,
}

fn forward_at(wl: u32, lid: u32) -> ForwardAt {
    let per_image = ((P.ho + 3u) / 4u) * ((P.wo + 3u) / 4u);
    let g = wl / forward_workgroups();
    let i = (wl % forward_workgroups()) * 64u + lid;
    if (i >= P.n * per_image) {
        return ForwardAt(P.groups, 0u, vec3<u32>(0u));
    }
    return ForwardAt(g, i / per_image, block_of(i % per_image, 1u, P.ho, P.wo));
}

// Output channel k's 4×4 block (plus its bias) from the rows under the
// invocation's block, of its group's one input channel. `stride` is the
// layer's, passed as a constant by the stride-1 and stride-2 entries: with
// it known, `windows` and `correlate` lose their other stride's branch and
// loads (D1 of the depthwise suite 1.6× faster than with it read from P).
fn forward_patch(at: ForwardAt, stride: vec2<u32>) -> Patch {
    let plane = (at.n * P.c + at.g) * P.h * P.w;
    let iy0 = i32(at.blk.y * stride.x) - i32(P.pad_h);
    let ix0 = i32(at.blk.z * stride.y) - i32(P.pad_w);
    return load_patch(plane, iy0, ix0, P.h, P.w, stride);
}

fn forward_block(p: Patch, stride: vec2<u32>, k: u32) -> Block {
    return forward_block_with(p, stride, k, taps(k));
}

// `forward_block` with channel k's taps `w` already loaded.
fn forward_block_with(p: Patch, stride: vec2<u32>, k: u32, w: Taps) -> Block {
    let o = correlate(p, stride.x, w);
    if (DEPTHWISE_BIAS == 0u) {
        return o;
    }
    let bk = vec4<f32>(bias[k]);
    return Block(o.y0 + bk, o.y1 + bk, o.y2 + bk, o.y3 + bk);
}

// The entries differ in their stride and store only (each binds the output
// it writes: out, or out4 where plan::depthwise_forward_entry says so).
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wl = workgroup_linear(wid);
    let at = forward_at(wl, lid);
    // The group again, from the workgroup alone, so that the compiler sees
    // it uniform (at.g is P.groups in lanes past the end).
    let g = wl / forward_workgroups();
    if (at.g >= P.groups) {
        return;
    }
    let stride = depthwise_stride();
    let p = forward_patch(at, stride);
    for (var j = 0u; j < P.k_per_group; j = j + 1u) {
        let k = g * P.k_per_group + j;
        store_block((at.n * P.k + k) * P.ho * P.wo, at.blk.y, at.blk.z, P.ho, P.wo, forward_block(p, stride, k));
    }
}

// The vec4-store entries: `forward` with each block row one vec4 of
// out4, the stride a constant of the entry.
fn forward_vec4(wid: vec3<u32>, lid: u32, stride: vec2<u32>) {
    let wl = workgroup_linear(wid);
    let at = forward_at(wl, lid);
    let g = wl / forward_workgroups();
    if (at.g >= P.groups) {
        return;
    }
    let p = forward_patch(at, stride);
    for (var j = 0u; j < P.k_per_group; j = j + 1u) {
        let k = g * P.k_per_group + j;
        store_channel4(at, p, stride, k, taps(k));
    }
}

// Output channel k's 4x4 block of the invocation `at`, from its taps `w`,
// stored through out4.
fn store_channel4(at: ForwardAt, p: Patch, stride: vec2<u32>, k: u32, w: Taps) {
    store_block4((at.n * P.k + k) * P.ho * P.wo, at.blk.y, at.blk.z, P.ho, P.wo, forward_block_with(p, stride, k, w));
}

@compute @workgroup_size(64)
fn forward_vec4_stride1(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    forward_vec4(wid, lid, vec2<u32>(1u));
}

@compute @workgroup_size(64)
fn forward_vec4_stride2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    forward_vec4(wid, lid, vec2<u32>(2u));
}

// The taps of four consecutive channels k..k+3 (k a multiple of 4: their
// 36 values start on a vec4), from 9 vec4 loads of the weights (b4)
// instead of 36 scalar ones: every lane loads the same taps, and on a CPU
// adapter such a load inside a loop costs nearly what a per-lane one does.
struct Taps4 {
    t0: Taps,
    t1: Taps,
    t2: Taps,
    t3: Taps,
}

fn taps4(k: u32) -> Taps4 {
    let o = k * 9u / 4u;
    let v0 = b4[o];
    let v1 = b4[o + 1u];
    let v2 = b4[o + 2u];
    let v3 = b4[o + 3u];
    let v4 = b4[o + 4u];
    let v5 = b4[o + 5u];
    let v6 = b4[o + 6u];
    let v7 = b4[o + 7u];
    let v8 = b4[o + 8u];
    return Taps4(
        Taps(v0.xyz, vec3<f32>(v0.w, v1.xy), vec3<f32>(v1.zw, v2.x)),
        Taps(v2.yzw, v3.xyz, vec3<f32>(v3.w, v4.xy)),
        Taps(vec3<f32>(v4.zw, v5.x), v5.yzw, v6.xyz),
        Taps(vec3<f32>(v6.w, v7.xy), vec3<f32>(v7.zw, v8.x), v8.yzw),
    );
}

// `forward_vec4` four channels at a time, their taps from `taps4`
// (plan::depthwise_forward_entry: K/g a multiple of 4). The same blocks
// in the same arithmetic: the same bits.
fn forward_vec4_quads(wid: vec3<u32>, lid: u32, stride: vec2<u32>) {
    let wl = workgroup_linear(wid);
    let at = forward_at(wl, lid);
    let g = wl / forward_workgroups();
    if (at.g >= P.groups) {
        return;
    }
    let p = forward_patch(at, stride);
    for (var j = 0u; j < P.k_per_group; j = j + 4u) {
        let k = g * P.k_per_group + j;
        let t = taps4(k);
        store_channel4(at, p, stride, k, t.t0);
        store_channel4(at, p, stride, k + 1u, t.t1);
        store_channel4(at, p, stride, k + 2u, t.t2);
        store_channel4(at, p, stride, k + 3u, t.t3);
    }
}

@compute @workgroup_size(64)
fn forward_vec4_stride1_quads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    forward_vec4_quads(wid, lid, vec2<u32>(1u));
}

@compute @workgroup_size(64)
fn forward_vec4_stride2_quads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    forward_vec4_quads(wid, lid, vec2<u32>(2u));
}

@compute @workgroup_size(64)
fn input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let blk = block_of(workgroup_linear(wid) * 64u + lid, P.n * P.c, P.h, P.w);
    let nc = blk.x;
    if (nc >= P.n * P.c) {
        return;
    }
    let n = nc / P.c;
    let c = nc % P.c;
    let stride = depthwise_stride();
    let pad = vec2<u32>(P.pad_h, P.pad_w);
    let k0 = c * P.k_per_group;
    var o = Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    for (var j = 0u; j < P.k_per_group; j = j + 1u) {
        let k = k0 + j;
        let plane = (n * P.k + k) * P.ho * P.wo;
        let v = correlate_back(plane, blk.y, blk.z, P.ho, P.wo, stride, pad, taps(k));
        o = add_block(o, v);
    }
    store_block(nc * P.h * P.w, blk.y, blk.z, P.h, P.w, o);
}

// The input gradient where plan::depthwise_input_grad_entry says
// `input_grad_x8` (stride 1, padding 1, W = Wo a multiple of 4): one
// invocation per 4x8 block of dx (two 4x4 blocks side by side), each dy
// row under it read as the two aligned vec4s of its 8 columns (a4, dy's
// vec4 view) and the one column on either side (a), where `input_grad`
// reads 6 scalars for every 4 columns: a third of the loads per output.
// Each 4x4 half sums what `input_grad` sums, in the same order.

// Row iy of dy's rows x cols plane at `plane` as it reaches dx columns
// x0 .. x0 + 7 (x0 a multiple of 8): `windows_back` of columns x0 and
// x0 + 4 at stride 1, padding 1 (lane o of t<s> carries dy[x + 1 − s]).
struct Back8 {
    lo: Windows,
    hi: Windows,
}

fn windows_back8(plane: u32, iy: i32, x0: u32, rows: u32, cols: u32) -> Back8 {
    let zero = Windows(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    if (iy < 0 || u32(iy) >= rows) {
        return Back8(zero, zero);
    }
    let row = plane + u32(iy) * cols;
    let q0 = a4[(row + x0) / 4u];
    var q1 = vec4<f32>(0.0);
    if (x0 + 4u < cols) {
        q1 = a4[(row + x0) / 4u + 1u];
    }
    let left = at(row, i32(x0) - 1, cols);
    let right = at(row, i32(x0) + 8, cols);
    return Back8(
        Windows(vec4<f32>(q0.yzw, q1.x), q0, vec4<f32>(left, q0.xyz)),
        Windows(vec4<f32>(q1.yzw, right), q1, vec4<f32>(q0.w, q1.xyz)),
    );
}

// `correlate_back` at stride 1, padding 1, for the two 4x4 halves.
struct Block8 {
    lo: Block,
    hi: Block,
}

fn correlate_back8(plane: u32, y0: u32, x0: u32, rows: u32, cols: u32, w: Taps) -> Block8 {
    // dy row y0 − 1 + m feeds dx rows m − 2 .. m.
    let iy0 = i32(y0) - 1;
    let t0 = windows_back8(plane, iy0, x0, rows, cols);
    let t1 = windows_back8(plane, iy0 + 1, x0, rows, cols);
    let t2 = windows_back8(plane, iy0 + 2, x0, rows, cols);
    let t3 = windows_back8(plane, iy0 + 3, x0, rows, cols);
    let t4 = windows_back8(plane, iy0 + 4, x0, rows, cols);
    let t5 = windows_back8(plane, iy0 + 5, x0, rows, cols);
    return Block8(
        back_rows(t0.lo, t1.lo, t2.lo, t3.lo, t4.lo, t5.lo, w),
        back_rows(t0.hi, t1.hi, t2.hi, t3.hi, t4.hi, t5.hi, w),
    );
}

// input_grad_x8's invocation: its plane (n·C + c; N·C past the last
// block), first row and first column.
fn x8_block(wid: vec3<u32>, lid: u32) -> vec3<u32> {
    // 4x8 blocks: block_of's 4x4 blocks of a plane half as wide.
    let blk = block_of(workgroup_linear(wid) * 64u + lid, P.n * P.c, P.h, (P.w + 1u) / 2u);
    return vec3<u32>(blk.xy, 2u * blk.z);
}

// Output channel k's contribution to the block at `blk` through taps `w`.
fn back8(blk: vec3<u32>, k: u32, w: Taps) -> Block8 {
    let plane = (blk.x / P.c * P.k + k) * P.ho * P.wo;
    return correlate_back8(plane, blk.y, blk.z, P.ho, P.wo, w);
}

fn add_block8(o: Block8, v: Block8) -> Block8 {
    return Block8(add_block(o.lo, v.lo), add_block(o.hi, v.hi));
}

fn store_block8(blk: vec3<u32>, o: Block8) {
    store_block4(blk.x * P.h * P.w, blk.y, blk.z, P.h, P.w, o.lo);
    if (blk.z + 4u < P.w) {
        store_block4(blk.x * P.h * P.w, blk.y, blk.z + 4u, P.h, P.w, o.hi);
    }
}

@compute @workgroup_size(64)
fn input_grad_x8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let blk = x8_block(wid, lid);
    if (blk.x >= P.n * P.c) {
        return;
    }
    let k0 = blk.x % P.c * P.k_per_group;
    let zero = Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    var o = Block8(zero, zero);
    for (var j = 0u; j < P.k_per_group; j = j + 1u) {
        o = add_block8(o, back8(blk, k0 + j, taps(k0 + j)));
    }
    store_block8(blk, o);
}

// The input gradient where plan::depthwise_input_grad_entry says
// `input_grad_rows` (stride 1, padding 1, W = Wo a multiple of 4 of at
// most 32: a first layer's 28 or 32 columns): one invocation per band of
// 4 whole rows of a dx plane, whose dy rows are read as the aligned vec4s
// ("quads") of the whole row: no column on either side to load, where
// `input_grad_x8` loads two scalars per dy row for every 8 columns.
// Workgroups of 32, so that a small layer's few bands still spread
// evenly over a CPU adapter's cores (a workgroup runs on one). The
// row's quads are ROW_QUADS, a pipeline constant (W / 4, set by the host
// for the whole-row entries alone: src/ops/conv2d_depthwise.rs
// `constants`), so that
// the written-out code for quads past it folds away. Each 4x4 quad of the
// band sums what `input_grad_x8` sums for it, in the same order (not
// always to the same bits: at a row's ends the padding is a constant zero
// here, and the compiler may fuse the multiply-adds around it otherwise).
override ROW_QUADS: u32;

// Quad j of the 6 rows under a 4-row band (`r<t>` is row t).
struct Quad6 {
    r0: vec4<f32>,
    r1: vec4<f32>,
    r2: vec4<f32>,
    r3: vec4<f32>,
    r4: vec4<f32>,
    r5: vec4<f32>,
}

// The vec4 index of row iy's first quad in the rows × cols plane of a4 at
// `plane` (iy clamped into the plane), and whether iy lies inside it (a
// row outside is the zero padding: its loads stay inside the plane and
// are dropped).
struct RowAt {
    at: u32,
    inside: bool,
}

fn row_at(plane: u32, iy: i32, rows: u32, cols: u32) -> RowAt {
    let inside = iy >= 0 && iy < i32(rows);
    let row = u32(clamp(iy, 0, i32(rows) - 1));
    return RowAt((plane + row * cols) / 4u, inside);
}

// The 6 rows iy0 .. iy0 + 5 of the rows × cols plane of a4 at `plane`.
fn band_rows(plane: u32, iy0: i32, rows: u32, cols: u32) -> array<RowAt, 6> {
    return array<RowAt, 6>(
        row_at(plane, iy0, rows, cols),
        row_at(plane, iy0 + 1, rows, cols),
        row_at(plane, iy0 + 2, rows, cols),
        row_at(plane, iy0 + 3, rows, cols),
        row_at(plane, iy0 + 4, rows, cols),
        row_at(plane, iy0 + 5, rows, cols),
    );
}

fn quad_at(r: RowAt, j: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), a4[r.at + j], r.inside);
}

// Quad j of a band's 6 rows of a4 (zero for j past the row's last quad).
fn quads6(rows: array<RowAt, 6>, j: u32) -> Quad6 {
    if (j >= ROW_QUADS) {
        let z = vec4<f32>(0.0);
        return Quad6(z, z, z, z, z, z);
    }
    return Quad6(
        quad_at(rows[0], j),
        quad_at(rows[1], j),
        quad_at(rows[2], j),
        quad_at(rows[3], j),
        quad_at(rows[4], j),
        quad_at(rows[5], j),
    );
}

// A dy row's `windows_back` at stride 1, padding 1, for the 4 columns of
// quad `c`, its neighbours `p` (left) and `n` (right).
fn quad_windows_back(p: vec4<f32>, c: vec4<f32>, n: vec4<f32>) -> Windows {
    return Windows(vec4<f32>(c.yzw, n.x), c, vec4<f32>(p.w, c.xyz));
}

// The 4x4 block of dx over quad `c` of the band, from its 6 dy rows.
fn quad_back(p: Quad6, c: Quad6, n: Quad6, w: Taps) -> Block {
    return back_rows(
        quad_windows_back(p.r0, c.r0, n.r0),
        quad_windows_back(p.r1, c.r1, n.r1),
        quad_windows_back(p.r2, c.r2, n.r2),
        quad_windows_back(p.r3, c.r3, n.r3),
        quad_windows_back(p.r4, c.r4, n.r4),
        quad_windows_back(p.r5, c.r5, n.r5),
        w,
    );
}

// The band's blocks, quad by quad (those past ROW_QUADS unused).
struct Band {
    b0: Block,
    b1: Block,
    b2: Block,
    b3: Block,
    b4: Block,
    b5: Block,
    b6: Block,
    b7: Block,
}

// `o` plus output channel k's contribution through taps `w`, from its dy
// rows' quads `x`.
fn band_add(o: Band, x: BandX, w: Taps) -> Band {
    var b = o;
    b.b0 = add_block(b.b0, quad_back(x.z, x.q0, x.q1, w));
    if (ROW_QUADS > 1u) {
        b.b1 = add_block(b.b1, quad_back(x.q0, x.q1, x.q2, w));
    }
    if (ROW_QUADS > 2u) {
        b.b2 = add_block(b.b2, quad_back(x.q1, x.q2, x.q3, w));
    }
    if (ROW_QUADS > 3u) {
        b.b3 = add_block(b.b3, quad_back(x.q2, x.q3, x.q4, w));
    }
    if (ROW_QUADS > 4u) {
        b.b4 = add_block(b.b4, quad_back(x.q3, x.q4, x.q5, w));
    }
    if (ROW_QUADS > 5u) {
        b.b5 = add_block(b.b5, quad_back(x.q4, x.q5, x.q6, w));
    }
    if (ROW_QUADS > 6u) {
        b.b6 = add_block(b.b6, quad_back(x.q5, x.q6, x.q7, w));
    }
    if (ROW_QUADS > 7u) {
        b.b7 = add_block(b.b7, quad_back(x.q6, x.q7, x.z, w));
    }
    return b;
}

fn store_band(plane: u32, y0: u32, o: Band) {
    store_block4(plane, y0, 0u, P.h, P.w, o.b0);
    if (ROW_QUADS > 1u) {
        store_block4(plane, y0, 4u, P.h, P.w, o.b1);
    }
    if (ROW_QUADS > 2u) {
        store_block4(plane, y0, 8u, P.h, P.w, o.b2);
    }
    if (ROW_QUADS > 3u) {
        store_block4(plane, y0, 12u, P.h, P.w, o.b3);
    }
    if (ROW_QUADS > 4u) {
        store_block4(plane, y0, 16u, P.h, P.w, o.b4);
    }
    if (ROW_QUADS > 5u) {
        store_block4(plane, y0, 20u, P.h, P.w, o.b5);
    }
    if (ROW_QUADS > 6u) {
        store_block4(plane, y0, 24u, P.h, P.w, o.b6);
    }
    if (ROW_QUADS > 7u) {
        store_block4(plane, y0, 28u, P.h, P.w, o.b7);
    }
}

@compute @workgroup_size(32)
fn input_grad_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let bands = (P.h + 3u) / 4u;
    let i = workgroup_linear(wid) * 32u + lid;
    let nc = i / bands;
    if (nc >= P.n * P.c) {
        return;
    }
    let y0 = (i % bands) * 4u;
    let k0 = nc % P.c * P.k_per_group;
    let zero = Block(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    var o = Band(zero, zero, zero, zero, zero, zero, zero, zero);
    // dy row y0 − 1 + t feeds dx rows t − 2 .. t of the band.
    let iy0 = i32(y0) - 1;
    for (var j = 0u; j < P.k_per_group; j = j + 1u) {
        let k = k0 + j;
        let plane = (nc / P.c * P.k + k) * P.ho * P.wo;
        o = band_add(o, band_x(band_rows(plane, iy0, P.ho, P.wo)), taps(k));
    }
    store_band(nc * P.h * P.w, y0, o);
}

// The forward where plan::depthwise_forward_entry says
// `forward_rows_quads` (stride 1, padding 1, W = Wo a multiple of 4 of at
// most 32, K/g a multiple of 4: a first layer of one input channel, S1,
// the Fashion model's conv 0): one invocation per band of 4 whole rows of
// a group's output planes, its 6 input rows read whole as ROW_QUADS vec4s
// (`input_grad_rows`' quads, here of x), and each quad of channels' taps
// loaded once per band where `forward_vec4_stride1_quads` loads them once
// per 4x4 block. Each block sums what that entry sums, in the same order
// (not always to the same bits at a row's ends, for the reason
// `input_grad_rows` gives). Workgroups of 32, each within one group, so
// that the taps' address is the same in every lane.

// Row r of x as the 4 outputs over quad `c` see it at stride 1, padding
// 1 (`windows`), its neighbours `p` (left) and `n` (right).
fn quad_windows(p: vec4<f32>, c: vec4<f32>, n: vec4<f32>) -> Windows {
    return Windows(vec4<f32>(p.w, c.xyz), c, vec4<f32>(c.yzw, n.x));
}

// The patch of the 4x4 block over quad `c` of a band, from its 6 rows.
fn quad_patch(p: Quad6, c: Quad6, n: Quad6) -> Patch {
    var t: Patch;
    t.t0 = quad_windows(p.r0, c.r0, n.r0);
    t.t1 = quad_windows(p.r1, c.r1, n.r1);
    t.t2 = quad_windows(p.r2, c.r2, n.r2);
    t.t3 = quad_windows(p.r3, c.r3, n.r3);
    t.t4 = quad_windows(p.r4, c.r4, n.r4);
    t.t5 = quad_windows(p.r5, c.r5, n.r5);
    return t;
}

// A band's quads of a4 (x's for the forward, dy's for the input
// gradient; z: the zero quad past either end of its rows).
struct BandX {
    z: Quad6,
    q0: Quad6,
    q1: Quad6,
    q2: Quad6,
    q3: Quad6,
    q4: Quad6,
    q5: Quad6,
    q6: Quad6,
    q7: Quad6,
}

fn band_x(rows: array<RowAt, 6>) -> BandX {
    return BandX(
        quads6(rows, 8u),
        quads6(rows, 0u),
        quads6(rows, 1u),
        quads6(rows, 2u),
        quads6(rows, 3u),
        quads6(rows, 4u),
        quads6(rows, 5u),
        quads6(rows, 6u),
        quads6(rows, 7u),
    );
}

// Output channel k's 4 rows from y0 (its plane at `plane`) over the band,
// block by block, through its taps `w` (plus its bias).
fn store_band_channel(x: BandX, plane: u32, y0: u32, k: u32, w: Taps) {
    let s = vec2<u32>(1u);
    store_block4(plane, y0, 0u, P.ho, P.wo, forward_block_with(quad_patch(x.z, x.q0, x.q1), s, k, w));
    if (ROW_QUADS > 1u) {
        store_block4(plane, y0, 4u, P.ho, P.wo, forward_block_with(quad_patch(x.q0, x.q1, x.q2), s, k, w));
    }
    if (ROW_QUADS > 2u) {
        store_block4(plane, y0, 8u, P.ho, P.wo, forward_block_with(quad_patch(x.q1, x.q2, x.q3), s, k, w));
    }
    if (ROW_QUADS > 3u) {
        store_block4(plane, y0, 12u, P.ho, P.wo, forward_block_with(quad_patch(x.q2, x.q3, x.q4), s, k, w));
    }
    if (ROW_QUADS > 4u) {
        store_block4(plane, y0, 16u, P.ho, P.wo, forward_block_with(quad_patch(x.q3, x.q4, x.q5), s, k, w));
    }
    if (ROW_QUADS > 5u) {
        store_block4(plane, y0, 20u, P.ho, P.wo, forward_block_with(quad_patch(x.q4, x.q5, x.q6), s, k, w));
    }
    if (ROW_QUADS > 6u) {
        store_block4(plane, y0, 24u, P.ho, P.wo, forward_block_with(quad_patch(x.q5, x.q6, x.q7), s, k, w));
    }
    if (ROW_QUADS > 7u) {
        store_block4(plane, y0, 28u, P.ho, P.wo, forward_block_with(quad_patch(x.q6, x.q7, x.z), s, k, w));
    }
}

// forward_rows_quads' workgroups per group.
fn band_workgroups() -> u32 {
    return (P.n * ((P.ho + 3u) / 4u) + 31u) / 32u;
}

@compute @workgroup_size(32)
fn forward_rows_quads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let wl = workgroup_linear(wid);
    let g = wl / band_workgroups();
    let bands = (P.ho + 3u) / 4u;
    let i = (wl % band_workgroups()) * 32u + lid;
    if (g >= P.groups || i >= P.n * bands) {
        return;
    }
    let n = i / bands;
    let y0 = (i % bands) * 4u;
    let x = band_x(band_rows((n * P.c + g) * P.h * P.w, i32(y0) - 1, P.h, P.w));
    for (var j = 0u; j < P.k_per_group; j = j + 4u) {
        let k = g * P.k_per_group + j;
        let t = taps4(k);
        let plane = (n * P.k + k) * P.ho * P.wo;
        let step = P.ho * P.wo;
        store_band_channel(x, plane, y0, k, t.t0);
        store_band_channel(x, plane + step, y0, k + 1u, t.t1);
        store_band_channel(x, plane + 2u * step, y0, k + 2u, t.t2);
        store_band_channel(x, plane + 3u * step, y0, k + 3u, t.t3);
    }
}

@compute @workgroup_size(64)
fn weight_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.k * P.splits) {
        return;
    }
    let k = i % P.k;
    let split = i / P.k;
    let c = k / P.k_per_group;
    // This split's output rows [begin, end) of the N·Ho, walked with a carry.
    let begin = split * P.split_len;
    let end = min(begin + P.split_len, P.n * P.ho);
    var n = begin / P.ho;
    var oy = begin % P.ho;
    var g0 = vec3<f32>(0.0);
    var g1 = vec3<f32>(0.0);
    var g2 = vec3<f32>(0.0);
    for (var row = begin; row < end; row = row + 1u) {
        let plane = (n * P.c + c) * P.h * P.w;
        let dy_row = ((n * P.k + k) * P.ho + oy) * P.wo;
        let iy = i32(oy * DEPTHWISE_STRIDE_H) - i32(P.pad_h);
        for (var ox0 = 0u; ox0 < P.wo; ox0 = ox0 + 4u) {
            let d = vec4<f32>(
                b[dy_row + ox0],
                select(0.0, b[dy_row + min(ox0 + 1u, P.wo - 1u)], ox0 + 1u < P.wo),
                select(0.0, b[dy_row + min(ox0 + 2u, P.wo - 1u)], ox0 + 2u < P.wo),
                select(0.0, b[dy_row + min(ox0 + 3u, P.wo - 1u)], ox0 + 3u < P.wo),
            );
            let ix = i32(ox0 * DEPTHWISE_STRIDE_W) - i32(P.pad_w);
            let t0 = windows(plane, iy, ix, P.h, P.w, DEPTHWISE_STRIDE_W);
            g0 += vec3<f32>(dot(t0.t0, d), dot(t0.t1, d), dot(t0.t2, d));
            let t1 = windows(plane, iy + 1, ix, P.h, P.w, DEPTHWISE_STRIDE_W);
            g1 += vec3<f32>(dot(t1.t0, d), dot(t1.t1, d), dot(t1.t2, d));
            let t2 = windows(plane, iy + 2, ix, P.h, P.w, DEPTHWISE_STRIDE_W);
            g2 += vec3<f32>(dot(t2.t0, d), dot(t2.t1, d), dot(t2.t2, d));
        }
        oy = oy + 1u;
        if (oy == P.ho) {
            oy = 0u;
            n = n + 1u;
        }
    }
    let o = split * P.k * 9u + k * 9u;
    out[o] = g0.x;
    out[o + 1u] = g0.y;
    out[o + 2u] = g0.z;
    out[o + 3u] = g1.x;
    out[o + 4u] = g1.y;
    out[o + 5u] = g1.z;
    out[o + 6u] = g2.x;
    out[o + 7u] = g2.y;
    out[o + 8u] = g2.z;
}

// The weight gradient where plan::depthwise_weight_grad_entry says
// `weight_grad_fanout` (stride 1, Wo and K/g multiples of 4: a first
// layer of one input channel): one invocation per (split, quad of output
// channels, which lie in one group) walks its split of the N·⌈Ho/4⌉ rows
// of 4×4 output blocks (rows [split·split_len, ...)), loads each block's
// 6 input rows once (`load_patch`) for its four channels, whose dy rows
// are vec4 loads (b4), and sums into 36 partial sums
// out[split][k·9 + r·3 + s]; reduce_splits adds the splits in order.
// Against `weight_grad` (one channel per invocation, one output row at a
// time) a quarter of the input loads per multiply-add, and a third of
// those of the im2col GEMM, whose blocks run 9 of 16 rows.

// The taps' sums of one 4×4 block for one channel: tap row r of output
// row m reads input row m + r (stride 1); each window against its dy row.
fn tap_row(t: Windows, d: vec4<f32>) -> vec3<f32> {
    return vec3<f32>(dot(t.t0, d), dot(t.t1, d), dot(t.t2, d));
}

fn add_taps(a: Taps, p: Patch, d: Block) -> Taps {
    return Taps(
        a.r0 + (tap_row(p.t0, d.y0) + tap_row(p.t1, d.y1) + tap_row(p.t2, d.y2) + tap_row(p.t3, d.y3)),
        a.r1 + (tap_row(p.t1, d.y0) + tap_row(p.t2, d.y1) + tap_row(p.t3, d.y2) + tap_row(p.t4, d.y3)),
        a.r2 + (tap_row(p.t2, d.y0) + tap_row(p.t3, d.y1) + tap_row(p.t4, d.y2) + tap_row(p.t5, d.y3)),
    );
}

// dy's 4×4 block of channel k at (n, oy0, ox0), rows past Ho zero.
fn dy_block(n: u32, k: u32, oy0: u32, ox0: u32) -> Block {
    let at = (((n * P.k + k) * P.ho + oy0) * P.wo + ox0) / 4u;
    let q = P.wo / 4u;
    var o = Block(b4[at], vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    if (oy0 + 1u < P.ho) {
        o.y1 = b4[at + q];
    }
    if (oy0 + 2u < P.ho) {
        o.y2 = b4[at + 2u * q];
    }
    if (oy0 + 3u < P.ho) {
        o.y3 = b4[at + 3u * q];
    }
    return o;
}

fn store_taps(o: u32, t: Taps) {
    out[o] = t.r0.x;
    out[o + 1u] = t.r0.y;
    out[o + 2u] = t.r0.z;
    out[o + 3u] = t.r1.x;
    out[o + 4u] = t.r1.y;
    out[o + 5u] = t.r1.z;
    out[o + 6u] = t.r2.x;
    out[o + 7u] = t.r2.y;
    out[o + 8u] = t.r2.z;
}

// weight_grad_fanout's invocation: its first channel (of a quad, which
// lies in one group), that group's input channel, and its split's range
// [begin, end) of the N·⌈Ho/4⌉ rows of blocks; begin = end past the last
// invocation.
struct Fanout {
    k0: u32,
    c: u32,
    split: u32,
    begin: u32,
    end: u32,
}

fn fanout_of(wid: vec3<u32>, lid: u32) -> Fanout {
    let quads = P.k / 4u;
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= quads * P.splits) {
        return Fanout(0u, 0u, 0u, 0u, 0u);
    }
    let k0 = 4u * (i % quads);
    let split = i / quads;
    let begin = split * P.split_len;
    let end = min(begin + P.split_len, P.n * ((P.ho + 3u) / 4u));
    return Fanout(k0, k0 / P.k_per_group, split, begin, end);
}

// The four channels' taps sums plus one 4x4 block's, from its input
// patch `p` and the channels' dy blocks.
fn fanout_add(a: Taps4, p: Patch, n: u32, k0: u32, oy0: u32, ox0: u32) -> Taps4 {
    return Taps4(
        add_taps(a.t0, p, dy_block(n, k0, oy0, ox0)),
        add_taps(a.t1, p, dy_block(n, k0 + 1u, oy0, ox0)),
        add_taps(a.t2, p, dy_block(n, k0 + 2u, oy0, ox0)),
        add_taps(a.t3, p, dy_block(n, k0 + 3u, oy0, ox0)),
    );
}

fn fanout_store(f: Fanout, a: Taps4) {
    let o = (f.split * P.k + f.k0) * 9u;
    store_taps(o, a.t0);
    store_taps(o + 9u, a.t1);
    store_taps(o + 18u, a.t2);
    store_taps(o + 27u, a.t3);
}

@compute @workgroup_size(64)
fn weight_grad_fanout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let f = fanout_of(wid, lid);
    if (f.begin == f.end) {
        return;
    }
    let zero = Taps(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    var a = Taps4(zero, zero, zero, zero);
    let down = (P.ho + 3u) / 4u;
    for (var row = f.begin; row < f.end; row = row + 1u) {
        let n = row / down;
        let oy0 = (row % down) * 4u;
        let plane = (n * P.c + f.c) * P.h * P.w;
        let iy0 = i32(oy0) - i32(P.pad_h);
        for (var ox0 = 0u; ox0 < P.wo; ox0 = ox0 + 4u) {
            let p = load_patch(plane, iy0, i32(ox0) - i32(P.pad_w), P.h, P.w, vec2<u32>(1u));
            a = fanout_add(a, p, n, f.k0, oy0, ox0);
        }
    }
    fanout_store(f, a);
}

// `weight_grad_fanout` where plan::depthwise_weight_grad_entry says
// `weight_grad_fanout_x4` (padding 1, so W = Wo, a multiple of 4): each
// input row of a block's patch from one aligned vec4 (a4, x's vec4 view)
// and a column on either side, where `load_patch` reads 6 scalars. The
// same patch values, the same sums.
@compute @workgroup_size(64)
fn weight_grad_fanout_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let f = fanout_of(wid, lid);
    if (f.begin == f.end) {
        return;
    }
    let zero = Taps(vec3<f32>(0.0), vec3<f32>(0.0), vec3<f32>(0.0));
    var a = Taps4(zero, zero, zero, zero);
    let down = (P.ho + 3u) / 4u;
    for (var row = f.begin; row < f.end; row = row + 1u) {
        let n = row / down;
        let oy0 = (row % down) * 4u;
        let plane = (n * P.c + f.c) * P.h * P.w;
        let iy0 = i32(oy0) - 1;
        for (var ox0 = 0u; ox0 < P.wo; ox0 = ox0 + 4u) {
            a = fanout_add(a, patch_pad1(plane, iy0, ox0), n, f.k0, oy0, ox0);
        }
    }
    fanout_store(f, a);
}

// Row iy of x's plane at `plane` as the 4 outputs at column ox0 (a
// multiple of 4) see it at stride 1, padding 1: `windows` from x[ox0 ..
// ox0 + 3] as one vec4 and the columns ox0 − 1 and ox0 + 4.
fn windows_pad1(plane: u32, iy: i32, ox0: u32) -> Windows {
    if (iy < 0 || u32(iy) >= P.h) {
        return Windows(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    }
    let row = plane + u32(iy) * P.w;
    let q = a4[(row + ox0) / 4u];
    let left = at(row, i32(ox0) - 1, P.w);
    let right = at(row, i32(ox0) + 4, P.w);
    return Windows(vec4<f32>(left, q.xyz), q, vec4<f32>(q.yzw, right));
}

// `load_patch` at stride 1, padding 1, from `windows_pad1`.
fn patch_pad1(plane: u32, iy0: i32, ox0: u32) -> Patch {
    var p: Patch;
    p.t0 = windows_pad1(plane, iy0, ox0);
    p.t1 = windows_pad1(plane, iy0 + 1, ox0);
    p.t2 = windows_pad1(plane, iy0 + 2, ox0);
    p.t3 = windows_pad1(plane, iy0 + 3, ox0);
    p.t4 = windows_pad1(plane, iy0 + 4, ox0);
    p.t5 = windows_pad1(plane, iy0 + 5, ox0);
    return p;
}
