//! Driver-side errors reach the caller as `Err`: a validation error inside
//! an op, and a lost (destroyed) device, after which every op fails with
//! `DeviceLost` and nothing panics.
mod common;
use common::{gpus, label};
use wgconv::{Conv2dParams, Error, Gpu};

#[test]
fn validation_errors_become_device_errors() {
    for gpu in gpus() {
        let e = gpu.debug_invalid_dispatch().unwrap_err();
        match &e {
            Error::Device { op, message } => {
                assert_eq!(*op, "debug_invalid_dispatch");
                assert!(!message.is_empty());
            }
            other => panic!("{}: expected Error::Device, got {other:?}", label(gpu)),
        }
        // The device is still usable afterwards.
        assert!(gpu.is_usable());
        let t = gpu.tensor(&[3], &[1.0, -2.0, 3.0]).unwrap();
        assert_eq!(gpu.relu(&t).unwrap().to_vec().unwrap(), vec![1.0, 0.0, 3.0]);
    }
}

#[test]
fn a_lost_device_fails_every_op_without_panicking() {
    for gpu in gpus() {
        // A device of our own on the same adapter, so the shared one stays.
        let own = Gpu::all_matching(&gpu.info().name)
            .unwrap()
            .into_iter()
            .find(|g| g.info().backend == gpu.info().backend)
            .unwrap();
        let x = own.tensor(&[1, 1, 4, 4], &[1.0; 16]).unwrap();
        let w = own.tensor(&[1, 1, 3, 3], &[1.0; 9]).unwrap();
        assert!(own.is_usable());
        own.destroy();
        assert!(!own.is_usable(), "{}", label(gpu));
        let results = [
            own.conv2d(&x, &w, None, &Conv2dParams::default())
                .map(|_| ()),
            own.tensor(&[2], &[1.0, 2.0]).map(|_| ()),
            own.zeros(&[2]).map(|_| ()),
            x.to_vec().map(|_| ()),
            own.relu(&x).map(|_| ()),
            own.synchronize(),
        ];
        for r in results {
            assert!(
                matches!(r, Err(Error::DeviceLost { .. })),
                "{}: {r:?}",
                label(gpu)
            );
        }
        let message = own.check_usable().unwrap_err().to_string();
        assert!(message.contains("lost"), "{message}");
    }
}
