//! The training benchmark (`wgconv bench --suite train`): whole training
//! steps of the preset models at their default batch, timed as the
//! training loop runs them (upload the batch, forward, loss, backward,
//! optimizer, read the loss back), then one profile of the same steps
//! through [`Profiled`] that splits a step by layer and by op kind, and a
//! copy kernel's bandwidth on the same adapter as the yardstick of the
//! memory-bound kernels.
//!
//! The non-GEMM share is `1 − GEMM time / step time`: everything that is
//! not a convolution or linear layer's GEMM (batch norm, pooling,
//! activations, loss, optimizer) and the submission overhead around it.

use crate::nn::{BackendBase, ModuleExt, OpTime, Optimizer, Profiled};
use crate::rng::Rng;
use crate::train::{ImageSet, Preset, Progress, Run, RunOptions, Schedule, TrainConfig, Trainer};
use crate::{Error, Gpu, Tensor};
use serde::Serialize;
use web_time::Instant;

/// How many steps to run.
#[derive(Debug, Clone, Copy)]
pub struct TrainBenchOptions {
    /// Untimed steps first (pipelines compile, buffers fill the pool).
    pub warmup: usize,
    /// Timed steps (the median is reported).
    pub steps: usize,
    /// Profiled steps, after one untimed profiled step.
    pub profiled: usize,
}

impl Default for TrainBenchOptions {
    fn default() -> Self {
        TrainBenchOptions {
            warmup: 2,
            steps: 10,
            profiled: 5,
        }
    }
}

/// One row of a profile: a layer (or the loss, or the optimizer) or an op
/// kind, with its time per step and share of the step.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileRow {
    /// `"1 BatchNorm2d"`, `"4.conv1 Conv2d"`, `"loss"`, `"optimizer"`
    /// (the module's path and class); or the op's name.
    pub name: String,
    /// Milliseconds per step (mean over the profiled steps).
    pub ms: f64,
    /// `ms` over the unprofiled step's median.
    pub share: f64,
    /// Of `ms`, the GEMMs' part (layer rows).
    pub gemm_ms: f64,
    /// The least bytes over the time (memory-bound op rows; 0 for GEMMs).
    pub gbps: f64,
}

/// The result for one model on one adapter (one JSON object).
#[derive(Debug, Clone, Serialize)]
pub struct TrainBench {
    pub model: &'static str,
    pub adapter: String,
    pub batch: usize,
    pub parameters: usize,
    pub steps: usize,
    pub step_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub images_per_second: f64,
    /// `"gpu timestamps"` or `"wall clock"`: how the profile was timed.
    pub profile_timer: &'static str,
    /// Profiled steps (each run between a timed step and a copy sample).
    pub profiled_steps: usize,
    /// GEMM time per step, from the profile.
    pub gemm_ms: f64,
    /// The median over the profiled steps of `1 − GEMM time / the time of
    /// the timed step just before it`: everything but the GEMMs, host work
    /// and submission included.
    pub non_gemm_share: f64,
    /// Profiled time of every op per step, summed, over `step_ms`
    /// (below 1: the rest of the step is submission and host work).
    pub profiled_share: f64,
    /// The copy kernel's bandwidth (read + write) on this adapter: the
    /// median of one sample after each profiled step.
    pub copy_gbps: f64,
    /// All memory-bound ops together: their least bytes over their time.
    pub memory_bound_gbps: f64,
    /// The median over the profiled steps of the step's memory-bound
    /// GB/s over the copy sample right after it.
    pub memory_bound_vs_copy: f64,
    pub by_layer: Vec<ProfileRow>,
    pub by_op: Vec<ProfileRow>,
    /// Floats of parameters and buffers rank 0 broadcasts every step.
    pub state_floats: usize,
    /// Data-parallel projection from this step time ([`scaling`]).
    pub scaling: Vec<ScalingRow>,
}

/// Link speeds of the projection, in Gb/s.
pub const LINKS_GBIT: [f64; 2] = [10.0, 100.0];
/// GPU counts of the projection.
pub const SCALING_GPUS: [usize; 6] = [2, 4, 8, 16, 32, 64];

/// One GPU count of the data-parallel projection, at each of
/// [`LINKS_GBIT`].
#[derive(Debug, Clone, Serialize)]
pub struct ScalingRow {
    pub gpus: usize,
    /// wgconv's exchange per step (ms): gather to rank 0, then broadcast.
    pub exchange_ms: Vec<f64>,
    /// `step / (step + exchange)`: weak scaling (each GPU keeps the batch).
    pub efficiency: Vec<f64>,
    /// The same with a ring all-reduce (NCCL's, DDP's) instead.
    pub ring_efficiency: Vec<f64>,
}

