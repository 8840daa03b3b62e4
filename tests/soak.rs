//! No growth over time: training-style steps (forward, both gradients, the
//! bias gradient, SGD with momentum), and whole autodiff training steps of
//! a user's model (graph, backward, Adam), must keep the live buffer count
//! and the process's resident memory flat: every tensor a graph saved is
//! freed with it. Measured after a tenth of the steps and at the end.
//!
//! 10 000 steps per adapter by default (about 20 s each on lavapipe and
//! llvmpipe); `WGCONV_SOAK_STEPS=N cargo test --release --test soak --
//! --nocapture` runs another count and prints the figures.
mod common;
#[path = "../examples/custom_model/model.rs"]
mod model;
use common::{label, private_gpus, Rng};
use wgconv::nn::{self, Init, Loss, Optimizer, OptimizerConfig};
use wgconv::{Adam, Conv2dParams, Gpu, Sgd, SgdState};

/// Resident set size of this process in bytes (Linux; None elsewhere).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn steps() -> usize {
    std::env::var("WGCONV_SOAK_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

/// Runs `step` `steps` times, checking the device's buffers and the
/// process's memory at a tenth of the steps against the end.
fn soak(gpu: &Gpu, steps: usize, mut step_once: impl FnMut(usize)) {
    let checkpoint = steps / 10;
    let mut at_checkpoint = None;
    for step in 1..=steps {
        step_once(step);
        if step == checkpoint || step == steps {
            gpu.synchronize().unwrap();
            let stats = gpu.memory_stats();
            let rss = rss_bytes();
            eprintln!("{} step {step}: {stats:?}, rss {rss:?}", label(gpu));
            if step == checkpoint {
                at_checkpoint = Some((stats, rss));
            } else if let Some((before, rss_before)) = at_checkpoint {
                let who = label(gpu);
                assert_eq!(
                    stats.leased, before.leased,
                    "{who}: tensors leaked: {before:?} -> {stats:?}"
                );
                assert!(
                    stats.live_buffers <= before.live_buffers + 4,
                    "{who}: live buffers grew: {before:?} -> {stats:?}"
                );
                assert!(
                    stats.buffer_bytes <= before.buffer_bytes + (1 << 20),
                    "{who}: {before:?} -> {stats:?}"
                );
                if let (Some(a), Some(b)) = (rss_before, rss) {
                    // 16 MiB: allocator and driver noise, far below what one
                    // leaked buffer per step would add (thousands of them).
                    assert!(
                        b <= a + (16 << 20),
                        "{who}: resident memory grew from {a} to {b} bytes"
                    );
                }
            }
        }
    }
}

fn run(gpu: &Gpu, steps: usize) {
    let mut rng = Rng::new(5);
    let p = Conv2dParams::square(1, 1);
    let xs = [4, 3, 10, 10];
    let ws = [6, 3, 3, 3];
    let x = gpu.tensor(&xs, &rng.floats(xs.iter().product())).unwrap();
    let mut w = gpu.tensor(&ws, &rng.floats(ws.iter().product())).unwrap();
    let mut b = gpu.tensor(&[6], &rng.floats(6)).unwrap();
    let (mut sw, mut sb) = (SgdState::default(), SgdState::default());
    let cfg = Sgd {
        lr: 1e-3,
        momentum: 0.9,
        ..Sgd::default()
    };
    soak(gpu, steps, |step| {
        let y = gpu.conv2d(&x, &w, Some(&b), &p).unwrap();
        let dy = gpu.relu(&y).unwrap();
        let dx = gpu.conv2d_input_grad(&dy, &w, xs, &p).unwrap();
        let dw = gpu.conv2d_weight_grad(&x, &dy, ws, &p).unwrap();
        let db = gpu.bias_grad(&dy).unwrap();
        gpu.sgd_step(&mut w, &dw, &mut sw, &cfg).unwrap();
        gpu.sgd_step(&mut b, &db, &mut sb, &cfg).unwrap();
        drop(dx);
        if step % 50 == 0 {
            // A readback now and then, as a training loop reading its loss.
            assert!(b.to_vec().unwrap().iter().all(|v| v.is_finite()));
        }
    });
}

#[test]
fn training_steps_do_not_grow_memory() {
    let steps = steps();
    for gpu in &private_gpus() {
        let start = std::time::Instant::now();
        run(gpu, steps);
        eprintln!(
            "{}: {steps} steps in {:.1} s",
            label(gpu),
            start.elapsed().as_secs_f64()
        );
    }
}

/// The example's squeeze-and-excitation model (every kind of node the
/// graph records: parameters, convolutions, fused batch norm, the gate's
/// broadcast product, the residual add, the loss) trained step after step
/// through `nn::train_step`: each step's graph, saved tensors and
/// gradients are freed.
#[test]
fn autodiff_training_steps_do_not_grow_memory() {
    let steps = steps();
    for gpu in &private_gpus() {
        let start = std::time::Instant::now();
        let mut rng = Rng::new(6);
        let mut m = model::SeNet::new(&mut Init::new(gpu.clone(), 1), 4, 16, 3).unwrap();
        let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam::default())).unwrap();
        let x = gpu.tensor(&[4, 1, 4, 4], &rng.floats(64)).unwrap();
        let t = gpu
            .tensor(&[4, 3], &nn::one_hot(&[0, 1, 2, 1], 3).unwrap())
            .unwrap();
        soak(gpu, steps, |step| {
            let read = step % 50 == 0;
            let loss = nn::train_step(
                gpu,
                &mut m,
                &x,
                &t,
                Loss::SoftmaxCrossEntropy,
                &mut opt,
                read,
            )
            .unwrap();
            if let Some(l) = loss {
                assert!(l.is_finite(), "step {step}: loss {l}");
            }
        });
        eprintln!(
            "{}: {steps} autodiff steps in {:.1} s",
            label(gpu),
            start.elapsed().as_secs_f64()
        );
    }
}

