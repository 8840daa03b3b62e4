// batch_norm2d_max_pool2d.wgsl: torch's max_pool2d(relu(batch_norm2d(x)),
// 2) — 2x2 windows at stride 2, no padding, H and W even — in the
// passes of batch norm alone (after batch_norm2d.wgsl and max_rule.wgsl,
// in the same module: the uniform, the statistics, the walks and the
// trees are theirs).
//   forward:  p[n, c, oy, ox] = max over the window of relu(y), y as
//             batch_norm2d's, the first maximum in scan order (a NaN
//             counts as the maximum), as max_pool2d
//   backward: g = dp at the window's first maximum, 0 at its other three
//             inputs (max_pool2d's backward), masked by y > 0 (ReLU's),
//             then batch norm's backward of g
// Unfused, batch norm writes y (N·C·H·W values), the pooling reads it and
// writes a quarter of it; backward, the pooling writes g (mostly zeros,
// N·C·H·W values) and batch norm reads it twice. Fused, the pooled output
// is the only thing written forward, and the backward reads dp (a quarter
// of x's size) instead of g: the activations between the three ops never
// exist. Each window's y is recomputed from x with batch norm's own
// expression (`affine4`, the same operations as `affine`), so the same
// bits, the same maximum and the same ReLU mask as the unfused ops'.
// Layout: a window's two rows are one vec2 each (x2, out2: W even), and
// with H = 2·Ho the rows of pooled row r (counted over all planes) start
// at vec2 2·r·Wo of x, its bottom row Wo vec2s on. `pooled` and `dp`
// hold one value per window.
// Entry points, as batch norm's: `forward_pool_channel` (training) and
// `backward_pool_channel`, one workgroup per channel, on CPU adapters;
// elsewhere `stats_train`/`stats_eval` and `coefficients` of
// batch_norm2d.wgsl then `normalize_pool`, and `reduce_pool` then
// `input_grad_pool`, one window per invocation. In the per-channel
// entries an invocation takes whole pooled rows of its channel the way
// `Walk` takes vectors (a contiguous run per group of LANES invocations,
// every LANES-th row of it per invocation), so lanes read neighbouring
// rows and each lane's next row follows its last.
// WebGPU's default limit of 8 storage buffers per stage: the two
// per-channel entries use all 8 (forward: x for the statistics and x2,
// weight, bias, stats, the running statistics and pooled; backward: x2,
// weight, bias, stats, out2, dp, dweight, dbias).

@group(0) @binding(13) var<storage, read> x2: array<vec2<f32>>;
@group(0) @binding(14) var<storage, read_write> out2: array<vec2<f32>>;
@group(0) @binding(15) var<storage, read_write> pooled: array<f32>;
@group(0) @binding(16) var<storage, read> dp: array<f32>;

// Windows per pooled row (vec2s per input row) and pooled rows per plane.
fn pool_wo() -> u32 {
    return P.w / 2u;
}

fn pool_ho() -> u32 {
    return P.hw / P.w / 2u;
}

// The window's four inputs in scan order, its top row at vec2 `top`.
fn window_x(top: u32) -> vec4<f32> {
    return vec4<f32>(x2[top], x2[top + pool_wo()]);
}

// `affine` and `relu` of batch_norm2d.wgsl on a window's four values.
fn affine4(v: vec4<f32>, f: vec3<f32>) -> vec4<f32> {
    return (v - vec4<f32>(f.x)) * f.y + f.z;
}

