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
use wgpu::util::DeviceExt;
fn main() {
    wgconv::quiet_headless_driver_probes();
    let inst = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(inst.request_adapter(&Default::default())).unwrap();
    println!(
        "{:?} max ubo {} max ssbo {}",
        adapter.get_info().name,
        adapter.limits().max_uniform_buffer_binding_size,
        adapter.limits().max_storage_buffer_binding_size
    );
    let (device, queue) = pollster::block_on(adapter.request_device(&Default::default())).unwrap();
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
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: None, source: wgpu::ShaderSource::Wgsl(src.clone().into()) });
        let pipe = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor { label: None, layout: None, module: &module, entry_point: Some("main"), compilation_options: Default::default(), cache: None });
        let groups = 65536 / wg;
        let buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: None, contents: &vec![0u8; 65536 * 16], usage: wgpu::BufferUsages::STORAGE });
        let inp = device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: None, contents: &vec![0u8; 65536 * 4], usage: wgpu::BufferUsages::STORAGE });
        let ubuf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: None, contents: &vec![0u8; 16384], usage: wgpu::BufferUsages::UNIFORM });
        let entries: Vec<wgpu::BindGroupEntry> = [&buf, &inp, &inp, &ubuf].iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() }).filter(|e| src.contains(["out[", "inp[", "inp4[", "ub["][e.binding as usize])).collect();
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &pipe.get_bind_group_layout(0), entries: &entries });
        for rep in 0..2 {
            let t = std::time::Instant::now();
            let mut enc = device.create_command_encoder(&Default::default());
            { let mut p = enc.begin_compute_pass(&Default::default()); p.set_pipeline(&pipe); p.set_bind_group(0, &bg, &[]); p.dispatch_workgroups(groups, 1, 1); }
            queue.submit([enc.finish()]);
            device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            let s = t.elapsed().as_secs_f64();
            let flops = 65536.0 * 4096.0 * 16.0 * 2.0;
            if rep == 1 { println!("{name}: {:.1} GFLOP/s", flops / s / 1e9); }
        }
    }
}
