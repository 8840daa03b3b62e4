// avg_pool2d.wgsl: torch's avg_pool2d, floor or ceil mode, with or
// without count_include_pad (after pool2d_params.wgsl); with the kernel
// the whole image it is AdaptiveAvgPool2d(1), global average pooling.
//   forward:  y[p, oh, ow] = Σ over the window's input positions / area
//   backward: dx[p, ih, iw] = Σ dy[p, oh, ow] / area over the windows
//             that cover (ih, iw)
// area = window_area(oh, ow): kh·kw in floor mode with count_include_pad,
// torch's clipped counts otherwise.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let run = run_at(wid, lid, P.ho, P.wo);
    if (run.plane >= P.planes) {
        return;
    }
    let plane = run.plane;
    let oh = run.row;
    for (var ow = run.col; ow < run.end; ow = ow + 1u) {
        var acc = 0.0;
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
                acc = acc + x[(plane * P.h + ihp - P.ph) * P.w + iwp - P.pw];
            }
        }
        out[(plane * P.ho + oh) * P.wo + ow] = acc / window_area(oh, ow);
    }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let run = run_at(wid, lid, P.h, P.w);
    if (run.plane >= P.planes) {
        return;
    }
    let plane = run.plane;
    let rows = covering_rows(run.row);
    for (var iw = run.col; iw < run.end; iw = iw + 1u) {
        let cols = covering_cols(iw);
        var acc = 0.0;
        for (var oh = rows.x; oh < rows.y; oh = oh + 1u) {
            for (var ow = cols.x; ow < cols.y; ow = ow + 1u) {
                acc = acc + dy[(plane * P.ho + oh) * P.wo + ow] / window_area(oh, ow);
            }
        }
        out[(plane * P.h + run.row) * P.w + iw] = acc;
    }
}
