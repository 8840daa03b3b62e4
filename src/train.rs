//! The experiments behind `wgconv train` and `wgconv eval`, shared with the
//! tests: the data sets as [`ImageSet`]s (the 8×8 digits shipped in the
//! repository, Fashion-MNIST from Debian), the model presets, and the epoch
//! loop with its schedule, augmentation, evaluation and checkpoints.
//! Generic over the [`Backend`], so `--cpu` runs the very same training on
//! the CPU reference.

use crate::data::loader::Batches;
use crate::data::{Dataset, LoaderOptions};
use crate::datasets::FashionMnist;
use crate::nn::zoo::{Zoo, ZooOptions};
use crate::nn::{
    argmax_rows, io, one_hot, predict, train_step, train_step_deferred, AdaptiveAvgPool2d, Backend,
    BasicBlock, BatchNorm2d, Conv2d, DataParallel, Dropout, Flatten, Forward, Init, Layer, Linear,
    Loss, LrSchedule, MaxPool2d, ModuleExt, Optimizer, OptimizerConfig, Relu, Sequential,
    StepReport,
};
use crate::rng::Rng;
use crate::{Adam, Error, Pool2dParams};
use std::path::{Path, PathBuf};

/// Pixels per digit image (8×8) and classes (digits 0–9).
pub const PIXELS: usize = 64;
pub const CLASSES: usize = 10;
/// Digit images held out for testing (of 1797): 1437 train / 360 test.
pub const TEST_IMAGES: usize = 360;

/// The digits data set shipped in the repository (see data/README.md).
pub fn default_data_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")
}

/// Labelled images `[C, H, W]`, pixels scaled to [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// `len() × C·H·W` values, row-major per image.
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
    pub image_shape: [usize; 3],
    pub classes: usize,
}

impl ImageSet {
    /// Fails unless there are as many images as labels, at least one, and
    /// every label is below `classes`.
    pub fn new(
        images: Vec<f32>,
        labels: Vec<usize>,
        image_shape: [usize; 3],
        classes: usize,
    ) -> Result<ImageSet, Error> {
        let bad = |message: String| Error::InvalidParam {
            op: "ImageSet::new",
            param: "images",
            message,
        };
        let pixels: usize = image_shape.iter().product();
        if labels.is_empty() || pixels == 0 || images.len() != labels.len() * pixels {
            return Err(bad(format!(
                "{} values for {} labels of {image_shape:?} images",
                images.len(),
                labels.len()
            )));
        }
        if let Some(l) = labels.iter().find(|&&l| l >= classes) {
            return Err(bad(format!("label {l} with {classes} classes")));
        }
        Ok(ImageSet {
            images,
            labels,
            image_shape,
            classes,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image.
    pub fn pixels(&self) -> usize {
        self.image_shape.iter().product()
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let p = self.pixels();
        ImageSet {
            images: indices
                .iter()
                .flat_map(|&i| self.images[i * p..(i + 1) * p].iter().copied())
                .collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            image_shape: self.image_shape,
            classes: self.classes,
        }
    }

    /// The data set's identity as read: a CRC-32 of every pixel's bits and
    /// every label, in order, as 8 hex digits. Two sets of the same size
    /// but other images (another file, another split) differ.
    pub fn identity(&self) -> String {
        let mut crc = flate2::Crc::new();
        crc.update(bytemuck::cast_slice::<f32, u8>(&self.images));
        for &l in &self.labels {
            crc.update(&(l as u64).to_le_bytes());
        }
        format!("{:08x}", crc.sum())
    }

    /// The first `count` images (all of them if there are fewer).
    pub fn first(&self, count: usize) -> ImageSet {
        let all: Vec<usize> = (0..count.min(self.len())).collect();
        self.subset(&all)
    }

    /// A fixed-seed shuffle split into (train, test) with `test` images held out.
    pub fn split(&self, seed: u64, test: usize) -> (ImageSet, ImageSet) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        let test = test.min(self.len());
        let cut = self.len() - test;
        (self.subset(&order[..cut]), self.subset(&order[cut..]))
    }
}

impl From<FashionMnist> for ImageSet {
    fn from(f: FashionMnist) -> ImageSet {
        let side = FashionMnist::SIDE;
        ImageSet {
            images: f.images,
            labels: f.labels.into_iter().map(usize::from).collect(),
            image_shape: [1, side, side],
            classes: FashionMnist::CLASSES,
        }
    }
}

/// The 8×8 digits: reads the gzip-compressed CSV (64 pixel counts 0..=16,
/// then the label).
pub fn load_digits(path: &Path) -> Result<ImageSet, Error> {
    let bad = |message: String| Error::DataFile {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    digits_from_gzip(&bytes).map_err(bad)
}

/// The digits from the bytes of `digits.csv.gz` (what the browser page
/// fetches instead of reading a file).
pub fn digits_from_gzip(bytes: &[u8]) -> Result<ImageSet, String> {
    let raw = crate::datasets::gunzip(bytes).map_err(|e| format!("not a gzip CSV: {e}"))?;
    let text = String::from_utf8(raw).map_err(|e| format!("not a gzip CSV: {e}"))?;
    parse_digits(&text)
}

/// Parses the digits CSV text (one image per line).
pub fn parse_digits(text: &str) -> Result<ImageSet, String> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != PIXELS + 1 {
            return Err(format!(
                "line {}: {} fields, expected {}",
                line_no + 1,
                fields.len(),
                PIXELS + 1
            ));
        }
        for f in &fields[..PIXELS] {
            let v: u8 = f
                .parse()
                .ok()
                .filter(|v| *v <= 16)
                .ok_or_else(|| format!("line {}: pixel {f:?} is not in 0..=16", line_no + 1))?;
            images.push(v as f32 / 16.0);
        }
        let label: usize = fields[PIXELS]
            .parse()
            .ok()
            .filter(|l| *l < CLASSES)
            .ok_or_else(|| {
                format!(
                    "line {}: label {:?} is not in 0..=9",
                    line_no + 1,
                    fields[PIXELS]
                )
            })?;
        labels.push(label);
    }
    if labels.is_empty() {
        return Err("no images".into());
    }
    ImageSet::new(images, labels, [1, 8, 8], CLASSES).map_err(|e| e.to_string())
}

/// The models `wgconv train` builds: wgconv's own, each documented layer
/// by layer in the README so it can be rebuilt in PyTorch as the same
/// `nn.Sequential`, and torchvision's classifiers ([`Zoo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// conv 3×3 (1→16, pad 1) → ReLU → conv 3×3 stride 2 (16→32, pad 1) →
    /// ReLU → flatten (32·4·4) → linear (512→10): for the 8×8 digits.
    Digits,
    /// For Fashion-MNIST (28×28): two conv-BN-ReLU-max-pool stages (32 and
    /// 64 channels), dropout, a 128-unit hidden layer, dropout, linear.
    Fashion,
    /// A small ResNet of torchvision BasicBlocks for 28×28 inputs (stem
    /// conv-BN-ReLU at 32 channels, then 2 blocks each at 32, 64 and 128
    /// channels, striding down between stages, global average pooling,
    /// linear): for GPUs and long runs.
    Resnet,
    /// A torchvision classifier, its first convolution taking the images'
    /// channels and its last layer the data's classes.
    Zoo(Zoo),
}

