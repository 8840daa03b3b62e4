//! One convolution run over and over for a number of seconds, each run
//! waited for, then the time per run: minimum, 10th, 50th and 90th
//! percentile, maximum. For comparing two builds of the kernels on a
//! noisy machine (a run of seconds per build, the builds alternated,
//! the medians set side by side) and for a profiler to attach to
//! (`perf record -p PID`), which sees one kernel's code for the whole run.
//! The policy is `WGCONV_VARIANT`'s (Auto without it, or a kernel's name).
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example conv_loop -- N C HW K RS STRIDE PAD OP SECONDS`
//! (OP: forward, input_grad or weight_grad), e.g. S5's forward for 5 s:
//! `... -- 32 128 16 256 1 1 0 forward 5`.
use std::time::Instant;
use wgconv::{Conv2dParams, ConvOp, Gpu};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    wgconv::quiet_headless_driver_probes();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: conv_loop N C HW K RS STRIDE PAD OP SECONDS";
    if args.len() != 9 {
        return Err(usage.into());
    }
    let sizes = args[..7]
        .iter()
        .map(|a| a.parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{usage}: {e}"))?;
    let op = ConvOp::parse(&args[7]).ok_or(usage)?;
    let seconds: f64 = args[8].parse().map_err(|e| format!("{usage}: {e}"))?;
    let (n, c, hw, k, rs) = (sizes[0], sizes[1], sizes[2], sizes[3], sizes[4]);
    let params = Conv2dParams::square(sizes[5] as u32, sizes[6] as u32);
    let gpu = Gpu::new()?;
    let x = gpu.tensor(&[n, c, hw, hw], &vec![0.5; n * c * hw * hw])?;
    let w = gpu.tensor(&[k, c, rs, rs], &vec![0.25; k * c * rs * rs])?;
    let y = gpu.conv2d(&x, &w, None, &params)?;
    let run = || match op {
        ConvOp::Forward => gpu.conv2d(&x, &w, None, &params),
        ConvOp::InputGrad => gpu.conv2d_input_grad(&y, &w, [n, c, hw, hw], &params),
        ConvOp::WeightGrad => gpu.conv2d_weight_grad(&x, &y, [k, c, rs, rs], &params),
    };
    // The first run builds the pipelines; it is not counted.
    drop(run()?);
    gpu.synchronize()?;
    let start = Instant::now();
    let mut times = Vec::new();
    while start.elapsed().as_secs_f64() < seconds || times.is_empty() {
        let t = Instant::now();
        let out = run()?;
        gpu.synchronize()?;
        drop(out);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let at = |f: f64| times[((times.len() - 1) as f64 * f) as usize];
    println!(
        "{} runs of {} ({}): ms per run min {:.2} p10 {:.2} p50 {:.2} p90 {:.2} max {:.2}",
        times.len(),
        op.name(),
        gpu.explain(op, [n, c, hw, hw], [k, c, rs, rs], &params)?
            .kernel
            .name(),
        at(0.0),
        at(0.1),
        at(0.5),
        at(0.9),
        at(1.0)
    );
    Ok(())
}
