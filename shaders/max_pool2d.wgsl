// max_pool2d.wgsl: max pooling over non-overlapping size×size windows
// (stride = size, no padding, floor mode: trailing rows/columns that do not
// fill a window are dropped, as in torch's default).
//   forward:  y[p, oh, ow] = max over the window at (oh·size, ow·size)
//   backward: dx at the window's first maximum (row-major scan; a NaN
//             counts as the maximum, as in torch) = dy[p, oh, ow]; 0 elsewhere
// Layouts: x, dx [planes = N·C, h, w]; y, dy [planes, ho, wo].
// One invocation per output element. Windows do not overlap, so each dx
// element is written by at most one invocation (dx starts zeroed): no races.
// Mirrors `MaxPoolUniform` in src/ops/max_pool2d.rs (8 u32s, 32 bytes).

struct PoolParams {
    planes: u32, h: u32, w: u32, size: u32,
    ho: u32, wo: u32, grid_x: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> P: PoolParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// NaN test on the bits: `v != v` is folded away by some compilers (GL).
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

struct Window { valid: bool, out_index: u32, first: u32 }

fn window(wid: vec3<u32>, lid: u32) -> Window {
    let o = (wid.x + wid.y * P.grid_x) * 64u + lid;
    let per_plane = P.ho * P.wo;
    let plane = o / per_plane;
    let rest = o % per_plane;
    let oh = rest / P.wo;
    let ow = rest % P.wo;
    let first = (plane * P.h + oh * P.size) * P.w + ow * P.size;
    return Window(o < P.planes * per_plane, o, first);
}

// Index in x of the window's first maximum.
fn arg_max(first: u32) -> u32 {
    var best_i = first;
    var best = x[first];
    for (var r = 0u; r < P.size; r = r + 1u) {
        for (var s = 0u; s < P.size; s = s + 1u) {
            let i = first + r * P.w + s;
            let v = x[i];
            // torch's rule `v > best || isnan(v)`, with the comparison
            // guarded so that no backend sees a NaN operand.
            if ((!is_nan(best) && !is_nan(v) && v > best) || is_nan(v)) {
                best = v;
                best_i = i;
            }
        }
    }
    return best_i;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let win = window(wid, lid);
    if (win.valid) {
        out[win.out_index] = x[arg_max(win.first)];
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let win = window(wid, lid);
    if (win.valid) {
        out[arg_max(win.first)] = dy[win.out_index];
    }
}
