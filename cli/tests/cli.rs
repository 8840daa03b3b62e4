//! The command line's answers to options it cannot honour: data-parallel
//! settings, runs that would train on nothing, and runs that diverge.

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

/// No images to train on is an error before the first step, whether
/// `--limit 0` asked for none or a tiny digits file gave them all to the
/// test hold-out.
#[test]
fn training_on_no_image_is_refused() {
    fails_saying(
        &["train", "--cpu", "--limit", "0"],
        &["the training set holds no image"],
    );
    let dir = std::env::temp_dir().join(format!("wgconv-cli-tiny-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("tiny.csv.gz");
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!("{}{}\n", "1,".repeat(64), i % 10));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    std::fs::write(&csv, gz.finish().unwrap()).unwrap();
    fails_saying(
        &["train", "--cpu", "--data-path", csv.to_str().unwrap()],
        &["the training set holds no image"],
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A learning rate that sends the loss to NaN stops the run with the
/// epoch and step named, a non-zero status, and no model written;
/// `--on-nan continue` trains on.
#[test]
fn a_diverging_run_stops_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("wgconv-cli-nan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.safetensors");
    let m = model.to_str().unwrap();
    fails_saying(
        &[
            "train",
            "--cpu",
            "--limit",
            "256",
            "--epochs",
            "1",
            "--optimizer",
            "sgd",
            "--lr",
            "1e30",
            "--save",
            m,
        ],
        &["training diverged", "epoch 1, step"],
    );
    assert!(!model.exists(), "a diverged run saved a model");
    let out = Command::new(WGCONV)
        .args([
            "train",
            "--cpu",
            "--limit",
            "64",
            "--epochs",
            "1",
            "--optimizer",
            "sgd",
            "--lr",
            "1e30",
        ])
        .args(["--on-nan", "continue"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// An epoch count whose steps overflow the step counter is refused before
/// training (it once wrapped the one-cycle schedule's length and failed
/// mid-epoch).
#[test]
fn an_epoch_count_past_the_step_counter_is_refused() {
    fails_saying(
        &["train", "--cpu", "--epochs", "409927646082434481"],
        &["epochs", "more steps than can be counted"],
    );
}
