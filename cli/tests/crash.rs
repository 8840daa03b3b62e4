//! A checkpointing run killed outright (SIGKILL, no chance to clean up)
//! at moments spread over its length, then started again with the same
//! command and `--resume`, saves the very bytes of a run never killed:
//! checkpoints are never torn (a temporary file, flushed, then renamed),
//! a run killed before its first checkpoint starts afresh, and a resumed
//! run is bit-identical. Bounded: eight kills of a run of a few seconds.

use std::process::Command;
use std::time::{Duration, Instant};

const WGCONV: &str = env!("CARGO_BIN_EXE_wgconv");
const RUN: [&str; 8] = [
    "train",
    "--cpu",
    "--limit",
    "320",
    "--epochs",
    "3",
    "--augment",
    "true",
];

#[test]
fn a_run_killed_anywhere_resumes_to_the_bytes_of_a_straight_run() {
    let root = std::env::temp_dir().join(format!("wgconv-crash-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    std::fs::create_dir_all(&root).unwrap();
    let straight = root.join("straight.safetensors");
    let start = Instant::now();
    let out = Command::new(WGCONV)
        .args(RUN)
        .args(["--save", straight.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let length = start.elapsed();
    let want = std::fs::read(&straight).unwrap();
    let kills = 8;
    for k in 0..kills {
        let dir = root.join(format!("run{k}"));
        let saved = root.join(format!("resumed{k}.safetensors"));
        let (d, s) = (dir.to_str().unwrap(), saved.to_str().unwrap());
        let mut child = Command::new(WGCONV)
            .args(RUN)
            .args(["--checkpoint", d, "--resume", d, "--save", s])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // From early in the first epoch to past the end of the run.
        let at = length.mul_f64((k as f64 + 0.5) / kills as f64 * 1.1);
        std::thread::sleep(at.min(Duration::from_secs(30)));
        let _ = child.kill();
        let _ = child.wait();
        let out = Command::new(WGCONV)
            .args(RUN)
            .args(["--checkpoint", d, "--resume", d, "--save", s])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kill {k} at {at:?}: the re-run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = std::fs::read(&saved).unwrap();
        assert!(
            got == want,
            "kill {k} at {at:?}: the resumed run saved other bytes"
        );
    }
    std::fs::remove_dir_all(&root).ok();
}