/// Dropped tensors' buffers are reused, but never while a batch that may
/// still read them is unsubmitted.
#[test]
fn pool_reuses_buffers_but_not_inside_an_open_batch() {
    for gpu in &private_gpus() {
        let who = label(gpu);
        gpu.trim_pool();
        let t = gpu.zeros(&[1000]).unwrap();
        drop(t);
        let before = gpu.memory_stats();
        assert!(before.pooled >= 1, "{who}: {before:?}");
        let t = gpu.zeros(&[1000]).unwrap();
        let after = gpu.memory_stats();
        assert_eq!(
            after.pooled + 1,
            before.pooled,
            "{who}: not reused: {before:?} -> {after:?}"
        );
        assert!(
            after.live_buffers <= before.live_buffers,
            "{who}: {before:?} -> {after:?}"
        );
        assert!(
            t.to_vec().unwrap().iter().all(|&v| v == 0.0),
            "{who}: reused buffer not cleared"
        );
        drop(t);

        // Inside a batch: `a` is read by a recorded-but-unsubmitted relu and
        // then dropped; `b`, of the same size, must not get its buffer (its
        // upload would land before the relu runs).
        let a_data = vec![1.0f32; 1000];
        let b_data = vec![-1.0f32; 1000];
        let (r, b) = gpu
            .record(|| {
                let a = gpu.tensor(&[1000], &a_data)?;
                let r = gpu.relu(&a)?;
                drop(a);
                let b = gpu.tensor(&[1000], &b_data)?;
                Ok((r, b))
            })
            .unwrap();
        let wrong =
            |got: Vec<f32>, want: &[f32]| got.iter().zip(want).filter(|(g, w)| g != w).count();
        assert_eq!(
            wrong(r.to_vec().unwrap(), &a_data),
            0,
            "{who}: relu read a reused buffer"
        );
        assert_eq!(wrong(b.to_vec().unwrap(), &b_data), 0, "{who}");
    }
}
