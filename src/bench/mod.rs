//! The benchmark, shared by `cargo bench` and `wgconv bench`: whole
//! training steps (training.rs), and the shape suites of [`SHAPES`] (the
//! README's table), timed per op with GPU timestamps where the adapter has
//! them (wall clock around submit-and-wait otherwise), warm-up excluded,
//! median and spread of the repeats, GFLOP/s and GB/s from the geometry
//! module, written as the JSON rows of [`to_json`].

mod training;
pub use training::{
    bench_training, copy_bandwidth, preset_name, report as train_report, scaling, ProfileRow,
    ScalingRow, TrainBench, TrainBenchOptions,
};

use crate::gpu::Recorder;
use crate::ops::{record_conv, ConvBuffers};
use crate::plan::ConvProblem;
use crate::rng::Rng;
use crate::{Conv2dGeometry, Conv2dParams, Error, Gpu};
use serde::Serialize;
use std::time::Duration;
use web_time::Instant;

/// One benchmark shape: NCHW input, OIHW weight, square stride and padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchShape {
    pub suite: &'static str,
    pub name: &'static str,
    pub n: usize,
    pub c: usize,
    pub hw: usize,
    pub k: usize,
    pub rs: usize,
    pub stride: u32,
    pub pad: u32,
    /// Convolution groups (C for a depthwise convolution).
    pub groups: usize,
}

// One row of the shape table per call, in the README table's column order
// (suite, name, N, C, H = W, K, R = S, stride, padding).
#[allow(clippy::too_many_arguments)]
const fn shape(
    suite: &'static str,
    name: &'static str,
    n: usize,
    c: usize,
    hw: usize,
    k: usize,
    rs: usize,
    stride: u32,
    pad: u32,
) -> BenchShape {
    BenchShape {
        suite,
        name,
        n,
        c,
        hw,
        k,
        rs,
        stride,
        pad,
        groups: 1,
    }
}

/// A depthwise row: groups = channels.
#[allow(clippy::too_many_arguments)]
const fn depthwise(
    name: &'static str,
    n: usize,
    c: usize,
    hw: usize,
    rs: usize,
    stride: u32,
    pad: u32,
) -> BenchShape {
    BenchShape {
        groups: c,
        ..shape("depthwise", name, n, c, hw, c, rs, stride, pad)
    }
}

/// The benchmark shapes: the 5x5 / 3x3 / stride-2 seed, the small suite
/// S1–S5 (MNIST-to-CIFAR-sized layers), the large suite L1–L7 (ResNet-50's
/// layers at batch 32) and the depthwise suite: MobileNetV2's 3×3
/// depthwise layers at batch 32 on 112×112 images (D1–D3), each beside
/// the dense convolution of the same tensors' sizes (`-dense`), which
/// moves the same activation bytes with C times the multiply-adds.
pub const SHAPES: [BenchShape; 19] = [
    shape("seed", "seed", 1, 1, 5, 1, 3, 2, 0),
    shape("small", "S1", 64, 1, 28, 32, 3, 1, 1),
    shape("small", "S2", 64, 32, 14, 64, 3, 1, 1),
    shape("small", "S3", 32, 64, 32, 64, 3, 1, 1),
    shape("small", "S4", 32, 64, 32, 128, 3, 2, 1),
    shape("small", "S5", 32, 128, 16, 256, 1, 1, 0),
    shape("large", "L1", 32, 3, 224, 64, 7, 2, 3),
    shape("large", "L2", 32, 64, 56, 64, 3, 1, 1),
    shape("large", "L3", 32, 64, 56, 256, 1, 1, 0),
    shape("large", "L4", 32, 128, 28, 128, 3, 1, 1),
    shape("large", "L5", 32, 256, 14, 256, 3, 1, 1),
    shape("large", "L6", 32, 512, 7, 512, 3, 1, 1),
    shape("large", "L7", 32, 128, 56, 128, 3, 2, 1),
    depthwise("D1", 32, 144, 28, 3, 1, 1),
    shape("depthwise", "D1-dense", 32, 144, 28, 144, 3, 1, 1),
    depthwise("D2", 32, 384, 7, 3, 1, 1),
    shape("depthwise", "D2-dense", 32, 384, 7, 384, 3, 1, 1),
    depthwise("D3", 32, 96, 56, 3, 2, 1),
    shape("depthwise", "D3-dense", 32, 96, 56, 96, 3, 2, 1),
];

