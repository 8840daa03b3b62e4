// gemm_pointwise.wgsl: the `pointwise` entry point shared by the three
// convolutions, for pointwise problems only: a 1x1 kernel at stride 1
// without padding (ResNet's channel mixers, S5 of the small suite), and
// linear layers, which are 1x1 convolutions of 1x1 images. There the GEMM
// has no im2col: every operand is a plain matrix, each contiguous along
// one of its two axes, so four consecutive values along that axis are one
// vec4 load (bindings A4 / B4, the A and B tensors viewed as vec4s). The
// host plans it only where every such run of four is aligned and inside
// one image (src/plan.rs, `pointwise_fits`): a plane of H·W = 1 or a
// multiple of 4 values, C/g and K/g multiples of 4, a reduction that is.
//
// One invocation computes a 16x16 block of C over its split of the
// reduction, as `blocks` (gemm_blocks.wgsl) does, and steps the reduction
// 4 at a time: per step it loads 4x4 quads, 4 of A (16 rows) and 4 of B
// (16 columns), 32 vec4 loads for 1024 multiply-adds, where `blocks`
// spends 4 tap-table entries and 128 scalar loads. On a CPU adapter a
// load is a per-lane gather and a vec4 one costs about 1.5 scalar ones
// (docs/rejected.md, `examples/load_cost.rs`), so this is about a third
// of the load work per multiply-add.
//
// Each op file defines the view: `pw_rows(g, m0)` and `pw_cols(g, n0)`
// (vec4<u32>: where rows m0..m0+3 or columns n0..n0+3 start, once per
// invocation), `pw_k(k0) -> vec2<u32>` (the reduction index as the op
// splits it, once per step), and the loads `pw_a(rows, k) -> Quad`, row
// major (q_j: row j's four reduction values), and `pw_b(cols, k) -> Quad`,
// reduction major (q_i: the four columns' values at reduction step i), and
// the store `pw_store(g, split, m0, n0, q)` of a quad of C through the
// output's vec4 view (below). A quad loaded or stored along the other
// axis is transposed in registers, which costs nothing once the compiler
// has scalarised it. The sum runs in k order per
// output, as in every GEMM kernel: deterministic.

struct Quad { q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32> }

// pw_rows of an operand laid out [N, channels, plane] whose rows are
// (n, position) and whose group starts at channel c0 (the forward's x,
// the input gradient's dy): on planes of one value each row's offset at
// c0 (four images), else the first row's, in .x (four positions of one
// image). The plane is x's, one value exactly where X_PLANE_ONE says so.
fn plane_rows(m0: u32, rows: u32, channels: u32, c0: u32, plane: u32) -> vec4<u32> {
    if (X_PLANE_ONE != 0u) {
        return min(vec4<u32>(m0, m0 + 1u, m0 + 2u, m0 + 3u), vec4<u32>(rows - 1u)) * channels + c0;
    }
    let m = min(m0, rows - 4u);
    return vec4<u32>(((m / plane) * channels + c0) * plane + m % plane);
}

fn transpose_quad(t: Quad) -> Quad {
    return Quad(
        vec4<f32>(t.q0.x, t.q1.x, t.q2.x, t.q3.x),
        vec4<f32>(t.q0.y, t.q1.y, t.q2.y, t.q3.y),
        vec4<f32>(t.q0.z, t.q1.z, t.q2.z, t.q3.z),
        vec4<f32>(t.q0.w, t.q1.w, t.q2.w, t.q3.w),
    );
}

// Sixteen columns of B at four consecutive reduction steps.
struct Slab { s0: Row16, s1: Row16, s2: Row16, s3: Row16 }

// Where the block's 16 columns start, four at a time.
struct Cols4 { c0: vec4<u32>, c1: vec4<u32>, c2: vec4<u32>, c3: vec4<u32> }

fn slab(c: Cols4, k: vec2<u32>) -> Slab {
    return slab_of(pw_b(c.c0, k), pw_b(c.c1, k), pw_b(c.c2, k), pw_b(c.c3, k));
}