impl Preset {
    /// The architecture tag written into model files and checkpoints.
    pub fn tag(self) -> &'static str {
        match self {
            Preset::Digits => "wgconv.digits_cnn.v1",
            Preset::Fashion => "wgconv.fashion_cnn.v1",
            Preset::Resnet => "wgconv.resnet_28.v1",
            Preset::Zoo(z) => match z {
                Zoo::Resnet18 => "torchvision.resnet18",
                Zoo::Resnet34 => "torchvision.resnet34",
                Zoo::Resnet50 => "torchvision.resnet50",
                Zoo::Vgg11Bn => "torchvision.vgg11_bn",
                Zoo::MobilenetV2 => "torchvision.mobilenet_v2",
            },
        }
    }

    /// The preset a tag names.
    pub fn from_tag(tag: &str) -> Option<Preset> {
        [Preset::Digits, Preset::Fashion, Preset::Resnet]
            .into_iter()
            .chain(Zoo::ALL.map(Preset::Zoo))
            .find(|p| p.tag() == tag)
    }

    /// The image shape `[C, H, W]` the model is made for (torchvision's
    /// classifiers: ImageNet's 3×224×224; they take other sizes).
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            Preset::Digits => [1, 8, 8],
            Preset::Fashion | Preset::Resnet => [1, 28, 28],
            Preset::Zoo(_) => [3, 224, 224],
        }
    }

    /// The settings `wgconv train` runs the preset with by default
    /// ([`TrainConfig::default`] for the digits, [`TrainConfig::fashion`]
    /// for the 28x28 models).
    pub fn defaults(self) -> TrainConfig {
        match self {
            Preset::Digits => TrainConfig::default(),
            Preset::Fashion | Preset::Resnet | Preset::Zoo(_) => TrainConfig::fashion(),
        }
    }

    /// Builds the model for its own image shape and 10 classes, with
    /// weights drawn from `seed` ([`Preset::build_for`]).
    pub fn build<B: Backend>(self, backend: B, seed: u64) -> Result<Box<dyn Layer<B>>, Error> {
        self.build_for(backend, seed, self.image_shape(), CLASSES)
    }

    /// Builds the model for images of `[C, H, W]` and `classes` classes,
    /// with weights drawn from `seed` in the order of its layers (each
    /// draws what PyTorch's initialisation draws). Only the first
    /// convolution's input channels and the sizes of the linear layers
    /// after a flatten change with the shape; the image must be large
    /// enough for the model's downsampling.
    pub fn build_for<B: Backend>(
        self,
        backend: B,
        seed: u64,
        image_shape: [usize; 3],
        classes: usize,
    ) -> Result<Box<dyn Layer<B>>, Error> {
        let [c, h, w] = image_shape;
        // The smallest side each model's strides and pools leave above 0.
        let min_side = match self {
            Preset::Digits => 1,
            Preset::Fashion => 4,
            Preset::Resnet => 1,
            Preset::Zoo(z) => z.min_side(),
        };
        if c == 0 || h < min_side || w < min_side || classes < 2 {
            return Err(Error::InvalidParam {
                op: "Preset::build_for",
                param: "image_shape",
                message: format!(
                    "the {} model needs images of at least {min_side}x{min_side} with \
                     channels and 2 classes or more; got {image_shape:?} and {classes} classes \
                     (a transform can resize them: --transform 'resize({min_side})')",
                    self.tag()
                ),
            });
        }
        let init = &mut Init::new(backend, seed);
        let pool = || MaxPool2d(Pool2dParams::window(2));
        let options = ZooOptions {
            num_classes: classes,
            in_channels: c,
            dropout: None,
        };
        let model = match self {
            Preset::Zoo(z) => return z.build(init, &options),
            Preset::Digits => Sequential::new()
                .push(Conv2d::square(init, c, 16, 3, 1, 1, true)?)
                .push(Relu)
                .push(Conv2d::square(init, 16, 32, 3, 2, 1, true)?)
                .push(Relu)
                .push(Flatten)
                .push(Linear::new(
                    init,
                    32 * h.div_ceil(2) * w.div_ceil(2),
                    classes,
                    true,
                )?),
            Preset::Fashion => Sequential::new()
                .push(Conv2d::square(init, c, 32, 3, 1, 1, false)?)
                .push(BatchNorm2d::new(init, 32)?)
                .push(Relu)
                .push(pool())
                .push(Conv2d::square(init, 32, 64, 3, 1, 1, false)?)
                .push(BatchNorm2d::new(init, 64)?)
                .push(Relu)
                .push(pool())
                .push(Flatten)
                .push(Dropout::new(init, 0.25)?)
                .push(Linear::new(init, 64 * (h / 4) * (w / 4), 128, true)?)
                .push(Relu)
                .push(Dropout::new(init, 0.5)?)
                .push(Linear::new(init, 128, classes, true)?),
            Preset::Resnet => Sequential::new()
                .push(Conv2d::square(init, c, 32, 3, 1, 1, false)?)
                .push(BatchNorm2d::new(init, 32)?)
                .push(Relu)
                .push(BasicBlock::new(init, 32, 32, 1)?)
                .push(BasicBlock::new(init, 32, 32, 1)?)
                .push(BasicBlock::new(init, 32, 64, 2)?)
                .push(BasicBlock::new(init, 64, 64, 1)?)
                .push(BasicBlock::new(init, 64, 128, 2)?)
                .push(BasicBlock::new(init, 128, 128, 1)?)
                .push(AdaptiveAvgPool2d::default())
                .push(Flatten)
                .push(Linear::new(init, 128, classes, true)?),
        };
        Ok(Box::new(model))
    }
}

