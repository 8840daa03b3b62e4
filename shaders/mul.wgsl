// mul.wgsl: element-wise products, one invocation per value V (after
// elementwise.wgsl and a vector prelude: 4 elements per invocation where
// the length, and for the broadcast the run each scale covers, is a
// multiple of 4).
//   mul:                out[i] = a[i] · b[i]
//   mul_broadcast:      out[i] = a[i] · s[i / P.cols]    (P.cols = the run
//                       of elements each scale covers: H·W for a [N, C, 1, 1]
//                       gate over [N, C, H, W]; the whole tensor for a scalar)
//   mul_broadcast_grad: ds[j] = Σ_{k < P.cols} a[j·P.cols + k] · b[j·P.cols + k],
//                       one invocation per scale (P.len of them), the run
//                       summed in index order (per lane at width 4, then
//                       the lanes by hsum): the same bits every run
// Layouts: flat arrays; a, b and out hold the product's elements, s and ds
// one value per run.

@group(0) @binding(1) var<storage, read> a: array<V>;
@group(0) @binding(2) var<storage, read> b: array<V>;
@group(0) @binding(3) var<storage, read_write> out: array<V>;
@group(0) @binding(4) var<storage, read> s: array<f32>;
@group(0) @binding(5) var<storage, read_write> ds: array<f32>;

@compute @workgroup_size(64)
fn mul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        out[i] = a[i] * b[i];
    }
}

@compute @workgroup_size(64)
fn mul_broadcast(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        // At width 4 a run is a multiple of 4 long, so one vector never
        // straddles two scales.
        out[i] = a[i] * V(s[(i * WIDTH) / P.cols]);
    }
}

@compute @workgroup_size(64)
fn mul_broadcast_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let j = item(wid, lid);
    if (j < P.len) {
        let run = P.cols / WIDTH;
        var acc = V(0.0);
        for (var k = 0u; k < run; k = k + 1u) {
            acc = acc + a[j * run + k] * b[j * run + k];
        }
        ds[j] = hsum(acc);
    }
}