/// The shapes of one suite (`seed`, `small`, `large` or `depthwise`), or None.
pub fn suite(name: &str) -> Option<Vec<BenchShape>> {
    let v: Vec<_> = SHAPES.iter().copied().filter(|s| s.suite == name).collect();
    (!v.is_empty()).then_some(v)
}

impl BenchShape {
    pub fn params(&self) -> Conv2dParams {
        Conv2dParams {
            groups: self.groups as u32,
            ..Conv2dParams::square(self.stride, self.pad)
        }
    }
    pub fn geometry(&self) -> Result<Conv2dGeometry, Error> {
        Conv2dGeometry::new(
            "bench",
            &[self.n, self.c, self.hw, self.hw],
            &[self.k, self.c / self.groups, self.rs, self.rs],
            &self.params(),
        )
    }
}

/// The three convolutions (the JSON `op` field is [`ConvOp::name`]).
pub use crate::plan::ConvOp;

/// How many times to run, and for how long at most.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    pub warmup: usize,
    pub reps: usize,
    /// Stop repeating (after at least 3 timed runs) once this much time went by.
    pub max_time: Duration,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            warmup: 2,
            reps: 10,
            max_time: Duration::from_secs(10),
        }
    }
}

/// One (shape, op) timing on one adapter; serialised as one object of
/// the JSON array.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub suite: &'static str,
    pub shape: &'static str,
    pub op: &'static str,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub samples: usize,
    pub gflops: f64,
    pub gbps: f64,
    pub adapter: String,
    pub backend: String,
    /// `gpu-timestamp` or `wall-clock`.
    pub timer: &'static str,
    /// The policy (`auto`, `tuned` or a forced kernel's name).
    pub variant: &'static str,
    /// The kernel that ran (`plan::ConvKernel::name`: the entry point).
    pub kernel: &'static str,
    /// How it ran (`plan::Algorithm::name`).
    pub algorithm: &'static str,
    /// Ranges the weight gradient's reduction was cut into (1 otherwise).
    pub splits: usize,
    /// Milliseconds of the CPU reference, when it was timed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
    /// The op's kernels in the order they run, each one's median time
    /// (GPU timestamps around each dispatch; empty under the wall clock).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passes: Vec<PassTime>,
}

/// One dispatch of a measured op: its shader and entry point
/// (`winograd4:input_transform_x4_pairs`) and its median milliseconds over
/// the timed runs.
#[derive(Debug, Clone, Serialize)]
pub struct PassTime {
    pub kernel: String,
    pub median_ms: f64,
}

/// Timestamp queries made room for per timed run: more than any
/// convolution records (a split reduction's pieces included); a run with
/// more is an error, not a time that leaves some out.
const TIMED_PASSES: u32 = 64;

