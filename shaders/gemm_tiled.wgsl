// gemm_tiled.wgsl: the tiled entry points shared by the three
// convolutions, written once against the GEMM view each op file defines:
//   gemm_m(), gemm_n(), gemm_k()               problem size per group
//   a_row(g, m) -> ARow, load_a(ARow, kk, tap)  A[m][kk], zero outside the problem
//   b_col(g, n) -> BCol, load_b(BCol, kk, tap)  B[kk][n], zero outside the problem
//   store_c(g, split, m, n, v)                  writes C[m][n] (ignores m, n out of range)
// where tap = taps[kk], the op's tap-table entry for reduction index kk
// (loaded here once and shared by the four rows or columns that need it),
// so that C = A·B is the op's output (implicit GEMM: A and B are gathered
// from the tensors on the fly, no im2col buffer).
//
// One workgroup per tile of C for one group and one split of the reduction
// [split·split_len, (split+1)·split_len); every invocation owns an 8x16
// register tile (32 named vec4 accumulators). Three tile widths:
//   tiled_narrow: 128x32 tile,   32 invocations (GEMMs of at most 32 columns)
//   tiled:        128x64 tile,   64 invocations
//   tiled_wide:   128x128 tile, 128 invocations (at least 128 columns)
// Dispatch: tiles_m · tiles_n · splits · groups workgroups, linearised.
//
// Per 16-deep k-step the workgroup gathers the A tile (16 x 128) and the B
// tile (16 x cols) into workgroup memory, stored k-major as vec4s of four
// consecutive rows (columns), then every invocation accumulates its
// register tile: rows 8·tx .. 8·tx+7, columns 16·ty .. 16·ty+15. Blocked
// ownership lets each k-step read the invocation's A and B fragments as
// six whole vec4s per 128 multiply-adds. CPU adapters pay per load, not
// per byte: on lavapipe an inner loop with an 8x4 register tile ran at
// 17.5 GFLOP/s, 8x8 at 25 and 8x16 at 32 (of 58 for multiply-adds alone;
// the 128 accumulators per lane cost nothing measurable), and the small
// suite gained 4.8 -> 6.6 GFLOP/s going from 8x4 to 8x16. On GPUs 8x16
// needs about 170 registers per invocation (NVIDIA allows 255); it has not
// been measured on one yet.
// Invocations 8i .. 8i+7 (one SIMD vector on lavapipe) share their
// columns, so their B fragment is one address.
// The loader stages four consecutive rows (columns) per invocation and
// k-lane: one tap-table load and one vec4 store per four elements.
// The accumulators are named vec4s, not an indexed array: NVIDIA's
// compiler puts indexed private arrays in local memory.
// Each loader keeps its A rows and B columns fixed across k-steps, so the
// row/column decode (divisions) happens once per invocation.
// The reduction runs in k order in every invocation: results are
// deterministic on a given adapter.

const TILE_M: u32 = 128u;
const TILE_K: u32 = 16u;

var<workgroup> tile_a: array<vec4<f32>, 512>; // [TILE_K][128 / 4]
var<workgroup> tile_b: array<vec4<f32>, 512>; // [TILE_K][cols / 4], cols = 32, 64 or 128

fn store_row(g: u32, split: u32, m: u32, n0: u32, v: vec4<f32>) {
    store_c(g, split, m, n0, v.x);
    store_c(g, split, m, n0 + 1u, v.y);
    store_c(g, split, m, n0 + 2u, v.z);
    store_c(g, split, m, n0 + 3u, v.w);
}

// Four consecutive A rows or B columns, and their values at one reduction
// step as a vec4 (also used by gemm_rows.wgsl and gemm_blocks.wgsl).
struct ARows { r0: ARow, r1: ARow, r2: ARow, r3: ARow }
struct BCols { c0: BCol, c1: BCol, c2: BCol, c3: BCol }

fn a_rows(g: u32, m: u32) -> ARows {
    return ARows(a_row(g, m), a_row(g, m + 1u), a_row(g, m + 2u), a_row(g, m + 3u));
}

fn b_cols(g: u32, n: u32) -> BCols {
    return BCols(b_col(g, n), b_col(g, n + 1u), b_col(g, n + 2u), b_col(g, n + 3u));
}

fn load_a4(a: ARows, kk: u32, tap: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(load_a(a.r0, kk, tap), load_a(a.r1, kk, tap), load_a(a.r2, kk, tap), load_a(a.r3, kk, tap));
}

fn load_b4(b: BCols, kk: u32, tap: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(load_b(b.c0, kk, tap), load_b(b.c1, kk, tap), load_b(b.c2, kk, tap), load_b(b.c3, kk, tap));
}

