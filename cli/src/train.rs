//! `wgconv train` and `wgconv eval`: a preset model of `wgconv::train` on
//! the digits or Fashion-MNIST, on a GPU (or, with `--cpu`, on the CPU
//! reference), with a progress bar, checkpoints, a metrics JSON, a PNG of
//! the curves, a confusion matrix and safetensors model files.

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wgconv::datasets::{FashionMnist, FASHION_MNIST_DIR};
use wgconv::nn::{io, Backend, BackendBase, Cpu, DataParallel, Module, OptimizerConfig};
use wgconv::train::{
    self, EpochReport, Evaluation, ImageSet, OnNan, Preset, Progress, RunOptions, Schedule,
    TrainConfig, Trainer, TEST_IMAGES,
};
use wgconv::{Adam, Gpu, Sgd};

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerName {
    Sgd,
    Adam,
    /// Adam with decoupled weight decay (torch.optim.AdamW).
    Adamw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DataName {
    /// The 8×8 digits shipped in the repository (1437 train / 360 test).
    Digits,
    /// Fashion-MNIST from Debian's dataset-fashion-mnist (60 000 / 10 000).
    FashionMnist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// The data set's own model: the digits CNN, or the Fashion-MNIST CNN.
    Default,
    /// A small ResNet of BasicBlocks (28×28 inputs; for GPUs and long runs).
    Resnet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnNanName {
    /// Stop the run, naming the epoch and step (exit status 1).
    Stop,
    /// Train on.
    Continue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleName {
    Constant,
    /// torch's OneCycleLR with --lr as max_lr.
    OneCycle,
    /// torch's CosineAnnealingLR from --lr to 0.
    Cosine,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The data set.
    #[arg(long, value_enum, default_value = "digits")]
    data: DataName,
    /// Where the data set is: the digits CSV, or Fashion-MNIST's folder
    /// (default: data/digits.csv.gz, /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub(crate) data_path: Option<PathBuf>,
    /// The model.
    #[arg(long, value_enum, default_value = "default")]
    model: ModelName,
    /// The run's length in passes over the training images (with --resume,
    /// the total, not what is left) (default: 10).
    #[arg(long)]
    pub(crate) epochs: Option<usize>,
    /// Images per step (default: 32 for digits, 128 for Fashion-MNIST).
    #[arg(long)]
    batch: Option<usize>,
    /// Learning rate, the peak of one-cycle (default: 2e-3 digits, 3e-3
    /// Fashion-MNIST, 0.05 sgd). A negative value is read as a number (and
    /// refused by the optimizer with its reason).
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f32>,
    /// Update rule (default: adam for digits, adamw for Fashion-MNIST).
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerName>,
    /// Learning-rate schedule, stepped every batch (default: constant for
    /// digits, one-cycle for Fashion-MNIST).
    #[arg(long, value_enum)]
    schedule: Option<ScheduleName>,
    /// Random flips and 2-pixel shifts of the training images (default
    /// off: on the Fashion preset it cost 1.6 points after 10 epochs in
    /// PyTorch, docs/performance.md).
    #[arg(long)]
    augment: Option<bool>,
    /// Train on the first N training images only (quick checks).
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// First adapter whose name contains this (case-insensitive).
    #[arg(long, default_value = "")]
    pub(crate) adapter: String,
    /// Seeds the split, the initial weights, the batch order and the
    /// augmentation.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Train on the CPU reference instead of a GPU.
    #[arg(long)]
    cpu: bool,
    /// Data-parallel over several devices: `all` (every adapter), a count
    /// (the first N), or adapter names separated by commas (matched
    /// against "name (backend)", e.g. `vulkan,gl`). Every batch is split
    /// between them; see the README's "Data-parallel training".
    #[arg(long, conflicts_with = "cpu")]
    pub(crate) devices: Option<String>,
    /// One rank of an MPI job (`mpirun -np N wgconv train --distributed`):
    /// every rank takes a shard of each batch on its own adapter (by local
    /// rank), rank 0 reports and writes. Needs a build with `--features mpi`.
    #[arg(long, conflicts_with_all = ["cpu", "devices"])]
    pub(crate) distributed: bool,
    /// Write a checkpoint to this folder after every epoch.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue the run checkpointed in this folder (same settings).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Stop after this epoch, as an interrupted run (resume it later).
    #[arg(long, value_parser = super::at_least_one)]
    stop_after: Option<usize>,
    /// What a step whose loss is NaN or infinite does: stop the run before
    /// anything of that epoch is written, or continue.
    #[arg(long, value_enum, default_value = "stop")]
    on_nan: OnNanName,
    /// Save the trained model (safetensors, torch state_dict names).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Write per-epoch metrics and the confusion matrix as JSON.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Draw loss and accuracy per epoch as a PNG.
    #[arg(long)]
    plot: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A model saved by `wgconv train --save`, or a PyTorch state_dict of
    /// the same architecture (then give --data and --model).
    #[arg(long)]
    load: PathBuf,
    /// The data set (default: the one the model file names).
    #[arg(long, value_enum)]
    data: Option<DataName>,
    /// Where the data set is (as for train).
    #[arg(long)]
    data_path: Option<PathBuf>,
    /// The model (default: the one the model file names).
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    /// First adapter whose name contains this (case-insensitive).
    #[arg(long, default_value = "")]
    adapter: String,
    /// Evaluate on the CPU reference instead of a GPU.
    #[arg(long)]
    cpu: bool,
    /// The digits split seed the model was trained with (default: the one
    /// saved in the file).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(serde::Serialize)]
struct Metrics<'a> {
    data: &'a str,
    model: &'a str,
    epochs: &'a [EpochReport],
    test_accuracy: f32,
    confusion_matrix: &'a [Vec<usize>],
    class_names: &'a [&'a str],
    adapter: String,
    seconds: f64,
    config: String,
    train_images: usize,
    test_images: usize,
}

fn gpu(adapter: &str) -> Result<Gpu, wgconv::Error> {
    let mut all = Gpu::all_matching(adapter)?;
    // all_matching never returns an empty list (it errs instead).
    Ok(all.remove(0))
}

fn preset(data: DataName, model: ModelName) -> Preset {
    match (data, model) {
        (DataName::Digits, ModelName::Default) => Preset::Digits,
        (DataName::FashionMnist, ModelName::Default) => Preset::Fashion,
        (_, ModelName::Resnet) => Preset::Resnet,
    }
}

/// The (train, test) images of a data set.
fn load_data(
    data: DataName,
    path: Option<&Path>,
    seed: u64,
) -> Result<(ImageSet, ImageSet), wgconv::Error> {
    match data {
        DataName::Digits => {
            let default = train::default_data_path();
            let all = train::load_digits(path.unwrap_or(&default))?;
            Ok(all.split(seed, TEST_IMAGES))
        }
        DataName::FashionMnist => {
            let (tr, te) = FashionMnist::load(path.unwrap_or(Path::new(FASHION_MNIST_DIR)))?;
            Ok((tr.into(), te.into()))
        }
    }
}

fn class_names(data: DataName) -> Vec<&'static str> {
    match data {
        DataName::Digits => vec!["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        DataName::FashionMnist => FashionMnist::CLASS_NAMES.to_vec(),
    }
}

/// `[C, H, W]` of a data set's images, known before it is read.
fn data_image_shape(data: DataName) -> [usize; 3] {
    match data {
        DataName::Digits => Preset::Digits.image_shape(),
        DataName::FashionMnist => [1, FashionMnist::SIDE, FashionMnist::SIDE],
    }
}

fn data_tag(data: DataName) -> &'static str {
    match data {
        DataName::Digits => "digits",
        DataName::FashionMnist => "fashion-mnist",
    }
}

fn config(args: &TrainArgs) -> TrainConfig {
    let base = match args.data {
        DataName::Digits => TrainConfig::default(),
        DataName::FashionMnist => TrainConfig::fashion(),
    };
    let default_lr = match base.optimizer {
        OptimizerConfig::Adam(a) => a.lr,
        OptimizerConfig::Sgd(s) => s.lr,
    };
    let optimizer = match args.optimizer {
        None => base.optimizer,
        Some(OptimizerName::Adam) => OptimizerConfig::Adam(Adam {
            lr: default_lr,
            ..Adam::default()
        }),
        Some(OptimizerName::Adamw) => OptimizerConfig::Adam(Adam {
            lr: default_lr,
            ..Adam::adamw()
        }),
        Some(OptimizerName::Sgd) => OptimizerConfig::Sgd(Sgd {
            lr: 0.05,
            momentum: 0.9,
            ..Sgd::default()
        }),
    };
    let optimizer = match (optimizer, args.lr) {
        (OptimizerConfig::Adam(a), Some(lr)) => OptimizerConfig::Adam(Adam { lr, ..a }),
        (OptimizerConfig::Sgd(s), Some(lr)) => OptimizerConfig::Sgd(Sgd { lr, ..s }),
        (o, None) => o,
    };
    TrainConfig {
        epochs: args.epochs.unwrap_or(base.epochs),
        batch: args.batch.unwrap_or(base.batch),
        optimizer,
        schedule: match args.schedule {
            None => base.schedule,
            Some(ScheduleName::Constant) => Schedule::Constant,
            Some(ScheduleName::OneCycle) => Schedule::OneCycle,
            Some(ScheduleName::Cosine) => Schedule::Cosine,
        },
        augment: args.augment.unwrap_or(base.augment),
        seed: args.seed,
    }
}

pub fn run_train(args: &TrainArgs) -> CliResult {
    let cfg = config(args);
    let preset = preset(args.data, args.model);
    if args.distributed {
        #[cfg(feature = "mpi")]
        return super::distributed::run(args, &cfg, preset);
        #[cfg(not(feature = "mpi"))]
        return Err(
            "--distributed needs MPI: build with `cargo build --release --features mpi` \
                    (Debian: apt-get install libopenmpi-dev openmpi-bin libclang-dev) and start \
                    it with mpirun"
                .into(),
        );
    }
    if let Some(spec) = &args.devices {
        let replicas = Gpu::devices(spec)?
            .into_iter()
            .map(|g| Ok::<_, wgconv::Error>((g.clone(), preset.build(g, cfg.seed)?)))
            .collect::<Result<Vec<_>, _>>()?;
        let dp = DataParallel::new(replicas, None)?;
        let describe = format!("{} replicas: {}", dp.replicas().len(), dp.describe());
        return train_on(dp, describe, args, &cfg);
    }
    if args.cpu {
        let b = Cpu::<f32>::new();
        train_on((b, preset.build(b, cfg.seed)?), b.describe(), args, &cfg)
    } else {
        let g = gpu(&args.adapter)?;
        let model = preset.build(g.clone(), cfg.seed)?;
        train_on((g.clone(), model), g.describe(), args, &cfg)
    }
}

fn describe(cfg: &TrainConfig) -> String {
    let opt = match cfg.optimizer {
        OptimizerConfig::Adam(a) if a.decoupled_weight_decay => {
            format!("adamw lr {} wd {}", a.lr, a.weight_decay)
        }
        OptimizerConfig::Adam(a) => format!("adam lr {}", a.lr),
        OptimizerConfig::Sgd(s) => format!("sgd lr {} momentum {}", s.lr, s.momentum),
    };
    format!(
        "{} epochs, batch {}, {opt}, {:?} schedule{}",
        cfg.epochs,
        cfg.batch,
        cfg.schedule,
        if cfg.augment { ", augmented" } else { "" }
    )
}

/// Trains `model` (one device's, or replicas) and reports; on the ranks
/// of an MPI job other than 0 it trains and stays silent.
pub(crate) fn train_on<T: Trainer>(
    mut model: T,
    adapter: String,
    args: &TrainArgs,
    cfg: &TrainConfig,
) -> CliResult {
    let preset = preset(args.data, args.model);
    let primary = model.is_primary();
    if primary {
        check_outputs(args)?;
    }
    let (mut train_set, test_set) = load_data(args.data, args.data_path.as_deref(), cfg.seed)?;
    if train_set.image_shape != preset.image_shape() {
        return Err(format!(
            "the {:?} model takes {:?} images, {} has {:?}",
            args.model,
            preset.image_shape(),
            data_tag(args.data),
            train_set.image_shape
        )
        .into());
    }
    if let Some(n) = args.limit {
        train_set = train_set.first(n);
    }
    let say = |line: String| {
        if primary {
            println!("{line}");
        }
    };
    say(format!(
        "training {} on {} with {adapter}: {} train / {} test images, {}",
        preset.tag(),
        data_tag(args.data),
        train_set.len(),
        test_set.len(),
        describe(cfg)
    ));
    let mut resume = args.resume.clone();
    if let Some(dir) = &args.resume {
        let file = train::checkpoint_file(dir);
        // A run that crashed before its first checkpoint is re-run with
        // the same command: start it afresh, as torch-style tools do (in
        // one process; the ranks of an MPI job read rank 0's file only).
        if !args.distributed && !file.exists() {
            say(format!(
                "no checkpoint in {} yet: starting a fresh run",
                dir.display()
            ));
            resume = None;
        } else {
            say(format!("resuming {}", file.display()));
        }
    }
    let run = RunOptions {
        checkpoint: args.checkpoint.clone(),
        resume,
        stop_after: args.stop_after,
        model_tag: preset.tag().to_string(),
        on_nan: match args.on_nan {
            OnNanName::Stop => OnNan::Stop,
            OnNanName::Continue => OnNan::Continue,
        },
    };
    let start = std::time::Instant::now();
    let mut bar = ProgressBar::hidden();
    let mut epoch_steps = 1.0;
    let reports = train::train(&mut model, &train_set, &test_set, cfg, &run, |p| match p {
        _ if !primary => {}
        Progress::EpochStart {
            epoch,
            images,
            steps,
        } => {
            epoch_steps = steps.max(1) as f64;
            bar = ProgressBar::new(images as u64).with_style(
                ProgressStyle::with_template(
                    "epoch {prefix:>3} {bar:30} {pos:>6}/{len} images  {per_sec:>12}  eta {eta:>4}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_prefix(epoch.to_string());
        }
        Progress::Step {
            running_loss,
            images,
            ..
        } => {
            bar.set_message(format!("loss {running_loss:.4}"));
            bar.inc(images as u64);
        }
        Progress::EpochEnd(r) => {
            bar.finish_and_clear();
            println!(
                "epoch {:>3}  train loss {:.4}  test accuracy {:.2} %  {:.0} images/s  lr {:.2e}  ({:.1} s)",
                r.epoch,
                r.train_loss,
                100.0 * r.test_accuracy,
                r.images_per_second,
                r.lr,
                r.seconds
            );
            if r.communication_seconds > 0.0 {
                let both = r.compute_seconds + r.communication_seconds;
                println!(
                    "           per step: compute {:.2} ms, communication {:.2} ms ({:.0} %)",
                    1e3 * r.compute_seconds / epoch_steps,
                    1e3 * r.communication_seconds / epoch_steps,
                    100.0 * r.communication_seconds / both.max(1e-9)
                );
            }
        }
        Progress::Checkpoint { epoch } => {
            if let Some(dir) = &args.checkpoint {
                println!(
                    "           checkpoint of epoch {epoch} in {}",
                    train::checkpoint_file(dir).display()
                );
            }
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();
    if !primary {
        return Ok(ExitCode::SUCCESS);
    }
    let (b, model) = model.primary();
    let evaluation = train::evaluate(b, model, &test_set)?;
    let names = class_names(args.data);
    println!(
        "test accuracy {:.2} % ({} of {}) after {:.1} s on {adapter}",
        100.0 * evaluation.accuracy,
        (evaluation.accuracy * test_set.len() as f32).round(),
        test_set.len(),
        seconds
    );
    print_confusion(&evaluation, &names);
    // Every output is attempted, the model first: one that cannot be
    // written does not cost the others.
    let mut failures = Vec::new();
    let mut wrote = |flag: &str, path: &Path, r: Result<(), Box<dyn std::error::Error>>| match r {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => failures.push(format!("{flag} {}: {e}", path.display())),
    };
    if let Some(path) = &args.save {
        let r = save_model(
            b,
            model,
            path,
            preset,
            args.data,
            cfg.seed,
            evaluation.accuracy,
            &test_set.identity(),
        );
        wrote("--save", path, r.map_err(Into::into));
    }
    if let Some(path) = &args.metrics {
        let m = Metrics {
            data: data_tag(args.data),
            model: preset.tag(),
            epochs: &reports,
            test_accuracy: evaluation.accuracy,
            confusion_matrix: &evaluation.confusion,
            class_names: &names,
            adapter: adapter.clone(),
            seconds,
            config: describe(cfg),
            train_images: train_set.len(),
            test_images: test_set.len(),
        };
        let r = serde_json::to_string_pretty(&m)
            .map_err(Into::into)
            .and_then(|text| io::write_atomically(path, text.as_bytes()).map_err(Into::into));
        wrote("--metrics", path, r);
    }
    if let Some(path) = &args.plot {
        let title = format!("{} on {} ({adapter})", preset.tag(), data_tag(args.data));
        wrote(
            "--plot",
            path,
            super::plot::training_curves(path, &reports, &title),
        );
    }
    if !failures.is_empty() {
        return Err(format!(
            "trained, but {} output(s) could not be written: {}",
            failures.len(),
            failures.join("; ")
        )
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks, before any data is read or any step runs, that every output
/// can be written where it is asked for: the paths are distinct, none is
/// a folder, each one's folder exists and takes a new file (the
/// checkpoint folder is made now). A mistyped path then costs seconds,
/// not the run.
fn check_outputs(args: &TrainArgs) -> Result<(), String> {
    let mut outputs: Vec<(&str, PathBuf)> = Vec::new();
    if let Some(dir) = &args.checkpoint {
        if dir.is_file() {
            return Err(format!(
                "--checkpoint {}: is a file; it names a folder to keep checkpoint.safetensors in",
                dir.display()
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "--checkpoint {}: cannot make the folder: {e}",
                dir.display()
            )
        })?;
        writable("--checkpoint", dir)?;
        outputs.push(("--checkpoint", train::checkpoint_file(dir)));
    }
    for (flag, path) in [
        ("--save", &args.save),
        ("--metrics", &args.metrics),
        ("--plot", &args.plot),
    ] {
        let Some(path) = path else { continue };
        if path.is_dir() {
            return Err(format!(
                "{flag} {}: is a folder, not a file",
                path.display()
            ));
        }
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !folder.is_dir() {
            return Err(format!(
                "{flag} {}: the folder {} does not exist",
                path.display(),
                folder.display()
            ));
        }
        writable(flag, &folder)?;
        outputs.push((flag, path.clone()));
    }
    // Distinct as the file system sees them: a folder's canonical form
    // and the file name.
    let key = |p: &Path| {
        let folder = p.parent().filter(|f| !f.as_os_str().is_empty());
        let folder = folder.unwrap_or(Path::new(".")).canonicalize().ok();
        (folder, p.file_name().map(|n| n.to_os_string()))
    };
    for (i, (flag_a, a)) in outputs.iter().enumerate() {
        for (flag_b, b) in &outputs[i + 1..] {
            if key(a) == key(b) {
                return Err(format!(
                    "{flag_a} and {flag_b} both name {}: each output needs a file of its own",
                    b.display()
                ));
            }
        }
    }
    Ok(())
}

/// Fails unless a new file can be made in `folder` (made and removed).
fn writable(flag: &str, folder: &Path) -> Result<(), String> {
    let probe = folder.join(format!(".wgconv-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| format!("{flag}: cannot write in {}: {e}", folder.display()))
}

#[allow(clippy::too_many_arguments)]
fn save_model<B: Backend, M: Module<B>>(
    b: &B,
    model: &M,
    path: &Path,
    preset: Preset,
    data: DataName,
    seed: u64,
    accuracy: f32,
    test_data: &str,
) -> Result<(), wgconv::Error> {
    io::save(
        b,
        model,
        path,
        &[
            ("architecture", preset.tag().to_string()),
            ("data", data_tag(data).to_string()),
            ("seed", seed.to_string()),
            ("test_accuracy", accuracy.to_string()),
            ("test_data", test_data.to_string()),
        ],
    )
}

/// Rows are the true classes, columns the predicted ones.
fn print_confusion(e: &Evaluation, names: &[&str]) {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(1).max(5);
    println!("confusion matrix (rows: true class, columns: predicted)");
    let header: Vec<String> = (0..names.len()).map(|j| format!("{j:>5}")).collect();
    println!("{:>w$}    {}", "", header.join(""), w = width);
    for (i, row) in e.confusion.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:>5}")).collect();
        let total: usize = row.iter().sum();
        let recall = if total == 0 {
            0.0
        } else {
            100.0 * row[i] as f64 / total as f64
        };
        // Digits are their own names: the index alone then.
        let name = names.get(i).copied().unwrap_or("?");
        let name = if name == i.to_string() { "" } else { name };
        println!(
            "{name:>w$} {i:>2} {}   {recall:5.1} %",
            cells.join(""),
            w = width
        );
    }
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
    let (_, meta) = io::read_tensors(&args.load)?;
    let tagged = meta.get("architecture").and_then(|t| Preset::from_tag(t));
    let data = match (args.data, meta.get("data").map(String::as_str)) {
        (Some(d), _) => d,
        (None, Some("fashion-mnist")) => DataName::FashionMnist,
        (None, Some("digits")) => DataName::Digits,
        (None, _) if tagged == Some(Preset::Digits) => DataName::Digits,
        (None, _) => {
            return Err(format!(
                "{}: the file does not say which data set it is for; give --data",
                args.load.display()
            )
            .into())
        }
    };
    let preset = match (args.model, tagged) {
        (Some(m), Some(t)) if preset(data, m) != t => {
            return Err(format!(
                "{}: this file is a {} model; --model {m:?} with --data {} builds {}",
                args.load.display(),
                t.tag(),
                data_tag(data),
                preset(data, m).tag()
            )
            .into())
        }
        (Some(m), _) => preset(data, m),
        (None, Some(p)) => p,
        (None, None) => preset(data, ModelName::Default),
    };
    // Before any image is read: a model of one data set's images cannot
    // classify another's.
    if preset.image_shape() != data_image_shape(data) {
        return Err(format!(
            "{}: a {} model, which takes {:?} images; {} has {:?} images (give the --data \
             it was trained on)",
            args.load.display(),
            preset.tag(),
            preset.image_shape(),
            data_tag(data),
            data_image_shape(data)
        )
        .into());
    }
    let mut model = preset.build(backend.clone(), 0)?;
    io::load(&backend, &mut model, &args.load).map_err(|e| {
        format!(
            "{e} (loading it as {}, the {:?} model)",
            preset.tag(),
            preset
        )
    })?;
    let saved_seed = meta.get("seed").and_then(|s| s.parse().ok());
    let seed = args
        .seed
        .or(saved_seed)
        .unwrap_or(TrainConfig::default().seed);
    let (_, test_set) = load_data(data, args.data_path.as_deref(), seed)?;
    // The test images the model was evaluated on when it was saved: another
    // split (another seed, another file) would include training images.
    if let Some(saved) = meta.get("test_data") {
        if *saved != test_set.identity() {
            return Err(format!(
                "{}: these test images are not the ones this model was tested on when it was \
                 saved (split seed {seed}, data identity {} against {saved}): another seed or \
                 data file would test it on images it trained on; give the training run's \
                 --seed and data",
                args.load.display(),
                test_set.identity()
            )
            .into());
        }
    }
    let evaluation = train::evaluate(&backend, &mut model, &test_set)?;
    println!(
        "{}: test accuracy {:.2} % on {} {} test images ({}) on {adapter}",
        args.load.display(),
        100.0 * evaluation.accuracy,
        test_set.len(),
        data_tag(data),
        preset.tag()
    );
    print_confusion(&evaluation, &class_names(data));
    Ok(ExitCode::SUCCESS)
}
