// add.wgsl: element-wise sums, one invocation per value V (after
// elementwise.wgsl and a vector prelude: 4 elements per invocation where
// the length is a multiple of 4).
//   add_assign: dst += src              (gradient accumulation)
//   add:        sum = dst + src         (a residual block's two branches;
//                                        binding 1 is only read)

@group(0) @binding(1) var<storage, read_write> dst: array<V>;
@group(0) @binding(2) var<storage, read> src: array<V>;

@compute @workgroup_size(64)
fn add_assign(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        dst[i] = dst[i] + src[i];
    }
}

@group(0) @binding(3) var<storage, read_write> sum: array<V>;

@compute @workgroup_size(64)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        sum[i] = dst[i] + src[i];
    }
}
