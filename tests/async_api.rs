//! The async core a browser awaits (issue #11): `Gpu::new_async`,
//! `Gpu::all_matching_with_async`, `Tensor::to_vec_async`,
//! `Gpu::synchronize_async` give what the blocking API gives. Natively
//! the blocking calls are these futures run to their end.
mod common;
use common::gpus;
use wgconv::{Conv2dParams, DeviceLimits, Gpu};

#[test]
fn async_calls_give_what_blocking_calls_give() {
    if gpus().is_empty() {
        eprintln!("*** SKIPPING: no GPU adapter");
        return;
    }
    pollster::block_on(async {
        let all = Gpu::all_matching_with_async("", DeviceLimits::Adapter)
            .await
            .unwrap();
        assert_eq!(all.len(), gpus().len());
        let best = Gpu::new_async().await.unwrap();
        assert_eq!(best.info().name, Gpu::new().unwrap().info().name);
        for gpu in all {
            let x: Vec<f32> = (0..25).map(|i| i as f32).collect();
            let x = gpu.tensor(&[1, 1, 5, 5], &x).unwrap();
            let w = gpu.tensor(&[1, 1, 3, 3], &[1.0; 9]).unwrap();
            let y = gpu
                .conv2d(&x, &w, None, &Conv2dParams::square(2, 0))
                .unwrap();
            // Unread work, then a wait that must cover it.
            gpu.synchronize_async().await.unwrap();
            let got = y.to_vec_async().await.unwrap();
            assert_eq!(got, y.to_vec().unwrap(), "{}", gpu.info().name);
            // The text's example: each output sums a 3x3 window at stride 2.
            assert_eq!(got, vec![54.0, 72.0, 144.0, 162.0]);
        }
    });
}

#[test]
fn a_lost_device_fails_the_async_readback_too() {
    let Some(shared) = gpus().first() else {
        eprintln!("*** SKIPPING: no GPU adapter");
        return;
    };
    let gpu = Gpu::all_matching(&shared.info().name).unwrap().remove(0);
    let t = gpu.tensor(&[4], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    gpu.destroy();
    let e = pollster::block_on(t.to_vec_async()).unwrap_err();
    assert!(matches!(e, wgconv::Error::DeviceLost { .. }), "{e}");
}
