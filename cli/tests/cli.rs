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

/// `--epochs` is the run's total: a 1-epoch run checkpointed, then
/// resumed with `--epochs 2`, saves the very bytes of a straight 2-epoch
/// run (issue #9).
#[test]
fn resume_then_save_writes_the_bytes_of_a_straight_run() {
    let dir = std::env::temp_dir().join(format!("wgconv-cli-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |extra: &[&str]| {
        let out = Command::new(WGCONV)
            .args(["train", "--limit", "256", "--cpu"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let path = |name: &str| dir.join(name).display().to_string();
    run(&["--epochs", "2", "--save", &path("straight.safetensors")]);
    run(&[
        "--epochs",
        "2",
        "--stop-after",
        "1",
        "--checkpoint",
        &path("ck"),
    ]);
    run(&[
        "--epochs",
        "2",
        "--resume",
        &path("ck"),
        "--save",
        &path("resumed.safetensors"),
    ]);
    let a = std::fs::read(path("straight.safetensors")).unwrap();
    let b = std::fs::read(path("resumed.safetensors")).unwrap();
    assert!(a == b, "the resumed run saved other bytes");
    std::fs::remove_dir_all(&dir).ok();
}
