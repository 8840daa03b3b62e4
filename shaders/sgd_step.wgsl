// sgd_step.wgsl: torch.optim.SGD, element by element.
//   d = g + weight_decay · p
//   momentum > 0: buf = d on the first step, else buf = momentum · buf + (1 − dampening) · d;
//                 d = d + momentum · buf (nesterov) or d = buf
//   p = p − lr · d
// Layouts: param, grad, buf: flat f32 arrays of `len` elements.
// Entry points: sgd_plain (no momentum, no buffer bound) and sgd_momentum.
// One invocation per element, workgroup of 64, ceil(len / 64) workgroups
// (linearised over x and y as in the convolutions).
// Mirrors `SgdUniform` in src/ops/sgd_step.rs field for field (32 bytes).

struct SgdParams {
    lr: f32,
    momentum: f32,
    dampening: f32,
    weight_decay: f32,
    nesterov: u32,
    first_step: u32,
    len: u32,
    grid_x: u32,
}

@group(0) @binding(0) var<uniform> P: SgdParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> buf: array<f32>;

fn element(wid: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * P.grid_x) * 64u + lid;
}

@compute @workgroup_size(64)
fn sgd_plain(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = element(wid, lid);
    if (i >= P.len) {
        return;
    }
    let p = param[i];
    param[i] = p - P.lr * (grad[i] + P.weight_decay * p);
}

@compute @workgroup_size(64)
fn sgd_momentum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = element(wid, lid);
    if (i >= P.len) {
        return;
    }
    let p = param[i];
    var d = grad[i] + P.weight_decay * p;
    var b = d;
    if (P.first_step == 0u) {
        b = P.momentum * buf[i] + (1.0 - P.dampening) * d;
    }
    buf[i] = b;
    if (P.nesterov != 0u) {
        d = d + P.momentum * b;
    } else {
        d = b;
    }
    param[i] = p - P.lr * d;
}
