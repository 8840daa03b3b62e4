//! The small suite (S1–S5 of wgconv's `bench`, src/bench/mod.rs) on burn's
//! wgpu backend: forward, input gradient and weight gradient of each
//! shape, 2 warm-up runs (autotune settles in them) and `REPS` timed ones,
//! wall clock around the op and a device sync, median and min–max in ms.
//! (wgconv's bench reads GPU timestamps; on lavapipe an op of tens of ms
//! costs well under a millisecond more by the wall clock, which favours
//! wgconv by that much.) `cargo run --release -- S5` runs one shape.

use burn::tensor::module::{conv2d, conv2d_weight_backward, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, DeviceKind, Distribution, Tensor};
use std::time::Instant;

/// name, N, C, H = W, K, R = S, stride, padding.
const SHAPES: [(&str, usize, usize, usize, usize, usize, usize, usize); 5] = [
    ("S1", 64, 1, 28, 32, 3, 1, 1),
    ("S2", 64, 32, 14, 64, 3, 1, 1),
    ("S3", 32, 64, 32, 64, 3, 1, 1),
    ("S4", 32, 64, 32, 128, 3, 2, 1),
    ("S5", 32, 128, 16, 256, 1, 1, 0),
];

fn reps() -> usize {
    std::env::var("REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(10)
}

fn time(device: &Device, mut f: impl FnMut() -> Tensor<4>) -> (f64, f64, f64) {
    for _ in 0..2 {
        let _ = f();
        device.sync().unwrap();
    }
    let mut ms: Vec<f64> = (0..reps())
        .map(|_| {
            let start = Instant::now();
            let out = f();
            device.sync().unwrap();
            drop(out);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
}

fn main() {
    let device = Device::wgpu(DeviceKind::DefaultDevice);
    let only: Option<String> = std::env::args().nth(1);
    println!("shape  op           median ms   min-max ms          GFLOP/s");
    for (name, n, c, hw, k, rs, stride, pad) in SHAPES {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|s| s == name)) {
            continue;
        }
        let ho = (hw + 2 * pad - rs) / stride + 1;
        let opts = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
        // The input gradient as burn's own conv2d_x_backward computes it:
        // a transposed convolution of dy with w, padded out to x's size.
        let out_pad = hw + 2 * pad - ((ho - 1) * stride + rs);
        let topts = ConvTransposeOptions::new(
            [stride, stride],
            [pad, pad],
            [out_pad, out_pad],
            [1, 1],
            1,
        );
        let dist = Distribution::Uniform(-1.0, 1.0);
        let x = Tensor::<4>::random([n, c, hw, hw], dist, &device);
        let w = Tensor::<4>::random([k, c, rs, rs], dist, &device);
        let dy = Tensor::<4>::random([n, k, ho, ho], dist, &device);
        let flops = 2.0 * (n * k * ho * ho * c * rs * rs) as f64;
        let ops: [(&str, Box<dyn FnMut() -> Tensor<4>>); 3] = [
            ("forward", Box::new(|| conv2d(x.clone(), w.clone(), None, opts.clone()))),
            (
                "input_grad",
                Box::new(|| {
                    let dx = conv_transpose2d(dy.clone(), w.clone(), None, topts.clone());
                    assert_eq!(dx.dims(), [n, c, hw, hw]);
                    dx
                }),
            ),
            (
                "weight_grad",
                Box::new(|| conv2d_weight_backward(x.clone(), w.clone(), dy.clone(), opts.clone())),
            ),
        ];
        for (op, mut f) in ops {
            let (med, lo, hi) = time(&device, &mut f);
            println!(
                "{name:<6} {op:<12} {med:>9.3}   {lo:>8.3}-{hi:<8.3}   {:>7.1}",
                flops / (med * 1e6)
            );
        }
    }
}
