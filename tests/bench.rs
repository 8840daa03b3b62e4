//! `wgconv bench`'s per-kernel times (`Measurement::passes`, printed by
//! `--passes`): every dispatch an op records is timed, in the order it
//! runs, under the kernel the plan names. A Winograd weight gradient
//! records five passes, one more than the four the bench once made room
//! for: its last pass, the transform back to the weight's shape, was then
//! left out of the op's time.
mod common;
use common::{gpus, label};
use wgconv::bench::{self, BenchOptions, BenchShape, ConvOp};
use wgconv::Policy;

/// Small enough for CI, large enough that F(4×4) takes it (3×3 at stride
/// 1) and its weight gradient's reduction over 8·64 tiles splits.
const SHAPE: BenchShape = BenchShape {
    suite: "test",
    name: "T1",
    n: 8,
    c: 8,
    hw: 32,
    k: 16,
    rs: 3,
    stride: 1,
    pad: 1,
    groups: 1,
};

fn entries(m: &bench::Measurement) -> Vec<&str> {
    m.passes.iter().map(|p| p.kernel.as_str()).collect()
}

#[test]
fn every_dispatch_of_an_op_is_timed_in_order() {
    let opts = BenchOptions {
        warmup: 1,
        reps: 3,
        ..Default::default()
    };
    for shared in gpus() {
        let who = label(shared);
        let gpu = shared.with_policy(Policy::Winograd4);
        for op in ConvOp::ALL {
            let m = bench::measure(&gpu, &SHAPE, op, &opts).unwrap();
            assert_eq!(m.algorithm, "winograd_4x4", "{who} {op:?}");
            if !gpu.has_timestamps() {
                assert!(m.passes.is_empty(), "{who}: passes without timestamps");
                assert_eq!(m.timer, "wall-clock");
                continue;
            }
            let names = entries(&m);
            let gemm = names
                .iter()
                .filter(|n| n.ends_with(&format!(":{}", m.kernel)))
                .count();
            assert_eq!(
                gemm, 1,
                "{who} {op:?}: one GEMM pass of {} in {names:?}",
                m.kernel
            );
            let transforms: Vec<&str> = names
                .iter()
                .filter(|n| n.starts_with("winograd4:"))
                .map(|n| n.split(':').nth(1).unwrap_or(""))
                .collect();
            let want: &[&str] = match op {
                ConvOp::Forward => &["input_transform", "weight_transform", "output_transform"],
                ConvOp::InputGrad => &[
                    "input_transform",
                    "weight_transform_turned",
                    "output_transform",
                ],
                ConvOp::WeightGrad => &["input_transform", "dy_transform", "dw_transform"],
            };
            assert_eq!(transforms.len(), want.len(), "{who} {op:?}: {names:?}");
            for (got, want) in transforms.iter().zip(want) {
                assert!(
                    got.starts_with(want),
                    "{who} {op:?}: {got} where {want} runs: {names:?}"
                );
            }
            let splits = names
                .iter()
                .filter(|n| n.contains(":reduce_splits"))
                .count();
            assert_eq!(splits, usize::from(m.splits > 1), "{who} {op:?}: {names:?}");
            assert_eq!(names.len(), 4 + splits, "{who} {op:?}: {names:?}");
            if op == ConvOp::WeightGrad {
                assert!(m.splits > 1, "{who}: the weight gradient did not split");
                assert!(
                    names[names.len() - 1].ends_with(":dw_transform"),
                    "{who}: {names:?}"
                );
            }
            for p in &m.passes {
                assert!(
                    p.median_ms.is_finite() && p.median_ms >= 0.0 && p.median_ms <= m.max_ms,
                    "{who} {op:?}: {} took {} ms of an op of at most {} ms",
                    p.kernel,
                    p.median_ms,
                    m.max_ms
                );
            }
            let table = bench::passes_table(std::slice::from_ref(&m));
            assert_eq!(table.lines().count(), 1 + m.passes.len(), "{table}");
            let count = names.len();
            let json: serde_json::Value = serde_json::from_str(&bench::to_json(&[m])).unwrap();
            assert_eq!(json[0]["passes"].as_array().map(Vec::len), Some(count));
        }
    }
}
