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
//! The multiply-adds run in the kernels' order, each accumulator's four
//! reduction steps in a row; one case runs them step by step, as the
//! kernels did before, to show what the order is worth.
//!
//! Where the adapter has subgroups, the same blocks again with one operand
//! shared by the subgroup's 8 lanes: the lanes hold blocks of the same
//! rows (A shared) or the same columns (B shared), each lane loads an
//! eighth of the shared operand's vec4s and `subgroupBroadcast` hands them
//! to the others. On lavapipe (8-lane subgroups of one SIMD vector) a
//! broadcast is a register move, so the shared operand costs an eighth of
//! its gathers (docs/performance.md, "Operands shared across a subgroup").
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example gemm_ceiling`
#[path = "common/microbench.rs"]
mod microbench;

/// Which operand of a block the subgroup's 8 lanes share.
#[derive(Clone, Copy, PartialEq)]
enum Share {
    None,
    A,
    B,
}

/// Lanes of a subgroup that share an operand.
const LANES: usize = 8;

/// The order of a row's multiply-adds in one loop iteration.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// Each accumulator's four reduction steps in a row (`fma_slab` in
    /// shaders/gemm_pointwise.wgsl): on lavapipe, whose accumulators live
    /// in memory (a register per lane-wide component, far more than the
    /// machine has), the JIT keeps each in registers through its steps.
    ByAccumulator,
    /// Step by step: every accumulator of the row at step 0, then step 1
    /// (the kernels' order before 2026-12-07): more values moved to and
    /// from the stack.
    ByStep,
}

/// One loop iteration (four reduction steps) of an R x C block: the vec4
/// loads of its A quads (rows, four reduction values each) and B quads
/// (four columns at each reduction step), then the multiply-adds in
/// `order` (the kernels' is `Order::ByAccumulator`). A shared operand's vec4s are loaded an
/// eighth per lane and broadcast from the lane that loaded them.
fn block_body(rows: usize, cols: usize, share: Share, order: Order) -> String {
    let quads = cols / 4;
    let mut body = String::new();
    let mut by_step: [String; 4] = Default::default();
    let own_a = if share == Share::A {
        rows / LANES
    } else {
        rows
    };
    for r in 0..own_a {
        body += &format!("let la{r} = inp[(base + {r}u) & 65535u]; ");
    }
    for r in 0..rows {
        body += &match share {
            Share::A => format!(
                "let x{r} = subgroupBroadcast(la{}, {}u); ",
                r % own_a,
                r / own_a
            ),
            _ => format!("let x{r} = la{r}; "),
        };
    }
    let own_b = if share == Share::B {
        4 * quads / LANES
    } else {
        4 * quads
    };
    for t in 0..own_b {
        body += &format!("let lb{t} = inp[(base + {}u) & 65535u]; ", 4096 + t);
    }
    for q in 0..quads {
        for k in 0..4 {
            let t = 4 * q + k;
            body += &match share {
                Share::B => format!(
                    "let y{q}_{k} = subgroupBroadcast(lb{}, {}u); ",
                    t % own_b,
                    t / own_b
                ),
                _ => format!("let y{q}_{k} = lb{t}; "),
            };
        }
    }
    for r in 0..rows {
        for q in 0..quads {
            for k in 0..4 {
                let lane = ["x", "y", "z", "w"][k];
                let fma = format!("a{r}_{q} = fma(vec4<f32>(x{r}.{lane}), y{q}_{k}, a{r}_{q}); ");
                match order {
                    Order::ByAccumulator => body += &fma,
                    Order::ByStep => by_step[k] += &fma,
                }
            }
        }
        body += &by_step.concat();
        by_step = Default::default();
    }
    body
}

fn main() {
    let (device, queue, adapter) = microbench::device_with(wgpu::Features::SUBGROUP);
    let info = adapter.get_info();
    println!(
        "{:?}, subgroups of {}..{} lanes",
        info.name, info.subgroup_min_size, info.subgroup_max_size
    );
    let line_body: String = (0..32)
        .map(|a| format!("a{a}_0 = fma(a{a}_0, m, b); "))
        .collect();
    // (name, loop body, accumulator rows, vec4 columns, vec4 multiply-adds
    // per iteration)
    let mut cases = vec![("line: multiply-adds only".to_string(), line_body, 32, 1, 32)];
    for (rows, cols) in [(16, 16), (32, 32), (64, 32), (64, 64)] {
        let name = format!("{rows}x{cols} block with its loads");
        cases.push((
            name,
            block_body(rows, cols, Share::None, Order::ByAccumulator),
            rows,
            cols / 4,
            rows * cols,
        ));
    }
    if device.features().contains(wgpu::Features::SUBGROUP) {
        for (rows, cols, share, order) in [
            (32, 32, Share::B, Order::ByAccumulator),
            (16, 64, Share::B, Order::ByAccumulator),
            (16, 64, Share::B, Order::ByStep),
            (32, 32, Share::A, Order::ByAccumulator),
            (64, 16, Share::A, Order::ByAccumulator),
        ] {
            let which = if share == Share::A { "A" } else { "B" };
            let step = match order {
                Order::ByAccumulator => "",
                Order::ByStep => ", multiply-adds step by step",
            };
            let name = format!("{rows}x{cols} block, {which} shared by {LANES} lanes{step}");
            cases.push((
                name,
                block_body(rows, cols, share, order),
                rows,
                cols / 4,
                rows * cols,
            ));
        }
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