// Loader for a workgroup of `threads` invocations and a B tile of `cols`
// columns. Invocation lid owns A rows 4·(lid % 32) .. +3 at k-lanes
// lid / 32 + (threads / 32)·i, and B columns 4·(lid % (cols / 4)) .. +3 at
// k-lanes lid / (cols / 4) + (threads / (cols / 4))·i.
fn stage(a: ARows, b: BCols, lid: u32, threads: u32, cols: u32, k0: u32, k_end: u32) {
    for (var kl = lid / 32u; kl < TILE_K; kl = kl + threads / 32u) {
        let kk = k0 + kl;
        var v = vec4<f32>(0.0);
        if (kk < k_end) {
            v = load_a4(a, kk, taps[kk]);
        }
        tile_a[kl * 32u + lid % 32u] = v;
    }
    let quads = cols / 4u;
    for (var kl = lid / quads; kl < TILE_K; kl = kl + threads / quads) {
        let kk = k0 + kl;
        var v = vec4<f32>(0.0);
        if (kk < k_end) {
            v = load_b4(b, kk, taps[kk]);
        }
        tile_b[kl * quads + lid % quads] = v;
    }
}

// One 8x16 register tile: q{c}r{r} holds row r, columns 4c .. 4c+3.
struct Tile8x16 {
    q0r0: vec4<f32>,
    q0r1: vec4<f32>,
    q0r2: vec4<f32>,
    q0r3: vec4<f32>,
    q0r4: vec4<f32>,
    q0r5: vec4<f32>,
    q0r6: vec4<f32>,
    q0r7: vec4<f32>,
    q1r0: vec4<f32>,
    q1r1: vec4<f32>,
    q1r2: vec4<f32>,
    q1r3: vec4<f32>,
    q1r4: vec4<f32>,
    q1r5: vec4<f32>,
    q1r6: vec4<f32>,
    q1r7: vec4<f32>,
    q2r0: vec4<f32>,
    q2r1: vec4<f32>,
    q2r2: vec4<f32>,
    q2r3: vec4<f32>,
    q2r4: vec4<f32>,
    q2r5: vec4<f32>,
    q2r6: vec4<f32>,
    q2r7: vec4<f32>,
    q3r0: vec4<f32>,
    q3r1: vec4<f32>,
    q3r2: vec4<f32>,
    q3r3: vec4<f32>,
    q3r4: vec4<f32>,
    q3r5: vec4<f32>,
    q3r6: vec4<f32>,
    q3r7: vec4<f32>,
}

