//! The digits experiment behind `wgconv train` and `wgconv eval`, shared
//! with the tests: loading the data set, the fixed-seed split, the model,
//! and the epoch loop. Generic over the [`Backend`], so `--cpu` runs the
//! very same training on the CPU reference.

use crate::nn::{
    argmax_rows, one_hot, Backend, LayerKind, Loss, Optimizer, OptimizerConfig, Sequential,
};
use crate::rng::Rng;
use crate::{Adam, Conv2dParams, Error};
use std::io::Read;
use std::path::Path;

/// Pixels per image (8×8) and classes (digits 0–9).
pub const PIXELS: usize = 64;
pub const CLASSES: usize = 10;
/// Images held out for testing (of 1797): 1437 train / 360 test.
pub const TEST_IMAGES: usize = 360;

/// The data set shipped in the repository (see data/README.md).
pub fn default_data_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")
}

/// Labelled 8×8 images, pixels scaled to [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Digits {
    /// `len() × 64` values, row-major per image.
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
}

impl Digits {
    /// Reads the gzip-compressed CSV (64 pixel counts 0..=16, then the label).
    pub fn load(path: &Path) -> Result<Digits, Error> {
        let bad = |message: String| Error::ModelFile {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .map_err(|e| bad(format!("not a gzip CSV: {e}")))?;
        Self::parse(&text).map_err(bad)
    }

    /// Parses the CSV text (one image per line).
    pub fn parse(text: &str) -> Result<Digits, String> {
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
                let v: u8 =
                    f.parse().ok().filter(|v| *v <= 16).ok_or_else(|| {
                        format!("line {}: pixel {f:?} is not in 0..=16", line_no + 1)
                    })?;
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
        Ok(Digits { images, labels })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Digits {
        Digits {
            images: indices
                .iter()
                .flat_map(|&i| self.images[i * PIXELS..(i + 1) * PIXELS].iter().copied())
                .collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// A fixed-seed shuffle split into (train, test) with `test` images held out.
    pub fn split(&self, seed: u64, test: usize) -> (Digits, Digits) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        let test = test.min(self.len());
        let cut = self.len() - test;
        (self.subset(&order[..cut]), self.subset(&order[cut..]))
    }
}

/// The CNN `wgconv train` fits: conv 3×3 (1→16, pad 1) → ReLU → conv 3×3
/// stride 2 (16→32, pad 1) → ReLU → flatten (32·4·4) → linear (512→10),
/// trained with softmax cross-entropy.
pub fn digits_model<B: Backend>(backend: B, seed: u64) -> Result<Sequential<B>, Error> {
    let mut rng = Rng::new(seed);
    Sequential::new(backend)
        .push(
            LayerKind::Conv2d {
                in_channels: 1,
                out_channels: 16,
                kernel: [3, 3],
                params: Conv2dParams::square(1, 1),
            },
            &mut rng,
        )?
        .push(LayerKind::Relu, &mut rng)?
        .push(
            LayerKind::Conv2d {
                in_channels: 16,
                out_channels: 32,
                kernel: [3, 3],
                params: Conv2dParams::square(2, 1),
            },
            &mut rng,
        )?
        .push(LayerKind::Relu, &mut rng)?
        .push(LayerKind::Flatten, &mut rng)?
        .push(
            LayerKind::Linear {
                in_features: 32 * 4 * 4,
                out_features: CLASSES,
            },
            &mut rng,
        )
}

/// Settings of one training run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub optimizer: OptimizerConfig,
    /// Seeds the split, the initial weights and the batch order.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch: 32,
            optimizer: OptimizerConfig::Adam(Adam {
                lr: 2e-3,
                ..Adam::default()
            }),
            seed: 1,
        }
    }
}

/// What one epoch gave.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean of the batch losses (each taken before its update).
    pub train_loss: f32,
    pub test_accuracy: f32,
    pub seconds: f64,
}

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    EpochStart {
        epoch: usize,
        steps: usize,
    },
    Step {
        epoch: usize,
        step: usize,
        running_loss: f32,
    },
    EpochEnd(EpochReport),
}

/// Uploads images `[N, 1, 8, 8]` and one-hot targets `[N, 10]`.
pub fn batch_tensors<B: Backend>(b: &B, data: &Digits) -> Result<(B::Tensor, B::Tensor), Error> {
    let x = b.tensor(&[data.len(), 1, 8, 8], &data.images)?;
    let t = b.tensor(&[data.len(), CLASSES], &one_hot(&data.labels, CLASSES)?)?;
    Ok((x, t))
}

/// Fraction of `data` the model classifies correctly.
pub fn accuracy<B: Backend>(model: &mut Sequential<B>, data: &Digits) -> Result<f32, Error> {
    let b = model.backend().clone();
    let (x, _) = batch_tensors(&b, data)?;
    let logits = model.forward(&x)?;
    let predicted = argmax_rows(&b.to_vec(&logits)?, CLASSES);
    let right = predicted
        .iter()
        .zip(&data.labels)
        .filter(|(p, l)| p == l)
        .count();
    Ok(right as f32 / data.len() as f32)
}

/// Trains `model` for `cfg.epochs` epochs of shuffled mini-batches,
/// measuring test accuracy after each. The loss of every step is read back
/// for the running average (one small readback per step, after the step's
/// single submission).
pub fn train<B: Backend>(
    model: &mut Sequential<B>,
    train: &Digits,
    test: &Digits,
    cfg: &TrainConfig,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<EpochReport>, Error> {
    if cfg.batch == 0 || cfg.epochs == 0 {
        return Err(Error::InvalidParam {
            op: "train",
            param: if cfg.batch == 0 { "batch" } else { "epochs" },
            message: "must be at least 1".into(),
        });
    }
    let b = model.backend().clone();
    let mut optimizer = Optimizer::new(cfg.optimizer)?;
    let mut rng = Rng::new(cfg.seed ^ 0x05ee_d0fb_a7c4);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut reports = Vec::new();
    for epoch in 1..=cfg.epochs {
        let start = std::time::Instant::now();
        rng.shuffle(&mut order);
        let steps = order.len().div_ceil(cfg.batch);
        progress(Progress::EpochStart { epoch, steps });
        let mut total = 0.0f64;
        for (step, chunk) in order.chunks(cfg.batch).enumerate() {
            let (x, t) = batch_tensors(&b, &train.subset(chunk))?;
            let loss = model
                .train_step(&x, &t, Loss::SoftmaxCrossEntropy, &mut optimizer, true)?
                .unwrap_or(f32::NAN);
            total += loss as f64;
            progress(Progress::Step {
                epoch,
                step: step + 1,
                running_loss: (total / (step + 1) as f64) as f32,
            });
        }
        let report = EpochReport {
            epoch,
            train_loss: (total / steps as f64) as f32,
            test_accuracy: accuracy(model, test)?,
            seconds: start.elapsed().as_secs_f64(),
        };
        progress(Progress::EpochEnd(report));
        reports.push(report);
    }
    Ok(reports)
}