/// The digits CNN ([`Preset::Digits`]).
pub fn digits_model<B: Backend>(backend: B, seed: u64) -> Result<Box<dyn Layer<B>>, Error> {
    Preset::Digits.build(backend, seed)
}

/// How the learning rate moves over a run (resolved to an
/// [`LrSchedule`] over the run's steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The optimizer's rate throughout.
    Constant,
    /// torch's `OneCycleLR` with the optimizer's rate as `max_lr`, over
    /// every step of the run, cycling the momentum (SGD's momentum or
    /// Adam's β1 between 0.85 and 0.95: torch's default).
    OneCycle,
    /// `OneCycleLR(cycle_momentum=False)`: the optimizer's momentum
    /// throughout.
    OneCycleFixedMomentum,
    /// torch's `CosineAnnealingLR` from the optimizer's rate to 0 over
    /// every step of the run.
    Cosine,
}

impl Schedule {
    /// Whether the schedule depends on the run's length (then a resumed
    /// run must keep the checkpoint's epoch count).
    fn spans_the_run(self) -> bool {
        !matches!(self, Schedule::Constant)
    }

    fn resolve(self, base_lr: f32, total_steps: u64) -> LrSchedule {
        match self {
            Schedule::Constant => LrSchedule::Constant,
            Schedule::OneCycle => LrSchedule::one_cycle(base_lr as f64, total_steps),
            Schedule::OneCycleFixedMomentum => {
                LrSchedule::one_cycle(base_lr as f64, total_steps).without_momentum_cycling()
            }
            Schedule::Cosine => LrSchedule::Cosine {
                t_max: total_steps,
                eta_min: 0.0,
            },
        }
    }
}

/// Settings of one training run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// The run's length in epochs (a resumed run's total, not what is left).
    pub epochs: usize,
    pub batch: usize,
    pub optimizer: OptimizerConfig,
    pub schedule: Schedule,
    /// Seeds the split, the initial weights, the batch order and the
    /// transforms' draws.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// The digits defaults.
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch: 32,
            optimizer: OptimizerConfig::Adam(Adam {
                lr: 2e-3,
                ..Adam::default()
            }),
            schedule: Schedule::Constant,
            seed: 1,
        }
    }
}

impl TrainConfig {
    /// The Fashion-MNIST defaults of `wgconv train --data fashion-mnist`:
    /// AdamW, one-cycle without momentum cycling (the recipe whose
    /// accuracy the README reports; torch's default cycling,
    /// [`Schedule::OneCycle`], is not yet measured on it).
    pub fn fashion() -> TrainConfig {
        TrainConfig {
            epochs: 10,
            batch: 128,
            optimizer: OptimizerConfig::Adam(Adam {
                lr: 3e-3,
                weight_decay: 5e-4,
                ..Adam::adamw()
            }),
            schedule: Schedule::OneCycleFixedMomentum,
            seed: 1,
        }
    }
}

/// What one epoch gave.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean of the batch losses (each taken before its update).
    pub train_loss: f32,
    pub test_accuracy: f32,
    /// Wall-clock seconds of the epoch, evaluation included.
    pub seconds: f64,
    /// Training images per second over the epoch's steps.
    pub images_per_second: f64,
    /// The learning rate of the epoch's last step.
    pub lr: f32,
    /// Seconds of the epoch's steps spent computing: forward, backward and
    /// optimizer passes on the devices ([`StepReport`]).
    #[serde(default)]
    pub compute_seconds: f64,
    /// Seconds of the epoch's steps spent moving gradients and weights
    /// between replicas (0 on one device).
    #[serde(default)]
    pub communication_seconds: f64,
    /// Seconds the epoch's steps waited for their batch: near 0 when the
    /// loader keeps ahead of the device.
    #[serde(default)]
    pub data_wait_seconds: f64,
}

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    EpochStart {
        epoch: usize,
        steps: usize,
        images: usize,
    },
    Step {
        epoch: usize,
        step: usize,
        images: usize,
        running_loss: f32,
    },
    /// The epoch's evaluation on the test set, once per batch of `images`
    /// (of `total`), after the epoch's steps and before `EpochEnd`.
    Evaluation {
        epoch: usize,
        images: usize,
        total: usize,
    },
    EpochEnd(EpochReport),
    /// A checkpoint was written after `epoch`.
    Checkpoint {
        epoch: usize,
    },
}

