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
// Width: the module is built twice from this file (src/gpu/shaders.rs),
// with `V` = f32 and with `V` = vec4<f32> (preludes vector1.wgsl and
// vector4.wgsl: V, U, B, WIDTH, hsum, component, nan_mask). The vec4 module runs where a plane holds a
// multiple of 4 values (HW % 4 == 0), so no vector straddles two channels:
// every load and store moves 4 values, and on a CPU adapter the
// per-invocation cost (index arithmetic, bounds tests) is what these
// kernels spend their time on. Below, "vector" means one V; a plane holds
// hwv = HW / WIDTH of them.
// Per-channel sums (`stats_train`, `reduce`): one workgroup of fan² =
// 256 invocations per channel (64 in the one-dispatch entry points
// below); each invocation walks its share of the channel's vectors in
// order (`Walk`), then a fixed two-level tree combines the partial
// results: deterministic. `reduce` keeps WIDTH running sums, added at the
// end.
// `stats_train` reads x once: each component of each invocation sums d =
// x − s and d² with s its own first value (a sample of the channel, so
// the shifted sums do not cancel the way E[x²] − mean² does), turns them
// into (count, mean, M2), and the components and then the tree merge
// those with Chan's formula (M2 = M2a + M2b + δ²·na·nb / (na + nb)). The
// means are kept as offsets from the channel's first value r: at a mean
// of 1000 and a spread of 0.01 an f32 mean itself is only good to 6e-5,
// and the merge's δ would carry that error into M2.
// The walk over a channel's vectors steps (image, position) by a fixed
// (LANES / hwv, LANES % hwv) with one carry instead of dividing at every
// vector: integer division has no vector instruction on a CPU adapter,
// and lavapipe pays it once per lane.
// `forward_channel` is `stats_train`, `coefficients` and `normalize`, and
// `backward_channel` is `reduce` then `input_grad`, in one workgroup per
// channel (src/ops/batch_norm2d.rs decides which runs: these on CPU
// adapters, where one workgroup runs on one core whatever its size, so 64
// invocations rather than 256 pay a quarter of the per-invocation setup
// and of the switches at each barrier, with the same parallelism).
// Element-wise entry points (`normalize`, `input_grad`): workgroups of 64,
// each invocation takes 4 vectors 64 apart (vector v of the tensor has
// channel (v / hwv) % C): one division for the first, then a carry
// (`Item`), so the division is paid once per 4 vectors.
// `stats_eval`: one invocation per channel. Grids are linearised
// (x + y · grid_x).
// Per-channel coefficients (`coef`, binding 12, [C] vec4s, written by
// `coefficients` after the statistics, one invocation per channel, and by
// the gradient sums): the element-wise passes read one
// 16-byte value per vector instead of four or five separate per-channel
// scalars. Forward (mean, invstd·weight, bias, 0): y = (x − mean)·k.y + k.z.
// Backward (mean, s, −s·invstd·dweight/M, −s·dbias/M) with s =
// weight·invstd: dx = s·dy + k.z·(x − mean) + k.w, the training formula
// above regrouped.
// relu = 1 fuses a ReLU after the normalisation (batch_norm2d_relu):
// forward y = max(y, 0) with NaN passing through, backward with dy masked
// by y > 0, which is ReLU's own mask since y > 0 exactly where the
// normalised value is; the backward recomputes that value from x with
// the forward's expression and coefficients (`affine`) instead of reading
// y, so it reads x and dy only.

