//! `cargo bench`: the benchmark suites on every adapter, through the same
//! code as `wgconv bench`. `WGCONV_BENCH_SUITE=seed|small|large` picks the
//! suite (default small), `WGCONV_BENCH_ADAPTER` filters adapters by name,
//! and `WGCONV_BENCH_SMOKE=1` runs each shape once (the CI smoke test).
use wgconv::bench::{self, BenchOptions, ConvOp};

fn main() {
    let suite = std::env::var("WGCONV_BENCH_SUITE").unwrap_or_else(|_| "small".into());
    let adapter = std::env::var("WGCONV_BENCH_ADAPTER").unwrap_or_default();
    let smoke = std::env::var("WGCONV_BENCH_SMOKE").as_deref() == Ok("1");
    let shapes = bench::suite(&suite).unwrap_or_else(|| panic!("unknown suite {suite:?}"));
    let opts = if smoke {
        BenchOptions {
            warmup: 0,
            reps: 1,
            max_time: std::time::Duration::ZERO,
        }
    } else {
        BenchOptions::default()
    };
    let gpus = match wgconv::Gpu::all_matching(&adapter) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("cargo bench: no adapter to benchmark ({e})");
            return;
        }
    };
    for gpu in gpus {
        let mut results = Vec::new();
        for shape in &shapes {
            for op in ConvOp::ALL {
                let m = bench::measure(&gpu, shape, op, &opts).expect("benchmark run");
                println!(
                    "{}/{}/{}: {:.3} ms, {:.1} GFLOP/s ({})",
                    op.kernel_name(),
                    shape.name,
                    m.adapter,
                    m.median_ms,
                    m.gflops,
                    m.timer
                );
                results.push(m);
            }
        }
        println!("{}", bench::table(&results));
    }
}
