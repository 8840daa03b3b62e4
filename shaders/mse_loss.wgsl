// mse_loss.wgsl: mean squared error (after elementwise.wgsl).
//   forward:  loss = Σ_i (y_i − t_i)² / len     (one workgroup of 256)
//   backward: dy_i = 2 · (y_i − t_i) / len      (one invocation per element)
// Layouts: y, t flat f32 arrays of P.len elements; loss a 1-element array.
// The forward sum is deterministic: invocation j adds elements j, j+256, …
// in order, then a tree reduction in workgroup memory halves the 256
// partial sums eight times.

@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var i = lid; i < P.len; i = i + 256u) {
        let d = y[i] - t[i];
        acc = acc + d * d;
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        out[0] = total / f32(P.len);
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        out[i] = 2.0 * (y[i] - t[i]) / f32(P.len);
    }
}