struct BatchNormParams {
    n: u32,
    c: u32,
    hw: u32,
    training: u32,
    momentum: f32,
    eps: f32,
    grid_x: u32,
    relu: u32,
    // The plane's width (the fused pooling's: batch_norm2d_max_pool2d.wgsl).
    w: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> P: BatchNormParams;
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<V>;
@group(0) @binding(8) var<storage, read> dy: array<V>;
@group(0) @binding(9) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(10) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(12) var<storage, read_write> coef: array<vec4<f32>>;

var<workgroup> partial: array<vec2<f32>, 256>;

fn linear_id(wid: vec3<u32>) -> u32 {
    return wid.x + wid.y * P.grid_x;
}

fn plane_vectors() -> u32 {
    return P.hw / WIDTH;
}

// A workgroup's walk over a channel: invocation lid = LANES·g + l
// belongs to group g, which owns one contiguous run of the channel's
// vectors (LANES of every fan² of them), and takes its vectors
// l, l + LANES, ... in order. So the LANES invocations a CPU adapter runs
// as one SIMD instruction read LANES consecutive vectors, and each one's
// next read is the following LANES vectors: a stream the core's
// prefetcher follows. (With invocation t taking vectors t, t + 256, ...,
// lavapipe, which runs each SIMD group through its whole loop before the
// next, read 128 bytes every 4 KiB: a page per load, and no prefetch.) On
// a GPU a warp reads a few 128-byte runs per load, still whole lines.
// Vector j of a channel is at image j / hwv, position j % hwv; a Walk
// holds both beside j and the end of its group's run.
const LANES: u32 = 8u;

struct Walk {
    j: u32,
    end: u32,
    img: u32,
    k: u32,
}

fn walk_start(lid: u32, fan: u32) -> Walk {
    let hwv = plane_vectors();
    let mv = P.n * hwv;
    let span = (mv + fan * fan - 1u) / (fan * fan) * LANES;
    let g = lid / LANES;
    let j = g * span + lid % LANES;
    return Walk(j, min((g + 1u) * span, mv), j / hwv, j % hwv);
}

// The walk's vector count (the same for every component).
fn walk_count(w: Walk) -> u32 {
    if (w.j >= w.end) {
        return 0u;
    }
    return (w.end - w.j + LANES - 1u) / LANES;
}

fn walk_next(w: Walk) -> Walk {
    let hwv = plane_vectors();
    var n = Walk(w.j + LANES, w.end, w.img + LANES / hwv, w.k + LANES % hwv);
    if (n.k >= hwv) {
        n.k = n.k - hwv;
        n.img = n.img + 1u;
    }
    return n;
}

fn walk_index(c: u32, w: Walk) -> u32 {
    return (w.img * P.c + c) * plane_vectors() + w.k;
}

// Vector `v` of the tensor, its position `k` in its plane and its channel.
struct Item {
    v: u32,
    k: u32,
    c: u32,
}

// The first of an invocation's 4 vectors.
fn item_start(wid: vec3<u32>, lid: u32) -> Item {
    let hwv = plane_vectors();
    let v = linear_id(wid) * 256u + lid;
    let plane = v / hwv;
    return Item(v, v - plane * hwv, plane % P.c);
}

// 64 vectors on: the position moves by 64 % hwv and the channel by
// (64 / hwv) % C, plus one for a carry out of the plane; both sums stay
// below twice their modulus, so one subtraction each wraps them.
fn item_next(e: Item) -> Item {
    let hwv = plane_vectors();
    var n = Item(e.v + 64u, e.k + 64u % hwv, e.c + (64u / hwv) % P.c);
    if (n.k >= hwv) {
        n.k = n.k - hwv;
        n.c = n.c + 1u;
    }
    if (n.c >= P.c) {
        n.c = n.c - P.c;
    }
    return n;
}

fn relu(v: V) -> V {
    return select(v, V(0.0), (v < V(0.0)) & !nan_mask(v));
}

// The normalised and scaled value before the fused ReLU, from x's vector
// xv and a channel's forward coefficients f = (mean, invstd·weight,
// bias): the forward's expression, which the backward repeats on the same
// values to find the ReLU's mask.
fn affine(xv: V, f: vec3<f32>) -> V {
    return (xv - V(f.x)) * f.y + f.z;
}

// dy at vector i (x's vector there is xv), through the fused ReLU's mask
// when there is one: y > 0 exactly where affine(xv, f) > 0, recomputed
// rather than read from the forward's output (on a CPU adapter a load
// costs far more than the multiply-add, and this saves two passes over
// the activations: docs/performance.md).
fn grad_at(i: u32, xv: V, f: vec3<f32>) -> V {
    if (P.relu != 0u) {
        let y = affine(xv, f);
        return select(V(0.0), dy[i], (y > V(0.0)) & !nan_mask(y));
    }
    return dy[i];
}

// A channel's forward coefficients (see `affine`); bias is bound only
// where the ReLU is fused (the weight in its place otherwise, unread).
fn forward_coefficients(c: u32, mean: f32, invstd: f32) -> vec3<f32> {
    if (P.relu == 0u) {
        return vec3<f32>(0.0);
    }
    return vec3<f32>(mean, invstd * weight[c], bias[c]);
}

// The workgroup's reductions of one value per invocation run in two
// levels of fan, in a fixed order: invocations 0..fan each combine fan
// consecutive values, then invocation 0 combines their fan results. Three
// barriers where a halving tree takes nine: lavapipe switches between all
// SIMD groups of a workgroup at every barrier, which on small channels
// costs about as much as reading them.

// The sums over the workgroup of each invocation's v.
fn tree_sum(lid: u32, fan: u32, v: vec2<f32>) -> vec2<f32> {
    partial[lid] = v;
    workgroupBarrier();
    if (lid < fan) {
        var t = partial[fan * lid];
        for (var i = 1u; i < fan; i = i + 1u) {
            t = t + partial[fan * lid + i];
        }
        partial[fan * lid] = t;
    }
    workgroupBarrier();
    if (lid == 0u) {
        var t = partial[0];
        for (var i = 1u; i < fan; i = i + 1u) {
            t = t + partial[fan * i];
        }
        partial[0] = t;
    }
    workgroupBarrier();
    return partial[0];
}

// Running (count, mean, M2) of a set of values.
struct Moments {
    n: f32,
    mean: f32,
    m2: f32,
}

// Chan's merge of two sets' moments; an empty side leaves the other.
fn merge(a: Moments, b: Moments) -> Moments {
    let n = a.n + b.n;
    if (n == 0.0) {
        return a;
    }
    let delta = b.mean - a.mean;
    return Moments(n, a.mean + delta * (b.n / n), a.m2 + b.m2 + delta * delta * (a.n * b.n / n));
}

// Moments of `count` values from their sums about `shift`, the mean as
// an offset from `r`.
fn moments(count: f32, shift: f32, r: f32, s1: f32, s2: f32) -> Moments {
    if (count == 0.0) {
        return Moments(0.0, 0.0, 0.0);
    }
    return Moments(count, (shift - r) + s1 / count, max(s2 - s1 * s1 / count, 0.0));
}

var<workgroup> tree: array<Moments, 256>;

// The channel's (mean, biased variance), in every invocation of its
// workgroup: the one pass and the tree described above.
fn channel_stats(c: u32, lid: u32, fan: u32) -> vec2<f32> {
    let m = P.n * P.hw;
    let r = component(x[c * plane_vectors()], 0u);
    let first = walk_start(lid, fan);
    var shift = V(0.0);
    if (first.j < first.end) {
        shift = x[walk_index(c, first)];
    }
    var s1 = V(0.0);
    var s2 = V(0.0);
    for (var w = first; w.j < w.end; w = walk_next(w)) {
        let d = x[walk_index(c, w)] - shift;
        s1 = s1 + d;
        s2 = s2 + d * d;
    }
    let count = f32(walk_count(first));
    var mo = moments(count, component(shift, 0u), r, component(s1, 0u), component(s2, 0u));
    for (var k = 1u; k < WIDTH; k = k + 1u) {
        let more = moments(count, component(shift, k), r, component(s1, k), component(s2, k));
        mo = merge(mo, more);
    }
    tree[lid] = mo;
    workgroupBarrier();
    if (lid < fan) {
        var t = tree[fan * lid];
        for (var i = 1u; i < fan; i = i + 1u) {
            t = merge(t, tree[fan * lid + i]);
        }
        tree[fan * lid] = t;
    }
    workgroupBarrier();
    if (lid == 0u) {
        var t = tree[0];
        for (var i = 1u; i < fan; i = i + 1u) {
            t = merge(t, tree[fan * i]);
        }
        tree[0] = t;
    }
    workgroupBarrier();
    let all = tree[0];
    return vec2<f32>(r + all.mean, all.m2 / f32(m));
}

// Saves (mean, invstd) and moves the running statistics; returns invstd.
fn store_stats(c: u32, mean: f32, var_biased: f32) -> f32 {
    let m = P.n * P.hw;
    let invstd = 1.0 / sqrt(var_biased + P.eps);
    stats[2u * c] = mean;
    stats[2u * c + 1u] = invstd;
    let unbiased = var_biased * f32(m) / f32(m - 1u);
    running_mean[c] = (1.0 - P.momentum) * running_mean[c] + P.momentum * mean;
    running_var[c] = (1.0 - P.momentum) * running_var[c] + P.momentum * unbiased;
    return invstd;
}

@compute @workgroup_size(256)
fn stats_train(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 16u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let st = channel_stats(c, lid, fan);
    if (lid == 0u) {
        store_stats(c, st.x, st.y);
    }
}

// The forward output at vector i from a channel's (mean, invstd·weight,
// bias) in k.xyz, through the fused ReLU when there is one.
fn y_at(i: u32, k: vec4<f32>) -> V {
    let v = affine(x[i], k.xyz);
    if (P.relu != 0u) {
        return relu(v);
    }
    return v;
}

// The one-dispatch training forward's first half: channel c's statistics
// (stored, with the running statistics, by invocation 0) and its forward
// coefficients (mean, invstd·weight, bias), in every invocation.
fn train_coefficients(c: u32, lid: u32, fan: u32) -> vec3<f32> {
    let st = channel_stats(c, lid, fan);
    let invstd = 1.0 / sqrt(st.y + P.eps);
    if (lid == 0u) {
        store_stats(c, st.x, st.y);
    }
    return vec3<f32>(st.x, invstd * weight[c], bias[c]);
}

// Training forward in one dispatch (the host's plan on CPU adapters): the
// channel's statistics, then a second walk of the channel normalising it
// with `coefficients`' values, held in registers.
@compute @workgroup_size(64)
fn forward_channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 8u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let k = vec4<f32>(train_coefficients(c, lid, fan), 0.0);
    for (var w = walk_start(lid, fan); w.j < w.end; w = walk_next(w)) {
        let i = walk_index(c, w);
        out[i] = y_at(i, k);
    }
}

