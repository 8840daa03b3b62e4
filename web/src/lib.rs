//! wgconv in a browser tab: the page (`web/index.html`, `web/main.js`)
//! calls these exports to open the browser's WebGPU adapter under the
//! WebGPU default limits, run `wgconv check` (every op against the CPU
//! reference compiled into the same wasm), and train the digits CNN epoch
//! by epoch through the library's own epoch loop ([`train::Run`], the one
//! `wgconv train` drives: schedule, transforms, evaluation). Nothing here
//! blocks: every wait is an await, so the tab stays responsive and the
//! stop button is heard between steps.
//!
//! The page writes the lines a test reads to the console:
//! `wgconv-web adapter: <name>`, `wgconv-web check: ok` (or
//! `wgconv-web check: FAILED <op> <error>`) and
//! `wgconv-web train: test_accuracy=<fraction> seconds=<s>`.

use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;
use wgconv::data::Dataset;
use wgconv::nn::Layer;
use wgconv::train::{self, Preset, RunOptions, TrainConfig};
use wgconv::{check, DeviceLimits, Gpu, Policy};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn error(s: &str);
    #[wasm_bindgen(js_namespace = console)]
    fn log(s: &str);
}

/// What a run holds between the page's calls: the GPU (for the check)
/// and the library's training run over the digits.
struct Run {
    gpu: Gpu,
    run: train::Run<'static, (Gpu, Box<dyn Layer<Gpu>>)>,
}

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
    static STOP: Cell<bool> = const { Cell::new(false) };
}

fn js(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// The run, taken out for the length of an async call (so no borrow is
/// held across an await) and put back by [`put`].
fn take() -> Result<Run, JsValue> {
    RUN.with(|r| r.borrow_mut().take())
        .ok_or_else(|| js("call start() first (or another call is still running)"))
}

fn put(run: Run) {
    RUN.with(|r| *r.borrow_mut() = Some(run));
}

/// Opens the browser's adapter with exactly the WebGPU default limits and
/// loads the digits from the bytes of `digits.csv.gz`; returns the
/// adapter's name.
#[wasm_bindgen]
pub async fn start(digits_gz: Vec<u8>, policy: String) -> Result<String, JsValue> {
    std::panic::set_hook(Box::new(|info| error(&format!("wgconv-web panic: {info}"))));
    let gpu = Gpu::all_matching_with_async("", DeviceLimits::WebGpuDefaults)
        .await
        .map_err(js)?
        .remove(0);
    let gpu = match policy.as_str() {
        "" => gpu,
        name => gpu.with_policy(
            Policy::parse(name)
                .ok_or_else(|| js(format!("unknown policy {name:?}: {}", Policy::names())))?,
        ),
    };
    let cfg = TrainConfig::default();
    let (train, test) = train::digits_from_gzip(&digits_gz)
        .map_err(js)?
        .split(cfg.seed, train::TEST_IMAGES);
    // The run borrows its data for its whole life, which here is the
    // page's: one copy of the digits (1.5 MB) per start().
    let train: &'static dyn Dataset = Box::leak(Box::new(train));
    let test: &'static dyn Dataset = Box::leak(Box::new(test));
    let model = Preset::Digits.build(gpu.clone(), cfg.seed).map_err(js)?;
    let run = train::Run::new(
        (gpu.clone(), model),
        train,
        test,
        &cfg,
        &RunOptions::default(),
    )
    .map_err(js)?;
    let info = gpu.info();
    let name = if info.driver.is_empty() {
        info.name.clone()
    } else {
        format!("{} ({})", info.name, info.driver)
    };
    put(Run { gpu, run });
    Ok(if name.trim().is_empty() {
        "WebGPU adapter".into()
    } else {
        name
    })
}

/// `wgconv check` on the browser's adapter: `["ok" | "FAILED <op>
/// <error>", "<op> <worst error>", ...]`.
#[wasm_bindgen]
pub async fn run_check() -> Result<Vec<String>, JsValue> {
    let run = take()?;
    let rows = check::run_with_progress_async(&run.gpu, |done, total| {
        log(&format!(
            "wgconv-web progress: check geometry {done} of {total}"
        ))
    })
    .await;
    let gpu_ok = rows.as_ref().map(|_| ()).map_err(|e| e.to_string());
    put(run);
    let rows = match gpu_ok {
        Ok(()) => rows.map_err(js)?,
        Err(e) => return Ok(vec![format!("FAILED check {e}")]),
    };
    let verdict = match rows.iter().find(|r| !r.passed()) {
        Some(r) => format!("FAILED {} {:.1e}", r.op, r.worst),
        None => "ok".to_string(),
    };
    let mut out = vec![verdict];
    out.extend(rows.iter().map(|r| format!("{} {:.1e}", r.op, r.worst)));
    Ok(out)
}

/// Asks a running [`train_epoch`] to stop after its current step.
#[wasm_bindgen]
pub fn stop() {
    STOP.with(|s| s.set(true));
}

/// The epochs of the digits defaults (10).
#[wasm_bindgen]
pub fn epochs() -> usize {
    TrainConfig::default().epochs
}

/// One epoch of the digits defaults (shuffled batches of 32, Adam, as
/// `wgconv train`): `[epoch, mean train loss, test accuracy, stopped]`.
#[wasm_bindgen]
pub async fn train_epoch() -> Result<Vec<f64>, JsValue> {
    let mut run = take()?;
    let result = epoch(&mut run).await;
    put(run);
    result.map_err(js)
}

async fn epoch(run: &mut Run) -> Result<Vec<f64>, wgconv::Error> {
    STOP.with(|s| s.set(false));
    let stop = || STOP.with(|s| s.get());
    let report = run.run.epoch_async(&mut |_| {}, &stop).await?;
    Ok(vec![
        report.epoch as f64,
        report.train_loss as f64,
        report.test_accuracy as f64,
        f64::from(u8::from(stop())),
    ])
}
