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

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wgconv-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Output paths that cannot be written are refused before the data is
/// read or a step runs (a mistyped `--metrics` folder once cost the whole
/// run and the model with it), and so are outputs that would overwrite
/// one another.
#[test]
fn bad_output_paths_are_refused_before_training() {
    let dir = temp_dir("outputs");
    let p = |name: &str| dir.join(name).display().to_string();
    let train = |extra: &[&str], wanted: &[&str]| {
        let out = Command::new(WGCONV)
            .args(["train", "--cpu", "--epochs", "4"])
            .args(extra)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!out.status.success(), "{extra:?} succeeded");
        assert!(
            !stdout.contains("epoch"),
            "{extra:?} trained first: {stdout}"
        );
        for w in wanted {
            assert!(
                stderr.contains(w),
                "{extra:?}: {stderr:?} does not say {w:?}"
            );
        }
    };
    let nodir = p("nodir/m.json");
    train(
        &["--metrics", &nodir, "--save", &p("m.safetensors")],
        &["--metrics", "does not exist"],
    );
    train(&["--save", &p("x"), "--metrics", &p("x")], &["both name"]);
    let ck = p("run");
    let inside = p("run/checkpoint.safetensors");
    train(&["--checkpoint", &ck, "--save", &inside], &["both name"]);
    train(&["--save", &dir.display().to_string()], &["is a folder"]);
    std::fs::write(dir.join("afile"), b"").unwrap();
    train(&["--checkpoint", &p("afile")], &["is a file"]);
    assert!(!dir.join("m.safetensors").exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// An output that fails at the end (its folder removed while the run
/// trained) does not cost the others: the model is written first, and
/// every failure is reported with a non-zero status.
#[test]
fn an_output_failing_at_the_end_still_leaves_the_model() {
    use std::io::BufRead;
    let dir = temp_dir("late");
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    let model = dir.join("model.safetensors");
    let mut child = Command::new(WGCONV)
        .args(["train", "--cpu", "--epochs", "3", "--limit", "512"])
        .args(["--metrics", gone.join("m.json").to_str().unwrap()])
        .args(["--save", model.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read to the end (a closed pipe would end the run another way).
    for line in std::io::BufReader::new(stdout).lines() {
        if line.unwrap().starts_with("epoch") && gone.exists() {
            std::fs::remove_dir_all(&gone).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the lost metrics went unreported");
    assert!(err.contains("--metrics"), "{err}");
    assert!(model.exists(), "the model was not written: {err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `--resume` on a folder without a checkpoint yet (a run that crashed
/// before its first epoch ended) starts afresh and says so.
#[test]
fn resume_without_a_checkpoint_starts_fresh() {
    let dir = temp_dir("fresh");
    let d = dir.display().to_string();
    let out = Command::new(WGCONV)
        .args(["train", "--cpu", "--epochs", "1", "--limit", "64"])
        .args(["--checkpoint", &d, "--resume", &d])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("starting a fresh run"), "{stdout}");
    assert!(dir.join("checkpoint.safetensors").exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// Messages that once named the wrong cause: each names the real one.
#[test]
fn misleading_messages_name_the_real_cause() {
    fails_saying(
        &["train", "--devices", ""],
        &["empty name", "all", "this machine has"],
    );
    let with_env = |key: &str, value: &str, wanted: &[&str]| {
        let out = Command::new(WGCONV)
            .args(["devices"])
            .env(key, value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}={value} succeeded");
        for w in wanted {
            assert!(err.contains(w), "{key}={value}: {err:?} does not say {w:?}");
        }
    };
    with_env(
        "WGPU_BACKEND",
        "nonsense",
        &["WGPU_BACKEND", "nonsense", "vulkan"],
    );
    with_env(
        "WGCONV_VARIANT",
        "nonsense",
        &["WGCONV_VARIANT", "nonsense", "blocks_k4"],
    );
    fails_saying(&["train", "--cpu", "--lr", "-1"], &["lr"]);
    let out = Command::new(WGCONV)
        .args(["train", "--cpu", "--lr", "-1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("unexpected argument"), "{err}");
    fails_saying(&["bench", "--reps", "0"], &["--reps", "at least 1"]);
    fails_saying(
        &["train", "--cpu", "--stop-after", "0"],
        &["--stop-after", "at least 1"],
    );
}

/// A digits model trained for one epoch on 64 images (seed 1), saved in
/// `dir` as `name`.
fn trained_digits_model(dir: &std::path::Path, name: &str) -> String {
    let model = dir.join(name).display().to_string();
    let out = Command::new(WGCONV)
        .args([
            "train", "--cpu", "--epochs", "1", "--limit", "64", "--save", &model,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

/// `eval` of a model for another data set's images, or with a `--model`
/// the file is not, says so, naming the file, before it reads an image.
#[test]
fn eval_of_a_model_for_other_images_names_both() {
    let dir = temp_dir("eval-other");
    let m = trained_digits_model(&dir, "digits.safetensors");
    fails_saying(
        &["eval", "--cpu", "--load", &m, "--data", "fashion-mnist"],
        &[
            "digits.safetensors",
            "[1, 8, 8]",
            "fashion-mnist has [1, 28, 28]",
        ],
    );
    fails_saying(
        &["eval", "--cpu", "--load", &m, "--model", "resnet"],
        &[
            "digits.safetensors",
            "this file is a wgconv.digits_cnn.v1 model",
            "resnet",
        ],
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A model file records the identity of the test images it was evaluated
/// on; `eval` with another split (another `--seed`) would test it on
/// images it trained on, and is refused.
#[test]
fn eval_on_another_split_is_refused() {
    let dir = temp_dir("eval-split");
    let m = trained_digits_model(&dir, "m.safetensors");
    let ok = Command::new(WGCONV)
        .args(["eval", "--cpu", "--load", &m])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    fails_saying(
        &["eval", "--cpu", "--load", &m, "--seed", "2"],
        &[
            "m.safetensors",
            "not the ones this model was tested on",
            "seed 2",
        ],
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `--model resnet18` (a torchvision classifier) trains on the digits,
/// saves under torchvision's names with its tag, and `eval` rebuilds it
/// from the file and gets the run's accuracy; a model too deep for the
/// images says how to resize them.
#[test]
fn a_zoo_model_trains_saves_and_evaluates() {
    let dir = temp_dir("zoo");
    let model = dir.join("r18.safetensors").display().to_string();
    let out = Command::new(WGCONV)
        .args([
            "train", "--model", "resnet18", "--limit", "256", "--epochs", "1",
        ])
        .args(["--cpu", "--save", &model])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The number after the last "test accuracy ".
    let accuracy = |text: &str| {
        assert!(text.contains("test accuracy "), "no accuracy in {text:?}");
        let after = text.rsplit("test accuracy ").next().unwrap();
        after.split(' ').next().unwrap().to_string()
    };
    let (_, meta) = wgconv::nn::io::read_tensors(std::path::Path::new(&model)).unwrap();
    assert_eq!(meta["architecture"], "torchvision.resnet18");
    let (tensors, _) = wgconv::nn::io::read_tensors(std::path::Path::new(&model)).unwrap();
    for key in ["conv1.weight", "layer4.1.bn2.running_var", "fc.bias"] {
        assert!(tensors.contains_key(key), "{key} missing");
    }
    let eval = Command::new(WGCONV)
        .args(["eval", "--cpu", "--load", &model])
        .output()
        .unwrap();
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert_eq!(
        accuracy(&String::from_utf8_lossy(&eval.stdout)),
        accuracy(&stdout)
    );
    fails_saying(
        &["train", "--model", "vgg11_bn", "--limit", "64", "--cpu"],
        &["at least 32x32", "resize(32)"],
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Output to a file or a pipe still shows progress: a plain line per
/// interval (`WGCONV_PROGRESS_EVERY` seconds; 0 here, so one per step; a
/// value that is not a number is refused by name),
/// with the position, the rate and the time left.
#[test]
fn progress_is_logged_when_the_output_is_not_a_terminal() {
    let out = Command::new(WGCONV)
        .args([
            "train", "--cpu", "--epochs", "1", "--limit", "128", "--batch", "32",
        ])
        .env("WGCONV_PROGRESS_EVERY", "0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("epoch 1: ")).collect();
    assert_eq!(lines.len(), 3, "one line per step but the last: {err}");
    assert!(
        lines[0].starts_with("epoch 1: 32/128 images  loss "),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("images/s") && l.contains("eta")),
        "{err}"
    );
    // A value that is not a number of seconds is refused by name.
    let out = Command::new(WGCONV)
        .args(["train", "--cpu", "--epochs", "1", "--limit", "128"])
        .env("WGCONV_PROGRESS_EVERY", "soon")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("WGCONV_PROGRESS_EVERY=\"soon\""), "{err}");
}

/// `bench --passes` lists each op's kernels under the table, one row per
/// dispatch, timed where the adapter has timestamps and saying so where
/// not.
#[test]
fn bench_passes_lists_each_ops_kernels() {
    let out = Command::new(WGCONV)
        .args(["bench", "--suite", "seed", "--reps", "1", "--passes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = text
        .lines()
        .position(|l| l.contains("kernel (shader:entry)"))
        .unwrap_or_else(|| panic!("no passes table in {text}"));
    let rows: Vec<&str> = text
        .lines()
        .skip(header + 1)
        .take_while(|l| l.starts_with("seed"))
        .collect();
    for op in ["forward", "input_grad", "weight_grad"] {
        assert!(
            rows.iter().any(|r| r.split_whitespace().nth(1) == Some(op)),
            "no row for {op} in {rows:?}"
        );
    }
    assert!(
        rows.iter()
            .all(|r| r.contains(" %") || r.contains("not timed per kernel")),
        "{rows:?}"
    );
}
