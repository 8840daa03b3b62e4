// softmax_cross_entropy.wgsl: softmax followed by cross-entropy against
// target probabilities, mean over the batch (torch's CrossEntropyLoss with
// probability targets; one-hot rows give the class-index form). After
// elementwise.wgsl: P.len = rows N, P.cols = classes C.
//   lse_n    = m_n + log Σ_j exp(z_nj − m_n),  m_n = max_j z_nj
//   forward:  loss = (1/N) Σ_n Σ_j t_nj · (lse_n − z_nj)
//   backward: dz_nj = (softmax_nj · Σ_j t_nj − t_nj) / N
// Subtracting the row maximum keeps exp's argument ≤ 0, so logits of ±1e4
// give finite values (the largest term is exp(0) = 1).
// Layouts: z, t [N, C] row-major f32; loss 1 element; dz [N, C].

@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn row_max(row: u32) -> f32 {
    let base = row * P.cols;
    var m = z[base];
    for (var j = 1u; j < P.cols; j = j + 1u) {
        m = max(m, z[base + j]);
    }
    return m;
}

fn row_log_sum_exp(row: u32, m: f32) -> f32 {
    let base = row * P.cols;
    var s = 0.0;
    for (var j = 0u; j < P.cols; j = j + 1u) {
        s = s + exp(z[base + j] - m);
    }
    return m + log(s);
}

// One workgroup of 256: invocation i takes rows i, i+256, … in order, then
// a fixed tree reduction (deterministic).
@compute @workgroup_size(256)
fn forward(@builtin(local_invocation_index) lid: u32) {
    var acc = 0.0;
    for (var row = lid; row < P.len; row = row + 256u) {
        let lse = row_log_sum_exp(row, row_max(row));
        let base = row * P.cols;
        for (var j = 0u; j < P.cols; j = j + 1u) {
            acc = acc + t[base + j] * (lse - z[base + j]);
        }
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        out[0] = total / f32(P.len);
    }
}

// One invocation per row.
@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = item(wid, lid);
    if (row >= P.len) {
        return;
    }
    let lse = row_log_sum_exp(row, row_max(row));
    let base = row * P.cols;
    var mass = 0.0;
    for (var j = 0u; j < P.cols; j = j + 1u) {
        mass = mass + t[base + j];
    }
    let inv_n = 1.0 / f32(P.len);
    for (var j = 0u; j < P.cols; j = j + 1u) {
        out[base + j] = (exp(z[base + j] - lse) * mass - t[base + j]) * inv_n;
    }
}
