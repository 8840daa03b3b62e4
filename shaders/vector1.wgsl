// vector1.wgsl: the prelude of a module built at two widths (this one and
// vector4.wgsl; src/gpu/shaders.rs), at width 1: a kernel's values are
// single f32s.
//   V: the value a kernel loads and stores (WIDTH f32s);
//   U, B: the u32 and bool of V's shape (bit tests, masks);
//   LANE: each component's offset from the vector's first element;
//   hsum: the sum of V's components, in a fixed order; component: the k-th;
//   nan_mask: which components are NaN, tested on the bits (comparisons
//   with NaN are not reliable on every backend: GL drivers may fold them).
alias V = f32;
alias U = u32;
alias B = bool;
const LANE: U = 0u;
const WIDTH: u32 = 1u;

fn hsum(v: V) -> f32 {
    return v;
}

fn nan_mask(v: V) -> B {
    return (bitcast<U>(v) & U(0x7fffffffu)) > U(0x7f800000u);
}

fn component(v: V, k: u32) -> f32 {
    return v;
}
