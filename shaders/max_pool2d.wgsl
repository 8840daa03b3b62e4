// max_pool2d.wgsl: torch's max_pool2d (kernel, stride, padding, floor
// mode; after pool2d_params.wgsl).
//   forward:  y[p, oh, ow] = max over the window (padding counts as −∞)
//   backward: dx[p, ih, iw] = Σ dy[p, oh, ow] over the windows whose
//             maximum is (ih, iw): the first maximum in a row-major scan,
//             where a NaN counts as the maximum (the last NaN wins), as in
//             torch
// The backward pass recomputes each covering window's maximum instead of
// storing indices: ⌈kh/sh⌉·⌈kw/sw⌉ windows of kh·kw loads per input
// element (36 for 3x3 at stride 2), and no index tensor to keep. Where the
// windows tile the input (stride = kernel, no remainder:
// Pool2dGeometry::windows_tile_input) `backward_tiles` runs per window
// instead and writes its kh·kw inputs itself: one scan per window rather
// than one per input, and each input is written by exactly one window, so
// the result is the same, bit for bit (a sum of one term).

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// NaN test on the bits: `v != v` is folded away by some compilers (GL).
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Index in x of the first maximum of window (oh, ow) of plane `plane`.
// The window holds at least one input position (padding ≤ kernel / 2).
fn arg_max(plane: u32, oh: u32, ow: u32) -> u32 {
    var best_i = 0xffffffffu;
    var best = 0.0;
    for (var r = 0u; r < P.kh; r = r + 1u) {
        let ihp = oh * P.sh + r;
        if (ihp < P.ph || ihp - P.ph >= P.h) {
            continue;
        }
        for (var s = 0u; s < P.kw; s = s + 1u) {
            let iwp = ow * P.sw + s;
            if (iwp < P.pw || iwp - P.pw >= P.w) {
                continue;
            }
            let i = (plane * P.h + ihp - P.ph) * P.w + iwp - P.pw;
            let v = x[i];
            // torch's rule `v > best || isnan(v)`, with the comparison
            // guarded so that no backend sees a NaN operand.
            if (best_i == 0xffffffffu || (!is_nan(best) && !is_nan(v) && v > best) || is_nan(v)) {
                best = v;
                best_i = i;
            }
        }
    }
    return best_i;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let o = item(wid, lid);
    if (o >= P.planes * P.ho * P.wo) {
        return;
    }
    let plane = o / (P.ho * P.wo);
    let rest = o % (P.ho * P.wo);
    out[o] = x[arg_max(plane, rest / P.wo, rest % P.wo)];
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i >= P.planes * P.h * P.w) {
        return;
    }
    let cover = covering_windows(i);
    let plane = cover.plane;
    let rows = cover.rows;
    let cols = cover.cols;
    var acc = 0.0;
    for (var oh = rows.x; oh < rows.y; oh = oh + 1u) {
        for (var ow = cols.x; ow < cols.y; ow = ow + 1u) {
            if (arg_max(plane, oh, ow) == i) {
                acc = acc + dy[(plane * P.ho + oh) * P.wo + ow];
            }
        }
    }
    out[i] = acc;
}

@compute @workgroup_size(64)
fn backward_tiles(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let o = item(wid, lid);
    if (o >= P.planes * P.ho * P.wo) {
        return;
    }
    let plane = o / (P.ho * P.wo);
    let oh = (o % (P.ho * P.wo)) / P.wo;
    let ow = o % P.wo;
    let best = arg_max(plane, oh, ow);
    let g = dy[o];
    for (var r = 0u; r < P.kh; r = r + 1u) {
        let ihp = oh * P.sh + r;
        if (ihp < P.ph || ihp - P.ph >= P.h) {
            continue;
        }
        for (var s = 0u; s < P.kw; s = s + 1u) {
            let iwp = ow * P.sw + s;
            if (iwp < P.pw || iwp - P.pw >= P.w) {
                continue;
            }
            let i = (plane * P.h + ihp - P.ph) * P.w + iwp - P.pw;
            out[i] = select(0.0, g, i == best);
        }
    }
}