/// Uploads images `[N, C, H, W]` and one-hot targets `[N, classes]`.
pub fn batch_tensors<B: Backend>(b: &B, data: &ImageSet) -> Result<(B::Tensor, B::Tensor), Error> {
    let [c, h, w] = data.image_shape;
    let x = b.tensor(&[data.len(), c, h, w], &data.images)?;
    let t = b.tensor(
        &[data.len(), data.classes],
        &one_hot(&data.labels, data.classes)?,
    )?;
    Ok((x, t))
}

/// Where a run keeps its checkpoints and how far it goes.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Write `checkpoint.safetensors` here after every epoch (atomically).
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint in this folder.
    pub resume: Option<PathBuf>,
    /// Stop after this epoch, as an interrupted run would (the checkpoint
    /// then resumes it).
    pub stop_after: Option<usize>,
    /// The architecture tag recorded in checkpoints (a resume from another
    /// architecture's checkpoint is refused).
    pub model_tag: String,
    /// What a step whose loss is not finite does: stop the run with
    /// [`Error::Diverged`] (the default), or go on.
    pub on_nan: OnNan,
    /// How the training batches are made ahead.
    pub loader: LoaderOptions,
}

/// What [`train`] does when a step's loss is NaN or infinite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnNan {
    /// Stop with [`Error::Diverged`], naming the epoch and step, before
    /// anything of that epoch is written.
    #[default]
    Stop,
    /// Train on (the run's reports show the NaN).
    Continue,
}

/// The file a checkpoint folder holds.
pub fn checkpoint_file(dir: &Path) -> PathBuf {
    dir.join("checkpoint.safetensors")
}

/// The settings a checkpoint must share with the run that resumes it.
fn fingerprint(cfg: &TrainConfig, tag: &str, train: &dyn Dataset) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("model", tag.to_string()),
        ("train_images", train.len().to_string()),
        ("train_data", train.identity()),
        ("batch", cfg.batch.to_string()),
        ("seed", cfg.seed.to_string()),
        ("schedule", format!("{:?}", cfg.schedule)),
        ("optimizer", format!("{:?}", cfg.optimizer)),
    ];
    if cfg.schedule.spans_the_run() {
        f.push(("epochs", cfg.epochs.to_string()));
    }
    f
}

fn checkpoint_error(path: &Path, message: String) -> Error {
    Error::ModelFile {
        path: path.display().to_string(),
        message,
    }
}

/// Accuracy, top-5 accuracy and confusion matrix of a model on a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub accuracy: f32,
    /// The fraction whose true class is among the 5 highest outputs
    /// (ties to the lower class), where there are more than 5 classes.
    pub top5_accuracy: Option<f32>,
    /// `confusion[true class][predicted class]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl Evaluation {
    /// Of the images predicted as class `c`, the fraction that are (NaN
    /// where none is).
    pub fn precision(&self, c: usize) -> f32 {
        let predicted: usize = self.confusion.iter().map(|row| row[c]).sum();
        self.confusion[c][c] as f32 / predicted as f32
    }

    /// Of the images of class `c`, the fraction predicted as such (NaN
    /// where there is none).
    pub fn recall(&self, c: usize) -> f32 {
        let actual: usize = self.confusion[c].iter().sum();
        self.confusion[c][c] as f32 / actual as f32
    }

    fn new(classes: usize) -> Evaluation {
        Evaluation {
            accuracy: 0.0,
            top5_accuracy: None,
            confusion: vec![vec![0; classes]; classes],
        }
    }

    /// Counts a batch's outputs (`labels.len()` rows of `classes`).
    fn add(&mut self, logits: &[f32], labels: &[usize], top5: &mut usize) {
        let classes = self.confusion.len();
        let predicted = argmax_rows(logits, classes);
        for ((row, p), &l) in logits.chunks(classes).zip(&predicted).zip(labels) {
            self.confusion[l][(*p).min(classes - 1)] += 1;
            // Classes scoring above the true one (or equal and lower),
            // as torch.topk ranks them.
            let above = row
                .iter()
                .enumerate()
                .filter(|&(j, &v)| v > row[l] || (v == row[l] && j < l))
                .count();
            *top5 += usize::from(above < 5);
        }
    }

    fn finish(&mut self, top5: usize) {
        let total: usize = self.confusion.iter().flatten().sum();
        let right: usize = (0..self.confusion.len())
            .map(|i| self.confusion[i][i])
            .sum();
        self.accuracy = right as f32 / total.max(1) as f32;
        if self.confusion.len() > 5 {
            self.top5_accuracy = Some(top5 as f32 / total.max(1) as f32);
        }
    }
}

/// Images per forward pass when evaluating (bounds the activations' memory).
pub const EVAL_BATCH: usize = 500;

