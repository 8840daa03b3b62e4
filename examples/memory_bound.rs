//! What the Fashion step's memory-bound kernels cost beside a copy of the
//! same tensor on one adapter: batch norm + ReLU (training forward and
//! backward) and 2x2 max pooling at the shapes of the Fashion model's two
//! blocks, each op's GPU time (median of 15 after 3 warm-ups) and its
//! fewest bytes over that time against the copy kernel's rate, measured
//! in alternation so both see the same machine. Batch norm's eval-mode
//! forward (the running statistics, no statistics pass) beside the
//! training one bounds what gathering the statistics in the convolution
//! before it could save.
//!
//! `WGPU_BACKEND=vulkan cargo run --release --example memory_bound`
use wgconv::{BatchNorm, Error, Gpu, Pool2dParams, Tensor};

fn time(gpu: &Gpu, mut f: impl FnMut() -> Result<Tensor, Error>) -> Result<f64, Error> {
    gpu.synchronize()?;
    let (_, ms) = gpu.device_time(|| {
        let t = f()?;
        gpu.synchronize()?;
        Ok(t)
    })?;
    Ok(ms.unwrap_or(f64::NAN))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Error> {
    wgconv::quiet_headless_driver_probes();
    let gpu = Gpu::new()?;
    println!("{}", gpu.info().name);
    println!(
        "{:<46} {:>9} {:>9} {:>8} {:>10}",
        "op [N, C, H, W]", "ms", "copy ms", "GB/s", "of copy"
    );
    for shape in [[128usize, 32, 28, 28], [128, 64, 14, 14]] {
        let len: usize = shape.iter().product();
        let c = shape[1];
        let data: Vec<f32> = (0..len)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let x = gpu.tensor(&shape, &data)?;
        let dy = gpu.tensor(&shape, &data)?;
        let w = gpu.tensor(&[c], &vec![1.0; c])?;
        let b = gpu.tensor(&[c], &vec![0.1; c])?;
        let (mut rm, mut rv) = (gpu.zeros(&[c])?, gpu.tensor(&[c], &vec![1.0; c])?);
        let cfg = BatchNorm::default();
        let (y, saved) = gpu.batch_norm2d_relu(&x, &w, &b, &mut rm, &mut rv, true, &cfg)?;
        let pool = Pool2dParams::window(2);
        let pooled = gpu.max_pool2d(&y, &pool)?;
        let dp = gpu.tensor(pooled.shape(), &data[..pooled.shape().iter().product()])?;
        let t = len as f64 * 4.0;
        let ops: [(&str, f64); 5] = [
            ("batch_norm2d_relu", 2.0 * t),
            ("batch_norm2d_relu eval", 2.0 * t),
            ("batch_norm2d_relu_backward", 3.0 * t),
            ("max_pool2d", 1.25 * t),
            ("max_pool2d_backward", 2.25 * t),
        ];
        for (name, bytes) in ops {
            let (mut op_ms, mut copy_ms) = (Vec::new(), Vec::new());
            for i in 0..18 {
                let ms = match name {
                    "batch_norm2d_relu" => time(&gpu, || {
                        Ok(gpu
                            .batch_norm2d_relu(&x, &w, &b, &mut rm, &mut rv, true, &cfg)?
                            .0)
                    })?,
                    "batch_norm2d_relu eval" => time(&gpu, || {
                        Ok(gpu
                            .batch_norm2d_relu(&x, &w, &b, &mut rm, &mut rv, false, &cfg)?
                            .0)
                    })?,
                    "batch_norm2d_relu_backward" => time(&gpu, || {
                        Ok(gpu
                            .batch_norm2d_relu_backward(&x, &y, &dy, &w, &b, &saved, true)?
                            .0)
                    })?,
                    "max_pool2d" => time(&gpu, || gpu.max_pool2d(&y, &pool))?,
                    _ => time(&gpu, || gpu.max_pool2d_backward(&y, &dp, &pool))?,
                };
                let cm = time(&gpu, || gpu.copy(&x))?;
                if i >= 3 {
                    op_ms.push(ms);
                    copy_ms.push(cm);
                }
            }
            let (ms, cm) = (median(op_ms), median(copy_ms));
            let gbps = bytes / (ms * 1e6);
            let copy_gbps = 2.0 * t / (cm * 1e6);
            println!(
                "{:<46} {ms:>9.3} {cm:>9.3} {gbps:>8.2} {:>9.0}%",
                format!("{name} {shape:?}"),
                100.0 * gbps / copy_gbps
            );
        }
    }
    Ok(())
}
