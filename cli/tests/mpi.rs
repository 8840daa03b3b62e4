//! `wgconv train --distributed` under Open MPI's mpirun (built with
//! `--features mpi`; CI installs Open MPI). Every mpirun is bounded by a
//! timeout: a rank that hangs fails the test instead of the CI run.
#![cfg(feature = "mpi")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const WGCONV: &str = env!("CARGO_BIN_EXE_wgconv");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgconv-mpi-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mpirun(np: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &np.to_string(),
    ]);
    c
}

/// Runs `cmd` to its end or kills it after `limit`.
fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun not found: apt-get install openmpi-bin");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().ok();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn train_losses(metrics: &PathBuf) -> Vec<u32> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(metrics).unwrap()).unwrap();
    json["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["train_loss"].as_f64().unwrap() as f32).to_bits())
        .collect()
}

/// Two ranks, each on its own adapter, give the bits of the same two
/// adapters as replicas in one process (`--devices 2`): the same shards,
/// reduced in the same order, stepped on the same primary.
#[test]
fn two_ranks_train_to_the_bits_of_two_in_process_replicas() {
    let dir = scratch("bits");
    let common = ["train", "--epochs", "2", "--limit", "320"];
    let mut c = mpirun(2);
    c.arg(WGCONV).args(common).arg("--distributed");
    c.arg("--metrics").arg(dir.join("mpi.json"));
    c.arg("--save").arg(dir.join("mpi.safetensors"));
    let out = run_bounded(c, Duration::from_secs(300));
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("rank 1 of 2:"), "{log}");
    assert_eq!(
        log.matches("test accuracy").count(),
        3,
        "only rank 0 reports: {log}"
    );

    let mut c = Command::new(WGCONV);
    c.args(common).args(["--devices", "2"]);
    c.arg("--metrics").arg(dir.join("one.json"));
    c.arg("--save").arg(dir.join("one.safetensors"));
    let out = run_bounded(c, Duration::from_secs(300));
    assert!(out.status.success(), "{}", text(&out));

    assert_eq!(
        train_losses(&dir.join("mpi.json")),
        train_losses(&dir.join("one.json"))
    );
    let a = std::fs::read(dir.join("mpi.safetensors")).unwrap();
    let b = std::fs::read(dir.join("one.safetensors")).unwrap();
    assert!(a == b, "the saved models differ");
    std::fs::remove_dir_all(&dir).ok();
}

/// The pids of this test's ranks, found by the marker in their environment.
fn ranks_with(marker: &str, rank: usize) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
        let has = |v: &str| vars.contains(&v.as_bytes());
        if has(marker) && has(&format!("OMPI_COMM_WORLD_RANK={rank}")) {
            out.push(pid);
        }
    }
    out
}

/// A rank killed in the middle of a run ends the job with an error on the
/// way out, within seconds, instead of leaving rank 0 waiting.
#[test]
fn a_killed_rank_ends_every_rank() {
    let marker = format!("WGCONV_TEST_MARKER={}", std::process::id());
    let mut c = mpirun(2);
    c.args(["-x", "WGCONV_TEST_MARKER"]);
    c.env("WGCONV_TEST_MARKER", std::process::id().to_string());
    c.arg(WGCONV)
        .args(["train", "--distributed", "--epochs", "200"]);
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun not found");
    // Wait for the first epoch: both ranks are inside the training loop.
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let start = Instant::now();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen += &line;
        seen += "\n";
        if line.starts_with("epoch") || start.elapsed() > Duration::from_secs(240) {
            break;
        }
    }
    assert!(seen.contains("epoch"), "no epoch finished: {seen}");
    let victims = ranks_with(&marker, 1);
    assert_eq!(victims.len(), 1, "rank 1 not found");
    let killed = Instant::now();
    Command::new("kill")
        .args(["-9", &victims[0].to_string()])
        .status()
        .unwrap();
    std::thread::spawn(move || lines.for_each(drop));
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                !status.success(),
                "mpirun succeeded after a rank was killed"
            );
            break;
        }
        if killed.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("mpirun still running 60 s after rank 1 was killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ranks_with(&marker, 0).is_empty(), "rank 0 outlived the job");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).ok();
    assert!(
        err.contains("rank 1") || err.contains("signal 9") || err.contains("Killed"),
        "mpirun did not say which rank died: {err}"
    );
}

/// Ranks started with different settings stop before training, saying so.
#[test]
fn ranks_with_different_settings_are_refused() {
    let mut c = mpirun(1);
    c.args([WGCONV, "train", "--distributed", "--batch", "32"]);
    c.args([
        ":",
        "-np",
        "1",
        WGCONV,
        "train",
        "--distributed",
        "--batch",
        "16",
    ]);
    let out = run_bounded(c, Duration::from_secs(120));
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("started with other settings than rank 0"),
        "{log}"
    );
}

/// Rank 0 writes the checkpoint and reads it back on resume, sending the
/// run's position to the other ranks: two ranks stopped after epoch 1 and
/// resumed save the bytes of a straight two-epoch run of two replicas.
#[test]
fn a_resumed_two_rank_run_saves_the_bytes_of_a_straight_run() {
    let dir = scratch("resume");
    let common = ["train", "--epochs", "2", "--limit", "320"];
    let ck = dir.join("ck");
    let mut c = mpirun(2);
    c.arg(WGCONV)
        .args(common)
        .args(["--distributed", "--stop-after", "1"]);
    c.arg("--checkpoint").arg(&ck);
    let out = run_bounded(c, Duration::from_secs(300));
    assert!(out.status.success(), "{}", text(&out));
    let mut c = mpirun(2);
    c.arg(WGCONV).args(common).arg("--distributed");
    c.arg("--resume").arg(&ck);
    c.arg("--save").arg(dir.join("resumed.safetensors"));
    let out = run_bounded(c, Duration::from_secs(300));
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("epoch   2") && !log.contains("epoch   1 "),
        "{log}"
    );
    let mut c = Command::new(WGCONV);
    c.args(common).args(["--devices", "2"]);
    c.arg("--save").arg(dir.join("straight.safetensors"));
    let out = run_bounded(c, Duration::from_secs(300));
    assert!(out.status.success(), "{}", text(&out));
    let a = std::fs::read(dir.join("resumed.safetensors")).unwrap();
    let b = std::fs::read(dir.join("straight.safetensors")).unwrap();
    assert!(a == b, "the resumed MPI run saved other bytes");
    std::fs::remove_dir_all(&dir).ok();
}