// The slab of four column quads' values at the same reduction steps.
fn slab_of(b0: Quad, b1: Quad, b2: Quad, b3: Quad) -> Slab {
    return Slab(
        Row16(b0.q0, b1.q0, b2.q0, b3.q0),
        Row16(b0.q1, b1.q1, b2.q1, b3.q1),
        Row16(b0.q2, b1.q2, b2.q2, b3.q2),
        Row16(b0.q3, b1.q3, b2.q3, b3.q3),
    );
}

// One row's four reduction values times the slab, in reduction order,
// one accumulator quad at a time: each quad's four steps follow each
// other. A CPU adapter holds a block's accumulators in memory (a register
// per lane-wide component, far more than it has); in this order its JIT
// keeps a quad in registers through the four steps and moves fewer
// values to and from the stack than step by step (docs/performance.md).
// Each value sees the same operations in the same order either way.
fn fma_slab(acc: Row16, a: vec4<f32>, s: Slab) -> Row16 {
    return Row16(
        fma4(fma4(fma4(fma4(acc.q0, a.x, s.s0.q0), a.y, s.s1.q0), a.z, s.s2.q0), a.w, s.s3.q0),
        fma4(fma4(fma4(fma4(acc.q1, a.x, s.s0.q1), a.y, s.s1.q1), a.z, s.s2.q1), a.w, s.s3.q1),
        fma4(fma4(fma4(fma4(acc.q2, a.x, s.s0.q2), a.y, s.s1.q2), a.z, s.s2.q2), a.w, s.s3.q2),
        fma4(fma4(fma4(fma4(acc.q3, a.x, s.s0.q3), a.y, s.s1.q3), a.z, s.s2.q3), a.w, s.s3.q3),
    );
}

// acc += four reduction steps of a 16x16 block: row 4i + j times the
// slab for the block's rows, whose A values at the four steps are x_i's
// quad j; each accumulator quad's steps in a row, as fma_slab runs them.
fn fma_slab_block16(acc: ptr<function, Block16>, x0: Quad, x1: Quad, x2: Quad, x3: Quad, s: Slab) {
    (*acc).r0 = fma_slab((*acc).r0, x0.q0, s);
    (*acc).r1 = fma_slab((*acc).r1, x0.q1, s);
    (*acc).r2 = fma_slab((*acc).r2, x0.q2, s);
    (*acc).r3 = fma_slab((*acc).r3, x0.q3, s);
    (*acc).r4 = fma_slab((*acc).r4, x1.q0, s);
    (*acc).r5 = fma_slab((*acc).r5, x1.q1, s);
    (*acc).r6 = fma_slab((*acc).r6, x1.q2, s);
    (*acc).r7 = fma_slab((*acc).r7, x1.q3, s);
    (*acc).r8 = fma_slab((*acc).r8, x2.q0, s);
    (*acc).r9 = fma_slab((*acc).r9, x2.q1, s);
    (*acc).r10 = fma_slab((*acc).r10, x2.q2, s);
    (*acc).r11 = fma_slab((*acc).r11, x2.q3, s);
    (*acc).r12 = fma_slab((*acc).r12, x3.q0, s);
    (*acc).r13 = fma_slab((*acc).r13, x3.q1, s);
    (*acc).r14 = fma_slab((*acc).r14, x3.q2, s);
    (*acc).r15 = fma_slab((*acc).r15, x3.q3, s);
}

// `fma_slab` for the four rows of a quad x of A (x.q_j: row j's four
// steps) in one block.
fn fma_slab_rows4(acc: ptr<function, Rows4>, x: Quad, s: Slab) {
    (*acc).r0 = fma_slab((*acc).r0, x.q0, s);
    (*acc).r1 = fma_slab((*acc).r1, x.q1, s);
    (*acc).r2 = fma_slab((*acc).r2, x.q2, s);
    (*acc).r3 = fma_slab((*acc).r3, x.q3, s);
}

// `fma_slab` for the four rows of a quad x of A, in two blocks side by
// side: times slab lo (left) and hi (right), row by row.
fn fma_slab_rows4_pair(left: ptr<function, Rows4>, right: ptr<function, Rows4>, x: Quad, lo: Slab, hi: Slab) {
    (*left).r0 = fma_slab((*left).r0, x.q0, lo);
    (*right).r0 = fma_slab((*right).r0, x.q0, hi);
    (*left).r1 = fma_slab((*left).r1, x.q1, lo);
    (*right).r1 = fma_slab((*right).r1, x.q1, hi);
    (*left).r2 = fma_slab((*left).r2, x.q2, lo);
    (*right).r2 = fma_slab((*right).r2, x.q2, hi);
    (*left).r3 = fma_slab((*left).r3, x.q3, lo);
    (*right).r3 = fma_slab((*right).r3, x.q3, hi);
}