/// The async core of [`evaluate`]: the model on every batch, in eval
/// mode, then its mode restored.
async fn evaluate_batches<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    batches: &mut Batches<'_>,
    classes: usize,
    on_batch: &mut dyn FnMut(usize),
) -> Result<Evaluation, Error> {
    let was_training = model.is_training();
    model.eval();
    let mut evaluation = Evaluation::new(classes);
    let mut top5 = 0;
    let result = async {
        while let Some(part) = batches.next() {
            let part = part?;
            let (x, _) = batch_tensors(b, &part)?;
            let logits = b.to_vec_async(&predict(b, model, &x)?).await?;
            evaluation.add(&logits, &part.labels, &mut top5);
            on_batch(part.labels.len());
        }
        Ok::<_, Error>(())
    }
    .await;
    if was_training {
        model.train();
    }
    result?;
    evaluation.finish(top5);
    Ok(evaluation)
}

/// Classifies `data` in eval mode (torch's `model.eval()`: running batch
/// statistics, no dropout; nothing recorded) in batches of
/// [`EVAL_BATCH`] made by the loader's default workers, then restores the
/// model's mode.
#[cfg(not(target_arch = "wasm32"))]
pub fn evaluate<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    data: &dyn Dataset,
) -> Result<Evaluation, Error> {
    evaluate_with_progress(b, model, data, |_| {})
}

/// [`evaluate`], calling `on_batch` with the number of images of each
/// batch once it is classified (a progress bar's increments).
#[cfg(not(target_arch = "wasm32"))]
pub fn evaluate_with_progress<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    data: &dyn Dataset,
    mut on_batch: impl FnMut(usize),
) -> Result<Evaluation, Error> {
    let all: Vec<usize> = (0..data.len()).collect();
    std::thread::scope(|s| {
        let mut batches = Batches::spawn(s, data, &all, EVAL_BATCH, 0, LoaderOptions::default());
        let classes = data.classes();
        pollster::block_on(evaluate_batches(
            b,
            model,
            &mut batches,
            classes,
            &mut on_batch,
        ))
    })
}

/// [`evaluate`] without blocking (what a browser awaits): the batches
/// are made as they are needed, on the calling thread.
pub async fn evaluate_async<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    data: &dyn Dataset,
) -> Result<Evaluation, Error> {
    let all: Vec<usize> = (0..data.len()).collect();
    let mut batches = Batches::inline(data, &all, EVAL_BATCH, 0);
    evaluate_batches(b, model, &mut batches, data.classes(), &mut |_| {}).await
}

/// Fraction of `data` the model classifies correctly (in eval mode).
#[cfg(not(target_arch = "wasm32"))]
pub fn accuracy<B: Backend, M: Forward<B> + ?Sized>(
    b: &B,
    model: &mut M,
    data: &dyn Dataset,
) -> Result<f32, Error> {
    Ok(evaluate(b, model, data)?.accuracy)
}

/// What [`train`] drives: one model on one backend (a `(backend, model)`
/// pair) or data-parallel replicas of it ([`DataParallel`]).
#[allow(async_fn_in_trait)]
pub trait Trainer {
    type Backend: Backend;
    type Model: Forward<Self::Backend>;
    /// The model that evaluates and checkpoints (a data-parallel run's
    /// primary replica), with its backend.
    fn primary(&mut self) -> (&Self::Backend, &mut Self::Model);
    /// Whether this process evaluates and writes checkpoints (false on the
    /// ranks of an MPI job other than 0).
    fn is_primary(&self) -> bool {
        true
    }
    /// Into how many shards each batch is split (1 on one device).
    fn shards(&self) -> usize {
        1
    }
    /// One optimizer step on `batch`; the loss is the batch's before it.
    fn step(
        &mut self,
        batch: &ImageSet,
        optimizer: &mut Optimizer<Self::Backend>,
    ) -> Result<StepReport, Error>;
    /// [`Trainer::step`] awaiting the loss instead of blocking on it
    /// (what the epoch loop calls; by default the blocking step).
    async fn step_async(
        &mut self,
        batch: &ImageSet,
        optimizer: &mut Optimizer<Self::Backend>,
    ) -> Result<StepReport, Error> {
        self.step(batch, optimizer)
    }
    /// After the primary has loaded a checkpoint: its state to every
    /// replica, and rank 0's `values` (the run's position) to every rank.
    fn share_resumed(&mut self, _values: &mut [u64]) -> Result<(), Error> {
        Ok(())
    }
}

impl<T: Trainer + ?Sized> Trainer for &mut T {
    type Backend = T::Backend;
    type Model = T::Model;
    fn primary(&mut self) -> (&T::Backend, &mut T::Model) {
        (**self).primary()
    }
    fn is_primary(&self) -> bool {
        (**self).is_primary()
    }
    fn shards(&self) -> usize {
        (**self).shards()
    }
    fn step(
        &mut self,
        batch: &ImageSet,
        optimizer: &mut Optimizer<T::Backend>,
    ) -> Result<StepReport, Error> {
        (**self).step(batch, optimizer)
    }
    async fn step_async(
        &mut self,
        batch: &ImageSet,
        optimizer: &mut Optimizer<T::Backend>,
    ) -> Result<StepReport, Error> {
        (**self).step_async(batch, optimizer).await
    }
    fn share_resumed(&mut self, values: &mut [u64]) -> Result<(), Error> {
        (**self).share_resumed(values)
    }
}

