//! The inner loop of a tiled GEMM with register tiles of several sizes:
//! per iteration every invocation reads its A fragment (rows, one vec4 per
//! four rows, a different address in every lane) and its B fragment
//! (columns, shared by 16 invocations) from workgroup memory and does
//! rows x columns multiply-adds. GFLOP/s counts the multiply-adds, so the
//! gap to the first line is what the loads cost per multiply-add.
//! The register-tile figures in docs/performance.md came from it.
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example register_tiles`
use wgpu::util::DeviceExt;

/// WGSL for one loop iteration of a `rows` x `cols` register tile
/// (`cols` a multiple of 4), and the number of vec4 accumulators it uses.
fn tile_body(rows: usize, cols: usize) -> (String, usize) {
    let quads = cols / 4;
    let mut body = String::new();
    for q in 0..rows / 4 {
        body += &format!(
            "let x{q} = wgm[(i * 32u + {} * (lid % 16u) + {q}u) & 1023u]; ",
            rows / 4
        );
    }
    for q in 0..quads {
        body += &format!("let y{q} = wgm[(i * 32u + {quads} * (lid / 16u) + {q}u) & 1023u]; ");
    }
    for r in 0..rows {
        for q in 0..quads {
            let a = r * quads + q;
            let lane = ["x", "y", "z", "w"][r % 4];
            body += &format!("a{a} = fma(vec4<f32>(x{}.{lane}), y{q}, a{a}); ", r / 4);
        }
    }
    (body, rows * quads)
}

fn main() {
    wgconv::quiet_headless_driver_probes();
    let inst = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(inst.request_adapter(&Default::default())).unwrap();
    println!("{:?}", adapter.get_info().name);
    let (device, queue) = pollster::block_on(adapter.request_device(&Default::default())).unwrap();
    let fma_only: String = (0..32)
        .map(|a| format!("a{a} = fma(a{a}, m, b); "))
        .collect();
    let mut cases = vec![(
        "multiply-adds only (32 vec4 accumulators)".to_string(),
        fma_only,
        32,
    )];
    for (rows, cols) in [(8, 4), (8, 8), (8, 16), (16, 8)] {
        let (body, acc) = tile_body(rows, cols);
        cases.push((format!("{rows}x{cols} register tile"), body, acc));
    }
    for (name, body, acc) in cases {
        let decl: String = (0..acc)
            .map(|a| format!("var a{a} = vec4<f32>(f32(gid.x) + {a}.0); "))
            .collect();
        let sum: Vec<String> = (0..acc).map(|a| format!("a{a}")).collect();
        let src = format!(
            "@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
var<workgroup> wgm: array<vec4<f32>, 1024>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{
  wgm[lid] = vec4<f32>(f32(lid)); workgroupBarrier();
  {decl}
  let m = vec4<f32>(0.999); let b = vec4<f32>(0.001);
  for (var i = 0u; i < 2048u; i = i + 1u) {{ {body} }}
  out[gid.x] = {};
}}",
            sum.join(" + ")
        );
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        let pipe = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: &vec![0u8; 65536 * 16],
            usage: wgpu::BufferUsages::STORAGE,
        });
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipe.get_bind_group_layout(0),
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: buf.as_entire_binding(),
            }],
        });
        for rep in 0..2 {
            let t = std::time::Instant::now();
            let mut enc = device.create_command_encoder(&Default::default());
            {
                let mut p = enc.begin_compute_pass(&Default::default());
                p.set_pipeline(&pipe);
                p.set_bind_group(0, &bg, &[]);
                p.dispatch_workgroups(256, 1, 1);
            }
            queue.submit([enc.finish()]);
            device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
            let s = t.elapsed().as_secs_f64();
            // 65 536 invocations x 2048 iterations x 4 lanes per vec4 FMA.
            let flops = 65536.0 * 2048.0 * (acc * 4) as f64 * 2.0;
            if rep == 1 {
                println!("{name}: {:.1} GFLOP/s", flops / s / 1e9);
            }
        }
    }
}
