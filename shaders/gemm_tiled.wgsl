// gemm_tiled.wgsl: the `tiled` entry point shared by the three
// convolutions, written once against the GEMM view each op file defines:
//   gemm_m(), gemm_n(), gemm_k()          problem size per group
//   a_row(g, m) -> ARow, load_a(ARow, kk)  A[m][kk], zero outside the problem
//   b_col(g, n) -> BCol, load_b(BCol, kk)  B[kk][n], zero outside the problem
//   store_c(g, split, m, n, v)             writes C[m][n] (ignores m, n out of range)
// so that C = A·B is the op's output (implicit GEMM: A and B are gathered
// from the tensors on the fly, no im2col buffer).
//
// Two entry points, one workgroup (256 invocations) per tile of C for one
// group and one split of the reduction [split·split_len, (split+1)·split_len):
//   tiled:      128x64 tile, 8x4 outputs per invocation (8 vec4 accumulators)
//   tiled_wide: 128x128 tile, 8x8 outputs per invocation (16 accumulators),
//               for problems with at least 128 columns
// Dispatch: tiles_m · tiles_n · splits · groups workgroups, linearised.
//
// Per 16-deep k-step the workgroup gathers the A tile (16 x 128) and the B
// tile (16 x 64 or 16 x 128) into workgroup memory, stored k-major as vec4s
// of four consecutive rows (columns), then every invocation accumulates its
// register tile: rows 8·tx .. 8·tx+7, columns 4·ty .. (or 8·ty ..). Blocked
// ownership lets each k-step read the invocation's A and B fragments as
// whole vec4s: 3 (tiled) or 4 (tiled_wide) workgroup loads per 32 or 64
// multiply-adds. CPU adapters pay per load, not per byte (lavapipe:
// examples/load_cost.rs), and neighbouring invocations still read
// neighbouring 16-byte words.
// The accumulators are named vec4s, not an indexed array: NVIDIA's
// compiler puts indexed private arrays in local memory. For the same
// reason the two entry points are written out in full (WGSL has no
// generics to stamp out register tiles of two sizes); they share the
// loader (`stage`) and differ only in the tile width.
// Each loader keeps its A row and B column fixed across k-steps, so the
// row/column decode (divisions) happens once per invocation.
// The reduction runs in k order in every invocation: results are
// deterministic on a given adapter.

const TILE_M: u32 = 128u;
const TILE_K: u32 = 16u;

var<workgroup> tile_a: array<vec4<f32>, 512>; // [TILE_K][128 / 4]
var<workgroup> tile_b: array<vec4<f32>, 512>; // [TILE_K][cols / 4], cols = 64 or 128

fn store_row(g: u32, split: u32, m: u32, n0: u32, v: vec4<f32>) {
    store_c(g, split, m, n0, v.x);
    store_c(g, split, m, n0 + 1u, v.y);
    store_c(g, split, m, n0 + 2u, v.z);
    store_c(g, split, m, n0 + 3u, v.w);
}

// Loader: invocation lid owns A row lid % 128 at k lanes lid / 128 + 2·i,
// and B column lid % cols at k lanes lid / cols + (256 / cols)·i. The row
// and column decodes (divisions) happen once per invocation, in a_row / b_col.
fn stage(arow: ARow, bcol: BCol, lid: u32, cols: u32, k0: u32, k_end: u32) {
    let lda = lid % 128u;
    for (var kl = lid / 128u; kl < TILE_K; kl = kl + 2u) {
        let kk = k0 + kl;
        var a = 0.0;
        if (kk < k_end) {
            a = load_a(arow, kk);
        }
        tile_a[kl * 32u + lda / 4u][lda % 4u] = a;
    }
    let ldb = lid % cols;
    for (var kl = lid / cols; kl < TILE_K; kl = kl + 256u / cols) {
        let kk = k0 + kl;
        var b = 0.0;
        if (kk < k_end) {
            b = load_b(bcol, kk);
        }
        tile_b[kl * (cols / 4u) + ldb / 4u][ldb % 4u] = b;
    }
}