@compute @workgroup_size(64)
fn stats_eval(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid) * 64u + lid;
    if (c >= P.c) {
        return;
    }
    let invstd = 1.0 / sqrt(running_var[c] + P.eps);
    stats[2u * c] = running_mean[c];
    stats[2u * c + 1u] = invstd;

}

// A pass of its own rather than part of the statistics passes: those bind
// the running statistics read-write, and a caller may hand the same
// tensor as a running statistic and as weight or bias.
@compute @workgroup_size(64)
fn coefficients(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = linear_id(wid) * 64u + lid;
    if (c >= P.c) {
        return;
    }
    coef[c] = vec4<f32>(stats[2u * c], stats[2u * c + 1u] * weight[c], bias[c], 0.0);
}

@compute @workgroup_size(64)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let len = P.n * P.c * plane_vectors();
    var e = item_start(wid, lid);
    for (var t = 0u; t < 4u; t = t + 1u) {
        if (e.v < len) {
            out[e.v] = y_at(e.v, coef[e.c]);
        }
        e = item_next(e);
    }
}

// The channel's gradient sums and the backward coefficients they give,
// in every invocation of its workgroup.
struct GradSums {
    db: f32,
    dw: f32,
    k: vec4<f32>,
    f: vec3<f32>,
}

fn grad_sums(c: u32, lid: u32, fan: u32) -> GradSums {
    let mean = stats[2u * c];
    let invstd = stats[2u * c + 1u];
    let f = forward_coefficients(c, mean, invstd);
    var sum_dy = V(0.0);
    var sum_dy_xhat = V(0.0);
    for (var w = walk_start(lid, fan); w.j < w.end; w = walk_next(w)) {
        let k = walk_index(c, w);
        let xv = x[k];
        let g = grad_at(k, xv, f);
        sum_dy = sum_dy + g;
        sum_dy_xhat = sum_dy_xhat + g * (xv - V(mean)) * invstd;
    }
    let sums = tree_sum(lid, fan, vec2<f32>(hsum(sum_dy), hsum(sum_dy_xhat)));
    return grad_coefficients(c, sums, f);
}

