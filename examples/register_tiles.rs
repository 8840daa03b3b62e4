//! The inner loop of a tiled GEMM with register tiles of several sizes:
//! per iteration every invocation reads its A fragment (rows, one vec4 per
//! four rows, a different address in every lane) and its B fragment
//! (columns, shared by 16 invocations) from workgroup memory and does
//! rows x columns multiply-adds. GFLOP/s counts the multiply-adds, so the
//! gap to the first line is what the loads cost per multiply-add.
//! The register-tile figures in docs/performance.md came from it.
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example register_tiles`
#[path = "common/microbench.rs"]
mod microbench;
use std::io::Write;

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
    let (device, queue, adapter) = microbench::device();
    // Lines go out as they are measured; a reader that stops early (`|
    // sed -n 2p`, `| head`) ends the run instead of a panic.
    let mut out = std::io::stdout();
    if writeln!(out, "{:?}", adapter.get_info().name).is_err() {
        return;
    }
    let buf = microbench::zeroed(&device, 65536 * 16, wgpu::BufferUsages::STORAGE);
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
        let pipe = microbench::pipeline(&device, &src);
        let bg = microbench::bind(&device, &pipe, &[Some(&buf)]);
        for rep in 0..2 {
            let s = microbench::time_dispatch(&device, &queue, &pipe, &bg, 256);
            // 65 536 invocations x 2048 iterations x 4 lanes per vec4 FMA.
            let flops = 65536.0 * 2048.0 * (acc * 4) as f64 * 2.0;
            if rep == 1 && writeln!(out, "{name}: {:.1} GFLOP/s", flops / s / 1e9).is_err() {
                return;
            }
        }
    }
}
