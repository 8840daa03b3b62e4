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
// One invocation per element, workgroups of 64, linearised grid.

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
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Chris Wellons' lowbias32: a bijective 32-bit mix with low bias.
fn mix(v: u32) -> u32 {
    var x = v;
    x = x ^ (x >> 16u);
    x = x * 0x7feb352du;
    x = x ^ (x >> 15u);
    x = x * 0x846ca68bu;
    x = x ^ (x >> 16u);
    return x;
}

fn keep(i: u32) -> bool {
    let h = mix((i + P.offset) ^ mix(P.seed_lo ^ mix(P.seed_hi)));
    return h >= P.threshold;
}

@compute @workgroup_size(64)
fn dropout(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (i < P.len) {
        out[i] = select(0.0, input[i] * P.scale, keep(i));
    }
}
