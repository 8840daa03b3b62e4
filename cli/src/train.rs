//! `wgconv train` and `wgconv eval`: the digits CNN of `wgconv::train` on
//! a GPU (or, with `--cpu`, on the CPU reference), with a progress bar, a
//! metrics JSON, a PNG of the curves and safetensors model files.

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use wgconv::nn::{io, Backend, Cpu, OptimizerConfig};
use wgconv::train::{self, Digits, EpochReport, Progress, TrainConfig, TEST_IMAGES};
use wgconv::{Adam, Gpu, Sgd};

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerName {
    Sgd,
    Adam,
    /// Adam with decoupled weight decay 0.01 (torch.optim.AdamW).
    Adamw,
}

/// The model file's architecture tag: `eval` refuses files without it.
const MODEL_TAG: &str = "wgconv.digits_cnn.v1";

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Passes over the 1437 training images.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = TrainConfig::default().batch)]
    batch: usize,
    /// Learning rate (default: 2e-3 for adam, 0.05 for sgd).
    #[arg(long)]
    lr: Option<f32>,
    /// Update rule: adam (torch.optim.Adam) or sgd (with momentum 0.9).
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerName,
    /// First adapter whose name contains this (case-insensitive).
    #[arg(long, default_value = "")]
    adapter: String,
    /// Seeds the split, the initial weights and the batch order.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Train on the CPU reference instead of a GPU.
    #[arg(long)]
    cpu: bool,
    /// Save the trained parameters (safetensors).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Write per-epoch metrics as JSON.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Draw loss and accuracy per epoch as a PNG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// The data set (gzip CSV, 64 pixels + label per row).
    #[arg(long, default_value_os_t = train::default_data_path())]
    data: PathBuf,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A model saved by `wgconv train --save`.
    #[arg(long)]
    load: PathBuf,
    /// First adapter whose name contains this (case-insensitive).
    #[arg(long, default_value = "")]
    adapter: String,
    /// Evaluate on the CPU reference instead of a GPU.
    #[arg(long)]
    cpu: bool,
    /// The split seed the model was trained with (default: the one saved in the file).
    #[arg(long)]
    seed: Option<u64>,
    /// The data set (gzip CSV, 64 pixels + label per row).
    #[arg(long, default_value_os_t = train::default_data_path())]
    data: PathBuf,
}

#[derive(serde::Serialize)]
struct Metrics<'a> {
    epochs: &'a [EpochReport],
    test_accuracy: f32,
    adapter: String,
    seconds: f64,
    optimizer: &'a str,
    lr: f32,
    batch: usize,
    seed: u64,
    train_images: usize,
    test_images: usize,
}

fn gpu(adapter: &str) -> Result<Gpu, wgconv::Error> {
    let mut all = Gpu::all_matching(adapter)?;
    // all_matching never returns an empty list (it errs instead).
    Ok(all.remove(0))
}

pub fn run_train(args: &TrainArgs) -> CliResult {
    let optimizer = match args.optimizer {
        OptimizerName::Adam => OptimizerConfig::Adam(Adam {
            lr: args.lr.unwrap_or(2e-3),
            ..Adam::default()
        }),
        OptimizerName::Adamw => OptimizerConfig::Adam(Adam {
            lr: args.lr.unwrap_or(2e-3),
            ..Adam::adamw()
        }),
        OptimizerName::Sgd => OptimizerConfig::Sgd(Sgd {
            lr: args.lr.unwrap_or(0.05),
            momentum: 0.9,
            ..Sgd::default()
        }),
    };
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        optimizer,
        seed: args.seed,
    };
    if args.cpu {
        train_on(Cpu::<f32>::new(), args, &cfg)
    } else {
        train_on(gpu(&args.adapter)?, args, &cfg)
    }
}