// The body of every entry point: `threads` invocations, a 128 x `cols` tile.
fn gemm_8x16(wid: vec3<u32>, lid: u32, threads: u32, cols: u32) {
    let id = gemm_tile_id(wid, gemm_k());
    if (!id.valid) {
        return;
    }
    let m0 = id.tile_m * TILE_M;
    let n0 = id.tile_n * cols;
    let quads = cols / 4u;
    let arows = a_rows(id.g, m0 + 4u * (lid % 32u));
    let bcols = b_cols(id.g, n0 + 4u * (lid % quads));
    let tx = lid % 16u;
    let ty = lid / 16u;
    var t: Tile8x16;
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + TILE_K) {
        stage(arows, bcols, lid, threads, cols, k0, id.k_end);
        workgroupBarrier();
        for (var kl = 0u; kl < TILE_K; kl = kl + 1u) {
            let a0 = tile_a[kl * 32u + 2u * tx];
            let a1 = tile_a[kl * 32u + 2u * tx + 1u];
            let b0 = tile_b[kl * quads + 4u * ty + 0u];
            let b1 = tile_b[kl * quads + 4u * ty + 1u];
            let b2 = tile_b[kl * quads + 4u * ty + 2u];
            let b3 = tile_b[kl * quads + 4u * ty + 3u];
            t.q0r0 = t.q0r0 + a0.x * b0;
            t.q0r1 = t.q0r1 + a0.y * b0;
            t.q0r2 = t.q0r2 + a0.z * b0;
            t.q0r3 = t.q0r3 + a0.w * b0;
            t.q0r4 = t.q0r4 + a1.x * b0;
            t.q0r5 = t.q0r5 + a1.y * b0;
            t.q0r6 = t.q0r6 + a1.z * b0;
            t.q0r7 = t.q0r7 + a1.w * b0;
            t.q1r0 = t.q1r0 + a0.x * b1;
            t.q1r1 = t.q1r1 + a0.y * b1;
            t.q1r2 = t.q1r2 + a0.z * b1;
            t.q1r3 = t.q1r3 + a0.w * b1;
            t.q1r4 = t.q1r4 + a1.x * b1;
            t.q1r5 = t.q1r5 + a1.y * b1;
            t.q1r6 = t.q1r6 + a1.z * b1;
            t.q1r7 = t.q1r7 + a1.w * b1;
            t.q2r0 = t.q2r0 + a0.x * b2;
            t.q2r1 = t.q2r1 + a0.y * b2;
            t.q2r2 = t.q2r2 + a0.z * b2;
            t.q2r3 = t.q2r3 + a0.w * b2;
            t.q2r4 = t.q2r4 + a1.x * b2;
            t.q2r5 = t.q2r5 + a1.y * b2;
            t.q2r6 = t.q2r6 + a1.z * b2;
            t.q2r7 = t.q2r7 + a1.w * b2;
            t.q3r0 = t.q3r0 + a0.x * b3;
            t.q3r1 = t.q3r1 + a0.y * b3;
            t.q3r2 = t.q3r2 + a0.z * b3;
            t.q3r3 = t.q3r3 + a0.w * b3;
            t.q3r4 = t.q3r4 + a1.x * b3;
            t.q3r5 = t.q3r5 + a1.y * b3;
            t.q3r6 = t.q3r6 + a1.z * b3;
            t.q3r7 = t.q3r7 + a1.w * b3;
        }
        workgroupBarrier();
    }
    let mr = m0 + 8u * tx;
    let nc = n0 + 16u * ty;
    store_row(id.g, id.split, mr + 0u, nc + 0u, t.q0r0);
    store_row(id.g, id.split, mr + 1u, nc + 0u, t.q0r1);
    store_row(id.g, id.split, mr + 2u, nc + 0u, t.q0r2);
    store_row(id.g, id.split, mr + 3u, nc + 0u, t.q0r3);
    store_row(id.g, id.split, mr + 4u, nc + 0u, t.q0r4);
    store_row(id.g, id.split, mr + 5u, nc + 0u, t.q0r5);
    store_row(id.g, id.split, mr + 6u, nc + 0u, t.q0r6);
    store_row(id.g, id.split, mr + 7u, nc + 0u, t.q0r7);
    store_row(id.g, id.split, mr + 0u, nc + 4u, t.q1r0);
    store_row(id.g, id.split, mr + 1u, nc + 4u, t.q1r1);
    store_row(id.g, id.split, mr + 2u, nc + 4u, t.q1r2);
    store_row(id.g, id.split, mr + 3u, nc + 4u, t.q1r3);
    store_row(id.g, id.split, mr + 4u, nc + 4u, t.q1r4);
    store_row(id.g, id.split, mr + 5u, nc + 4u, t.q1r5);
    store_row(id.g, id.split, mr + 6u, nc + 4u, t.q1r6);
    store_row(id.g, id.split, mr + 7u, nc + 4u, t.q1r7);
    store_row(id.g, id.split, mr + 0u, nc + 8u, t.q2r0);
    store_row(id.g, id.split, mr + 1u, nc + 8u, t.q2r1);
    store_row(id.g, id.split, mr + 2u, nc + 8u, t.q2r2);
    store_row(id.g, id.split, mr + 3u, nc + 8u, t.q2r3);
    store_row(id.g, id.split, mr + 4u, nc + 8u, t.q2r4);
    store_row(id.g, id.split, mr + 5u, nc + 8u, t.q2r5);
    store_row(id.g, id.split, mr + 6u, nc + 8u, t.q2r6);
    store_row(id.g, id.split, mr + 7u, nc + 8u, t.q2r7);
    store_row(id.g, id.split, mr + 0u, nc + 12u, t.q3r0);
    store_row(id.g, id.split, mr + 1u, nc + 12u, t.q3r1);
    store_row(id.g, id.split, mr + 2u, nc + 12u, t.q3r2);
    store_row(id.g, id.split, mr + 3u, nc + 12u, t.q3r3);
    store_row(id.g, id.split, mr + 4u, nc + 12u, t.q3r4);
    store_row(id.g, id.split, mr + 5u, nc + 12u, t.q3r5);
    store_row(id.g, id.split, mr + 6u, nc + 12u, t.q3r6);
    store_row(id.g, id.split, mr + 7u, nc + 12u, t.q3r7);
}

@compute @workgroup_size(32)
fn tiled_narrow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_8x16(wid, lid, 32u, 32u);
}

@compute @workgroup_size(64)
fn tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_8x16(wid, lid, 64u, 64u);
}

@compute @workgroup_size(128)
fn tiled_wide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_8x16(wid, lid, 128u, 128u);
}