/// What a step of data-parallel training over `gpus` costs in exchange and
/// efficiency, from a model of `params` parameters and `state` floats of
/// weights and buffers and a measured single-GPU `step_ms`, with no
/// overlap of exchange and compute and no latency term (the bandwidth
/// bound). wgconv's exchange ([`crate::nn::DataParallel`]): rank 0's link
/// receives every other rank's gradient, `(N−1)·4P` bytes, then sends the
/// weights down a binomial tree, `⌈log2 N⌉·4S` bytes. A ring all-reduce
/// moves `2(N−1)/N·4P` bytes over every link.
pub fn scaling(params: usize, state: usize, step_ms: f64) -> Vec<ScalingRow> {
    SCALING_GPUS
        .iter()
        .map(|&n| {
            let grad = 4.0 * params as f64;
            let ours = (n - 1) as f64 * grad + (n as f64).log2().ceil() * 4.0 * (state + 1) as f64;
            let ring = 2.0 * (n - 1) as f64 / n as f64 * grad;
            let ms = |bytes: f64, gbit: f64| bytes * 8.0 / (gbit * 1e9) * 1e3;
            let exchange_ms: Vec<f64> = LINKS_GBIT.iter().map(|&g| ms(ours, g)).collect();
            ScalingRow {
                gpus: n,
                efficiency: exchange_ms
                    .iter()
                    .map(|e| step_ms / (step_ms + e))
                    .collect(),
                ring_efficiency: LINKS_GBIT
                    .iter()
                    .map(|&g| step_ms / (step_ms + ms(ring, g)))
                    .collect(),
                exchange_ms,
            }
        })
        .collect()
}

/// The preset's short name (`digits`, `fashion`, `resnet`, or
/// torchvision's: `resnet18`, ...).
pub fn preset_name(p: Preset) -> &'static str {
    match p {
        Preset::Digits => "digits",
        Preset::Fashion => "fashion",
        Preset::Resnet => "resnet",
        Preset::Zoo(z) => z.name(),
    }
}

/// `count` seeded random images of the preset's shape with labels
/// cycling through the classes.
fn random_images(preset: Preset, count: usize) -> Result<ImageSet, Error> {
    let [c, h, w] = preset.image_shape();
    let mut rng = Rng::new(7);
    let labels: Vec<usize> = (0..count).map(|i| (i * 7 + 3) % 10).collect();
    ImageSet::new(rng.floats(count * c * h * w), labels, [c, h, w], 10)
}

