// copy.wgsl: `out = x`, one invocation per value V (after elementwise.wgsl
// and a vector prelude: 16-byte loads and stores where the length is a
// multiple of 4), torch's `clone`. It is also the bandwidth yardstick of `wgconv bench
// --suite train`: the memory-bound kernels (batch norm, pooling,
// element-wise) are held against the GB/s this one reaches in the same run.

@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read_write> out: array<V>;

@compute @workgroup_size(64)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        out[i] = x[i];
    }
}
