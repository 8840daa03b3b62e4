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
