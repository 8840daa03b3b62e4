// gemm_tiled.wgsl: the `tiled` entry point shared by the three
// convolutions, written once against the GEMM view each op file defines:
//   gemm_m(), gemm_n(), gemm_k()          problem size per group
//   a_row(g, m) -> ARow, load_a(ARow, kk)  A[m][kk], zero outside the problem
//   b_col(g, n) -> BCol, load_b(BCol, kk)  B[kk][n], zero outside the problem
//   store_c(g, split, m, n, v)             writes C[m][n] (ignores m, n out of range)
// so that C = A·B is the op's output (implicit GEMM: A and B are gathered
// from the tensors on the fly, no im2col buffer).
//
// One workgroup (256 invocations) computes a 64x64 tile of C for one group
// and one split of the reduction [split·split_len, (split+1)·split_len).
// Dispatch: tiles_m · tiles_n · splits · groups workgroups, linearised.
//
// Per 16-deep k-step every invocation gathers 4 elements of A and 4 of B
// into workgroup memory (tile_a is [16][64] k-major, stored as 16 vec4s per
// k, tile_b likewise), then each invocation accumulates a 4x4 register
// tile: rows 4·tx .. 4·tx+3, columns 4·ty .. 4·ty+3. Blocked ownership lets
// each k-step read its A and B fragments as one vec4 each: two loads per 16
// multiply-adds (CPU adapters pay per load, not per byte: on lavapipe this
// was 1.6x faster than four strided scalar loads per operand), and
// neighbouring invocations still read neighbouring 16-byte words.
// The four accumulators are named vec4s, not an indexed array: NVIDIA's
// compiler puts indexed private arrays in local memory.
// Each loader keeps its A row and B column fixed across k-steps, so the
// row/column decode (divisions) happens once per invocation.
// The reduction runs in k order in every invocation: results are
// deterministic on a given adapter.

const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;

var<workgroup> tile_a: array<vec4<f32>, 256>; // [TILE_K][TILE_M / 4]
var<workgroup> tile_b: array<vec4<f32>, 256>; // [TILE_K][TILE_N / 4]

fn store_row(g: u32, split: u32, m: u32, n0: u32, v: vec4<f32>) {
    store_c(g, split, m, n0, v.x);
    store_c(g, split, m, n0 + 1u, v.y);
    store_c(g, split, m, n0 + 2u, v.z);
    store_c(g, split, m, n0 + 3u, v.w);
}

@compute @workgroup_size(256)
fn tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = gemm_tile_id(wid, gemm_k());
    if (!id.valid) {
        return;
    }
    let g = id.g;
    let split = id.split;
    let k_begin = id.k_begin;
    let k_end = id.k_end;
    let m0 = id.tile_m * TILE_M;
    let n0 = id.tile_n * TILE_N;

    // Loader role: one A row and one B column, k lanes lk, lk+4, lk+8, lk+12.
    let ld = lid % 64u;
    let lk = lid / 64u;
    let arow = a_row(g, m0 + ld);
    let bcol = b_col(g, n0 + ld);

    // Compute role: rows 4·tx + i, columns 4·ty + j.
    let tx = lid % 16u;
    let ty = lid / 16u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    for (var k0 = k_begin; k0 < k_end; k0 = k0 + TILE_K) {
        for (var i = 0u; i < 4u; i = i + 1u) {
            let kl = lk + 4u * i;
            let kk = k0 + kl;
            var a = 0.0;
            var b = 0.0;
            if (kk < k_end) {
                a = load_a(arow, kk);
                b = load_b(bcol, kk);
            }
            tile_a[kl * 16u + ld / 4u][ld % 4u] = a;
            tile_b[kl * 16u + ld / 4u][ld % 4u] = b;
        }
        workgroupBarrier();
        for (var kl = 0u; kl < TILE_K; kl = kl + 1u) {
            let a = tile_a[kl * 16u + tx];
            let b = tile_b[kl * 16u + ty];
            acc0 = acc0 + a.x * b;
            acc1 = acc1 + a.y * b;
            acc2 = acc2 + a.z * b;
            acc3 = acc3 + a.w * b;
        }
        workgroupBarrier();
    }

    let mr = m0 + 4u * tx;
    let nc = n0 + 4u * ty;
    store_row(g, split, mr, nc, acc0);
    store_row(g, split, mr + 1u, nc, acc1);
    store_row(g, split, mr + 2u, nc, acc2);
    store_row(g, split, mr + 3u, nc, acc3);
}