impl<B: Backend, M: Forward<B>> Trainer for (B, M) {
    type Backend = B;
    type Model = M;
    fn primary(&mut self) -> (&B, &mut M) {
        (&self.0, &mut self.1)
    }
    fn step(
        &mut self,
        batch: &ImageSet,
        optimizer: &mut Optimizer<B>,
    ) -> Result<StepReport, Error> {
        let start = web_time::Instant::now();
        let (b, model) = (&self.0, &mut self.1);
        let (x, t) = batch_tensors(b, batch)?;
        let loss = train_step(b, model, &x, &t, Loss::SoftmaxCrossEntropy, optimizer, true)?
            .unwrap_or(f32::NAN);
        Ok(StepReport {
            loss,
            compute_seconds: start.elapsed().as_secs_f64(),
            communication_seconds: 0.0,
        })
    }
    async fn step_async(
        &mut self,
        batch: &ImageSet,
        optimizer: &mut Optimizer<B>,
    ) -> Result<StepReport, Error> {
        let start = web_time::Instant::now();
        let (b, model) = (&self.0, &mut self.1);
        let (x, t) = batch_tensors(b, batch)?;
        let loss =
            train_step_deferred(b, model, &x, &t, Loss::SoftmaxCrossEntropy, optimizer, true)?;
        let loss = match loss {
            Some(l) => b.to_vec_async(&l).await?.first().copied(),
            None => None,
        };
        Ok(StepReport {
            loss: loss.unwrap_or(f32::NAN),
            compute_seconds: start.elapsed().as_secs_f64(),
            communication_seconds: 0.0,
        })
    }
}

impl<B, M> Trainer for DataParallel<B, M>
where
    B: Backend + Send,
    M: Forward<B> + Send,
{
    type Backend = B;
    type Model = M;
    fn primary(&mut self) -> (&B, &mut M) {
        DataParallel::primary(self)
    }
    fn is_primary(&self) -> bool {
        DataParallel::is_primary(self)
    }
    fn shards(&self) -> usize {
        DataParallel::shards(self)
    }
    fn step(
        &mut self,
        batch: &ImageSet,
        optimizer: &mut Optimizer<B>,
    ) -> Result<StepReport, Error> {
        let [c, h, w] = batch.image_shape;
        let n = batch.len();
        self.train_step(
            &batch.images,
            &[n, c, h, w],
            &one_hot(&batch.labels, batch.classes)?,
            &[n, batch.classes],
            Loss::SoftmaxCrossEntropy,
            optimizer,
        )
    }
    fn share_resumed(&mut self, values: &mut [u64]) -> Result<(), Error> {
        self.sync_from_primary()?;
        self.broadcast_u64(values)
    }
}

/// A training run, epoch by epoch: the one loop that `wgconv train`,
/// [`train`] and the browser page drive. It holds the trainer, the
/// optimizer with its schedule, the data-order generator and the reports;
/// [`Run::new`] resumes from a checkpoint, and each epoch shuffles the
/// training images, steps through their batches (made ahead by the
/// loader), evaluates and checkpoints.
pub struct Run<'d, T: Trainer> {
    pub trainer: T,
    train: &'d dyn Dataset,
    test: &'d dyn Dataset,
    cfg: TrainConfig,
    options: RunOptions,
    optimizer: Optimizer<T::Backend>,
    schedule: LrSchedule,
    base_lr: f32,
    rng: Rng,
    reports: Vec<EpochReport>,
    steps_per_epoch: usize,
    fingerprint: Vec<(&'static str, String)>,
    next_epoch: usize,
    last_epoch: usize,
    order: Vec<usize>,
}

fn invalid(param: &'static str, message: String) -> Error {
    Error::InvalidParam {
        op: "train",
        param,
        message,
    }
}

