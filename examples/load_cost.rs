//! What arithmetic and loads cost on an adapter: WGSL loops of 16 FMAs
//! (four vec4 accumulators) per iteration, alone and with one load per
//! iteration from a storage buffer (same address for every lane, or one per
//! lane, f32 or vec4), from a uniform buffer (vec4, same address or one
//! per lane) or from workgroup memory. GFLOP/s counts the FMAs only, so
//! the drop from the first line is the cost of the load. The first line
//! also prints the adapter's largest uniform and storage bindings.
//! The figures in docs/rejected.md came from it.
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example load_cost`
#[path = "common/microbench.rs"]
mod microbench;
fn main() {
    let (device, queue, adapter) = microbench::device();
    println!(
        "{:?} max ubo {} max ssbo {}",
        adapter.get_info().name,
        adapter.limits().max_uniform_buffer_binding_size,
        adapter.limits().max_storage_buffer_binding_size
    );
    for (name, wg, body) in [
        ("fma only", 64, "a0 = fma(a0, m, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("uniform-address f32 load + 4 vec4 fma", 64, "let v = inp[i & 1023u]; a0 = fma(a0, vec4<f32>(v), b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("per-lane f32 load + 4 vec4 fma", 64, "let v = inp[(i * 64u + gid.x) & 65535u]; a0 = fma(a0, vec4<f32>(v), b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("uniform-address vec4 load + 4 vec4 fma", 64, "let v = inp4[i & 1023u]; a0 = fma(a0, v, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("per-lane vec4 load + 4 vec4 fma", 64, "let v = inp4[(i * 64u + gid.x) & 16383u]; a0 = fma(a0, v, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("ubo uniform-address vec4 load + 4 vec4 fma", 64, "let v = ub[i & 1023u]; a0 = fma(a0, v, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("ubo per-lane vec4 load + 4 vec4 fma", 64, "let v = ub[(i * 64u + gid.x) & 1023u]; a0 = fma(a0, v, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("workgroup f32 load + 4 vec4 fma", 64, "let v = wgm[(i + lid) & 1023u]; a0 = fma(a0, vec4<f32>(v), b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
    ] {
        let src = format!("@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> inp4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> ub: array<vec4<f32>, 1024>;
var<workgroup> wgm: array<f32, 1024>;
@compute @workgroup_size({wg}) fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{
  wgm[lid] = f32(lid); workgroupBarrier();
  var a0 = vec4<f32>(f32(gid.x)); var a1 = a0 + 1.0; var a2 = a0 + 2.0; var a3 = a0 + 3.0;
  let m = vec4<f32>(0.999); let b = vec4<f32>(0.001);
  for (var i = 0u; i < 4096u; i = i + 1u) {{ {body} }}
  out[gid.x] = a0 + a1 + a2 + a3;
}}");
        let pipe = microbench::pipeline(&device, &src);
        let groups = 65536 / wg;
        let buf = microbench::zeroed(&device, 65536 * 16, wgpu::BufferUsages::STORAGE);
        let inp = microbench::zeroed(&device, 65536 * 4, wgpu::BufferUsages::STORAGE);
        let ubuf = microbench::zeroed(&device, 16384, wgpu::BufferUsages::UNIFORM);
        let used = |name: &str, b| src.contains(name).then_some(b);
        let buffers = [used("out[", &buf), used("inp[", &inp), used("inp4[", &inp), used("ub[", &ubuf)];
        let bg = microbench::bind(&device, &pipe, &buffers);
        for rep in 0..2 {
            let s = microbench::time_dispatch(&device, &queue, &pipe, &bg, groups);
            let flops = 65536.0 * 4096.0 * 16.0 * 2.0;
            if rep == 1 { println!("{name}: {:.1} GFLOP/s", flops / s / 1e9); }
        }
    }
}
