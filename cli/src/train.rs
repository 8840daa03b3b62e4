//! `wgconv train` and `wgconv eval`: a preset model of `wgconv::train` on
//! a data set of `wgconv::data` (a built-in one or a folder of images),
//! through the transforms asked for, on a GPU (or, with `--cpu`, on the
//! CPU reference), with a progress bar, checkpoints, a metrics JSON, a PNG
//! of the curves, per-class metrics and safetensors model files.

use crate::progress;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wgconv::data::{
    self, DataSource, Dataset, FolderOptions, LoaderOptions, Pipeline, Splits, Subset, Transformed,
};
use wgconv::nn::zoo::Zoo;
use wgconv::nn::{io, Backend, BackendBase, Cpu, DataParallel, Module, OptimizerConfig};
use wgconv::train::{
    self, EpochReport, Evaluation, OnNan, Preset, Progress, RunOptions, Schedule, TrainConfig,
    Trainer,
};
use wgconv::{Adam, Gpu, Sgd};

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// A first training step slower than this gets a line saying why: on a
/// fresh machine it builds the adapter's kernels (about a minute for the
/// Fashion model on lavapipe with a cold shader cache; under a second from
/// the driver's cache), which the progress lines' rate leaves out.
const SLOW_FIRST_STEP_SECONDS: f64 = 10.0;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OptimizerName {
    Sgd,
    Adam,
    /// Adam with decoupled weight decay (torch.optim.AdamW).
    Adamw,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// The data set's own model: the digits CNN for the digits, the
    /// Fashion-MNIST CNN for Fashion-MNIST and image folders.
    Default,
    /// The digits CNN (two convolutions, one linear layer).
    DigitsCnn,
    /// The Fashion-MNIST CNN (two conv-BN-ReLU-pool stages, two linear).
    FashionCnn,
    /// A small ResNet of BasicBlocks (for GPUs and long runs).
    Resnet,
    /// torchvision's ResNet-18 (its first convolution taking the images'
    /// channels, its last layer the data's classes; so the other
    /// torchvision models).
    Resnet18,
    /// torchvision's ResNet-34.
    Resnet34,
    /// torchvision's ResNet-50 (Bottleneck blocks).
    Resnet50,
    /// torchvision's VGG-11 with batch norm (images of 32×32 or more:
    /// --transform 'resize(32)' for Fashion-MNIST).
    #[value(name = "vgg11_bn", alias = "vgg11-bn")]
    Vgg11Bn,
    /// torchvision's MobileNetV2.
    #[value(name = "mobilenet_v2", alias = "mobilenet-v2")]
    MobilenetV2,
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
    /// torch's OneCycleLR with --lr as max_lr, cycling the momentum (Adam's
    /// beta1, SGD's momentum) between 0.85 and 0.95, as torch does.
    OneCycle,
    /// OneCycleLR with cycle_momentum=False (the momentum stays).
    OneCycleFixedMomentum,
    /// torch's CosineAnnealingLR from --lr to 0.
    Cosine,
}

/// Where the images come from and how they are read (train and eval).
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Where the built-in data set is: the digits CSV, or Fashion-MNIST's
    /// folder (default: data/digits.csv.gz, /usr/share/datasets/fashion-mnist).
    #[arg(long)]
    pub(crate) data_path: Option<PathBuf>,
    /// Image folders: the channels images are read as, 1 (grey), 3 (RGB)
    /// or 4 (RGBA) (default: 1 if every image is grey, else 3).
    #[arg(long)]
    channels: Option<usize>,
    /// Image folders without train/ and val/: the fraction held out for
    /// testing, chosen by --seed.
    #[arg(long, default_value_t = FolderOptions::default().holdout)]
    holdout: f64,
    /// Image folders: leave out unreadable images with a warning instead
    /// of stopping (every image is then decoded once before training).
    #[arg(long)]
    skip_bad_images: bool,
    /// Image folders: the most memory one decoded image may take, in MiB.
    #[arg(long, default_value_t = FolderOptions::default().max_image_bytes >> 20)]
    max_image_mib: u64,
    /// Threads that decode and transform batches ahead of the steps (0:
    /// the training loop does it between steps).
    #[arg(long, default_value_t = LoaderOptions::default().workers)]
    workers: usize,
}

