// bias_grad.wgsl
//   db[k] = Σ_{n, oh, ow} dy[n,k,oh,ow]
// Layouts: dy [N,K,Ho,Wo] (only n, k, ho, wo of the uniform are used), db [K].
// `bias_grad`: one workgroup of 256 invocations per channel k (linearised
// grid of K workgroups). Invocation t sums elements t, t+256, t+512, ... of
// the channel's N·Ho·Wo values in order, then a tree reduction in
// workgroup memory halves the 256 partial sums eight times. The walk over
// the channel steps (image, position) by a fixed (256 / HW, 256 % HW)
// with one carry instead of dividing by HW at every element: integer
// division has no vector instruction on a CPU adapter.
// `bias_grad_columns`: one invocation per channel summing its values in
// order, for short channels (a linear layer's [N, K] gradient; the host
// decides how short): a tree's barriers would cost more than the sum.
// Both orders are fixed, so the result is deterministic on a given adapter.

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn bias_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let kc = workgroup_linear(wid);
    if (kc >= P.k) {
        return;
    }
    let hw = P.ho * P.wo;
    let len = P.n * hw;
    let step_img = WG / hw;
    let step_pos = WG % hw;
    var img = lid / hw;
    var pos = lid % hw;
    var acc = 0.0;
    for (var j = lid; j < len; j = j + WG) {
        acc = acc + dy[(img * P.k + kc) * hw + pos];
        img = img + step_img;
        pos = pos + step_pos;
        if (pos >= hw) {
            pos = pos - hw;
            img = img + 1u;
        }
    }
    partial[lid] = acc;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half / 2u) {
        if (lid < half) {
            partial[lid] = partial[lid] + partial[lid + half];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        db[kc] = partial[0];
    }
}

@compute @workgroup_size(64)
fn bias_grad_columns(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let kc = workgroup_linear(wid) * 64u + lid;
    if (kc >= P.k) {
        return;
    }
    let hw = P.ho * P.wo;
    var acc = 0.0;
    for (var img = 0u; img < P.n; img = img + 1u) {
        let base = (img * P.k + kc) * hw;
        for (var pos = 0u; pos < hw; pos = pos + 1u) {
            acc = acc + dy[base + pos];
        }
    }
    db[kc] = acc;
}
