// max_rule.wgsl: torch's running-maximum rule, shared by the max pooling
// kernels (max_pool2d.wgsl, adaptive_max_pool2d.wgsl) and the pooling
// fused after batch norm (batch_norm2d_max_pool2d.wgsl).

// NaN test on the bits: `v != v` is folded away by some compilers (GL).
fn is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Whether v replaces best as the running maximum: torch's `v > best ||
// isnan(v)`, guarded so that no backend sees a NaN operand.
fn takes_over(best: f32, v: f32) -> bool {
    return (!is_nan(best) && !is_nan(v) && v > best) || is_nan(v);
}

// Which of a window's four inputs (in scan order) is its first maximum.
fn first_max(v: vec4<f32>) -> u32 {
    var best = 0u;
    var m = v.x;
    if (takes_over(m, v.y)) {
        best = 1u;
        m = v.y;
    }
    if (takes_over(m, v.z)) {
        best = 2u;
        m = v.z;
    }
    if (takes_over(m, v.w)) {
        best = 3u;
    }
    return best;
}