impl DataArgs {
    fn folder(&self) -> FolderOptions {
        FolderOptions {
            channels: self.channels,
            skip_bad: self.skip_bad_images,
            max_image_bytes: self.max_image_mib.saturating_mul(1 << 20),
            holdout: self.holdout,
        }
    }
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The data set: digits, fashion-mnist, or a folder of images with one
    /// subfolder per class (and optionally train/ and val/ halves).
    #[arg(long, default_value = "digits")]
    data: String,
    #[command(flatten)]
    pub(crate) data_args: DataArgs,
    /// Transforms of the training images, torchvision's names, e.g.
    /// "random_crop(28,padding=2),hflip,normalize" (normalize alone: the
    /// training images' own mean and std). The test images get the same
    /// with random crops made centre crops and the other random ones left
    /// out (see --test-transform).
    #[arg(long, conflicts_with = "augment")]
    transform: Option<String>,
    /// Transforms of the test images (default: the evaluation form of
    /// --transform).
    #[arg(long)]
    test_transform: Option<String>,
    /// Shorthand for --transform "random_crop(H,W,padding=2),hflip":
    /// random 2-pixel shifts and flips (default off: on the Fashion preset
    /// it cost 1.6 points after 10 epochs in PyTorch, docs/performance.md).
    #[arg(long)]
    augment: Option<bool>,
    /// The model.
    #[arg(long, value_enum, default_value = "default")]
    model: ModelName,
    /// The run's length in passes over the training images (with --resume,
    /// the total, not what is left) (default: 10).
    #[arg(long)]
    pub(crate) epochs: Option<usize>,
    /// Images per step (default: 32 for digits, 128 otherwise).
    #[arg(long)]
    batch: Option<usize>,
    /// Learning rate, the peak of one-cycle (default: 2e-3 digits, 3e-3
    /// otherwise, 0.05 sgd). A negative value is read as a number (and
    /// refused by the optimizer with its reason).
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f32>,
    /// Update rule (default: adam for digits, adamw otherwise).
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerName>,
    /// Learning-rate schedule, stepped every batch (default: constant for
    /// digits, one-cycle otherwise).
    #[arg(long, value_enum)]
    schedule: Option<ScheduleName>,
    /// Train on N training images only (quick checks): the first N of a
    /// built-in data set, N drawn by --seed from a folder.
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// First adapter whose name contains this (case-insensitive).
    #[arg(long, default_value = "")]
    pub(crate) adapter: String,
    /// Seeds the split, the initial weights, the batch order and the
    /// transforms.
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
    /// Write per-epoch metrics, per-class metrics and the confusion matrix
    /// as JSON.
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
    /// The data set: digits, fashion-mnist or a folder (default: the one
    /// the model file names). A folder the model was not trained on is
    /// evaluated whole (its val/ half where it has one).
    #[arg(long)]
    data: Option<String>,
    #[command(flatten)]
    data_args: DataArgs,
    /// The model (default: the one the model file names).
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    /// First adapter whose name contains this (case-insensitive).
    #[arg(long, default_value = "")]
    adapter: String,
    /// Evaluate on the CPU reference instead of a GPU.
    #[arg(long)]
    cpu: bool,
    /// The split seed the model was trained with (default: the one saved
    /// in the file).
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(serde::Serialize)]
struct Metrics<'a> {
    data: &'a str,
    model: &'a str,
    epochs: &'a [EpochReport],
    test_accuracy: f32,
    /// Where there are more than 5 classes.
    top5_accuracy: Option<f32>,
    confusion_matrix: &'a [Vec<usize>],
    class_names: &'a [String],
    /// Per class, in label order (NaN where no image was predicted as
    /// the class, or none is of it).
    precision: Vec<f32>,
    recall: Vec<f32>,
    adapter: String,
    seconds: f64,
    config: String,
    transform: String,
    test_transform: String,
    train_images: usize,
    test_images: usize,
}