impl<'d, T: Trainer> Run<'d, T> {
    /// Checks the settings against the data and, where `options.resume`
    /// says so, restores the checkpoint (parameters, buffers, optimizer
    /// state, schedule position, data-order generator, reports).
    pub fn new(
        mut trainer: T,
        train: &'d dyn Dataset,
        test: &'d dyn Dataset,
        cfg: &TrainConfig,
        options: &RunOptions,
    ) -> Result<Run<'d, T>, Error> {
        if cfg.batch == 0 || cfg.epochs == 0 {
            let param = if cfg.batch == 0 { "batch" } else { "epochs" };
            return Err(invalid(param, "must be at least 1".into()));
        }
        for (set, what, verb) in [(train, "training", "train on"), (test, "test", "evaluate")] {
            if set.is_empty() {
                return Err(invalid(
                    "data",
                    format!("the {what} set holds no image: nothing to {verb}"),
                ));
            }
        }
        let shape = train.image_shape().ok_or_else(|| {
            invalid(
                "data",
                "the training images have different sizes: give a transform that makes them \
                 one (resize((H,W)), or resize(S) and center_crop(S))"
                    .into(),
            )
        })?;
        if test.image_shape() != Some(shape) || test.classes() != train.classes() {
            return Err(invalid(
                "data",
                format!(
                    "the test images ({:?}, {} classes) are not of the training images' shape \
                     {shape:?} and {} classes",
                    test.image_shape(),
                    test.classes(),
                    train.classes()
                ),
            ));
        }
        if cfg.batch < trainer.shards() {
            return Err(invalid(
                "batch",
                format!(
                    "{} is smaller than the {} shards it is split into (one per replica): \
                     give a batch of at least {1} or fewer devices",
                    cfg.batch,
                    trainer.shards()
                ),
            ));
        }
        let mut optimizer = Optimizer::new(cfg.optimizer)?;
        let base_lr = optimizer.lr();
        let steps_per_epoch = train.len().div_ceil(cfg.batch);
        let total_steps = cfg
            .epochs
            .checked_mul(steps_per_epoch)
            .and_then(|t| u64::try_from(t).ok())
            .ok_or_else(|| {
                invalid(
                    "epochs",
                    format!(
                        "{} epochs of {steps_per_epoch} steps are more steps than can be counted",
                        cfg.epochs
                    ),
                )
            })?;
        let schedule = cfg.schedule.resolve(base_lr, total_steps);
        schedule.validate()?;
        let mut rng = Rng::new(cfg.seed ^ 0x05ee_d0fb_a7c4);
        let mut reports: Vec<EpochReport> = Vec::new();
        let fingerprint = fingerprint(cfg, &options.model_tag, train);
        if let (Some(dir), true) = (&options.resume, trainer.is_primary()) {
            let (state, saved) = resume(&mut trainer, dir, &fingerprint, &mut optimizer, cfg)?;
            rng = state;
            reports = saved;
        }
        let mut first_epoch = 1;
        if options.resume.is_some() {
            let mut position = [rng.state(), reports.len() as u64];
            trainer.share_resumed(&mut position)?;
            rng = Rng::new(position[0]);
            first_epoch = position[1] as usize + 1;
        }
        trainer.primary().1.train();
        Ok(Run {
            trainer,
            train,
            test,
            cfg: *cfg,
            options: options.clone(),
            optimizer,
            schedule,
            base_lr,
            rng,
            reports,
            steps_per_epoch,
            fingerprint,
            next_epoch: first_epoch,
            last_epoch: options.stop_after.unwrap_or(cfg.epochs).min(cfg.epochs),
            order: (0..train.len()).collect(),
        })
    }

    /// Whether every epoch asked for has run.
    pub fn is_done(&self) -> bool {
        self.next_epoch > self.last_epoch
    }

    /// The reports of the epochs run so far (a resumed run's included).
    pub fn reports(&self) -> &[EpochReport] {
        &self.reports
    }

    pub fn into_reports(self) -> Vec<EpochReport> {
        self.reports
    }

    /// Shuffles the order for the next epoch; returns the seed of its
    /// images' transforms (drawn only where the training set is random,
    /// so a run without augmentation draws what it always did).
    fn start_epoch(&mut self) -> u64 {
        // Each epoch shuffles the identity order, so the order depends
        // only on the generator's state at the epoch's start.
        self.order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        self.rng.shuffle(&mut self.order);
        if self.train.is_random() {
            self.rng.next_u64()
        } else {
            0
        }
    }

    /// The next epoch, its batches made ahead by `options.loader`'s
    /// worker threads; blocks until it is done.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn epoch(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<EpochReport, Error> {
        let seed = self.start_epoch();
        let order = std::mem::take(&mut self.order);
        let (train, batch, loader) = (self.train, self.cfg.batch, self.options.loader);
        let result = std::thread::scope(|s| {
            let mut batches = Batches::spawn(s, train, &order, batch, seed, loader);
            pollster::block_on(self.run_epoch(&mut batches, progress, &|| false))
        });
        self.order = order;
        result
    }

    /// In a browser nothing may block: [`Run::epoch_async`] instead.
    #[cfg(target_arch = "wasm32")]
    pub fn epoch(&mut self, _progress: &mut dyn FnMut(Progress)) -> Result<EpochReport, Error> {
        Err(Error::Blocking { call: "Run::epoch" })
    }

    /// The next epoch without blocking (what a browser awaits): batches
    /// are made on this thread as they are needed, and `stop` is asked
    /// after every step (a stopped epoch is evaluated and reported but
    /// not checkpointed, and ends the run).
    pub async fn epoch_async(
        &mut self,
        progress: &mut dyn FnMut(Progress),
        stop: &dyn Fn() -> bool,
    ) -> Result<EpochReport, Error> {
        let seed = self.start_epoch();
        let order = std::mem::take(&mut self.order);
        let mut batches = Batches::inline(self.train, &order, self.cfg.batch, seed);
        let result = self.run_epoch(&mut batches, progress, stop).await;
        self.order = order;
        result
    }

    async fn run_epoch(
        &mut self,
        batches: &mut Batches<'_>,
        progress: &mut dyn FnMut(Progress),
        stop: &dyn Fn() -> bool,
    ) -> Result<EpochReport, Error> {
        let epoch = self.next_epoch;
        if self.is_done() {
            return Err(invalid(
                "epochs",
                format!("the run's {} epochs have run", self.last_epoch),
            ));
        }
        let start = web_time::Instant::now();
        progress(Progress::EpochStart {
            epoch,
            steps: self.steps_per_epoch,
            images: self.train.len(),
        });
        let (mut total, mut compute, mut communication, mut wait) = (0.0f64, 0.0, 0.0, 0.0);
        let (mut lr, mut steps, mut images) = (self.base_lr, 0usize, 0usize);
        let mut stopped = false;
        loop {
            let waited = web_time::Instant::now();
            let Some(batch) = batches.next() else { break };
            let batch = batch?;
            wait += waited.elapsed().as_secs_f64();
            let t = ((epoch - 1) * self.steps_per_epoch + steps) as u64;
            lr = self.schedule.lr(self.base_lr as f64, t)? as f32;
            self.optimizer.set_lr(lr)?;
            if let Some(m) = self.schedule.momentum(t)? {
                self.optimizer.set_momentum(m as f32)?;
            }
            let report = self.trainer.step_async(&batch, &mut self.optimizer).await?;
            steps += 1;
            images += batch.len();
            let loss = report.loss;
            if !loss.is_finite() && self.options.on_nan == OnNan::Stop {
                return Err(Error::Diverged {
                    epoch,
                    step: steps,
                    loss,
                });
            }
            compute += report.compute_seconds;
            communication += report.communication_seconds;
            total += loss as f64;
            progress(Progress::Step {
                epoch,
                step: steps,
                images: batch.len(),
                running_loss: (total / steps as f64) as f32,
            });
            if stop() {
                stopped = true;
                break;
            }
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let test_accuracy = if self.trainer.is_primary() {
            let (b, m) = self.trainer.primary();
            let all: Vec<usize> = (0..self.test.len()).collect();
            let mut test = Batches::inline(self.test, &all, EVAL_BATCH, 0);
            let total = self.test.len();
            let mut on_batch = |images| {
                progress(Progress::Evaluation {
                    epoch,
                    images,
                    total,
                })
            };
            evaluate_batches(b, m, &mut test, self.test.classes(), &mut on_batch)
                .await?
                .accuracy
        } else {
            f32::NAN
        };
        let report = EpochReport {
            epoch,
            train_loss: (total / steps.max(1) as f64) as f32,
            test_accuracy,
            seconds: start.elapsed().as_secs_f64(),
            images_per_second: images as f64 / train_seconds.max(1e-9),
            lr,
            compute_seconds: compute,
            communication_seconds: communication,
            data_wait_seconds: wait,
        };
        progress(Progress::EpochEnd(report));
        self.reports.push(report);
        self.next_epoch += 1;
        if stopped {
            self.last_epoch = epoch;
            return Ok(report);
        }
        if let (Some(dir), true) = (&self.options.checkpoint, self.trainer.is_primary()) {
            std::fs::create_dir_all(dir).map_err(|e| checkpoint_error(dir, e.to_string()))?;
            let keys: Vec<String> = self
                .fingerprint
                .iter()
                .map(|(k, _)| format!("run.{k}"))
                .collect();
            let mut meta: Vec<(&str, String)> = Vec::new();
            for ((_, v), k) in self.fingerprint.iter().zip(&keys) {
                meta.push((k.as_str(), v.clone()));
            }
            meta.push(("run.rng", self.rng.state().to_string()));
            meta.push((
                "run.reports",
                serde_json::to_string(&self.reports)
                    .map_err(|e| checkpoint_error(dir, e.to_string()))?,
            ));
            let (b, m) = self.trainer.primary();
            io::save_checkpoint(b, &checkpoint_file(dir), m, &self.optimizer, &meta)?;
            progress(Progress::Checkpoint { epoch });
        }
        Ok(report)
    }
}

