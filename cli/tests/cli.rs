//! The command line's answers to data-parallel options it cannot honour.

use std::process::Command;

const WGCONV: &str = env!("CARGO_BIN_EXE_wgconv");

fn fails_saying(args: &[&str], wanted: &[&str]) {
    let out = Command::new(WGCONV).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    for w in wanted {
        assert!(err.contains(w), "{args:?}: {err:?} does not say {w:?}");
    }
}

#[cfg(not(feature = "mpi"))]
#[test]
fn distributed_without_the_mpi_feature_says_how_to_build_it() {
    fails_saying(
        &["train", "--distributed"],
        &["--features mpi", "libopenmpi-dev", "mpirun"],
    );
}

#[test]
fn more_devices_than_adapters_is_refused() {
    fails_saying(&["train", "--devices", "64"], &["64 device(s) asked for"]);
}

#[test]
fn a_batch_smaller_than_the_devices_is_refused() {
    fails_saying(
        &["train", "--devices", "vulkan,vulkan", "--batch", "1"],
        &["batch", "1 is smaller than the 2 shards"],
    );
}

#[test]
fn devices_and_cpu_exclude_each_other() {
    fails_saying(
        &["train", "--devices", "all", "--cpu"],
        &["cannot be used with"],
    );
}