fn gpu(adapter: &str) -> Result<Gpu, wgconv::Error> {
    let mut all = Gpu::all_matching(adapter)?;
    // all_matching never returns an empty list (it errs instead).
    Ok(all.remove(0))
}

fn preset(source: &DataSource, model: ModelName) -> Preset {
    match model {
        ModelName::Default => source.default_model(),
        ModelName::DigitsCnn => Preset::Digits,
        ModelName::FashionCnn => Preset::Fashion,
        ModelName::Resnet => Preset::Resnet,
        ModelName::Resnet18 => Preset::Zoo(Zoo::Resnet18),
        ModelName::Resnet34 => Preset::Zoo(Zoo::Resnet34),
        ModelName::Resnet50 => Preset::Zoo(Zoo::Resnet50),
        ModelName::Vgg11Bn => Preset::Zoo(Zoo::Vgg11Bn),
        ModelName::MobilenetV2 => Preset::Zoo(Zoo::MobilenetV2),
    }
}

/// A data set read and seen through its transforms: what a run trains
/// and tests on.
pub(crate) struct Prepared {
    pub(crate) source: DataSource,
    pub(crate) train: Box<dyn Dataset>,
    pub(crate) test: Box<dyn Dataset>,
    pub(crate) class_names: Vec<String>,
    /// `[C, H, W]` the model takes.
    pub(crate) shape: [usize; 3],
    pub(crate) transform: Pipeline,
    pub(crate) test_transform: Pipeline,
}

/// Reads the data and puts the transforms in front of it: a `normalize`
/// without values gets the training images' statistics (after the
/// transforms before it), measured here.
fn prepare(
    source: DataSource,
    args: &DataArgs,
    seed: u64,
    limit: Option<usize>,
    (transform, augment): (Pipeline, bool),
    test_transform: Option<Pipeline>,
) -> Result<Prepared, Box<dyn std::error::Error>> {
    let Splits {
        mut train,
        test,
        class_names,
        warnings,
    } = source.open(args.data_path.as_deref(), &args.folder(), seed)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if let Some(n) = limit {
        // A folder's train/ half lists its images class by class: its
        // first N would be one class.
        let mut indices: Vec<usize> = (0..train.len()).collect();
        if matches!(source, DataSource::Folder(_)) {
            wgconv::rng::Rng::new(seed).shuffle(&mut indices);
        }
        indices.truncate(n);
        train = Box::new(Subset {
            inner: train,
            indices,
        });
    }
    let mut transform = transform;
    if augment {
        let [_, h, w] = train.image_shape().ok_or(
            "--augment shifts images of one size: for images of several sizes give \
             --transform \"resize((H,W)),random_crop((H,W),padding=2),hflip\"",
        )?;
        transform = Pipeline::augment(h, w);
    }
    let mut test_transform = test_transform.unwrap_or_else(|| transform.eval());
    if transform.needs_statistics() || test_transform.needs_statistics() {
        let before = Transformed::new(&*train, transform.before_statistics())?;
        let (mean, std) = data::channel_statistics(&before)?;
        transform = transform.resolve(&mean, &std);
        test_transform = test_transform.resolve(&mean, &std);
    }
    let train = Transformed::new(train, transform.clone())?;
    let test = Transformed::new(test, test_transform.clone())?;
    let shape = train
        .image_shape()
        .ok_or("the training images have no one shape")?;
    if test.image_shape() != Some(shape) {
        return Err(format!(
            "the test transforms `{test_transform}` give {:?} images, the training ones \
             `{transform}` {shape:?}: give a --test-transform that ends at {shape:?}",
            test.image_shape()
        )
        .into());
    }
    Ok(Prepared {
        source,
        train: Box::new(train),
        test: Box::new(test),
        class_names,
        shape,
        transform,
        test_transform,
    })
}

