//! Where a Winograd convolution's time goes: the whole forward pass of
//! the Fashion model's conv 4 (batch 128, 32 → 64 channels, 3x3 on
//! 14x14) under `Policy::Winograd` (F(2x2, 3x3)) and `Policy::Winograd4`
//! (F(4x4, 3x3)), beside its batched GEMM alone (the 1x1 convolution of
//! 16 or 36 groups the plan runs, on the same kernel); the difference is
//! the transforms. Wall clock around `Gpu::synchronize`, median of 5
//! after 2 warm-up runs. The figures are in docs/performance.md.
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example winograd_split`
use std::time::Instant;
use wgconv::plan::{winograd_products, ConvOp};
use wgconv::{Conv2dParams, Error, Gpu, Policy, Tensor};

/// Median milliseconds of `f` (its result dropped after the sync).
fn median_ms(gpu: &Gpu, f: &dyn Fn() -> Result<Tensor, Error>) -> Result<f64, Error> {
    for _ in 0..2 {
        f()?;
    }
    gpu.synchronize()?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let y = f()?;
        gpu.synchronize()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        drop(y);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[2])
}

fn main() -> Result<(), Error> {
    wgconv::quiet_headless_driver_probes();
    let gpu = Gpu::new()?;
    let (n, c, k, hw) = (128, 32, 64, 14);
    let x = gpu.tensor(&[n, c, hw, hw], &vec![0.5; n * c * hw * hw])?;
    let w = gpu.tensor(&[k, c, 3, 3], &vec![0.25; k * c * 9])?;
    let p = Conv2dParams::square(1, 1);
    for (tile, policy) in [(2, Policy::Winograd), (4, Policy::Winograd4)] {
        let g = gpu.with_policy(policy);
        let whole = median_ms(&g, &|| g.conv2d(&x, &w, None, &p))?;
        let products = winograd_products(tile);
        let tiles = n * hw.div_ceil(tile) * hw.div_ceil(tile);
        let v_shape = [1, products * c, 1, tiles];
        let u_shape = [products * k, c, 1, 1];
        let v = gpu.tensor(&v_shape, &vec![0.5; products * c * tiles])?;
        let u = gpu.tensor(&u_shape, &vec![0.5; products * k * c])?;
        let groups = Conv2dParams {
            groups: products as u32,
            ..Default::default()
        };
        let gemm = median_ms(&gpu, &|| gpu.conv2d(&v, &u, None, &groups))?;
        let plan = gpu.explain(ConvOp::Forward, v_shape, u_shape, &groups)?;
        println!(
            "F({tile}x{tile}, 3x3) forward {whole:.1} ms; its batched GEMM alone {gemm:.1} ms ({plan}); transforms {:.1} ms",
            whole - gemm
        );
    }
    Ok(())
}
