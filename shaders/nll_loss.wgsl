// nll_loss.wgsl: torch's nll_loss on log-probabilities logp [N, C] with
// class-index targets (f32 values of integers; `ignore_index` rows
// skipped), optional class weights w [C] (ones without), and label
// smoothing ε, reduction 'mean' — what CrossEntropyLoss(weight,
// ignore_index, label_smoothing) computes after log_softmax:
//   den    = Σ_kept w[t_i]             count = the kept rows
//   nll    = Σ_kept −w[t_i]·logp[i, t_i] / den
//   smooth = Σ_kept Σ_c −w[c]·logp[i, c] / (den with weights, else count)
//   loss   = (1 − ε)·nll + ε/C · smooth
//   dlogp[i, c] = kept_i · ( −(1 − ε)·w[t_i]·[c = t_i] / den − ε/C · w[c] / d2 )
// `statistics` (one workgroup of 256) writes (den, count) to `stats`; the
// forward sums the numerators the same way (each invocation rows j, j+256,
// … in order, then the tree of workgroup_sum: the same bits every run);
// the backward is one invocation per element. P.len = N (N·C in the
// backward), P.cols = C,
// P.extra = 1 with weights; ε and the ignore index in `params`.

@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> params: array<f32>;   // [ε, ignore_index]
@group(0) @binding(5) var<storage, read_write> stats: array<f32>; // [den, count]
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

fn class_weight(c: u32) -> f32 {
    if (P.extra == 0u) {
        return 1.0;
    }
    return weight[c];
}

// The row's class, or C (no class) for an ignored row.
fn row_class(i: u32) -> u32 {
    let t = labels[i];
    if (t == params[1]) {
        return P.cols;
    }
    return u32(t);
}

@compute @workgroup_size(256)
fn statistics(@builtin(local_invocation_index) lid: u32) {
    var den = 0.0;
    var count = 0.0;
    for (var i = lid; i < P.len; i = i + 256u) {
        let c = row_class(i);
        if (c < P.cols) {
            den = den + class_weight(c);
            count = count + 1.0;
        }
    }
    let total_den = workgroup_sum(lid, den);
    workgroupBarrier();
    let total_count = workgroup_sum(lid, count);
    if (lid == 0u) {
        stats[0] = total_den;
        stats[1] = total_count;
    }
}

@compute @workgroup_size(256)
fn forward(@builtin(local_invocation_index) lid: u32) {
    var nll = 0.0;
    var smoothed = 0.0;
    for (var i = lid; i < P.len; i = i + 256u) {
        let c = row_class(i);
        if (c < P.cols) {
            nll = nll - class_weight(c) * logp[i * P.cols + c];
            var row = 0.0;
            for (var k = 0u; k < P.cols; k = k + 1u) {
                row = row - class_weight(k) * logp[i * P.cols + k];
            }
            smoothed = smoothed + row;
        }
    }
    let total_nll = workgroup_sum(lid, nll);
    workgroupBarrier();
    let total_smooth = workgroup_sum(lid, smoothed);
    if (lid == 0u) {
        let eps = params[0];
        let d2 = select(stats[1], stats[0], P.extra == 1u);
        out[0] = (1.0 - eps) * (total_nll / stats[0]) + eps / f32(P.cols) * (total_smooth / d2);
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // Here P.len counts elements (N·C), not rows.
    let e = item(wid, lid);
    if (e >= P.len) {
        return;
    }
    let i = e / P.cols;
    let k = e % P.cols;
    let c = row_class(i);
    if (c >= P.cols) {
        out[e] = 0.0;
        return;
    }
    let eps = params[0];
    let d2 = select(stats[1], stats[0], P.extra == 1u);
    var g = -eps / f32(P.cols) * class_weight(k) / d2;
    if (k == c) {
        g = g - (1.0 - eps) * class_weight(c) / stats[0];
    }
    out[e] = g;
}