fn nan4(v: vec4<f32>) -> vec4<bool> {
    return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

fn relu4(v: vec4<f32>) -> vec4<f32> {
    return select(v, vec4<f32>(0.0), (v < vec4<f32>(0.0)) & !nan4(v));
}

// The pooled value of a window of inputs v under forward coefficients f.
fn pool_value(v: vec4<f32>, f: vec3<f32>) -> f32 {
    let y = relu4(affine4(v, f));
    return y[first_max(y)];
}

// The gradient at a window's four inputs from its pooled gradient g: g at
// the first maximum of relu(y) if y > 0 there, 0 elsewhere.
fn window_grad(v: vec4<f32>, f: vec3<f32>, g: f32) -> vec4<f32> {
    let y = affine4(v, f);
    let best = first_max(relu4(y));
    let hit = vec4<u32>(0u, 1u, 2u, 3u) == vec4<u32>(best);
    return select(vec4<f32>(0.0), vec4<f32>(g), hit & (y > vec4<f32>(0.0)) & !nan4(y));
}

// dx at a window's four inputs from their gradient gv and the channel's
// backward coefficients k (batch_norm2d.wgsl's `dx_at`).
fn window_dx(v: vec4<f32>, gv: vec4<f32>, k: vec4<f32>) -> vec4<f32> {
    if (P.training == 0u) {
        return gv * k.y;
    }
    return gv * k.y + (v - vec4<f32>(k.x)) * k.z + k.w;
}

// The pooled rows of channel c an invocation of a `fan`² workgroup
// takes: (first, end), stepping by LANES.
fn row_walk(lid: u32, fan: u32) -> vec2<u32> {
    let rows = P.n * pool_ho();
    let span = (rows + fan * fan - 1u) / (fan * fan) * LANES;
    let g = lid / LANES;
    return vec2<u32>(g * span + lid % LANES, min((g + 1u) * span, rows));
}

// Row r of channel c's pooled rows (image r / Ho) counted over all planes.
fn global_row(c: u32, r: u32) -> u32 {
    let ho = pool_ho();
    let img = r / ho;
    return (img * P.c + c) * ho + r - img * ho;
}

@compute @workgroup_size(64)
fn forward_pool_channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 8u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let f = train_coefficients(c, lid, fan);
    let wo = pool_wo();
    let rows = row_walk(lid, fan);
    for (var r = rows.x; r < rows.y; r = r + LANES) {
        let q = global_row(c, r) * wo;
        for (var ox = 0u; ox < wo; ox = ox + 1u) {
            pooled[q + ox] = pool_value(window_x(2u * q + ox), f);
        }
    }
}

// Where a row holds a multiple of 4 inputs (W % 4 == 0, so Wo is even),
// the per-channel entry points take two windows at a time: their inputs
// are one vec4 per row (x4), their pooled values and gradients a vec2
// (pooled2, dp2), their dx one vec4 per row (out4): per window one load
// of x instead of two, and half a load of dp, where a CPU adapter pays
// per load and store, not per byte. Same rule and expressions, bit for
// bit. Pooled pair j of a row starts at vec4 j of each of its rows.
@group(0) @binding(17) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(18) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(19) var<storage, read_write> pooled2: array<vec2<f32>>;
@group(0) @binding(20) var<storage, read> dp2: array<vec2<f32>>;

// The two windows of a vec4 pair, top row t and bottom row b, in scan order.
fn left_window(t: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(t.xy, b.xy);
}

fn right_window(t: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(t.zw, b.zw);
}

// Back from the two windows' values (l, r, scan order) to the two rows.
fn top_row(l: vec4<f32>, r: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(l.xy, r.xy);
}

fn bottom_row(l: vec4<f32>, r: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(l.zw, r.zw);
}

@compute @workgroup_size(64)
fn forward_pool_channel_pairs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 8u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let f = train_coefficients(c, lid, fan);
    let half = pool_wo() / 2u;
    let rows = row_walk(lid, fan);
    for (var r = rows.x; r < rows.y; r = r + LANES) {
        let q = global_row(c, r) * half;
        for (var j = 0u; j < half; j = j + 1u) {
            let t = x4[2u * q + j];
            let b = x4[2u * q + j + half];
            pooled2[q + j] = vec2<f32>(pool_value(left_window(t, b), f), pool_value(right_window(t, b), f));
        }
    }
}

// `pool_grad_sums` two windows at a time.
fn pool_grad_sums_pairs(c: u32, lid: u32, fan: u32) -> GradSums {
    let mean = stats[2u * c];
    let invstd = stats[2u * c + 1u];
    let f = forward_coefficients(c, mean, invstd);
    let half = pool_wo() / 2u;
    var acc = Sums4(vec4<f32>(0.0), vec4<f32>(0.0));
    let rows = row_walk(lid, fan);
    for (var r = rows.x; r < rows.y; r = r + LANES) {
        let q = global_row(c, r) * half;
        for (var j = 0u; j < half; j = j + 1u) {
            let t = x4[2u * q + j];
            let b = x4[2u * q + j + half];
            let g = dp2[q + j];
            let l = left_window(t, b);
            acc = accumulate(acc, l, window_grad(l, f, g.x), mean, invstd);
            let rw = right_window(t, b);
            acc = accumulate(acc, rw, window_grad(rw, f, g.y), mean, invstd);
        }
    }
    return grad_coefficients(c, sums4(acc, lid, fan), f);
}

