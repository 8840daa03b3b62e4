// pointwise_loss.wgsl: torch's element-wise losses with reduction='mean'
// (after elementwise.wgsl): L1Loss, SmoothL1Loss(beta) and
// BCEWithLogitsLoss(pos_weight), the kind in `P.extra` (0, 1, 2), beta in
// the first value of binding 4 (and pos_weight there for BCE: one value
// per class of the last axis, P.cols classes; a single 1 without it).
//   forward:  loss = Σ_i ℓ(y_i, t_i) / len   (one workgroup of 256: each
//             invocation adds elements j, j+256, … in order, then the tree
//             of workgroup_sum; the same bits every run)
//   backward: dy_i = ℓ'(y_i, t_i) / len      (one invocation per element)
// with, for d = y − t:
//   L1:        |d|, sign(d) (0 at 0, as torch's sign)
//   SmoothL1:  |d| < β ? d²/(2β) : |d| − β/2,  |d| < β ? d/β : sign(d)
//   BCE:       (1 − t)·y + w·(log1p(e^−|y|) + max(−y, 0)), w = (p − 1)·t + 1
//              (torch's stable form), derivative (1 − t) − w·(1 − σ(y))

@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> param: array<f32>;

fn weight(i: u32) -> f32 {
    if (P.cols == 0u) {
        return 1.0;
    }
    return param[i % P.cols];
}

fn loss_at(i: u32) -> f32 {
    let x = y[i];
    let tv = t[i];
    let d = x - tv;
    if (P.extra == 0u) {
        return abs(d);
    }
    if (P.extra == 1u) {
        let beta = param[0];
        if (abs(d) < beta) {
            return 0.5 * d * d / beta;
        }
        return abs(d) - 0.5 * beta;
    }
    let w = (weight(i) - 1.0) * tv + 1.0;
    return (1.0 - tv) * x + w * (log(1.0 + exp(-abs(x))) + max(-x, 0.0));
}

fn grad_at(i: u32) -> f32 {
    let x = y[i];
    let tv = t[i];
    let d = x - tv;
    if (P.extra == 0u) {
        return sign(d);
    }
    if (P.extra == 1u) {
        let beta = param[0];
        if (abs(d) < beta) {
            return d / beta;
        }
        return sign(d);
    }
    let w = (weight(i) - 1.0) * tv + 1.0;
    let s = 1.0 / (1.0 + exp(-x));
    return (1.0 - tv) - w * (1.0 - s);
}

@compute @workgroup_size(256)
fn forward(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var i = lid; i < P.len; i = i + 256u) {
        acc = acc + loss_at(i);
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
        out[i] = grad_at(i) / f32(P.len);
    }
}
