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

// add_channel_bias: out[i] = x[i] + bias[(i / P.cols) mod P.extra], a bias
// per channel of an NCHW (or [N, C]) tensor: P.cols = H·W, the run of one
// channel, P.extra = C. At width 4 a run is a multiple of 4, so a vector
// never straddles two channels. (x is binding 1, out binding 3.)
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(64)
fn add_channel_bias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        sum[i] = dst[i] + V(bias[((i * WIDTH) / P.cols) % P.extra]);
    }
}
