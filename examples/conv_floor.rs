//! What bounds the small suite's memory-bound passes on one adapter: each
//! kernel of S1's three ops (one input channel: 6.4 MB of output or
//! output gradient for 9 multiply-adds a value) and the transforms of S2's
//! and S3's Winograd ops, timed by the bench (`Measurement::passes`)
//! beside the copy kernel run on a tensor of the pass's largest operand,
//! in alternation so both see the same machine. GB/s counts each pass's
//! fewest bytes (every operand read or written once) over its time, and
//! the copy's 2 × its tensor; a pass near 100 % of the copy moves its
//! bytes as fast as this adapter moves any. The batched GEMMs are left
//! out (multiply-bound; the suite's GFLOP/s say how they do).
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example conv_floor`
use wgconv::bench::{self, BenchOptions, ConvOp, SHAPES};
use wgconv::{Error, Gpu};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The copy kernel's GPU time on `len` values (device_time around it).
fn copy_ms(gpu: &Gpu, len: usize) -> Result<f64, Error> {
    let x = gpu.zeros(&[len])?;
    gpu.synchronize()?;
    let (_, ms) = gpu.device_time(|| {
        let y = gpu.copy(&x)?;
        gpu.synchronize()?;
        Ok(y)
    })?;
    Ok(ms.unwrap_or(f64::NAN))
}

/// A pass's operands in values, (read, written), or None for a GEMM or a
/// pass too small to matter (weight transforms, split reductions).
fn operands(shape: &bench::BenchShape, op: ConvOp, entry: &str) -> Option<(usize, usize)> {
    let (n, hw) = (shape.n, shape.hw);
    // The input gradient runs the forward's transforms from dy (K
    // channels) to dx (C).
    let (c, k) = match op {
        ConvOp::InputGrad => (shape.k, shape.c),
        _ => (shape.c, shape.k),
    };
    let tiles = n * hw.div_ceil(4) * hw.div_ceil(4);
    let (x, y) = (n * c * hw * hw, n * k * hw * hw);
    let kernel = entry.split(':').nth(1)?;
    match kernel {
        _ if kernel.starts_with("input_transform") => Some((x, 36 * c * tiles)),
        _ if kernel.starts_with("output_transform") => Some((36 * k * tiles, y)),
        _ if kernel.starts_with("dy_transform") => Some((y, 36 * k * tiles)),
        _ if entry.starts_with("conv2d_depthwise:forward") => Some((x, y)),
        _ if entry.starts_with("conv2d_depthwise:input_grad") => Some((y, x)),
        _ if entry.starts_with("conv2d_depthwise:weight_grad") => Some((x + y, 0)),
        _ => None,
    }
}

/// One pass of one round: its time beside the copy's, and its operands.
struct PassRow {
    entry: String,
    ms: f64,
    copy_ms: f64,
    read: usize,
    written: usize,
}

fn main() -> Result<(), Error> {
    wgconv::quiet_headless_driver_probes();
    let gpu = Gpu::new()?;
    if !gpu.has_timestamps() {
        eprintln!("{}: no GPU timestamps, no per-pass times", gpu.info().name);
        return Ok(());
    }
    println!("{}", gpu.info().name);
    println!(
        "{:<6} {:<12} {:<38} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "shape", "op", "pass", "ms", "MB", "GB/s", "copy GB/s", "of copy"
    );
    let opts = BenchOptions {
        warmup: 1,
        reps: 3,
        ..Default::default()
    };
    for name in ["S1", "S2", "S3"] {
        let Some(shape) = SHAPES.iter().find(|s| s.name == name) else {
            continue;
        };
        for op in ConvOp::ALL {
            // Five rounds of (the op's passes, a copy per pass), medians.
            let mut rounds: Vec<Vec<PassRow>> = Vec::new();
            for _ in 0..5 {
                let m = bench::measure(&gpu, shape, op, &opts)?;
                let mut row = Vec::new();
                for p in &m.passes {
                    if let Some((read, written)) = operands(shape, op, &p.kernel) {
                        row.push(PassRow {
                            entry: p.kernel.clone(),
                            ms: p.median_ms,
                            copy_ms: copy_ms(&gpu, read.max(written))?,
                            read,
                            written,
                        });
                    }
                }
                rounds.push(row);
            }
            for (i, first) in rounds[0].iter().enumerate() {
                let ms = median(rounds.iter().map(|r| r[i].ms).collect());
                let cm = median(rounds.iter().map(|r| r[i].copy_ms).collect());
                let (entry, read, written) = (&first.entry, first.read, first.written);
                let bytes = 4.0 * (read + written) as f64;
                let gbps = bytes / (ms * 1e6);
                let copy_gbps = 2.0 * 4.0 * read.max(written) as f64 / (cm * 1e6);
                println!(
                    "{:<6} {:<12} {:<38} {ms:>8.3} {:>8.1} {gbps:>8.2} {copy_gbps:>9.2} {:>7.0}%",
                    name,
                    op.name(),
                    entry,
                    bytes / 1e6,
                    100.0 * gbps / copy_gbps
                );
            }
        }
    }
    Ok(())
}