fn pw_store_rows4(g: u32, split: u32, m0: u32, n0: u32, r: Rows4) {
    pw_store_rows(g, split, m0, n0, r.r0, r.r1, r.r2, r.r3);
}

// A 16x16 block held as its four row quads.
fn pw_store_quads(g: u32, split: u32, m0: u32, n0: u32, q0: Rows4, q1: Rows4, q2: Rows4, q3: Rows4) {
    pw_store_rows4(g, split, m0, n0, q0);
    pw_store_rows4(g, split, m0 + 4u, n0, q1);
    pw_store_rows4(g, split, m0 + 8u, n0, q2);
    pw_store_rows4(g, split, m0 + 12u, n0, q3);
}

// acc + x·y, as fma16 writes each of its quads.
fn fma4(acc: vec4<f32>, x: f32, y: vec4<f32>) -> vec4<f32> {
    return acc + x * y;
}

// The block's stores, a 4x4 quad at a time, through the op's `pw_store(g,
// split, m0, n0, q)` (q_i: row m0 + i's values at columns n0..n0+3),
// which writes the quad as four vec4s along whichever axis of C is
// contiguous (binding C4, C viewed as vec4s). On a CPU adapter a store
// is a per-lane scatter, as dear as a load, and with a short reduction
// (a forward GEMM over few channels, Winograd's batched GEMMs) a block's
// scalar stores cost as much as its multiply-adds. Rows come in fours
// that are all inside C or all past it, columns too (`pointwise_fits`),
// except the rows of a 1x1 plane, where the rows are images and the
// columns the contiguous axis.
fn pw_store_rows(g: u32, split: u32, m0: u32, n0: u32, a: Row16, b: Row16, c: Row16, d: Row16) {
    pw_store(g, split, m0, n0, Quad(a.q0, b.q0, c.q0, d.q0));
    pw_store(g, split, m0, n0 + 4u, Quad(a.q1, b.q1, c.q1, d.q1));
    pw_store(g, split, m0, n0 + 8u, Quad(a.q2, b.q2, c.q2, d.q2));
    pw_store(g, split, m0, n0 + 12u, Quad(a.q3, b.q3, c.q3, d.q3));
}

fn pw_store_block16(g: u32, split: u32, m0: u32, n0: u32, b: Block16) {
    pw_store_rows(g, split, m0, n0, b.r0, b.r1, b.r2, b.r3);
    pw_store_rows(g, split, m0 + 4u, n0, b.r4, b.r5, b.r6, b.r7);
    pw_store_rows(g, split, m0 + 8u, n0, b.r8, b.r9, b.r10, b.r11);
    pw_store_rows(g, split, m0 + 12u, n0, b.r12, b.r13, b.r14, b.r15);
}

// Column j of a quad: the four rows' values there, as one vec4.
fn quad_column(q: Quad, j: u32) -> vec4<f32> {
    return vec4<f32>(q.q0[j], q.q1[j], q.q2[j], q.q3[j]);
}

@compute @workgroup_size(64)
fn pointwise(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_at(workgroup_linear(wid) * 64u + lid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let m0 = id.tile_m * 16u;
    let n0 = id.tile_n * 16u;
    let a0 = pw_rows(g, m0 + 0u);
    let a1 = pw_rows(g, m0 + 4u);
    let a2 = pw_rows(g, m0 + 8u);
    let a3 = pw_rows(g, m0 + 12u);
    let c = Cols4(pw_cols(g, n0), pw_cols(g, n0 + 4u), pw_cols(g, n0 + 8u), pw_cols(g, n0 + 12u));
    var acc: Block16;
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + 4u) {
        let k = pw_k(k0);
        let s = slab(c, k);
        fma_slab_block16(&acc, pw_a(a0, k), pw_a(a1, k), pw_a(a2, k), pw_a(a3, k), s);
    }
    pw_store_block16(g, id.split, m0, n0, acc);
}
