// dropout.wgsl: torch's dropout in training mode (inverted scaling):
//   keep_i = hash(seed, i) ≥ threshold   (threshold = ⌈p · 2^32⌉, so
//            P(keep) = 1 − p to 2^-32)
//   forward:  y = keep_i ? x · scale : 0,   scale = 1 / (1 − p)
//   backward: dx = keep_i ? dy · scale : 0  (the same mask, from the seed)
// The mask is a counter-based hash of the element's index (i + offset:
// the index in the whole tensor, where the host splits it into pieces)
// and the 64-bit seed, so it needs no storage, the backward pass
// recomputes it, and the CPU reference (src/cpu/dropout.rs) computes the
// same bits. p = 1 gives y = x · 0 everywhere, as torch's dropout does.
// One invocation per value V (after a vector prelude: 4 elements where
// the length is a multiple of 4; `len` counts values V, `offset` elements),
// workgroups of 64, linearised grid.

struct DropoutParams {
    len: u32,
    offset: u32,
    seed_lo: u32,
    seed_hi: u32,
    threshold: u32,
    scale: f32,
    grid_x: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> P: DropoutParams;
@group(0) @binding(1) var<storage, read> input: array<V>;
@group(0) @binding(2) var<storage, read_write> out: array<V>;

// Chris Wellons' lowbias32: a bijective 32-bit mix with low bias.
// Written on U so one call hashes every component of a vector.
fn mix(v: U) -> U {
    var x = v;
    x = x ^ (x >> U(16u));
    x = x * U(0x7feb352du);
    x = x ^ (x >> U(15u));
    x = x * U(0x846ca68bu);
    x = x ^ (x >> U(16u));
    return x;
}

// The mask of vector i's elements WIDTH·i + LANE.
fn keep(i: u32) -> B {
    let key = mix(U(P.seed_lo) ^ mix(U(P.seed_hi)));
    let h = mix((U(i * WIDTH + P.offset) + LANE) ^ key);
    return h >= U(P.threshold);
}

@compute @workgroup_size(64)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (i < P.len) {
        out[i] = select(V(0.0), input[i] * P.scale, keep(i));
    }
}