// Invocation 0 of channel c's workgroup writes its weight and bias
// gradients.
fn store_grads(c: u32, lid: u32, sums: GradSums) {
    if (lid == 0u) {
        dbias[c] = sums.db;
        dweight[c] = sums.dw;
    }
}

// The channel's backward coefficients from its gradient sums (Σ dy,
// Σ dy·x̂) and forward coefficients f.
fn grad_coefficients(c: u32, sums: vec2<f32>, f: vec3<f32>) -> GradSums {
    let invstd = stats[2u * c + 1u];
    let db = sums.x;
    let dw = sums.y;
    let m = f32(P.n * P.hw);
    let s = weight[c] * invstd;
    return GradSums(db, dw, vec4<f32>(stats[2u * c], s, -s * invstd * dw / m, -s * db / m), f);
}

// dx at vector i from the channel's backward coefficients k and forward
// coefficients f.
fn dx_at(i: u32, k: vec4<f32>, f: vec3<f32>) -> V {
    let xv = x[i];
    let g = grad_at(i, xv, f);
    if (P.training == 0u) {
        return g * k.y;
    }
    return g * k.y + (xv - V(k.x)) * k.z + k.w;
}

@compute @workgroup_size(256)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 16u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let sums = grad_sums(c, lid, fan);
    store_grads(c, lid, sums);
    if (lid == 0u) {
        coef[c] = sums.k;
    }
}

@compute @workgroup_size(64)
fn input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let len = P.n * P.c * plane_vectors();
    var e = item_start(wid, lid);
    for (var t = 0u; t < 4u; t = t + 1u) {
        if (e.v < len) {
            // The forward's invstd·weight is the backward's s = k.y.
            let k = coef[e.c];
            var f = vec3<f32>(0.0);
            if (P.relu != 0u) {
                f = vec3<f32>(k.x, k.y, bias[e.c]);
            }
            out[e.v] = dx_at(e.v, k, f);
        }
        e = item_next(e);
    }
}

// The backward pass in one dispatch (the host's plan on CPU adapters):
// the channel's workgroup computes `reduce`'s sums, then walks the
// channel again for dx with input_grad's formula, its coefficients held
// in registers; the second walk finds the channel in the core's cache.
@compute @workgroup_size(64)
fn backward_channel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let fan = 8u;
    let c = linear_id(wid);
    if (c >= P.c) {
        return;
    }
    let sums = grad_sums(c, lid, fan);
    store_grads(c, lid, sums);
    for (var w = walk_start(lid, fan); w.j < w.end; w = walk_next(w)) {
        let i = walk_index(c, w);
        out[i] = dx_at(i, sums.k, sums.f);
    }
}
