//! One `Gpu` shared by 8 threads running ops at once: every result must
//! match the CPU reference (no cross-talk between threads' submissions,
//! batches or pooled buffers).
mod common;
use common::{assert_close, gpus, label, random_geometry, Case, Rng};
use wgconv::{cpu, Gpu, Tensor};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn gpu_and_tensor_are_send_and_sync() {
    assert_send_sync::<Gpu>();
    assert_send_sync::<Tensor>();
}

#[test]
fn eight_threads_share_one_gpu() {
    for gpu in gpus() {
        std::thread::scope(|scope| {
            for t in 0..8u64 {
                scope.spawn(move || {
                    let mut rng = Rng::new(1000 + t);
                    for i in 0..12 {
                        let (xs, ws, p) = random_geometry(&mut rng);
                        // Integer inputs: every op is exact, so any
                        // cross-talk shows as an inequality.
                        Case::new(xs, ws, p, &mut rng, true).check(gpu, true);
                        // Half the iterations inside a batch of their own.
                        let a = rng.floats(500);
                        let b = rng.floats(500);
                        let run = || -> Result<Vec<f32>, wgconv::Error> {
                            let mut x = gpu.tensor(&[500], &a)?;
                            let y = gpu.tensor(&[500], &b)?;
                            gpu.add_assign(&mut x, &y)?;
                            gpu.relu(&x)?.to_vec()
                        };
                        let got = if i % 2 == 0 { gpu.record(run) } else { run() }.unwrap();
                        let mut want = a.clone();
                        cpu::add_assign(&mut want, &b).unwrap();
                        let want = cpu::relu(&want);
                        assert_close(
                            &format!("thread {t} iteration {i} on {}", label(gpu)),
                            &[500],
                            &got,
                            &want,
                            false,
                        );
                    }
                });
            }
        });
        assert!(gpu.check_usable().is_ok());
    }
}

/// Scratch space an op leases for itself (the weight gradient's split-K
/// partial sums here) must stay leased until the op's commands are
/// submitted. Released earlier, another thread can lease it, queue an
/// upload into it, and have that upload run first and then be overwritten
/// by the op's own kernel (this was a real bug: CI saw one test's
/// convolution read the other's partial sums). The same holds for a
/// batch: its released buffers stay quarantined until it is submitted.
#[test]
fn scratch_is_not_reused_before_its_op_is_submitted() {
    use wgconv::{Conv2dParams, ConvKernel, Policy};
    // Direct weight gradient of a 3x3 kernel over 38x38 outputs: six
    // splits of 241 terms, so 6·9 = 54 floats of partial sums.
    const PARTIALS: usize = 54;
    for gpu in gpus() {
        let gpu = gpu.with_policy(Policy::Force(ConvKernel::Direct));
        let p = Conv2dParams::default();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut rng = Rng::new(3);
                let x = gpu.tensor(&[1, 1, 40, 40], &rng.ints(1600)).unwrap();
                let dy = gpu.tensor(&[1, 1, 38, 38], &rng.ints(1444)).unwrap();
                // Alternately alone and inside a batch, whose scratch waits
                // in quarantine until the batch is submitted.
                let mut batched = false;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let step = || gpu.conv2d_weight_grad(&x, &dy, [1, 1, 3, 3], &p);
                    if batched { gpu.record(step) } else { step() }.unwrap();
                    batched = !batched;
                }
            });
            let mut rng = Rng::new(4);
            for i in 0..3000 {
                let data = rng.floats(PARTIALS);
                let got = gpu.tensor(&[PARTIALS], &data).unwrap().to_vec().unwrap();
                if got != data {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    panic!(
                        "upload {i} on {} was overwritten by another op's scratch",
                        label(&gpu)
                    );
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
}
