// im2col.wgsl: between a convolution and its columns, the matrix
//   cols[n, c·R·S + r·S + s, oh, ow] = x[n, c, oh·sh − ph + r·dh, ow·sw − pw + s·dw]
// (0 in the padding), [N, C·R·S, Ho, Wo]: the input of the 1x1
// convolution, weight [K, C·R·S, 1, 1] (the 3x3 weight's own memory), that
// gives the same y. After conv_params.wgsl and conv_index.wgsl; the
// uniform is the convolution's.
//   im2col, im2col_x4: x → cols (the Im2col algorithm's forward and weight
//     gradient; src/ops/im2col.rs), one row of Wo columns per invocation,
//     stored one value at a time or (Wo % 4 == 0) four as one vec4;
//   col2im: columns → dx, each input element the sum of the columns its
//     taps reached, in (r, s) order (the input gradients of TwoStepColumns
//     and of Im2col).
// Each invocation writes its own outputs, and col2im sums in a fixed
// order.

@group(0) @binding(5) var<storage, read> src: array<f32>;
@group(0) @binding(6) var<storage, read_write> dst: array<f32>;
@group(0) @binding(10) var<storage, read_write> dst4: array<vec4<f32>>;

// x at (plane, ih, iw) of the padded input's coordinates, 0 in the
// padding.
fn x_at(plane: u32, ihp: u32, iwp: u32) -> f32 {
    if (ihp < P.pad_h || iwp < P.pad_w) {
        return 0.0;
    }
    let ih = ihp - P.pad_h;
    let iw = iwp - P.pad_w;
    if (ih >= P.h || iw >= P.w) {
        return 0.0;
    }
    return src[(plane * P.h + ih) * P.w + iw];
}

// Column row `row` = (n, c·R·S + r·S + s) and output row oh: the input
// plane and the padded input row the tap reads, and the tap's column
// offset s·dw.
struct ColRow { plane: u32, ihp: u32, tap_w: u32 }

fn col_row(row: u32, oh: u32) -> ColRow {
    let rs = P.r * P.s;
    let crs = row % (P.c * rs);
    let n = row / (P.c * rs);
    let tap = crs % rs;
    let r = tap / P.s;
    return ColRow(n * P.c + crs / rs, oh * P.stride_h + r * P.dil_h, (tap - r * P.s) * P.dil_w);
}

// One output row (n, c·R·S + r·S + s, oh) per invocation: the index
// arithmetic (divisions, which a CPU adapter pays per lane) once per row
// instead of once per value.
@compute @workgroup_size(64)
fn im2col(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.r * P.s * P.ho) {
        return;
    }
    let oh = i % P.ho;
    let at = col_row(i / P.ho, oh);
    let out = i * P.wo;
    for (var ow = 0u; ow < P.wo; ow = ow + 1u) {
        dst[out + ow] = x_at(at.plane, at.ihp, ow * P.stride_w + at.tap_w);
    }
}

// The same, four neighbouring output columns at a time stored as one
// vec4 (Wo % 4 == 0).
@compute @workgroup_size(64)
fn im2col_x4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.r * P.s * P.ho) {
        return;
    }
    let oh = i % P.ho;
    let at = col_row(i / P.ho, oh);
    let out = i * P.wo / 4u;
    let sw = P.stride_w;
    for (var q = 0u; q < P.wo / 4u; q = q + 1u) {
        let iwp = 4u * q * sw + at.tap_w;
        dst4[out + q] = vec4<f32>(
            x_at(at.plane, at.ihp, iwp),
            x_at(at.plane, at.ihp, iwp + sw),
            x_at(at.plane, at.ihp, iwp + 2u * sw),
            x_at(at.plane, at.ihp, iwp + 3u * sw),
        );
    }
}

// One invocation per dx element, in NCHW order; workgroup of 64,
// ceil(N·C·H·W / 64) workgroups (linearised).
@compute @workgroup_size(64)
fn col2im(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = workgroup_linear(wid) * 64u + lid;
    if (i >= P.n * P.c * P.h * P.w) {
        return;
    }
    let iw = i % P.w;
    let t = i / P.w;
    let ih = t % P.h;
    let nc = t / P.h;
    let hw = P.ho * P.wo;
    let base = nc * P.r * P.s * hw;
    var acc = 0.0;
    for (var r = 0u; r < P.r; r = r + 1u) {
        let oh = tap_source(ih + P.pad_h, r * P.dil_h, P.stride_h, P.ho);
        if (oh.y == 0u) {
            continue;
        }
        for (var s = 0u; s < P.s; s = s + 1u) {
            let ow = tap_source(iw + P.pad_w, s * P.dil_w, P.stride_w, P.wo);
            if (ow.y == 0u) {
                continue;
            }
            acc = acc + src[base + (r * P.s + s) * hw + oh.x * P.wo + ow.x];
        }
    }
    dst[i] = acc;
}
