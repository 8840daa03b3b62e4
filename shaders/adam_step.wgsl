// adam_step.wgsl: one step of torch.optim.Adam (amsgrad off), element by
// element, in torch's own order of operations:
//   p = p · decay                        (AdamW: decay = 1 − lr·wd; else 1)
//   g = grad + weight_decay · p          (Adam's L2 term; 0 for AdamW)
//   m = m + (1 − β1) · (g − m)            (torch's lerp)
//   v = β2 · v + (1 − β2) · g²
//   p = p − step_size · m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 − β1^t) and bc2_sqrt = sqrt(1 − β2^t) computed on
// the host in f64, as PyTorch does in Python floats.
// Layouts: param, grad, m, v flat arrays of `len` values V (after a vector
// prelude: 4 elements per invocation where the length is a multiple of 4);
// one invocation per value, workgroups of 64, 2-D folded grid.
// Mirrors `AdamUniform` in src/ops/adam_step.rs (12 words, 48 bytes).

struct AdamParams {
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    step_size: f32,
    bc2_sqrt: f32,
    len: u32,
    grid_x: u32,
    decay: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: AdamParams;
@group(0) @binding(1) var<storage, read_write> param: array<V>;
@group(0) @binding(2) var<storage, read> grad: array<V>;
@group(0) @binding(3) var<storage, read_write> m: array<V>;
@group(0) @binding(4) var<storage, read_write> v: array<V>;

@compute @workgroup_size(64)
fn adam_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (i >= P.len) {
        return;
    }
    let p = param[i] * P.decay;
    let g = grad[i] + P.weight_decay * p;
    let mi = m[i] + (1.0 - P.beta1) * (g - m[i]);
    let vi = P.beta2 * v[i] + (1.0 - P.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - P.step_size * mi / (sqrt(vi) / P.bc2_sqrt + P.eps);
}
