//! What a register block's size buys on an adapter: the inner loop of a
//! blocks kernel (gemm_blocks.wgsl, gemm_pointwise.wgsl), one R x C block
//! of C per invocation, each reduction step loading R values of A and C of
//! B from storage buffers at per-lane addresses and doing R·C
//! multiply-adds into named vec4 accumulators. GFLOP/s counts the
//! multiply-adds, so the rise with the block size is what fewer loads per
//! multiply-add are worth (on lavapipe a per-lane load is a gather). The
//! figures behind `pointwise_large` (docs/performance.md) came from it.
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example block_loads -- 16x16 32x32 64x32`
#[path = "common/microbench.rs"]
mod microbench;

fn main() {
    let (device, queue, adapter) = microbench::device();
    println!("{:?}", adapter.get_info().name);
    let mut shapes: Vec<(usize, usize)> = Vec::new();
    for arg in std::env::args().skip(1) {
        let parsed = arg
            .split_once('x')
            .and_then(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)));
        match parsed {
            Some((r, c)) if r > 0 && c > 0 && c % 4 == 0 => shapes.push((r, c)),
            _ => {
                eprintln!("block_loads: {arg:?} is not ROWSxCOLS (COLS a multiple of 4)");
                std::process::exit(2);
            }
        }
    }
    if shapes.is_empty() {
        shapes = vec![(16, 16), (32, 16), (32, 32), (64, 32)];
    }
    for (rows, cols) in shapes {
        let quads = cols / 4;
        let acc = rows * quads;
        let mut body = String::new();
        for r in 0..rows {
            body += &format!("let x{r} = a[(k * 4096u + m0 + {r}u) & 1048575u]; ");
        }
        for c in 0..cols {
            body += &format!("let y{c} = b[(k * 4096u + n0 + {c}u) & 1048575u]; ");
        }
        for q in 0..quads {
            body += &format!(
                "let yq{q} = vec4<f32>(y{}, y{}, y{}, y{}); ",
                4 * q,
                4 * q + 1,
                4 * q + 2,
                4 * q + 3
            );
        }
        for r in 0..rows {
            for q in 0..quads {
                body += &format!(
                    "c{} = fma(vec4<f32>(x{r}), yq{q}, c{}); ",
                    r * quads + q,
                    r * quads + q
                );
            }
        }
        let decl: String = (0..acc)
            .map(|i| format!("var c{i} = vec4<f32>(0.0); "))
            .collect();
        let sum: Vec<String> = (0..acc).map(|i| format!("c{i}")).collect();
        let steps = 256u32;
        // The same multiply-adds per reduction step for every block size.
        let invocations = (1usize << 22) / (rows * cols);
        let src = format!(
            "@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
  let m0 = (gid.x % 64u) * {rows}u;
  let n0 = (gid.x / 64u) * {cols}u % 4096u;
  {decl}
  for (var k = 0u; k < {steps}u; k = k + 1u) {{ {body} }}
  out[gid.x] = {};
}}",
            sum.join(" + ")
        );
        let pipe = microbench::pipeline(&device, &src);
        let storage = wgpu::BufferUsages::STORAGE;
        let out = microbench::zeroed(&device, invocations * 16, storage);
        let a = microbench::zeroed(&device, 1 << 22, storage);
        let b = microbench::zeroed(&device, 1 << 22, storage);
        let bg = microbench::bind(&device, &pipe, &[Some(&out), Some(&a), Some(&b)]);
        let groups = (invocations / 64) as u32;
        let best = (0..3)
            .map(|_| microbench::time_dispatch(&device, &queue, &pipe, &bg, groups))
            .fold(f64::MAX, f64::min);
        let flops = (invocations * rows * cols) as f64 * steps as f64 * 2.0;
        println!(
            "{rows}x{cols} block: {} loads per {} multiply-adds: {:.1} GFLOP/s (best of 3)",
            rows + cols,
            rows * cols,
            flops / best / 1e9
        );
    }
}
