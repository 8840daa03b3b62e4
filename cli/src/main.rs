//! The `wgconv` command line: `devices`, `check` (the default), `bench`,
//! `train` and `eval`.

#[cfg(feature = "mpi")]
mod distributed;
mod plot;
mod progress;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use wgconv::bench::{self, BenchOptions};
use wgconv::nn::zoo::Zoo;
use wgconv::train::Preset;
use wgconv::{check, ConvOp, Gpu, Policy};

#[derive(Parser)]
#[command(
    name = "wgconv",
    version,
    about = "Convolution training kernels on any GPU through wgpu"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter with its backend, type, driver, limits and features.
    Devices,
    /// Run the convolution ops and SGD on every adapter against the CPU reference (the default; `cargo test` covers every op).
    Check {
        /// Only adapters whose name contains this (case-insensitive).
        #[arg(long, default_value = "")]
        adapter: String,
    },
    /// Time the three convolutions on a shape suite, or (suite train) whole
    /// training steps with a per-layer profile.
    Bench {
        /// Suite: seed, small, large or depthwise (convolution shapes), or train.
        #[arg(long, default_value = "small")]
        suite: String,
        /// Only adapters whose name contains this (case-insensitive).
        #[arg(long, default_value = "")]
        adapter: String,
        /// Also write the results as JSON to this path.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        /// Also time the CPU reference and print the speed-up (slow on the large suite).
        #[arg(long)]
        compare_cpu: bool,
        /// Also print each op's kernels (every dispatch, in order) with its
        /// median time and share of the op (GPU timestamps).
        #[arg(long)]
        passes: bool,
        /// Policy: auto, tuned, winograd or winograd4 (F(2x2, 3x3) or
        /// F(4x4, 3x3) where it fits), im2col (columns, then a 1x1
        /// convolution's GEMM, where it fits), or a kernel to force (direct, tiled_narrow, tiled, tiled_wide, rows,
        /// blocks, blocks_tall, blocks_wide, pointwise, pointwise_large, pointwise_shared,
        /// pointwise_shared_wide, blocks_k4, depthwise).
        #[arg(long, default_value = "auto")]
        variant: String,
        /// Timed repetitions per (shape, op), after 2 warm-up runs.
        #[arg(long, default_value_t = 10, value_parser = at_least_one)]
        reps: usize,
        /// Only these ops (forward, input_grad, weight_grad), comma-separated.
        #[arg(long, value_delimiter = ',')]
        ops: Vec<String>,
        /// Only these shapes of the suite (e.g. S1,D1), comma-separated.
        #[arg(long, value_delimiter = ',')]
        shapes: Vec<String>,
        /// Suite train: the models (digits, fashion, resnet, or torchvision's
        /// resnet18, resnet34, resnet50, vgg11_bn, mobilenet_v2 on 3×224×224
        /// images), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "digits,fashion")]
        models: Vec<String>,
    },
    /// Train a CNN on the digits, Fashion-MNIST or a folder of images and report test accuracy.
    Train(Box<train::TrainArgs>),
    /// Report the test accuracy of a model saved by `train --save`.
    Eval(train::EvalArgs),
}

fn main() -> ExitCode {
    wgconv::quiet_headless_driver_probes();
    let cli = Cli::parse();
    if let Err(e) = progress::plain_every() {
        eprintln!("wgconv: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command.unwrap_or(Command::Check {
        adapter: String::new(),
    }) {
        Command::Devices => devices(),
        Command::Check { adapter } => run_check(&adapter),
        Command::Bench {
            suite,
            adapter,
            json,
            variant,
            reps,
            models,
            ..
        } if suite == "train" => {
            run_train_bench(&adapter, json.as_deref(), &variant, reps, &models)
        }
        Command::Bench {
            suite,
            adapter,
            json,
            compare_cpu,
            passes,
            variant,
            reps,
            ops,
            shapes,
            models: _,
        } => suite_shapes(&suite, &shapes).and_then(|shapes| {
            run_bench(
                shapes,
                &adapter,
                json.as_deref(),
                Extras {
                    cpu: compare_cpu,
                    passes,
                },
                &variant,
                reps,
                &ops,
            )
        }),
        Command::Train(args) => train::run_train(&args),
        Command::Eval(args) => train::run_eval(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wgconv: {e}");
            ExitCode::FAILURE
        }
    }
}