/// Times `preset`'s training steps at batch `cfg.batch` with `cfg`'s
/// optimizer (constant rate) on `gpu` as the training loop runs them:
/// one epoch of [`Run`] over random images, each step timed from the end
/// of the one before (so the wait for the loader's batch, the upload,
/// the step and the loss read-back are in it). After each timed step the
/// progress callback runs one profiled step of a twin model and a copy
/// sample, outside the timing.
pub fn bench_training(
    gpu: &Gpu,
    preset: Preset,
    cfg: &TrainConfig,
    opts: &TrainBenchOptions,
) -> Result<TrainBench, Error> {
    let profiled = opts.profiled.max(1);
    let timed = opts.steps.max(profiled);
    let data = random_images(preset, cfg.batch * (opts.warmup + timed))?;
    let test = data.first(1);
    let host_batch = data.first(cfg.batch);
    let prof = Profiled::new(gpu.clone());
    let mut twin = (prof.clone(), preset.build(prof.clone(), cfg.seed)?);
    twin.1.train();
    let mut popt = Optimizer::new(cfg.optimizer)?;
    twin.step(&host_batch, &mut popt)?;
    prof.take();
    let copy_src = gpu.zeros(&[COPY_ELEMS])?;
    copy_ms(gpu, &copy_src)?;

    let one_epoch = TrainConfig {
        epochs: 1,
        schedule: Schedule::Constant,
        ..*cfg
    };
    let model = preset.build(gpu.clone(), cfg.seed)?;
    let mut run = Run::new(
        (gpu.clone(), model),
        &data,
        &test,
        &one_epoch,
        &RunOptions::default(),
    )?;
    // Each profiled step runs right after a timed one and before a copy
    // sample, so that its shares are taken against a step time and a
    // copy bandwidth of the same moment: on a shared machine the speed
    // drifts by more than the targets' margins within one run.
    let mut times = Vec::new();
    let mut ops: Vec<OpTime> = Vec::new();
    let (mut shares, mut vs_copy, mut copies) = (Vec::new(), Vec::new(), Vec::new());
    let mut failed: Option<Error> = None;
    let mut step = 0usize;
    let mut last = Instant::now();
    run.epoch(&mut |p| {
        let Progress::Step { .. } = p else { return };
        let step_ms = last.elapsed().as_secs_f64() * 1e3;
        step += 1;
        if step > opts.warmup && failed.is_none() {
            times.push(step_ms);
            if times.len() <= profiled {
                let sample = (|| -> Result<(), Error> {
                    twin.step(&host_batch, &mut popt)?;
                    let these = prof.take();
                    let copy = gbps(8.0 * COPY_ELEMS as f64, copy_ms(gpu, &copy_src)?);
                    let gemm: f64 = these.iter().filter(|o| o.is_gemm()).map(|o| o.ms).sum();
                    let (bytes, ms) = memory_bound(&these);
                    shares.push(1.0 - gemm / step_ms);
                    vs_copy.push(gbps(bytes, ms) / copy.max(1e-9));
                    copies.push(copy);
                    ops.extend(these);
                    Ok(())
                })();
                failed = sample.err();
            }
        }
        last = Instant::now();
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let model = &run.trainer.1;
    let step_ms = median(&mut times);
    let device = ops.iter().all(|o| o.device);
    let per_step = |ms: f64| ms / profiled as f64;
    let gemm_ms = per_step(ops.iter().filter(|o| o.is_gemm()).map(|o| o.ms).sum());
    let all_ms = per_step(ops.iter().map(|o| o.ms).sum());
    let (mem_bytes, mem_ms) = memory_bound(&ops);

    let parameters = model.parameter_count(gpu);
    let state_floats = parameters
        + model
            .named_buffers()
            .iter()
            .map(|(_, t)| gpu.shape(t).iter().product::<usize>())
            .sum::<usize>();
    Ok(TrainBench {
        model: preset_name(preset),
        adapter: gpu.info().name,
        batch: cfg.batch,
        parameters,
        state_floats,
        scaling: scaling(parameters, state_floats, step_ms),
        steps: times.len(),
        step_ms,
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        profiled_steps: profiled,
        images_per_second: cfg.batch as f64 / (step_ms / 1e3),
        profile_timer: if device {
            "gpu timestamps"
        } else {
            "wall clock"
        },
        gemm_ms,
        non_gemm_share: median(&mut shares),
        profiled_share: all_ms / step_ms,
        copy_gbps: median(&mut copies),
        memory_bound_gbps: gbps(mem_bytes, mem_ms),
        memory_bound_vs_copy: median(&mut vs_copy),
        by_layer: rows(&ops, profiled, step_ms, OpTime::part),
        by_op: rows(&ops, profiled, step_ms, |o| o.op.to_string()),
    })
}

/// The memory-bound (non-GEMM) ops of `ops`: their least bytes and their
/// time.
fn memory_bound(ops: &[OpTime]) -> (f64, f64) {
    let memory = ops.iter().filter(|o| !o.is_gemm());
    memory.fold((0.0, 0.0), |(b, t), o| (b + o.bytes, t + o.ms))
}

/// The median of `v` (sorted in place); 0 for none.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn gbps(bytes: f64, ms: f64) -> f64 {
    if ms > 0.0 {
        bytes / (ms * 1e6)
    } else {
        0.0
    }
}

/// Groups `ops` by `key` in order of first appearance.
fn rows(
    ops: &[OpTime],
    steps: usize,
    step_ms: f64,
    key: impl Fn(&OpTime) -> String,
) -> Vec<ProfileRow> {
    let mut out: Vec<(ProfileRow, f64)> = Vec::new();
    for o in ops {
        let name = key(o);
        let i = match out.iter().position(|(r, _)| r.name == name) {
            Some(i) => i,
            None => {
                out.push((
                    ProfileRow {
                        name,
                        ms: 0.0,
                        share: 0.0,
                        gemm_ms: 0.0,
                        gbps: 0.0,
                    },
                    0.0,
                ));
                out.len() - 1
            }
        };
        let (row, bytes) = &mut out[i];
        row.ms += o.ms;
        if o.is_gemm() {
            row.gemm_ms += o.ms;
        } else {
            *bytes += o.bytes;
        }
    }
    out.into_iter()
        .map(|(mut r, bytes)| {
            r.gbps = gbps(bytes, r.ms - r.gemm_ms);
            r.ms /= steps as f64;
            r.gemm_ms /= steps as f64;
            r.share = r.ms / step_ms;
            r
        })
        .collect()
}

/// Elements the copy yardstick moves: 16 MiB each way, past any cache of
/// a CPU adapter, like the activations of a batch of 128.
const COPY_ELEMS: usize = 4 << 20;

/// GB/s (bytes read + written) of [`Gpu::copy`] over [`COPY_ELEMS`],
/// median of 5 after a warm-up, timed like the profile.
pub fn copy_bandwidth(gpu: &Gpu) -> Result<f64, Error> {
    let x = gpu.zeros(&[COPY_ELEMS])?;
    copy_ms(gpu, &x)?;
    let mut times = Vec::new();
    for _ in 0..5 {
        times.push(copy_ms(gpu, &x)?);
    }
    Ok(gbps(8.0 * COPY_ELEMS as f64, median(&mut times)))
}

/// One copy of `x`, timed like the profile: GPU time where the adapter
/// has timestamps, else the wall clock around submit and wait.
fn copy_ms(gpu: &Gpu, x: &Tensor) -> Result<f64, Error> {
    gpu.wait_idle()?;
    let start = Instant::now();
    let (_, device) = gpu.device_time(|| {
        let y = gpu.copy(x)?;
        gpu.wait_idle()?;
        Ok(y)
    })?;
    Ok(device.unwrap_or(start.elapsed().as_secs_f64() * 1e3))
}

/// The human-readable report of one result.
pub fn report(r: &TrainBench) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} model on {}: batch {}, {} parameters\n  step {:.1} ms (median of {}, {:.1}..{:.1}), {:.0} images/s",
        r.model, r.adapter, r.batch, r.parameters, r.step_ms, r.steps, r.min_ms, r.max_ms,
        r.images_per_second
    );
    let _ = writeln!(
        s,
        "  GEMM {:.1} ms/step, non-GEMM share {:.0} % (target <= 30 %; median of {} profiled steps, each against the step before it); profiled ops {:.0} % of the step ({})",
        r.gemm_ms,
        100.0 * r.non_gemm_share,
        r.profiled_steps,
        100.0 * r.profiled_share,
        r.profile_timer
    );
    let _ = writeln!(
        s,
        "  memory-bound ops {:.1} GB/s, {:.0} % of the copy kernel's {:.1} GB/s (target >= 50 %; median of the steps, each against a copy right after it)",
        r.memory_bound_gbps,
        100.0 * r.memory_bound_vs_copy,
        r.copy_gbps
    );
    let _ = writeln!(
        s,
        "  {:<28} {:>9} {:>7} {:>9}",
        "module", "ms/step", "share", "GEMM ms"
    );
    for row in &r.by_layer {
        let _ = writeln!(
            s,
            "  {:<28} {:>9.2} {:>6.1}% {:>9.2}",
            row.name,
            row.ms,
            100.0 * row.share,
            row.gemm_ms
        );
    }
    let _ = writeln!(
        s,
        "  {:<32} {:>9} {:>7} {:>8}",
        "op", "ms/step", "share", "GB/s"
    );
    for row in &r.by_op {
        let bw = if row.gemm_ms > 0.0 {
            "GEMM".to_string()
        } else {
            format!("{:.1}", row.gbps)
        };
        let _ = writeln!(
            s,
            "  {:<32} {:>9.2} {:>6.1}% {:>8}",
            row.name,
            row.ms,
            100.0 * row.share,
            bw
        );
    }
    let _ = writeln!(
        s,
        "  data-parallel projection: {:.2} MB of gradients per step, this step time per GPU, no overlap",
        4.0 * r.parameters as f64 / 1e6
    );
    let _ = writeln!(
        s,
        "  {:>5} {:>16} {:>9} {:>16} {:>9} {:>16}",
        "GPUs", "exchange@10Gb/s", "eff", "exchange@100Gb/s", "eff", "ring eff 10/100"
    );
    for row in &r.scaling {
        let _ = writeln!(
            s,
            "  {:>5} {:>13.2} ms {:>8.0}% {:>13.2} ms {:>8.0}% {:>9.0}%/{:.0}%",
            row.gpus,
            row.exchange_ms[0],
            100.0 * row.efficiency[0],
            row.exchange_ms[1],
            100.0 * row.efficiency[1],
            100.0 * row.ring_efficiency[0],
            100.0 * row.ring_efficiency[1]
        );
    }
    s
}
