// channels.wgsl: a run of channels copied between a whole tensor and a
// part of another, torch's `cat` and `split` along dim 1 of NCHW:
//   place: out[n·stride + offset + k] = x[n·run + k]   (x is the part)
//   take:  out[n·run + k] = x[n·stride + offset + k]   (out is the part)
// with run = C_part·H·W, stride = C_total·H·W, offset = c0·H·W, k < run,
// in values V (after a vector prelude: 4 elements per invocation where
// H·W is a multiple of 4, so no vector straddles two samples). One
// invocation per value of the part (`len` of them), workgroups of 64,
// linearised grid.

struct ChannelsParams {
    len: u32,
    run: u32,
    stride: u32,
    offset: u32,
    grid_x: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> P: ChannelsParams;
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read_write> out: array<V>;

fn whole_index(i: u32) -> u32 {
    let n = i / P.run;
    return n * P.stride + P.offset + (i - n * P.run);
}

@compute @workgroup_size(64)
fn place(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (i < P.len) {
        out[whole_index(i)] = x[i];
    }
}

@compute @workgroup_size(64)
fn take(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (wid.x + wid.y * P.grid_x) * 64u + lid;
    if (i < P.len) {
        out[i] = x[whole_index(i)];
    }
}