fn config(args: &TrainArgs, source: &DataSource) -> TrainConfig {
    let base = source.defaults();
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
            Some(ScheduleName::OneCycleFixedMomentum) => Schedule::OneCycleFixedMomentum,
            Some(ScheduleName::Cosine) => Schedule::Cosine,
        },
        seed: args.seed,
    }
}

/// The training transforms asked for (`--augment` needs the images'
/// size, hence the shape).
fn transforms(args: &TrainArgs) -> Result<(Pipeline, Option<Pipeline>), wgconv::Error> {
    let test = args
        .test_transform
        .as_deref()
        .map(Pipeline::parse)
        .transpose()?;
    Ok((
        match &args.transform {
            Some(spec) => Pipeline::parse(spec)?,
            None => Pipeline::none(),
        },
        test,
    ))
}

pub fn run_train(args: &TrainArgs) -> CliResult {
    let source = DataSource::parse(&args.data)?;
    let cfg = config(args, &source);
    // The spellings first: a typo costs no data read.
    transforms(args)?;
    let preset = preset(&source, args.model);
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
        let gpus = Gpu::devices(spec)?;
        return train_on(true, args, &cfg, |shape, classes| {
            let replicas = gpus
                .into_iter()
                .map(|g| Ok((g.clone(), preset.build_for(g, cfg.seed, shape, classes)?)))
                .collect::<Result<Vec<_>, wgconv::Error>>()?;
            let dp = DataParallel::new(replicas, None)?;
            let describe = format!("{} replicas: {}", dp.replicas().len(), dp.describe());
            Ok((dp, describe))
        });
    }
    if args.cpu {
        let b = Cpu::<f32>::new();
        train_on(true, args, &cfg, |shape, classes| {
            Ok((
                (b, preset.build_for(b, cfg.seed, shape, classes)?),
                b.describe(),
            ))
        })
    } else {
        let g = gpu(&args.adapter)?;
        train_on(true, args, &cfg, |shape, classes| {
            let model = preset.build_for(g.clone(), cfg.seed, shape, classes)?;
            Ok(((g.clone(), model), g.describe()))
        })
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
        "{} epochs, batch {}, {opt}, {:?} schedule",
        cfg.epochs, cfg.batch, cfg.schedule,
    )
}

