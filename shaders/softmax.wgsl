// softmax.wgsl: torch's softmax and log_softmax along one axis of a
// tensor viewed as [outer, len, inner] (the axis in the middle), and
// their backward passes from the output. One invocation per line (an
// (outer, inner) pair), walking its `len` values at stride `inner`,
// workgroups of 64, linearised grid. Sums run in index order (the same
// bits every run); the maximum is subtracted first, as torch does.
//   softmax:              y = exp(x − max) / Σ exp(x − max)
//   log_softmax:          y = x − max − log Σ exp(x − max)
//   softmax_backward:     dx = y · (dy − Σ dy·y)
//   log_softmax_backward: dx = dy − exp(y) · Σ dy

struct SoftmaxParams {
    lines: u32,
    len: u32,
    inner: u32,
    grid_x: u32,
}

@group(0) @binding(0) var<uniform> P: SoftmaxParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The index of the line's first value.
fn line_start(line: u32) -> u32 {
    let outer = line / P.inner;
    let inner = line % P.inner;
    return outer * P.len * P.inner + inner;
}

fn line_index(wid: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * P.grid_x) * 64u + lid;
}

fn forward(line: u32, take_log: bool) {
    let s = line_start(line);
    var m = a[s];
    for (var k = 1u; k < P.len; k = k + 1u) {
        let v = a[s + k * P.inner];
        // NaN wins, as in torch (max propagates NaN).
        if (v > m || v != v) {
            m = v;
        }
    }
    var total = 0.0;
    for (var k = 0u; k < P.len; k = k + 1u) {
        total = total + exp(a[s + k * P.inner] - m);
    }
    let log_total = log(total);
    for (var k = 0u; k < P.len; k = k + 1u) {
        let i = s + k * P.inner;
        if (take_log) {
            out[i] = a[i] - m - log_total;
        } else {
            out[i] = exp(a[i] - m) / total;
        }
    }
}

@compute @workgroup_size(64)
fn softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let line = line_index(wid, lid);
    if (line < P.lines) {
        forward(line, false);
    }
}

@compute @workgroup_size(64)
fn log_softmax_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let line = line_index(wid, lid);
    if (line < P.lines) {
        forward(line, true);
    }
}

@compute @workgroup_size(64)
fn softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let line = line_index(wid, lid);
    if (line >= P.lines) {
        return;
    }
    let s = line_start(line);
    var dot = 0.0;
    for (var k = 0u; k < P.len; k = k + 1u) {
        let i = s + k * P.inner;
        dot = dot + dy[i] * a[i];
    }
    for (var k = 0u; k < P.len; k = k + 1u) {
        let i = s + k * P.inner;
        out[i] = a[i] * (dy[i] - dot);
    }
}

@compute @workgroup_size(64)
fn log_softmax_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let line = line_index(wid, lid);
    if (line >= P.lines) {
        return;
    }
    let s = line_start(line);
    var total = 0.0;
    for (var k = 0u; k < P.len; k = k + 1u) {
        total = total + dy[s + k * P.inner];
    }
    for (var k = 0u; k < P.len; k = k + 1u) {
        let i = s + k * P.inner;
        out[i] = dy[i] - exp(a[i]) * total;
    }
}
