// activation.wgsl: ReLU and the logistic sigmoid, forward and backward,
// one invocation per value V (after elementwise.wgsl and a vector prelude:
// 4 elements per invocation where the length is a multiple of 4).
//   relu_forward:     y = x < 0 ? 0 : x          (NaN passes through, as in torch)
//   relu_backward:    dx = x > 0 ? dy : 0        (binding 1 holds x)
//   sigmoid_forward:  y = 1 / (1 + exp(−x))
//   sigmoid_backward: dx = dy · y · (1 − y)      (binding 1 holds y, the output)
// Layouts: flat arrays of P.len values V.

@group(0) @binding(1) var<storage, read> a: array<V>;
@group(0) @binding(2) var<storage, read> dy: array<V>;
@group(0) @binding(3) var<storage, read_write> out: array<V>;

@compute @workgroup_size(64)
fn relu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(x, V(0.0), (x < V(0.0)) & !nan_mask(x));
    }
}

@compute @workgroup_size(64)
fn relu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(V(0.0), dy[i], (x > V(0.0)) & !nan_mask(x));
    }
}

@compute @workgroup_size(64)
fn sigmoid_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        out[i] = 1.0 / (1.0 + exp(-a[i]));
    }
}

@compute @workgroup_size(64)
fn sigmoid_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let y = a[i];
        out[i] = dy[i] * y * (1.0 - y);
    }
}