/// Reads the data, builds the trainer for its images with `make` (image
/// shape, classes), trains and reports; on the ranks of an MPI job other
/// than 0 (`primary` false) it trains and stays silent.
pub(crate) fn train_on<T: Trainer>(
    primary: bool,
    args: &TrainArgs,
    cfg: &TrainConfig,
    make: impl FnOnce([usize; 3], usize) -> Result<(T, String), wgconv::Error>,
) -> CliResult {
    let source = DataSource::parse(&args.data)?;
    let preset = preset(&source, args.model);
    if primary {
        check_outputs(args)?;
    }
    let (transform, test_transform) = transforms(args)?;
    let data = prepare(
        source,
        &args.data_args,
        cfg.seed,
        args.limit,
        (transform, args.augment == Some(true)),
        test_transform,
    )?;
    let (mut model, adapter) = make(data.shape, data.class_names.len())?;
    let say = |line: String| {
        if primary {
            println!("{line}");
        }
    };
    let tag = data.source.tag();
    say(format!(
        "training {} on {tag} ({}x{}x{}, {} classes) with {adapter}: {} train / {} test images, {}",
        preset.tag(),
        data.shape[0],
        data.shape[1],
        data.shape[2],
        data.class_names.len(),
        data.train.len(),
        data.test.len(),
        describe(cfg)
    ));
    if !data.transform.is_empty() || !data.test_transform.is_empty() {
        say(format!(
            "transforms: train {}; test {}",
            data.transform, data.test_transform
        ));
    }
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
        loader: LoaderOptions {
            workers: args.data_args.workers,
            ..LoaderOptions::default()
        },
    };
    let start = std::time::Instant::now();
    let mut bar = progress::Progress::hidden();
    let mut epoch_steps = 1.0;
    let mut evaluating = false;
    let mut stepped = false;
    let reports = train::train(
        &mut model,
        &*data.train,
        &*data.test,
        cfg,
        &run,
        |p| match p {
            _ if !primary => {}
            Progress::EpochStart {
                epoch,
                images,
                steps,
            } => {
                epoch_steps = steps.max(1) as f64;
                evaluating = false;
                bar = progress::Progress::new(
                    images as u64,
                    "epoch {prefix:>3} {bar:30} {pos:>6}/{len} images  {per_sec:>12}  eta {eta:>4}  {msg}",
                    format!("epoch {epoch}:"),
                    "images",
                );
            }
            Progress::Step {
                running_loss,
                images,
                ..
            } => {
                if !stepped {
                    stepped = true;
                    let waited = start.elapsed().as_secs_f64();
                    if waited >= SLOW_FIRST_STEP_SECONDS {
                        bar.note(&format!(
                            "first step after {waited:.0} s, most of it building this adapter's \
                             kernels (drivers cache them: the next run starts at once)"
                        ));
                    }
                }
                bar.set_message(format!("loss {running_loss:.4}"));
                bar.inc(images as u64);
            }
            Progress::Evaluation {
                epoch,
                images,
                total,
            } => {
                if !evaluating {
                    evaluating = true;
                    bar.finish_and_clear();
                    bar = progress::Progress::new(
                        total as u64,
                        "{prefix} {bar:30} {pos:>6}/{len} images  {per_sec:>12}  eta {eta:>4}",
                        format!("evaluation after epoch {epoch}:"),
                        "images",
                    );
                }
                bar.inc(images as u64);
            }
            Progress::EpochEnd(r) => {
                bar.finish_and_clear();
                println!(
                "epoch {:>3}  train loss {:.4}  test accuracy {:.2} %  {:.0} images/s  lr {:.2e}  data wait {:.2} s  ({:.1} s)",
                r.epoch,
                r.train_loss,
                100.0 * r.test_accuracy,
                r.images_per_second,
                r.lr,
                r.data_wait_seconds,
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
        },
    )?;
    let seconds = start.elapsed().as_secs_f64();
    if !primary {
        return Ok(ExitCode::SUCCESS);
    }
    let (b, model) = model.primary();
    let evaluation = evaluate(b, model, &*data.test)?;
    println!(
        "test accuracy {:.2} % ({} of {}) after {:.1} s on {adapter}",
        100.0 * evaluation.accuracy,
        (evaluation.accuracy * data.test.len() as f32).round(),
        data.test.len(),
        seconds
    );
    print_evaluation(&evaluation, &data.class_names);
    // Every output is attempted, the model first: one that cannot be
    // written does not cost the others.
    let mut failures = Vec::new();
    let mut wrote = |flag: &str, path: &Path, r: Result<(), Box<dyn std::error::Error>>| match r {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => failures.push(format!("{flag} {}: {e}", path.display())),
    };
    if let Some(path) = &args.save {
        let r = save_model(b, model, path, preset, &data, cfg.seed, evaluation.accuracy);
        wrote("--save", path, r.map_err(Into::into));
    }
    if let Some(path) = &args.metrics {
        let classes = data.class_names.len();
        let m = Metrics {
            data: &tag,
            model: preset.tag(),
            epochs: &reports,
            test_accuracy: evaluation.accuracy,
            top5_accuracy: evaluation.top5_accuracy,
            confusion_matrix: &evaluation.confusion,
            class_names: &data.class_names,
            precision: (0..classes).map(|c| evaluation.precision(c)).collect(),
            recall: (0..classes).map(|c| evaluation.recall(c)).collect(),
            adapter: adapter.clone(),
            seconds,
            config: describe(cfg),
            transform: data.transform.to_string(),
            test_transform: data.test_transform.to_string(),
            train_images: data.train.len(),
            test_images: data.test.len(),
        };
        let r = serde_json::to_string_pretty(&m)
            .map_err(Into::into)
            .and_then(|text| io::write_atomically(path, text.as_bytes()).map_err(Into::into));
        wrote("--metrics", path, r);
    }
    if let Some(path) = &args.plot {
        let title = format!("{} on {tag} ({adapter})", preset.tag());
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

fn save_model<B: Backend, M: Module<B>>(
    b: &B,
    model: &M,
    path: &Path,
    preset: Preset,
    data: &Prepared,
    seed: u64,
    accuracy: f32,
) -> Result<(), wgconv::Error> {
    let [c, h, w] = data.shape;
    io::save(
        b,
        model,
        path,
        &[
            ("architecture", preset.tag().to_string()),
            ("data", data.source.tag()),
            ("seed", seed.to_string()),
            ("test_accuracy", accuracy.to_string()),
            ("test_data", data.test.identity()),
            ("image_shape", format!("{c}x{h}x{w}")),
            (
                "class_names",
                serde_json::to_string(&data.class_names).unwrap_or_default(),
            ),
            ("test_transform", data.test_transform.to_string()),
        ],
    )
}

/// The confusion matrix (rows: true classes, columns: predicted ones),
/// each class's recall and precision, and the top-5 accuracy.
fn print_evaluation(e: &Evaluation, names: &[String]) {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(1).max(5);
    println!("confusion matrix (rows: true class, columns: predicted)");
    let header: Vec<String> = (0..names.len()).map(|j| format!("{j:>5}")).collect();
    println!(
        "{:>w$}    {}   recall  precision",
        "",
        header.join(""),
        w = width
    );
    let percent = |v: f32| {
        if v.is_nan() {
            "    -".to_string()
        } else {
            format!("{:5.1}", 100.0 * v)
        }
    };
    for (i, row) in e.confusion.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:>5}")).collect();
        // Digits are their own names: the index alone then.
        let name = names.get(i).map(String::as_str).unwrap_or("?");
        let name = if name == i.to_string() { "" } else { name };
        println!(
            "{name:>w$} {i:>2} {}   {} %  {} %",
            cells.join(""),
            percent(e.recall(i)),
            percent(e.precision(i)),
            w = width
        );
    }
    if let Some(top5) = e.top5_accuracy {
        println!("top-5 accuracy {:.2} %", 100.0 * top5);
    }
}

pub fn run_eval(args: &EvalArgs) -> CliResult {
    if args.cpu {
        eval_on(Cpu::<f32>::new(), args)
    } else {
        eval_on(gpu(&args.adapter)?, args)
    }
}

/// `"1x28x28"` as `[1, 28, 28]`.
fn parse_shape(text: &str) -> Option<[usize; 3]> {
    let v: Vec<usize> = text
        .split('x')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    v.try_into().ok()
}

fn eval_on<B: Backend>(backend: B, args: &EvalArgs) -> CliResult {
    let adapter = backend.describe();
    let file = args.load.display().to_string();
    let (_, meta) = io::read_tensors(&args.load)?;
    let tagged = meta.get("architecture").and_then(|t| Preset::from_tag(t));
    let saved_data = meta
        .get("data")
        .cloned()
        .or_else(|| (tagged == Some(Preset::Digits)).then(|| "digits".to_string()));
    let data_name = match (&args.data, &saved_data) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => {
            return Err(format!(
                "{file}: the file does not say which data set it is for; give --data"
            )
            .into())
        }
    };
    let source = DataSource::parse(&data_name)?;
    let trained_here = saved_data.as_deref() == Some(source.tag().as_str());
    let preset = match (args.model, tagged) {
        (Some(m), Some(t)) if preset(&source, m) != t => {
            return Err(format!(
                "{file}: this file is a {} model; --model {m:?} with --data {} builds {}",
                t.tag(),
                source.tag(),
                preset(&source, m).tag()
            )
            .into())
        }
        (Some(m), _) => preset(&source, m),
        (None, Some(p)) => p,
        (None, None) => source.default_model(),
    };
    let saved_shape = meta.get("image_shape").and_then(|s| parse_shape(s));
    let shape = saved_shape
        .or(source.image_shape())
        .unwrap_or(preset.image_shape());
    let saved_names: Option<Vec<String>> = meta
        .get("class_names")
        .and_then(|n| serde_json::from_str(n).ok());
    let test_transform = match meta.get("test_transform") {
        Some(t) if t != "none" => Pipeline::parse(t)?,
        _ => Pipeline::none(),
    };
    // Before any image is read: a model of one data set's images cannot
    // classify another's.
    if let Some(theirs) = source.image_shape() {
        if test_transform.output_shape(Some(theirs)) != Some(shape) {
            return Err(format!(
                "{file}: a {} model, which takes {shape:?} images; {} has {theirs:?} images \
                 (give the --data it was trained on)",
                preset.tag(),
                source.tag(),
            )
            .into());
        }
    }
    let saved_seed = meta.get("seed").and_then(|s| s.parse().ok());
    let seed = args
        .seed
        .or(saved_seed)
        .unwrap_or(TrainConfig::default().seed);
    // A folder the model was not trained on is new to it: every image
    // of it is a test image (its val/ half where it has one).
    let path = args.data_args.data_path.as_deref();
    // A folder's images are read with the channels the model takes.
    let mut folder = args.data_args.folder();
    folder.channels = folder.channels.or(Some(shape[0]));
    let (whole, class_names, warnings) = if trained_here {
        let s = source.open(path, &folder, seed)?;
        (s.test, s.class_names, s.warnings)
    } else {
        let t = source.open_test(path, &folder, seed)?;
        (t.images, t.class_names, t.warnings)
    };
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if let Some(names) = &saved_names {
        if *names != class_names {
            return Err(format!(
                "{file}: the model's classes are {names:?}, {} has {class_names:?}",
                source.tag()
            )
            .into());
        }
    }
    let test_set = Transformed::new(whole, test_transform.clone())?;
    if test_set.image_shape() != Some(shape) {
        return Err(format!(
            "{file}: a {} model, which takes {shape:?} images; {} gives {:?} images through `{test_transform}`",
            preset.tag(),
            source.tag(),
            test_set.image_shape()
        )
        .into());
    }
    let mut model = preset.build_for(backend.clone(), 0, shape, class_names.len())?;
    io::load(&backend, &mut model, &args.load).map_err(|e| {
        format!(
            "{e} (loading it as {}, the {:?} model)",
            preset.tag(),
            preset
        )
    })?;
    // The test images the model was evaluated on when it was saved: another
    // split (another seed, another file) would include training images.
    if let (Some(saved), true) = (meta.get("test_data"), trained_here) {
        if *saved != test_set.identity() {
            return Err(format!(
                "{file}: these test images are not the ones this model was tested on when it was \
                 saved (split seed {seed}, data identity {} against {saved}): another seed or \
                 data file would test it on images it trained on; give the training run's \
                 --seed and data",
                test_set.identity()
            )
            .into());
        }
    }
    let evaluation = evaluate(&backend, &mut model, &test_set)?;
    println!(
        "{file}: test accuracy {:.2} % on {} {} test images ({}) on {adapter}",
        100.0 * evaluation.accuracy,
        test_set.len(),
        source.tag(),
        preset.tag()
    );
    print_evaluation(&evaluation, &class_names);
    Ok(ExitCode::SUCCESS)
}

/// `train::evaluate` with a progress bar (or plain lines) over the images.
fn evaluate<B: Backend, M: wgconv::nn::Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    data: &dyn wgconv::data::Dataset,
) -> Result<train::Evaluation, wgconv::Error> {
    let mut bar = progress::Progress::new(
        data.len() as u64,
        "eval {bar:30} {pos:>6}/{len} images  {per_sec:>12}  eta {eta:>4}",
        "eval:".to_string(),
        "images",
    );
    let evaluation = train::evaluate_with_progress(b, model, data, |n| bar.inc(n as u64));
    bar.finish_and_clear();
    evaluation
}
