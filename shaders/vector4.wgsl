// vector4.wgsl: the prelude of a module built at two widths (this one and
// vector1.wgsl; src/gpu/shaders.rs), at width 4: a kernel's values are
// vec4<f32>s, 16-byte loads and stores of 4 consecutive f32s.
//   V: the value a kernel loads and stores (WIDTH f32s);
//   U, B: the u32 and bool of V's shape (bit tests, masks);
//   LANE: each component's offset from the vector's first element;
//   hsum: the sum of V's components, in a fixed order; component: the k-th;
//   nan_mask: which components are NaN, tested on the bits (comparisons
//   with NaN are not reliable on every backend: GL drivers may fold them).
alias V = vec4<f32>;
alias U = vec4<u32>;
alias B = vec4<bool>;
const LANE: U = vec4<u32>(0u, 1u, 2u, 3u);
const WIDTH: u32 = 4u;

fn hsum(v: V) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

fn nan_mask(v: V) -> B {
    return (bitcast<U>(v) & U(0x7fffffffu)) > U(0x7f800000u);
}

fn component(v: V, k: u32) -> f32 {
    return v[k];
}