@compute @workgroup_size(64)
fn backward_pool_channel_pairs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 8u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let sums = pool_grad_sums_pairs(c, lid, fan);
    store_grads(c, lid, sums);
    let half = pool_wo() / 2u;
    let rows = row_walk(lid, fan);
    for (var r = rows.x; r < rows.y; r = r + LANES) {
        let q = global_row(c, r) * half;
        for (var j = 0u; j < half; j = j + 1u) {
            let top = 2u * q + j;
            let t = x4[top];
            let b = x4[top + half];
            let g = dp2[q + j];
            let l = left_window(t, b);
            let rw = right_window(t, b);
            let dl = window_dx(l, window_grad(l, sums.f, g.x), sums.k);
            let dr = window_dx(rw, window_grad(rw, sums.f, g.y), sums.k);
            out4[top] = top_row(dl, dr);
            out4[top + half] = bottom_row(dl, dr);
        }
    }
}

// One window per invocation over the whole tensor: window q is in pooled
// row q / Wo, whose inputs start at vec2 2·(q / Wo)·Wo.
fn window_top(q: u32) -> u32 {
    return q + q / pool_wo() * pool_wo();
}

fn window_channel(q: u32) -> u32 {
    return q / (pool_wo() * pool_ho()) % P.c;
}

@compute @workgroup_size(64)
fn normalize_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q = linear_id(wid) * 64u + lid;
    if (q >= P.n * P.c * pool_ho() * pool_wo()) {
        return;
    }
    pooled[q] = pool_value(window_x(window_top(q)), coef[window_channel(q)].xyz);
}

// The channel's gradient sums over its windows (`grad_sums` of
// batch_norm2d.wgsl, with g from the windows).
fn pool_grad_sums(c: u32, lid: u32, fan: u32) -> GradSums {
    let mean = stats[2u * c];
    let invstd = stats[2u * c + 1u];
    let f = forward_coefficients(c, mean, invstd);
    let wo = pool_wo();
    var acc = Sums4(vec4<f32>(0.0), vec4<f32>(0.0));
    let rows = row_walk(lid, fan);
    for (var r = rows.x; r < rows.y; r = r + LANES) {
        let q = global_row(c, r) * wo;
        for (var ox = 0u; ox < wo; ox = ox + 1u) {
            let v = window_x(2u * q + ox);
            acc = accumulate(acc, v, window_grad(v, f, dp[q + ox]), mean, invstd);
        }
    }
    return grad_coefficients(c, sums4(acc, lid, fan), f);
}

fn sum4(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// An invocation's running gradient sums (Σ g, Σ g·x̂) over its windows,
// one component per position in the window.
struct Sums4 {
    dy: vec4<f32>,
    dy_xhat: vec4<f32>,
}

// `a` with window v's gradient g added, as `grad_sums` adds a vector's.
fn accumulate(a: Sums4, v: vec4<f32>, g: vec4<f32>, mean: f32, invstd: f32) -> Sums4 {
    return Sums4(a.dy + g, a.dy_xhat + g * (v - vec4<f32>(mean)) * invstd);
}

// The workgroup's sums of every invocation's `a`, in the fixed tree.
fn sums4(a: Sums4, lid: u32, fan: u32) -> vec2<f32> {
    return tree_sum(lid, fan, vec2<f32>(sum4(a.dy), sum4(a.dy_xhat)));
}

@compute @workgroup_size(64)
fn backward_pool_channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 8u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let sums = pool_grad_sums(c, lid, fan);
    store_grads(c, lid, sums);
    let wo = pool_wo();
    let rows = row_walk(lid, fan);
    for (var r = rows.x; r < rows.y; r = r + LANES) {
        let q = global_row(c, r) * wo;
        for (var ox = 0u; ox < wo; ox = ox + 1u) {
            let top = 2u * q + ox;
            let v = window_x(top);
            let dx = window_dx(v, window_grad(v, sums.f, dp[q + ox]), sums.k);
            out2[top] = dx.xy;
            out2[top + wo] = dx.zw;
        }
    }
}

@compute @workgroup_size(256)
fn reduce_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 16u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let sums = pool_grad_sums(c, lid, fan);
    store_grads(c, lid, sums);
    if (lid == 0u) {
        coef[c] = sums.k;
    }
}

@compute @workgroup_size(64)
fn input_grad_pool(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let q = linear_id(wid) * 64u + lid;
    if (q >= P.n * P.c * pool_ho() * pool_wo()) {
        return;
    }
    let c = window_channel(q);
    let k = coef[c];
    // The forward's invstd·weight is the backward's s = k.y.
    let f = vec3<f32>(k.x, k.y, bias[c]);
    let top = window_top(q);
    let v = window_x(top);
    let dx = window_dx(v, window_grad(v, f, dp[q]), k);
    out2[top] = dx.xy;
    out2[top + pool_wo()] = dx.zw;
}
