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
// [split·split_len, (split+1)·split_len); every invocation owns an 8x8
// register tile (16 named vec4 accumulators). Three tile widths:
//   tiled_narrow: 128x32 tile,   64 invocations (GEMMs of at most 32 columns)
//   tiled:        128x64 tile,  128 invocations
//   tiled_wide:   128x128 tile, 256 invocations (at least 128 columns)
// Dispatch: tiles_m · tiles_n · splits · groups workgroups, linearised.
//
// These are the GPU kernels (on CPU adapters Auto runs gemm_blocks.wgsl).
// tiled_wide is the layout issue #3 measured on an H200 (128x128 tile,
// 16x16 invocations of 8x8 held in 16 named vec4s, vec4 fragments staged
// through workgroup memory). 8x16 register tiles were faster on lavapipe
// but need about 170 registers per invocation on a GPU and were never
// measured on one, so the measured GPU layout is kept (figures:
// docs/performance.md, docs/rejected.md).
//
// Per 16-deep k-step the workgroup gathers the A tile (16 x 128) and the B
// tile (16 x cols) into workgroup memory, stored k-major as vec4s of four
// consecutive rows (columns), then every invocation accumulates its
// register tile: rows 8·tx .. 8·tx+7, columns 8·ty .. 8·ty+7. Blocked
// ownership lets each k-step read the invocation's A and B fragments as
// four whole vec4s per 64 multiply-adds, and neighbouring invocations
// read neighbouring 16-byte words.
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

// One 8x8 register tile: acc*: columns 0-3, bcc*: columns 4-7, one per row.
struct Tile8x8 {
    acc0: vec4<f32>, acc1: vec4<f32>, acc2: vec4<f32>, acc3: vec4<f32>,
    acc4: vec4<f32>, acc5: vec4<f32>, acc6: vec4<f32>, acc7: vec4<f32>,
    bcc0: vec4<f32>, bcc1: vec4<f32>, bcc2: vec4<f32>, bcc3: vec4<f32>,
    bcc4: vec4<f32>, bcc5: vec4<f32>, bcc6: vec4<f32>, bcc7: vec4<f32>,
}

// The body of every entry point: `threads` invocations, a 128 x `cols` tile.
fn gemm_8x8(wid: vec3<u32>, lid: u32, threads: u32, cols: u32) {
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
    var t: Tile8x8;
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + TILE_K) {
        stage(arows, bcols, lid, threads, cols, k0, id.k_end);
        workgroupBarrier();
        for (var kl = 0u; kl < TILE_K; kl = kl + 1u) {
            let a0 = tile_a[kl * 32u + 2u * tx];
            let a1 = tile_a[kl * 32u + 2u * tx + 1u];
            let b = tile_b[kl * quads + 2u * ty];
            let c = tile_b[kl * quads + 2u * ty + 1u];
            t.acc0 = t.acc0 + a0.x * b;
            t.acc1 = t.acc1 + a0.y * b;
            t.acc2 = t.acc2 + a0.z * b;
            t.acc3 = t.acc3 + a0.w * b;
            t.acc4 = t.acc4 + a1.x * b;
            t.acc5 = t.acc5 + a1.y * b;
            t.acc6 = t.acc6 + a1.z * b;
            t.acc7 = t.acc7 + a1.w * b;
            t.bcc0 = t.bcc0 + a0.x * c;
            t.bcc1 = t.bcc1 + a0.y * c;
            t.bcc2 = t.bcc2 + a0.z * c;
            t.bcc3 = t.bcc3 + a0.w * c;
            t.bcc4 = t.bcc4 + a1.x * c;
            t.bcc5 = t.bcc5 + a1.y * c;
            t.bcc6 = t.bcc6 + a1.z * c;
            t.bcc7 = t.bcc7 + a1.w * c;
        }
        workgroupBarrier();
    }
    let mr = m0 + 8u * tx;
    let nc = n0 + 8u * ty;
    store_row(id.g, id.split, mr, nc, t.acc0);
    store_row(id.g, id.split, mr + 1u, nc, t.acc1);
    store_row(id.g, id.split, mr + 2u, nc, t.acc2);
    store_row(id.g, id.split, mr + 3u, nc, t.acc3);
    store_row(id.g, id.split, mr + 4u, nc, t.acc4);
    store_row(id.g, id.split, mr + 5u, nc, t.acc5);
    store_row(id.g, id.split, mr + 6u, nc, t.acc6);
    store_row(id.g, id.split, mr + 7u, nc, t.acc7);
    store_row(id.g, id.split, mr, nc + 4u, t.bcc0);
    store_row(id.g, id.split, mr + 1u, nc + 4u, t.bcc1);
    store_row(id.g, id.split, mr + 2u, nc + 4u, t.bcc2);
    store_row(id.g, id.split, mr + 3u, nc + 4u, t.bcc3);
    store_row(id.g, id.split, mr + 4u, nc + 4u, t.bcc4);
    store_row(id.g, id.split, mr + 5u, nc + 4u, t.bcc5);
    store_row(id.g, id.split, mr + 6u, nc + 4u, t.bcc6);
    store_row(id.g, id.split, mr + 7u, nc + 4u, t.bcc7);
}

@compute @workgroup_size(64)
fn tiled_narrow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_8x8(wid, lid, 64u, 32u);
}

@compute @workgroup_size(128)
fn tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_8x8(wid, lid, 128u, 64u);
}

@compute @workgroup_size(256)
fn tiled_wide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    gemm_8x8(wid, lid, 256u, 128u);
}
