//! `Variant::Tuned`: the variant of each (op, shape) chosen by measuring.
//! At the first use of a convolution geometry, every candidate variant runs
//! once to warm up (pipeline build, tap table) and once timed (GPU
//! timestamps where the adapter has them, wall clock otherwise) on scratch
//! buffers of the same sizes; the fastest is kept for the life of the
//! device. With `WGCONV_TUNE_CACHE=path` the choices are also read from and
//! written to a JSON file keyed by adapter, driver, op and geometry, so
//! later processes make the same choice without measuring — and, since
//! variants sum in different orders, get the same bits.
//!
//! The cost is bounded: three or four candidates, two runs each, once per
//! geometry; `Direct` is only a candidate where it can be competitive
//! (narrow or small problems), never on large GEMMs where it is 10x slower.

use super::{
    fixed_rule, record_conv2d_forward, record_conv2d_input_grad, record_conv2d_weight_grad,
    GemmDims, NARROW_COLUMNS,
};
use crate::gpu::{Kernel, Recorder};
use crate::{Conv2dGeometry, Error, Gpu, Variant};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// The choices of one device, and where they persist.
#[derive(Debug, Default)]
pub(crate) struct Tuning {
    chosen: HashMap<(Kernel, Conv2dGeometry), Variant>,
    file: Option<PathBuf>,
    /// Geometries measured by this device (not read from the file).
    measured: usize,
}

impl Tuning {
    pub(crate) fn from_env() -> Tuning {
        Tuning {
            file: std::env::var_os("WGCONV_TUNE_CACHE").map(PathBuf::from),
            ..Tuning::default()
        }
    }
}

fn key(gpu: &Gpu, kernel: Kernel, g: &Conv2dGeometry) -> String {
    let i = gpu.info();
    let p = &g.params;
    format!(
        "{} | {} {} | {:?} | {} x[{},{},{},{}] w[{},{},{},{}] s{:?} p{:?} d{:?} g{}",
        i.name,
        i.driver,
        i.driver_info,
        i.backend,
        kernel.name(),
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

fn read_file(path: &PathBuf) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// The tuned variant for `g`, measuring it on first use. Never fails: if
/// measuring does, the fixed rule's choice is used (and not cached).
pub(crate) fn tuned_variant(
    gpu: &Gpu,
    kernel: Kernel,
    g: &Conv2dGeometry,
    dims: GemmDims,
) -> Variant {
    let lock = || gpu.inner.tuning.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = lock().chosen.get(&(kernel, *g)) {
        return *v;
    }
    let file = lock().file.clone();
    let name = key(gpu, kernel, g);
    if let Some(path) = &file {
        if let Some(v) = read_file(path).get(&name).and_then(|v| Variant::parse(v)) {
            if !matches!(v, Variant::Auto | Variant::Tuned) {
                lock().chosen.insert((kernel, *g), v);
                return v;
            }
        }
    }
    let Ok(v) = measure(gpu, kernel, g, dims) else {
        return fixed_rule(gpu, kernel, g, dims);
    };
    {
        let mut t = lock();
        t.chosen.insert((kernel, *g), v);
        t.measured += 1;
    }
    if let Some(path) = &file {
        let mut all = read_file(path);
        all.insert(name, v.name().to_string());
        // A cache that cannot be written only costs a later re-measure.
        if let Ok(text) = serde_json::to_string_pretty(&all) {
            let _ = std::fs::write(path, text);
        }
    }
    v
}

fn candidates(dims: GemmDims) -> Vec<Variant> {
    let mut out = vec![
        Variant::Rows,
        Variant::Tiled,
        Variant::Wide,
        Variant::Blocks,
    ];
    if dims.n < NARROW_COLUMNS || dims.m < 32 || dims.m * dims.n <= 4096 {
        out.push(Variant::Direct);
    }
    out
}

fn measure(
    gpu: &Gpu,
    kernel: Kernel,
    g: &Conv2dGeometry,
    dims: GemmDims,
) -> Result<Variant, Error> {
    let sizes = |s: [usize; 4]| s.iter().product::<usize>();
    let (a_len, b_len, out_len) = match kernel {
        Kernel::Conv2dForward => (sizes(g.x_shape()), sizes(g.w_shape()), sizes(g.y_shape())),
        Kernel::Conv2dInputGrad => (sizes(g.y_shape()), sizes(g.w_shape()), sizes(g.x_shape())),
        _ => (sizes(g.x_shape()), sizes(g.y_shape()), sizes(g.w_shape())),
    };
    let a = gpu.storage_zeroed("autotune", a_len)?;
    let b = gpu.storage_zeroed("autotune", b_len)?;
    let out = gpu.storage_uninit("autotune", out_len)?;
    let mut best: Option<(f64, Variant)> = None;
    for v in candidates(dims) {
        let gv = gpu.with_variant(v);
        let mut time = f64::INFINITY;
        for run in 0..2 {
            let mut rec = Recorder::new(&gv, "autotune")?;
            if gpu.has_timestamps() {
                rec.time_passes(64);
            }
            match kernel {
                Kernel::Conv2dForward => record_conv2d_forward(
                    &gv,
                    &mut rec,
                    g,
                    &a.buffer,
                    &b.buffer,
                    None,
                    &out.buffer,
                )?,
                Kernel::Conv2dInputGrad => {
                    record_conv2d_input_grad(&gv, &mut rec, g, &a.buffer, &b.buffer, &out.buffer)?
                }
                _ => {
                    record_conv2d_weight_grad(&gv, &mut rec, g, &a.buffer, &b.buffer, &out.buffer)?
                }
            }
            let start = std::time::Instant::now();
            let gpu_ms = rec.submit_timed()?;
            gpu.wait_idle()?;
            let wall_ms = start.elapsed().as_secs_f64() * 1e3;
            if run == 1 {
                time = gpu_ms.unwrap_or(wall_ms);
            }
        }
        if best.is_none_or(|(t, _)| time < t) {
            best = Some((time, v));
        }
    }
    Ok(best.map_or_else(|| fixed_rule(gpu, kernel, g, dims), |(_, v)| v))
}

impl Gpu {
    /// The variants `Variant::Tuned` has chosen on this device so far, as
    /// (op and geometry, variant), and how many geometries it measured
    /// (the others came from the `WGCONV_TUNE_CACHE` file).
    pub fn tuned_variants(&self) -> (Vec<(String, Variant)>, usize) {
        let t = self.inner.tuning.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(String, Variant)> = t
            .chosen
            .iter()
            .map(|((k, g), v)| (key(self, *k, g), *v))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        (out, t.measured)
    }
}
