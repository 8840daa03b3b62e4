// batch_norm2d.wgsl: torch.nn.BatchNorm2d (affine), forward and backward.
//   M = N·H·W values per channel c; x̂ = (x − mean_c) · invstd_c
//   training: mean_c = Σ x / M, var_c = Σ (x − mean_c)² / M (biased),
//             invstd_c = 1 / sqrt(var_c + eps);
//             running_mean = (1 − momentum)·running_mean + momentum·mean_c,
//             running_var  = (1 − momentum)·running_var  + momentum·var_c·M/(M − 1)
//   eval:     mean_c = running_mean_c, invstd_c = 1 / sqrt(running_var_c + eps)
//   forward:  y = x̂ · weight_c + bias_c
//   backward: dbias_c = Σ dy, dweight_c = Σ dy · x̂;
//             training dx = weight_c · invstd_c / M · (M·dy − dbias_c − x̂·dweight_c),
//             eval     dx = dy · weight_c · invstd_c
// Layouts: x, y, dy, dx [N, C, H, W] f32 contiguous; weight, bias,
// running_mean, running_var, dweight, dbias [C]; stats [C, 2] holds
// (mean_c, invstd_c), what the backward pass reads.
// Per-channel sums (`stats`, `reduce`): one workgroup of 256 per channel;
// invocation t sums the channel's elements t, t + 256, ... in order, then a
// fixed tree halves the 256 partial sums: deterministic. The variance is a
// second pass over (x − mean)², not E[x²] − mean², which cancels badly.
// Element-wise entry points (`normalize`, `input_grad`): one invocation per
// element, workgroups of 64. `eval_stats`: one invocation per channel.
// Grids are linearised (x + y · grid_x).

struct BatchNormParams {
    n: u32,
    c: u32,
    hw: u32,
    training: u32,
    momentum: f32,
    eps: f32,
    grid_x: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: BatchNormParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read> dy: array<f32>;
@group(0) @binding(9) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(10) var<storage, read_write> dbias: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, 256>;

fn linear_id(wid: vec3<u32>) -> u32 {
    return wid.x + wid.y * P.grid_x;
}

// Element j (of M) of channel c.
fn at(c: u32, j: u32) -> u32 {
    return ((j / P.hw) * P.c + c) * P.hw + j % P.hw;
}

fn tree_sum(lid: u32, v: f32) -> f32 {
    workgroupBarrier();
    partial[lid] = v;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half = half / 2u) {
        if (lid < half) {
            partial[lid] = partial[lid] + partial[lid + half];
        }
        workgroupBarrier();
    }
    return partial[0];
}

@compute @workgroup_size(256)
fn stats_train(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let m = P.n * P.hw;
    var acc = 0.0;
    for (var j = lid; j < m; j = j + WG) {
        acc = acc + x[at(c, j)];
    }
    let mean = tree_sum(lid, acc) / f32(m);
    var sq = 0.0;
    for (var j = lid; j < m; j = j + WG) {
        let d = x[at(c, j)] - mean;
        sq = sq + d * d;
    }
    let var_biased = tree_sum(lid, sq) / f32(m);
    if (lid == 0u) {
        stats[2u * c] = mean;
        stats[2u * c + 1u] = 1.0 / sqrt(var_biased + P.eps);
        let unbiased = var_biased * f32(m) / f32(m - 1u);
        running_mean[c] = (1.0 - P.momentum) * running_mean[c] + P.momentum * mean;
        running_var[c] = (1.0 - P.momentum) * running_var[c] + P.momentum * unbiased;
    }
}

@compute @workgroup_size(64)
fn stats_eval(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid) * 64u + lid;
    if (c >= P.c) {
        return;
    }
    stats[2u * c] = running_mean[c];
    stats[2u * c + 1u] = 1.0 / sqrt(running_var[c] + P.eps);
}

@compute @workgroup_size(64)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid) * 64u + lid;
    if (i >= P.n * P.c * P.hw) {
        return;
    }
    let c = (i / P.hw) % P.c;
    out[i] = (x[i] - stats[2u * c]) * stats[2u * c + 1u] * weight[c] + bias[c];
}

@compute @workgroup_size(256)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let m = P.n * P.hw;
    let mean = stats[2u * c];
    let invstd = stats[2u * c + 1u];
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var j = lid; j < m; j = j + WG) {
        let k = at(c, j);
        sum_dy = sum_dy + dy[k];
        sum_dy_xhat = sum_dy_xhat + dy[k] * (x[k] - mean) * invstd;
    }
    let db = tree_sum(lid, sum_dy);
    let dw = tree_sum(lid, sum_dy_xhat);
    if (lid == 0u) {
        dbias[c] = db;
        dweight[c] = dw;
    }
}

@compute @workgroup_size(64)
fn input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = linear_id(wid) * 64u + lid;
    if (i >= P.n * P.c * P.hw) {
        return;
    }
    let c = (i / P.hw) % P.c;
    let invstd = stats[2u * c + 1u];
    let scale = weight[c] * invstd;
    if (P.training == 0u) {
        out[i] = dy[i] * scale;
        return;
    }
    let m = f32(P.n * P.hw);
    let xhat = (x[i] - stats[2u * c]) * invstd;
    out[i] = scale / m * (m * dy[i] - dbias[c] - xhat * dweight[c]);
}
