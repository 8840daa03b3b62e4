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
// The walk over a channel's elements steps (image, position) by a fixed
// (256 / HW, 256 % HW) with one carry (`Walk`) instead of dividing by HW
// at every element: integer division has no vector instruction on a CPU
// adapter, and lavapipe pays it once per lane.
// Element-wise entry points (`normalize`, `input_grad`): workgroups of 64
// over one plane (n, c) each, ⌈HW / 64⌉ per plane, so the channel comes
// from the workgroup's index, not from a division per element.
// `eval_stats`: one invocation per channel. Grids are linearised
// (x + y · grid_x).
// relu = 1 fuses a ReLU after the normalisation (batch_norm2d_relu):
// forward y = max(y, 0) with NaN passing through, backward with dy masked
// by y > 0 (y the fused output, binding 11), which is ReLU's own mask
// since y > 0 exactly where the normalised value is.

struct BatchNormParams {
    n: u32,
    c: u32,
    hw: u32,
    training: u32,
    momentum: f32,
    eps: f32,
    grid_x: u32,
    relu: u32,
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
@group(0) @binding(11) var<storage, read> act: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, 256>;

fn linear_id(wid: vec3<u32>) -> u32 {
    return wid.x + wid.y * P.grid_x;
}

// Element j (of M) of a channel is at image j / HW, position j % HW; a
// Walk holds both for j = lid, lid + 256, ...
struct Walk {
    img: u32,
    k: u32,
}

fn walk_start(lid: u32) -> Walk {
    return Walk(lid / P.hw, lid % P.hw);
}

fn walk_next(w: Walk) -> Walk {
    var n = Walk(w.img + WG / P.hw, w.k + WG % P.hw);
    if (n.k >= P.hw) {
        n.k = n.k - P.hw;
        n.img = n.img + 1u;
    }
    return n;
}

fn walk_index(c: u32, w: Walk) -> u32 {
    return (w.img * P.c + c) * P.hw + w.k;
}

// The element of an element-wise entry point: plane (n, c) of the
// workgroup, position lid within its tile; `ok` false past the plane.
struct PlaneItem {
    i: u32,
    c: u32,
    ok: bool,
}

fn plane_item(wid: vec3<u32>, lid: u32) -> PlaneItem {
    let tiles = (P.hw + 63u) / 64u;
    let g = linear_id(wid);
    let plane = g / tiles;
    let k = (g % tiles) * 64u + lid;
    return PlaneItem(plane * P.hw + k, plane % P.c, k < P.hw && plane < P.n * P.c);
}

fn relu(v: f32) -> f32 {
    return select(v, 0.0, v < 0.0 && !is_nan(v));
}

// dy at element i, through the fused ReLU's mask when there is one.
fn grad_at(i: u32) -> f32 {
    if (P.relu != 0u) {
        let y = act[i];
        return select(0.0, dy[i], y > 0.0 && !is_nan(y));
    }
    return dy[i];
}

// NaN test on the bits: `v != v` is folded away by some compilers (GL).
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
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
    var w = walk_start(lid);
    for (var j = lid; j < m; j = j + WG) {
        acc = acc + x[walk_index(c, w)];
        w = walk_next(w);
    }
    let mean = tree_sum(lid, acc) / f32(m);
    var sq = 0.0;
    w = walk_start(lid);
    for (var j = lid; j < m; j = j + WG) {
        let d = x[walk_index(c, w)] - mean;
        sq = sq + d * d;
        w = walk_next(w);
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
    let e = plane_item(wid, lid);
    if (!e.ok) {
        return;
    }
    let i = e.i;
    let c = e.c;
    let v = (x[i] - stats[2u * c]) * stats[2u * c + 1u] * weight[c] + bias[c];
    if (P.relu != 0u) {
        out[i] = relu(v);
    } else {
        out[i] = v;
    }
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
    var w = walk_start(lid);
    for (var j = lid; j < m; j = j + WG) {
        let k = walk_index(c, w);
        let g = grad_at(k);
        sum_dy = sum_dy + g;
        sum_dy_xhat = sum_dy_xhat + g * (x[k] - mean) * invstd;
        w = walk_next(w);
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
    let e = plane_item(wid, lid);
    if (!e.ok) {
        return;
    }
    let i = e.i;
    let c = e.c;
    let invstd = stats[2u * c + 1u];
    let scale = weight[c] * invstd;
    let g = grad_at(i);
    if (P.training == 0u) {
        out[i] = g * scale;
        return;
    }
    let m = f32(P.n * P.hw);
    let xhat = (x[i] - stats[2u * c]) * invstd;
    out[i] = scale / m * (m * g - dbias[c] - xhat * dweight[c]);
}
