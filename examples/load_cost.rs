//! What arithmetic, loads and stores cost on an adapter: WGSL loops of 16
//! FMAs (four vec4 accumulators) per iteration, alone and with one load
//! per iteration from a storage buffer (same address for every lane, or
//! one per lane, f32 or vec4), from a uniform buffer (vec4, same address
//! or one per lane) or from workgroup memory; with one store per
//! iteration (vec4, vec2 or f32, a different address in every lane); with
//! vec4 loads at consecutive addresses across the lanes; and with 64
//! bytes per lane per iteration as four vec4 loads, one `mat4x4<f32>` or
//! one struct of four vec4s. GFLOP/s counts the FMAs only, so the drop
//! from the first line is the cost of the load or store. The first line
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
        ("per-lane vec4 store + 4 vec4 fma", 64, "out[(i * 64u + gid.x) & 16383u] = a0; a0 = fma(a0, m, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("per-lane vec2 store + 4 vec4 fma", 64, "out2[(i * 64u + gid.x) & 32767u] = a0.xy; a0 = fma(a0, m, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("per-lane f32 store + 4 vec4 fma", 64, "outs[(i * 64u + gid.x) & 65535u] = a0.x; a0 = fma(a0, m, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("lane-consecutive vec4 load + 4 vec4 fma", 64, "let v = inp4[(i * 64u + lid) & 16383u]; a0 = fma(a0, v, b); a1 = fma(a1, m, b); a2 = fma(a2, m, b); a3 = fma(a3, m, b);"),
        ("per-lane 4 adjacent vec4 loads + 4 vec4 fma", 64, "let o = ((i * 64u + gid.x) * 4u) & 16383u; a0 = fma(a0, inp4[o], b); a1 = fma(a1, inp4[o + 1u], b); a2 = fma(a2, inp4[o + 2u], b); a3 = fma(a3, inp4[o + 3u], b);"),
        ("per-lane mat4x4 load + 4 vec4 fma", 64, "let q = inpm[(i * 64u + gid.x) & 4095u]; a0 = fma(a0, q[0], b); a1 = fma(a1, q[1], b); a2 = fma(a2, q[2], b); a3 = fma(a3, q[3], b);"),
        ("per-lane struct-of-4-vec4 load + 4 vec4 fma", 64, "let q = inpq[(i * 64u + gid.x) & 4095u]; a0 = fma(a0, q.q0, b); a1 = fma(a1, q.q1, b); a2 = fma(a2, q.q2, b); a3 = fma(a3, q.q3, b);"),
    ] {
        let src = format!("@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> inp4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> outs: array<f32>;
@group(0) @binding(7) var<storage, read_write> out2: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> ub: array<vec4<f32>, 1024>;
struct Q {{ q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32> }}
@group(0) @binding(4) var<storage, read> inpm: array<mat4x4<f32>>;
@group(0) @binding(5) var<storage, read> inpq: array<Q>;
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
        let buffers = [
            used("out[", &buf),
            used("inp[", &inp),
            used("inp4[", &inp),
            used("ub[", &ubuf),
            used("inpm[", &inp),
            used("inpq[", &inp),
            used("outs[", &buf),
            used("out2[", &buf),
        ];
        let bg = microbench::bind(&device, &pipe, &buffers);
        for rep in 0..2 {
            let s = microbench::time_dispatch(&device, &queue, &pipe, &bg, groups);
            let flops = 65536.0 * 4096.0 * 16.0 * 2.0;
            if rep == 1 { println!("{name}: {:.1} GFLOP/s", flops / s / 1e9); }
        }
    }
}
