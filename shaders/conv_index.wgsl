// conv_index.wgsl: index arithmetic shared by the convolution family:
// division by a (uniform) stride, and the input gradients' tap decode.

// (v / d, v % d). Integer division is scalarised on CPU adapters (AVX2 has
// no vector divide: one division per lane, tens of cycles each), and
// strides are almost always powers of two, so those take a shift and a
// mask. `d` is a uniform, so every lane takes the same branch.
fn div_mod(v: u32, d: u32) -> vec2<u32> {
    if ((d & (d - 1u)) == 0u) {
        return vec2<u32>(v >> countTrailingZeros(d), v & (d - 1u));
    }
    return vec2<u32>(v / d, v % d);
}

// For the input gradients (conv2d_input_grad.wgsl, conv2d_input_grad_cols.wgsl):
// the output coordinate that tap `t` (r·dh or s·dw) of padded input coordinate
// `ip` came from: (o, 1) with o = (ip − t) / stride when that is a whole
// output position below `extent`, else (0, 0).
fn tap_source(ip: u32, t: u32, stride: u32, extent: u32) -> vec2<u32> {
    if (ip < t) {
        return vec2<u32>(0u, 0u);
    }
    let q = div_mod(ip - t, stride);
    if (q.y != 0u || q.x >= extent) {
        return vec2<u32>(0u, 0u);
    }
    return vec2<u32>(q.x, 1u);
}