fn train_on<B: Backend>(backend: B, args: &TrainArgs, cfg: &TrainConfig) -> CliResult {
    let data = Digits::load(&args.data)?;
    let (train_set, test_set) = data.split(cfg.seed, TEST_IMAGES);
    let adapter = backend.describe();
    let (opt_name, lr) = match cfg.optimizer {
        OptimizerConfig::Adam(a) => ("adam", a.lr),
        OptimizerConfig::Sgd(s) => ("sgd", s.lr),
    };
    println!(
        "training the digits CNN on {adapter}: {} train / {} test images, {} epochs, batch {}, {opt_name} lr {lr}",
        train_set.len(),
        test_set.len(),
        cfg.epochs,
        cfg.batch
    );
    let mut model = train::digits_model(backend, cfg.seed)?;
    let start = std::time::Instant::now();
    let mut bar = ProgressBar::hidden();
    let reports = train::train(&mut model, &train_set, &test_set, cfg, |p| match p {
        Progress::EpochStart { epoch, steps } => {
            bar = ProgressBar::new(steps as u64).with_style(
                ProgressStyle::with_template("epoch {prefix:>3} {bar:30} {pos:>3}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_prefix(epoch.to_string());
        }
        Progress::Step { running_loss, .. } => {
            bar.set_message(format!("loss {running_loss:.4}"));
            bar.inc(1);
        }
        Progress::EpochEnd(r) => {
            bar.finish_and_clear();
            println!(
                "epoch {:>3}  train loss {:.4}  test accuracy {:.2} %  ({:.1} s)",
                r.epoch,
                r.train_loss,
                100.0 * r.test_accuracy,
                r.seconds
            );
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let accuracy = reports.last().map_or(0.0, |r| r.test_accuracy);
    println!(
        "test accuracy {:.2} % ({} of {}) after {:.1} s on {adapter}",
        100.0 * accuracy,
        (accuracy * test_set.len() as f32).round(),
        test_set.len(),
        seconds
    );
    if let Some(path) = &args.metrics {
        let m = Metrics {
            epochs: &reports,
            test_accuracy: accuracy,
            adapter: adapter.clone(),
            seconds,
            optimizer: opt_name,
            lr,
            batch: cfg.batch,
            seed: cfg.seed,
            train_images: train_set.len(),
            test_images: test_set.len(),
        };
        std::fs::write(path, serde_json::to_string_pretty(&m)?)?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.plot {
        super::plot::training_curves(path, &reports, &format!("digits CNN on {adapter}"))?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.save {
        io::save(
            &model,
            path,
            &[
                ("architecture", MODEL_TAG.to_string()),
                ("seed", cfg.seed.to_string()),
                ("test_accuracy", accuracy.to_string()),
            ],
        )?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_eval(args: &EvalArgs) -> CliResult {
    if args.cpu {
        eval_on(Cpu::<f32>::new(), args)
    } else {
        eval_on(gpu(&args.adapter)?, args)
    }
}

fn eval_on<B: Backend>(backend: B, args: &EvalArgs) -> CliResult {
    let adapter = backend.describe();
    let mut model = train::digits_model(backend, 0)?;
    let meta = io::load(&mut model, &args.load)?;
    if meta.get("architecture").map(String::as_str) != Some(MODEL_TAG) {
        return Err(format!(
            "{}: not a wgconv digits model (architecture {:?}, expected {MODEL_TAG:?})",
            args.load.display(),
            meta.get("architecture")
        )
        .into());
    }
    let saved_seed = meta.get("seed").and_then(|s| s.parse().ok());
    let seed = args
        .seed
        .or(saved_seed)
        .unwrap_or(TrainConfig::default().seed);
    let data = Digits::load(&args.data)?;
    let (_, test_set) = data.split(seed, TEST_IMAGES);
    let accuracy = train::accuracy(&mut model, &test_set)?;
    println!(
        "{}: test accuracy {:.2} % on {} images (split seed {seed}) on {adapter}",
        args.load.display(),
        100.0 * accuracy,
        test_set.len()
    );
    Ok(ExitCode::SUCCESS)
}
