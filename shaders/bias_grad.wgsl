// bias_grad.wgsl
//   db[k] = Σ_{n, oh, ow} dy[n,k,oh,ow]
// Layouts: dy [N,K,Ho,Wo] (only n, k, ho, wo of the uniform are used), db [K].
// One workgroup of 256 invocations per channel k (linearised grid of K
// workgroups). Invocation t sums elements t, t+256, t+512, ... of the
// channel's N·Ho·Wo values in order, then a tree reduction in workgroup
// memory halves the 256 partial sums eight times. Both orders are fixed, so
// the result is deterministic on a given adapter.

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
    var acc = 0.0;
    for (var j = lid; j < len; j = j + WG) {
        acc = acc + dy[((j / hw) * P.k + kc) * hw + j % hw];
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