/// Times `op` on `shape`: warm-up runs, then up to `opts.reps` timed runs.
pub fn measure(
    gpu: &Gpu,
    shape: &BenchShape,
    op: ConvOp,
    opts: &BenchOptions,
) -> Result<Measurement, Error> {
    let geo = shape.geometry()?;
    let problem = ConvProblem { op, geometry: geo };
    let mut rng = Rng::new(42);
    let len = |s: [usize; 4]| s.iter().product::<usize>();
    let [a_shape, b_shape, out_shape] = problem.operand_shapes();
    let a = gpu.tensor(&a_shape, &rng.floats(len(a_shape)))?;
    let b = gpu.tensor(&b_shape, &rng.floats(len(b_shape)))?;
    let out = gpu.zeros(&out_shape)?;
    // Resolved once, before timing: under `Tuned` this is the measurement.
    let plan = gpu.explain(op, geo.x_shape(), geo.w_shape(), &geo.params)?;
    let timed = gpu.has_timestamps();
    // One run: its milliseconds and, under timestamps, each pass's.
    let run = || -> Result<(f64, Vec<(String, f64)>), Error> {
        let _serial = gpu.serialize();
        let mut rec = Recorder::new(gpu, "bench")?;
        if timed {
            rec.time_passes(TIMED_PASSES);
        }
        let buffers = ConvBuffers {
            a: &a.buffer,
            b: &b.buffer,
            bias: None,
            out: &out.buffer,
        };
        record_conv(&mut rec, &problem, &plan, buffers)?;
        let start = Instant::now();
        let gpu_ms = rec.submit_timed()?;
        gpu.wait_idle()?;
        Ok(match gpu_ms {
            Some(t) => (t.ms, t.passes),
            None => (start.elapsed().as_secs_f64() * 1e3, Vec::new()),
        })
    };
    for _ in 0..opts.warmup {
        run()?;
    }
    let begin = Instant::now();
    let mut times = Vec::new();
    let mut runs = Vec::new();
    while times.len() < opts.reps.max(1) && (times.len() < 3 || begin.elapsed() < opts.max_time) {
        let (ms, passes) = run()?;
        times.push(ms);
        runs.push(passes);
    }
    let passes = pass_medians(&runs);
    times.sort_by(f64::total_cmp);
    let median_ms = times[times.len() / 2];
    let info = gpu.info();
    Ok(Measurement {
        suite: shape.suite,
        shape: shape.name,
        op: op.name(),
        median_ms,
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        samples: times.len(),
        gflops: geo.flops() / (median_ms * 1e6),
        gbps: geo.min_bytes() / (median_ms * 1e6),
        adapter: info.name,
        backend: format!("{:?}", info.backend),
        timer: if timed { "gpu-timestamp" } else { "wall-clock" },
        variant: gpu.policy().name(),
        kernel: plan.kernel.name(),
        algorithm: plan.algorithm.name(),
        splits: plan.splits,
        cpu_ms: None,
        passes,
    })
}

/// Each pass's median over runs that recorded the same passes (every run
/// of one plan does), or nothing where the runs differ or were not timed.
fn pass_medians(runs: &[Vec<(String, f64)>]) -> Vec<PassTime> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let same = |r: &Vec<(String, f64)>| {
        r.len() == first.len() && r.iter().zip(first).all(|(a, b)| a.0 == b.0)
    };
    if !runs.iter().all(same) {
        return Vec::new();
    }
    (0..first.len())
        .map(|i| {
            let mut ms: Vec<f64> = runs.iter().map(|r| r[i].1).collect();
            ms.sort_by(f64::total_cmp);
            PassTime {
                kernel: first[i].0.clone(),
                median_ms: ms[ms.len() / 2],
            }
        })
        .collect()
}

/// Times the CPU reference of `op` on `shape` once (it is slow on purpose).
pub fn measure_cpu(shape: &BenchShape, op: ConvOp) -> Result<f64, Error> {
    let geo = shape.geometry()?;
    let mut rng = Rng::new(42);
    let len = |s: [usize; 4]| s.iter().product::<usize>();
    let x = rng.floats(len(geo.x_shape()));
    let w = rng.floats(len(geo.w_shape()));
    let dy = rng.floats(len(geo.y_shape()));
    let p = shape.params();
    let start = Instant::now();
    match op {
        ConvOp::Forward => {
            crate::cpu::conv2d(&x, geo.x_shape(), &w, geo.w_shape(), None, &p).map(drop)?
        }
        ConvOp::InputGrad => {
            crate::cpu::conv2d_input_grad(&dy, &w, geo.w_shape(), geo.x_shape(), &p).map(drop)?
        }
        ConvOp::WeightGrad => {
            crate::cpu::conv2d_weight_grad(&x, geo.x_shape(), &dy, geo.w_shape(), &p).map(drop)?
        }
    }
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

/// The JSON array of results (`suite, shape, op, median_ms, gflops,
/// adapter, backend, timer`), plus `min_ms`, `max_ms`, `samples`, `gbps`,
/// `variant` (the policy), `kernel`, `algorithm`, `splits` and, when
/// timed, `cpu_ms`.
pub fn to_json(results: &[Measurement]) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(results).unwrap_or_default() + "\n"
}