/// Restores a checkpoint into the primary: the run's settings are checked
/// first, so a checkpoint of another model or data set is named as such,
/// not by the first tensor that does not fit. Returns the data-order
/// generator and the reports.
fn resume<T: Trainer>(
    trainer: &mut T,
    dir: &Path,
    fingerprint: &[(&'static str, String)],
    optimizer: &mut Optimizer<T::Backend>,
    cfg: &TrainConfig,
) -> Result<(Rng, Vec<EpochReport>), Error> {
    let path = checkpoint_file(dir);
    let (_, saved) = io::read_tensors(&path)?;
    for (key, ours) in fingerprint {
        match saved.get(&format!("run.{key}")) {
            Some(theirs) if theirs != ours => {
                return Err(checkpoint_error(
                    &path,
                    format!("the checkpoint's {key} is {theirs}, this run's is {ours}"),
                ))
            }
            _ => {}
        }
    }
    let (b, m) = trainer.primary();
    let meta = io::load_checkpoint(b, &path, m, optimizer)?;
    for (key, ours) in fingerprint {
        let theirs = meta.get(&format!("run.{key}")).map(String::as_str);
        if theirs != Some(ours.as_str()) {
            return Err(checkpoint_error(
                &path,
                format!(
                    "the checkpoint's {key} is {}, this run's is {ours}",
                    theirs.unwrap_or("not recorded")
                ),
            ));
        }
    }
    let parse = |key: &str| -> Result<u64, Error> {
        meta.get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| checkpoint_error(&path, format!("no valid {key}")))
    };
    let rng = Rng::new(parse("run.rng")?);
    let reports: Vec<EpochReport> =
        serde_json::from_str(meta.get("run.reports").map_or("", String::as_str))
            .map_err(|e| checkpoint_error(&path, format!("run.reports: {e}")))?;
    if reports.len() > cfg.epochs {
        return Err(checkpoint_error(
            &path,
            format!(
                "holds {} epochs, more than the {} asked for",
                reports.len(),
                cfg.epochs
            ),
        ));
    }
    Ok((rng, reports))
}

/// Trains `model` for `cfg.epochs` epochs of shuffled mini-batches (with
/// the schedule stepped every batch), evaluating on `test` after each and
/// checkpointing as `run` says: [`Run`] driven to its end. A resumed run
/// restores the parameters, batch-norm buffers, optimizer state, schedule
/// position, data-order generator and reports, so it ends bit-identical
/// to a run that was never stopped. Returns every epoch's report (the
/// resumed ones included).
///
/// `model` is one `(backend, model)` pair or a [`DataParallel`] set of
/// replicas; then only the primary process evaluates (the others report a
/// test accuracy of NaN) and writes checkpoints, and a resumed run's
/// checkpoint is read by the primary alone and sent to the others.
#[cfg(not(target_arch = "wasm32"))]
pub fn train<T: Trainer>(
    model: &mut T,
    train: &dyn Dataset,
    test: &dyn Dataset,
    cfg: &TrainConfig,
    run: &RunOptions,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<EpochReport>, Error> {
    let mut r = Run::new(model, train, test, cfg, run)?;
    while !r.is_done() {
        r.epoch(&mut progress)?;
    }
    Ok(r.into_reports())
}