@compute @workgroup_size(256)
fn tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_id(wid, gemm_k());
    if (!id.valid) {
        return;
    }
    let m0 = id.tile_m * TILE_M;
    let n0 = id.tile_n * 64u;
    let arow = a_row(id.g, m0 + lid % 128u);
    let bcol = b_col(id.g, n0 + lid % 64u);
    let tx = lid % 16u;
    let ty = lid / 16u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + TILE_K) {
        stage(arow, bcol, lid, 64u, k0, id.k_end);
        workgroupBarrier();
        for (var kl = 0u; kl < TILE_K; kl = kl + 1u) {
            let a0 = tile_a[kl * 32u + 2u * tx];
            let a1 = tile_a[kl * 32u + 2u * tx + 1u];
            let b = tile_b[kl * 16u + ty];
            acc0 = acc0 + a0.x * b;
            acc1 = acc1 + a0.y * b;
            acc2 = acc2 + a0.z * b;
            acc3 = acc3 + a0.w * b;
            acc4 = acc4 + a1.x * b;
            acc5 = acc5 + a1.y * b;
            acc6 = acc6 + a1.z * b;
            acc7 = acc7 + a1.w * b;
        }
        workgroupBarrier();
    }
    let mr = m0 + 8u * tx;
    let nc = n0 + 4u * ty;
    store_row(id.g, id.split, mr, nc, acc0);
    store_row(id.g, id.split, mr + 1u, nc, acc1);
    store_row(id.g, id.split, mr + 2u, nc, acc2);
    store_row(id.g, id.split, mr + 3u, nc, acc3);
    store_row(id.g, id.split, mr + 4u, nc, acc4);
    store_row(id.g, id.split, mr + 5u, nc, acc5);
    store_row(id.g, id.split, mr + 6u, nc, acc6);
    store_row(id.g, id.split, mr + 7u, nc, acc7);
}

@compute @workgroup_size(256)
fn tiled_wide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_id(wid, gemm_k());
    if (!id.valid) {
        return;
    }
    let m0 = id.tile_m * TILE_M;
    let n0 = id.tile_n * 128u;
    let arow = a_row(id.g, m0 + lid % 128u);
    let bcol = b_col(id.g, n0 + lid % 128u);
    let tx = lid % 16u;
    let ty = lid / 16u;
    // acc*: columns 8·ty .. 8·ty+3; bcc*: columns 8·ty+4 .. 8·ty+7.
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var acc4 = vec4<f32>(0.0);
    var acc5 = vec4<f32>(0.0);
    var acc6 = vec4<f32>(0.0);
    var acc7 = vec4<f32>(0.0);
    var bcc0 = vec4<f32>(0.0);
    var bcc1 = vec4<f32>(0.0);
    var bcc2 = vec4<f32>(0.0);
    var bcc3 = vec4<f32>(0.0);
    var bcc4 = vec4<f32>(0.0);
    var bcc5 = vec4<f32>(0.0);
    var bcc6 = vec4<f32>(0.0);
    var bcc7 = vec4<f32>(0.0);
    for (var k0 = id.k_begin; k0 < id.k_end; k0 = k0 + TILE_K) {
        stage(arow, bcol, lid, 128u, k0, id.k_end);
        workgroupBarrier();
        for (var kl = 0u; kl < TILE_K; kl = kl + 1u) {
            let a0 = tile_a[kl * 32u + 2u * tx];
            let a1 = tile_a[kl * 32u + 2u * tx + 1u];
            let b = tile_b[kl * 32u + 2u * ty];
            let c = tile_b[kl * 32u + 2u * ty + 1u];
            acc0 = acc0 + a0.x * b;
            acc1 = acc1 + a0.y * b;
            acc2 = acc2 + a0.z * b;
            acc3 = acc3 + a0.w * b;
            acc4 = acc4 + a1.x * b;
            acc5 = acc5 + a1.y * b;
            acc6 = acc6 + a1.z * b;
            acc7 = acc7 + a1.w * b;
            bcc0 = bcc0 + a0.x * c;
            bcc1 = bcc1 + a0.y * c;
            bcc2 = bcc2 + a0.z * c;
            bcc3 = bcc3 + a0.w * c;
            bcc4 = bcc4 + a1.x * c;
            bcc5 = bcc5 + a1.y * c;
            bcc6 = bcc6 + a1.z * c;
            bcc7 = bcc7 + a1.w * c;
        }
        workgroupBarrier();
    }
    let mr = m0 + 8u * tx;
    let nc = n0 + 8u * ty;
    store_row(id.g, id.split, mr, nc, acc0);
    store_row(id.g, id.split, mr + 1u, nc, acc1);
    store_row(id.g, id.split, mr + 2u, nc, acc2);
    store_row(id.g, id.split, mr + 3u, nc, acc3);
    store_row(id.g, id.split, mr + 4u, nc, acc4);
    store_row(id.g, id.split, mr + 5u, nc, acc5);
    store_row(id.g, id.split, mr + 6u, nc, acc6);
    store_row(id.g, id.split, mr + 7u, nc, acc7);
    store_row(id.g, id.split, mr, nc + 4u, bcc0);
    store_row(id.g, id.split, mr + 1u, nc + 4u, bcc1);
    store_row(id.g, id.split, mr + 2u, nc + 4u, bcc2);
    store_row(id.g, id.split, mr + 3u, nc + 4u, bcc3);
    store_row(id.g, id.split, mr + 4u, nc + 4u, bcc4);
    store_row(id.g, id.split, mr + 5u, nc + 4u, bcc5);
    store_row(id.g, id.split, mr + 6u, nc + 4u, bcc6);
    store_row(id.g, id.split, mr + 7u, nc + 4u, bcc7);
}
