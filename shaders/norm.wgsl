// norm.wgsl: torch's GroupNorm, LayerNorm and InstanceNorm (one layout,
// crate::shape::NormLayout): `rows` rows of `len` consecutive values, each
// normalised by its own mean and biased variance, then the affine weight
// and bias of flat index i at (i / inner) % count. One workgroup of 64 per
// row (or per parameter), linearised grid; each lane sums the values
// lid, lid + 64, … in order, then a fixed tree adds the 64 partial sums:
// the same bits every run.
//   forward:  mean = Σx / len, var = Σ(x − mean)² / len,
//             rstd = 1 / sqrt(var + eps), x̂ = (x − mean)·rstd,
//             y = x̂·w + b; saved[row] = (mean, rstd)
//   backward: g = dy·w, dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) per row
//   params:   dw[p] = Σ dy·x̂, db[p] = Σ dy over the values of parameter p

struct NormParams {
    rows: u32,
    len: u32,
    inner: u32,
    count: u32,
    // The positions of one parameter: outer blocks of `inner` values.
    outer: u32,
    // Bit 0: a weight, bit 1: a bias (absent ones are not read).
    affine: u32,
    eps: f32,
    grid_x: u32,
}

@group(0) @binding(0) var<uniform> P: NormParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> saved_out: array<f32>;
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read> saved: array<f32>;
@group(0) @binding(8) var<storage, read_write> out2: array<f32>;

var<workgroup> red_a: array<f32, 64>;
var<workgroup> red_b: array<f32, 64>;

// Adds the 64 lanes' red_a and red_b in a fixed tree; every lane gets
// the totals.
fn reduce_pair(lid: u32) -> vec2<f32> {
    for (var stride = 32u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if (lid < stride) {
            red_a[lid] = red_a[lid] + red_a[lid + stride];
            red_b[lid] = red_b[lid] + red_b[lid + stride];
        }
    }
    workgroupBarrier();
    let total = vec2<f32>(red_a[0], red_b[0]);
    workgroupBarrier();
    return total;
}

fn param_of(i: u32) -> u32 {
    return (i / P.inner) % P.count;
}

@compute @workgroup_size(64)
fn norm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * P.grid_x;
    if (row >= P.rows) {
        return;
    }
    let s = row * P.len;
    var sum = 0.0;
    for (var k = lid; k < P.len; k = k + 64u) {
        sum = sum + x[s + k];
    }
    red_a[lid] = sum;
    red_b[lid] = 0.0;
    let mean = reduce_pair(lid).x / f32(P.len);
    var sq = 0.0;
    for (var k = lid; k < P.len; k = k + 64u) {
        let d = x[s + k] - mean;
        sq = sq + d * d;
    }
    red_a[lid] = sq;
    let rstd = inverseSqrt(reduce_pair(lid).x / f32(P.len) + P.eps);
    for (var k = lid; k < P.len; k = k + 64u) {
        let i = s + k;
        let xhat = (x[i] - mean) * rstd;
        var y = xhat;
        if ((P.affine & 1u) != 0u) {
            y = y * weight[param_of(i)];
        }
        if ((P.affine & 2u) != 0u) {
            y = y + bias[param_of(i)];
        }
        out[i] = y;
    }
    if (lid == 0u) {
        saved_out[2u * row] = mean;
        saved_out[2u * row + 1u] = rstd;
    }
}

@compute @workgroup_size(64)
fn norm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * P.grid_x;
    if (row >= P.rows) {
        return;
    }
    let s = row * P.len;
    let mean = saved[2u * row];
    let rstd = saved[2u * row + 1u];
    var sum_g = 0.0;
    var sum_gx = 0.0;
    for (var k = lid; k < P.len; k = k + 64u) {
        let i = s + k;
        var g = dy[i];
        if ((P.affine & 1u) != 0u) {
            g = g * weight[param_of(i)];
        }
        sum_g = sum_g + g;
        sum_gx = sum_gx + g * (x[i] - mean) * rstd;
    }
    red_a[lid] = sum_g;
    red_b[lid] = sum_gx;
    let totals = reduce_pair(lid) / f32(P.len);
    for (var k = lid; k < P.len; k = k + 64u) {
        let i = s + k;
        var g = dy[i];
        if ((P.affine & 1u) != 0u) {
            g = g * weight[param_of(i)];
        }
        let xhat = (x[i] - mean) * rstd;
        out[i] = rstd * (g - totals.x - xhat * totals.y);
    }
}

// One workgroup per parameter p: its values are at
// (o·count + p)·inner + j for o < outer, j < inner.
@compute @workgroup_size(64)
fn norm_param_grads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let p = wid.x + wid.y * P.grid_x;
    if (p >= P.count) {
        return;
    }
    var dw = 0.0;
    var db = 0.0;
    let n = P.outer * P.inner;
    for (var k = lid; k < n; k = k + 64u) {
        let i = ((k / P.inner) * P.count + p) * P.inner + k % P.inner;
        let row = i / P.len;
        let xhat = (x[i] - saved[2u * row]) * saved[2u * row + 1u];
        dw = dw + dy[i] * xhat;
        db = db + dy[i];
    }
    red_a[lid] = dw;
    red_b[lid] = db;
    let totals = reduce_pair(lid);
    if (lid == 0u) {
        out[p] = totals.x;
        out2[p] = totals.y;
    }
}