/// A plain-text table: one row per (shape, op), ms and GFLOP/s.
pub fn table(results: &[Measurement]) -> String {
    let mut out = String::new();
    if let Some(m) = results.first() {
        out.push_str(&format!(
            "adapter: {} ({}), timer: {}, policy: {}\n",
            m.adapter, m.backend, m.timer, m.variant
        ));
    }
    out.push_str("shape  op           kernel        algorithm         splits  median ms   spread ms (min-max)   n   GFLOP/s    GB/s   CPU ref ms  speed-up\n");
    for m in results {
        let cpu = match m.cpu_ms {
            Some(c) => format!("{c:>11.2}  {:>7.1}x", c / m.median_ms),
            None => String::new(),
        };
        out.push_str(&format!(
            "{:<6} {:<12} {:<13} {:<17} {:>6} {:>9.3}   {:>8.3}-{:<9.3}  {:>3} {:>9.1} {:>7.1}  {cpu}\n",
            m.shape,
            m.op,
            m.kernel,
            m.algorithm,
            m.splits,
            m.median_ms,
            m.min_ms,
            m.max_ms,
            m.samples,
            m.gflops,
            m.gbps
        ));
    }
    out
}

/// A plain-text table of each op's kernels (`wgconv bench --passes`): one
/// row per dispatch, in the order they run, its median ms and its share
/// of the op's median (the shares need not add to 100 %: medians of parts
/// are not parts of the median, and a GPU idles between dispatches).
pub fn passes_table(results: &[Measurement]) -> String {
    let mut out = String::from(
        "shape  op           kernel (shader:entry)                          median ms   of op\n",
    );
    for m in results {
        if m.passes.is_empty() {
            out.push_str(&format!(
                "{:<6} {:<12} (not timed per kernel: {})\n",
                m.shape, m.op, m.timer
            ));
        }
        for p in &m.passes {
            out.push_str(&format!(
                "{:<6} {:<12} {:<46} {:>9.3}  {:>5.1} %\n",
                m.shape,
                m.op,
                p.kernel,
                p.median_ms,
                100.0 * p.median_ms / m.median_ms
            ));
        }
    }
    out
}

/// Geometric mean of the GFLOP/s of `results`.
pub fn geomean_gflops(results: &[Measurement]) -> f64 {
    if results.is_empty() {
        return 0.0;
    }
    (results.iter().map(|m| m.gflops.ln()).sum::<f64>() / results.len() as f64).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_hold_the_design_shapes() {
        assert_eq!(suite("small").unwrap().len(), 5);
        assert_eq!(suite("large").unwrap().len(), 7);
        assert_eq!(suite("depthwise").unwrap().len(), 6);
        assert!(suite("huge").is_none());
        for s in SHAPES {
            s.geometry().unwrap();
        }
        // L1: 32·64·112·112·3·49·2 FLOPs.
        let l1 = SHAPES
            .iter()
            .find(|s| s.name == "L1")
            .unwrap()
            .geometry()
            .unwrap();
        assert_eq!(l1.flops(), 2.0 * 32.0 * 64.0 * 112.0 * 112.0 * 3.0 * 49.0);
    }

    #[test]
    fn json_escapes_and_keeps_the_schema() {
        let m = Measurement {
            suite: "seed",
            shape: "seed",
            op: "forward",
            median_ms: 1.0,
            min_ms: 0.5,
            max_ms: 2.0,
            samples: 3,
            gflops: 4.0,
            gbps: 1.0,
            adapter: "a \"quoted\" name".into(),
            backend: "Vulkan".into(),
            timer: "wall-clock",
            variant: "auto",
            kernel: "blocks_tall",
            algorithm: "one_step",
            splits: 4,
            cpu_ms: None,
            passes: Vec::new(),
        };
        let j = to_json(&[m]);
        for key in [
            "suite",
            "shape",
            "op",
            "median_ms",
            "gflops",
            "adapter",
            "backend",
            "timer",
            "variant",
            "kernel",
            "algorithm",
        ] {
            assert!(j.contains(&format!("\"{key}\":")), "{key} missing in {j}");
        }
        assert!(!j.contains("cpu_ms"), "cpu_ms without a CPU timing: {j}");
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back[0]["adapter"], "a \"quoted\" name");
        assert_eq!(back[0]["kernel"], "blocks_tall");
        assert_eq!(back[0]["splits"], 4);
    }
}
