//! The plan a handle runs a problem with ([`resolve`]), and
//! `Policy::Tuned`: the plan of each problem chosen by measuring. At the
//! first use of a problem, every plan of `plan::candidates` runs once to
//! warm up (pipeline build, tap table) and once timed (GPU timestamps
//! where the adapter has them, wall clock otherwise) on scratch buffers of
//! the same sizes; the fastest is kept for the life of the device. With
//! `WGCONV_TUNE_CACHE=path` the choices are also read from and written to
//! a JSON file keyed by adapter, driver and problem, so later processes
//! make the same choice without measuring — and, since kernels sum in
//! different orders, get the same bits.
//!
//! The tuner measures plans and records them with `record_conv`; it never
//! asks for a plan itself, so choosing and measuring do not call each
//! other.

use super::{record_conv, ConvBuffers};
use crate::gpu::Recorder;
use crate::plan::{self, ConvPlan, ConvProblem, Policy};
use crate::{Error, Gpu};
use std::collections::BTreeMap;
use std::path::Path;

/// The plan `gpu`'s policy gives `problem`: the fixed rule of
/// [`plan::plan`] for `Auto` and `Force`, the measured choice for `Tuned`.
pub(crate) fn resolve(gpu: &Gpu, problem: &ConvProblem) -> ConvPlan {
    match gpu.policy() {
        Policy::Tuned => tuned_plan(gpu, problem),
        policy => plan::plan(problem, &gpu.facts(), policy),
    }
}

fn key(gpu: &Gpu, problem: &ConvProblem) -> String {
    let i = gpu.info();
    let g = &problem.geometry;
    let p = &g.params;
    format!(
        "{} | {} {} | {:?} | {} x[{},{},{},{}] w[{},{},{},{}] s{:?} p{:?} d{:?} g{}",
        i.name,
        i.driver,
        i.driver_info,
        i.backend,
        problem.op.kernel_name(),
        g.n,
        g.c,
        g.h,
        g.w,
        g.k,
        g.c_per_group(),
        g.r,
        g.s,
        p.stride,
        p.padding,
        p.dilation,
        p.groups
    )
}

fn read_file(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Writes `all` to `path` atomically (the one rule for that,
/// [`crate::nn::io::write_atomically`]), so a reader, a crash or another
/// adapter's tuner writing at once never leaves half a file.
fn write_file(path: &Path, all: &BTreeMap<String, String>) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(all).map_err(|e| crate::nn::io::file_error(path, e))?;
    crate::nn::io::write_atomically(path, text.as_bytes())
}

/// The tuned plan of `problem`, measuring it on first use. Never fails: if
/// measuring does, Auto's plan is used (and not cached). A plan read from
/// the file is taken only if it is still one of the problem's candidates.
fn tuned_plan(gpu: &Gpu, problem: &ConvProblem) -> ConvPlan {
    let lock = || gpu.inner.tuning.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = lock().chosen.get(problem) {
        return *p;
    }
    let facts = gpu.facts();
    let candidates = plan::candidates(problem, &facts);
    let file = lock().file.clone();
    let name = key(gpu, problem);
    if let Some(path) = &file {
        if let Some(saved) = read_file(path).get(&name) {
            if let Some(p) = candidates.iter().find(|p| p.to_string() == *saved) {
                lock().chosen.insert(*problem, *p);
                return *p;
            }
        }
    }
    let Ok(best) = measure(gpu, problem, &candidates) else {
        return plan::plan(problem, &facts, Policy::Auto);
    };
    {
        let mut t = lock();
        t.chosen.insert(*problem, best);
        t.measured += 1;
    }
    if let Some(path) = &file {
        let mut all = read_file(path);
        all.insert(name, best.to_string());
        // A cache that cannot be written only costs a later re-measure.
        let _ = write_file(path, &all);
    }
    best
}

fn measure(gpu: &Gpu, problem: &ConvProblem, candidates: &[ConvPlan]) -> Result<ConvPlan, Error> {
    let len = |s: [usize; 4]| s.iter().product::<usize>();
    let [a_shape, b_shape, out_shape] = problem.operand_shapes();
    let a = gpu.storage_zeroed("autotune", len(a_shape))?;
    let b = gpu.storage_zeroed("autotune", len(b_shape))?;
    let out = gpu.storage_uninit("autotune", len(out_shape))?;
    let mut best: Option<(f64, ConvPlan)> = None;
    for candidate in candidates {
        let mut time = f64::INFINITY;
        for run in 0..2 {
            let mut rec = Recorder::new(gpu, "autotune")?;
            if gpu.has_timestamps() {
                rec.time_passes(64);
            }
            let buffers = ConvBuffers {
                a: &a.buffer,
                b: &b.buffer,
                bias: None,
                out: &out.buffer,
            };
            record_conv(&mut rec, problem, candidate, buffers)?;
            let start = web_time::Instant::now();
            let gpu_ms = rec.submit_timed()?;
            gpu.wait_idle()?;
            let wall_ms = start.elapsed().as_secs_f64() * 1e3;
            if run == 1 {
                time = gpu_ms.map_or(wall_ms, |t| t.ms);
            }
        }
        if best.is_none_or(|(t, _)| time < t) {
            best = Some((time, *candidate));
        }
    }
    Ok(best.map_or_else(
        || plan::plan(problem, &gpu.facts(), Policy::Auto),
        |(_, p)| p,
    ))
}

impl Gpu {
    /// The plans `Policy::Tuned` has chosen on this device so far, as
    /// (op and geometry, plan), and how many problems it measured (the
    /// others came from the `WGCONV_TUNE_CACHE` file).
    pub fn tuned_plans(&self) -> (Vec<(String, ConvPlan)>, usize) {
        let t = self.inner.tuning.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(String, ConvPlan)> = t
            .chosen
            .iter()
            .map(|(problem, p)| (key(self, problem), *p))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        (out, t.measured)
    }
}
