//! The ceiling of a register-blocked GEMM on an adapter, measured: the
//! inner loop of `pointwise_large` (shaders/gemm_pointwise_large.wgsl) for
//! register blocks of R rows x C columns per invocation, its operands
//! loaded as the kernel loads them (per four reduction steps, R + C vec4s
//! from a storage buffer at a different address in every lane) and fed to
//! R·C vec4 multiply-adds, with nothing else: no bounds tests, no stores,
//! no index arithmetic beyond one add per load. Beside it the multiply-add
//! line of `examples/register_tiles.rs` (32 vec4 accumulators, no loads).
//! A GEMM kernel built from such blocks cannot beat its block's figure, so
//! the best block here bounds the GEMMs on the adapter, and with them the
//! convolutions that run as GEMMs (docs/performance.md). Each case also
//! prints what building its pipeline cost: lavapipe compiles at first
//! use, and caches the result on disk (`MESA_SHADER_CACHE_DISABLE=true`
//! shows the cold figure; bigger blocks compile for far longer).
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example gemm_ceiling`
#[path = "common/microbench.rs"]
mod microbench;

/// One loop iteration (four reduction steps) of an R x C block: the vec4
/// loads of its A quads (rows, four reduction values each) and B quads
/// (four columns at each reduction step), then the multiply-adds in
/// `pointwise_large`'s order.
fn block_body(rows: usize, cols: usize) -> String {
    let quads = cols / 4;
    let mut body = String::new();
    for r in 0..rows {
        body += &format!("let x{r} = inp[(base + {r}u) & 65535u]; ");
    }
    for q in 0..quads {
        for k in 0..4 {
            body += &format!(
                "let y{q}_{k} = inp[(base + {}u) & 65535u]; ",
                4096 + 4 * q + k
            );
        }
    }
    for r in 0..rows {
        for k in 0..4 {
            let lane = ["x", "y", "z", "w"][k];
            for q in 0..quads {
                body += &format!("a{r}_{q} = fma(vec4<f32>(x{r}.{lane}), y{q}_{k}, a{r}_{q}); ");
            }
        }
    }
    body
}

fn main() {
    let (device, queue, adapter) = microbench::device();
    println!("{:?}", adapter.get_info().name);
    let line_body: String = (0..32)
        .map(|a| format!("a{a}_0 = fma(a{a}_0, m, b); "))
        .collect();
    // (name, loop body, accumulator rows, vec4 columns, vec4 multiply-adds
    // per iteration)
    let mut cases = vec![("line: multiply-adds only".to_string(), line_body, 32, 1, 32)];
    for (rows, cols) in [(16, 16), (32, 32), (64, 32), (64, 64)] {
        let name = format!("{rows}x{cols} block with its loads");
        cases.push((name, block_body(rows, cols), rows, cols / 4, rows * cols));
    }
    let storage = wgpu::BufferUsages::STORAGE;
    let out = microbench::zeroed(&device, 65536 * 16, storage);
    let inp = microbench::zeroed(&device, 65536 * 16, storage);
    let mut line = 0.0;
    for (name, body, rows, quads, per_iteration) in cases {
        let accumulators = rows * quads;
        // The same multiply-adds per invocation for every case.
        let iterations = (1 << 16) / per_iteration;
        let decl: String = (0..rows)
            .flat_map(|r| (0..quads).map(move |q| (r, q)))
            .map(|(r, q)| {
                format!(
                    "var a{r}_{q} = vec4<f32>(f32(gid.x) + {}.0); ",
                    r * quads + q
                )
            })
            .collect();
        let sum: Vec<String> = (0..rows)
            .flat_map(|r| (0..quads).map(move |q| format!("a{r}_{q}")))
            .collect();
        let src = format!(
            "@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
  {decl}
  let m = vec4<f32>(0.999); let b = vec4<f32>(0.001);
  for (var i = 0u; i < {iterations}u; i = i + 1u) {{ let base = gid.x * 97u + i * 8192u; {body} }}
  out[gid.x] = {};
}}",
            sum.join(" + ")
        );
        let compile = std::time::Instant::now();
        let pipe = microbench::pipeline(&device, &src);
        let loads = src.contains("inp[").then_some(&inp);
        let bg = microbench::bind(&device, &pipe, &[Some(&out), loads]);
        let mut best = f64::INFINITY;
        let mut first = None;
        for _ in 0..3 {
            best = best.min(microbench::time_dispatch(&device, &queue, &pipe, &bg, 256));
            first.get_or_insert(compile.elapsed().as_secs_f64());
        }
        // Pipeline creation and the first dispatch, less a dispatch: what
        // building the kernel costs (lavapipe compiles at first use).
        let build = first.unwrap_or(0.0) - best;
        // 16 384 invocations x iterations x vec4 multiply-adds x 4 lanes x 2.
        let gflops = 16384.0 * (iterations * per_iteration) as f64 * 8.0 / best / 1e9;
        if line == 0.0 {
            line = gflops;
        }
        println!(
            "{name} ({accumulators} vec4 accumulators): {gflops:.1} GFLOP/s, {:.0} % of the line; built in {build:.1} s",
            100.0 * gflops / line
        );
    }
}