fn devices() -> Result<ExitCode, Box<dyn std::error::Error>> {
    for gpu in Gpu::all()? {
        let i = gpu.info();
        let l = gpu.limits();
        println!("{}", i.name);
        println!(
            "  backend {:?}, type {:?}, driver {} {}",
            i.backend, i.device_type, i.driver, i.driver_info
        );
        println!(
            "  max_storage_buffer_binding_size  {} MiB",
            l.max_storage_buffer_binding_size / (1 << 20)
        );
        println!(
            "  max_buffer_size                  {} MiB",
            l.max_buffer_size / (1 << 20)
        );
        println!(
            "  max_compute_workgroups_per_dim   {}",
            l.max_compute_workgroups_per_dimension
        );
        println!(
            "  max_compute_invocations_per_wg   {}",
            l.max_compute_invocations_per_workgroup
        );
        println!(
            "  max_compute_workgroup_storage    {} KiB",
            l.max_compute_workgroup_storage_size / 1024
        );
        println!(
            "  max_storage_buffers_per_stage    {}",
            l.max_storage_buffers_per_shader_stage
        );
        println!(
            "  subgroup size                    {}..{}",
            i.subgroup_min_size, i.subgroup_max_size
        );
        println!(
            "  timestamps                       {}",
            if gpu.has_timestamps() {
                "yes"
            } else {
                "no (benchmarks use wall clock)"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_check(adapter: &str) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let gpus = Gpu::all_matching(adapter)?;
    println!(
        "wgconv check: {} geometries (the 5x5 / 3x3 / stride-2 example first), tolerance {:.0e} x max(1, max|ref|)\n",
        check::geometries().len(),
        check::TOLERANCE
    );
    print!("{:<44}", "adapter");
    for op in check::OPS {
        print!(" {op:>19}");
    }
    println!();
    let mut ok = true;
    for gpu in gpus {
        let name = gpu.describe();
        let mut bar = progress::Progress::new(
            check::geometries().len() as u64,
            "{bar:20} {pos}/{len} geometries on {msg}",
            "check:".to_string(),
            "geometries",
        );
        bar.set_message(format!(
            "{name} (a first run compiles every kernel, a minute or two on a software adapter; the driver caches them)"
        ));
        let rows = check::run_with_progress(&gpu, |done, _| bar.set_position(done as u64));
        bar.finish_and_clear();
        print!("{:<44}", name.chars().take(43).collect::<String>());
        for row in rows? {
            let mark = if row.passed() { "ok" } else { "FAIL" };
            print!(" {:>14.1e} {mark:>4}", row.worst);
            ok &= row.passed();
        }
        println!();
    }
    println!(
        "\n{}",
        if ok {
            "all ops within tolerance"
        } else {
            "SOME OPS EXCEED TOLERANCE"
        }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `wgconv bench --suite train`: each model's training step on each
/// adapter, with its profile (src/bench/training.rs).
fn run_train_bench(
    adapter: &str,
    json: Option<&std::path::Path>,
    variant: &str,
    reps: usize,
    models: &[String],
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let policy = Policy::parse(variant)
        .ok_or_else(|| format!("unknown variant {variant:?}: use {}", Policy::names()))?;
    let presets = models
        .iter()
        .map(|m| {
            [Preset::Digits, Preset::Fashion, Preset::Resnet]
                .into_iter()
                .chain(Zoo::ALL.map(Preset::Zoo))
                .find(|p| bench::preset_name(*p) == m)
                .ok_or_else(|| {
                    format!(
                        "unknown model {m:?}: use digits, fashion, resnet, resnet18, resnet34, \
                         resnet50, vgg11_bn or mobilenet_v2"
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opts = bench::TrainBenchOptions {
        steps: reps,
        ..Default::default()
    };
    let mut all = Vec::new();
    for gpu in Gpu::all_matching(adapter)? {
        let gpu = gpu.with_policy(policy);
        for &preset in &presets {
            let mut bar = progress::Progress::spinner(format!(
                "training steps of the {} model on {}",
                bench::preset_name(preset),
                gpu.info().name
            ));
            let r = bench::bench_training(&gpu, preset, &preset.defaults(), &opts)?;
            bar.finish_and_clear();
            println!("{}", bench::train_report(&r));
            all.push(r);
        }
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&all)?;
        wgconv::nn::io::write_atomically(path, text.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The shapes of `suite`, or those of them named in `only`.
fn suite_shapes(
    suite: &str,
    only: &[String],
) -> Result<Vec<bench::BenchShape>, Box<dyn std::error::Error>> {
    let shapes = bench::suite(suite).ok_or_else(|| {
        format!("unknown suite {suite:?}: use seed, small, large, depthwise or train")
    })?;
    if let Some(name) = only.iter().find(|n| !shapes.iter().any(|s| s.name == **n)) {
        let names: Vec<&str> = shapes.iter().map(|s| s.name).collect();
        return Err(format!(
            "no shape {name:?} in suite {suite}: it has {}",
            names.join(", ")
        )
        .into());
    }
    Ok(shapes
        .into_iter()
        .filter(|s| only.is_empty() || only.iter().any(|n| n == s.name))
        .collect())
}

/// What a suite's report adds to its table: the CPU reference's times
/// (`--compare-cpu`), each op's kernels (`--passes`).
struct Extras {
    cpu: bool,
    passes: bool,
}

fn run_bench(
    shapes: Vec<bench::BenchShape>,
    adapter: &str,
    json: Option<&std::path::Path>,
    extras: Extras,
    variant: &str,
    reps: usize,
    ops: &[String],
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let policy = Policy::parse(variant)
        .ok_or_else(|| format!("unknown variant {variant:?}: use {}", Policy::names()))?;
    let ops: Vec<ConvOp> = if ops.is_empty() {
        ConvOp::ALL.to_vec()
    } else {
        ops.iter()
            .map(|o| {
                ConvOp::parse(o).ok_or_else(|| {
                    format!("unknown op {o:?}: use forward, input_grad or weight_grad")
                })
            })
            .collect::<Result<_, _>>()?
    };
    let opts = BenchOptions {
        reps,
        ..Default::default()
    };
    let mut all = Vec::new();
    for gpu in Gpu::all_matching(adapter)? {
        let gpu = gpu.with_policy(policy);
        let total = shapes.len() * ops.len();
        let mut bar = progress::Progress::new(
            total as u64,
            "{bar:30} {pos}/{len} {msg}",
            "bench:".to_string(),
            "measurements",
        );
        let mut results = Vec::new();
        for (shape, op) in shapes.iter().flat_map(|s| ops.iter().map(move |o| (s, *o))) {
            bar.set_message(format!(
                "{} {} {} on {}",
                shape.suite,
                shape.name,
                op.name(),
                gpu.info().name
            ));
            let mut m = bench::measure(&gpu, shape, op, &opts)?;
            if extras.cpu {
                m.cpu_ms = Some(bench::measure_cpu(shape, op)?);
            }
            results.push(m);
            bar.inc(1);
        }
        bar.finish_and_clear();
        println!("{}", bench::table(&results));
        println!(
            "geometric mean: {:.1} GFLOP/s over {} (shape, op) pairs\n",
            bench::geomean_gflops(&results),
            results.len()
        );
        if extras.passes {
            println!("{}", bench::passes_table(&results));
        }
        all.extend(results);
    }
    if let Some(path) = json {
        wgconv::nn::io::write_atomically(path, bench::to_json(&all).as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A count that must be at least 1 (`--reps`, `--stop-after`): 0 would
/// run nothing and say nothing.
pub(crate) fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
