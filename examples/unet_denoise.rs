//! The zoo's U-Net as a denoising autoencoder on Fashion-MNIST: noisy
//! image in, clean image out, trained with the mean squared error on the
//! GPU. Prints the test images' error before (the noisy input) and after
//! (the U-Net's output) and draws inputs, outputs and targets.
//!
//! `cargo run --release --example unet_denoise [-- EPOCHS [PICTURE.png]]`
//! (2 epochs over 8 192 images; the picture goes to
//! docs/unet_denoise.png).

use wgconv::datasets::{FashionMnist, FASHION_MNIST_DIR};
use wgconv::nn::zoo::UNet;
use wgconv::nn::{self, BackendBase, Init, Loss, Optimizer, OptimizerConfig};
use wgconv::rng::Rng;
use wgconv::{Adam, Gpu};

const SIDE: usize = FashionMnist::SIDE;
const PIXELS: usize = SIDE * SIDE;
/// The noise's standard deviation (pixels are in [0, 1]).
const SIGMA: f32 = 0.3;

/// `images` with Gaussian noise of `SIGMA` added (Box–Muller from the
/// seeded generator), clamped to [0, 1].
fn noisy(images: &[f32], rng: &mut Rng) -> Vec<f32> {
    images
        .iter()
        .map(|&v| {
            let (u1, u2) = ((rng.unit() + 1.0) / 2.0, (rng.unit() + 1.0) / 2.0);
            let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
            (v + SIGMA * z).clamp(0.0, 1.0)
        })
        .collect()
}

fn mse(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    sum / a.len() as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    wgconv::quiet_headless_driver_probes();
    let mut args = std::env::args().skip(1);
    let epochs: usize = args.next().map_or(Ok(2), |a| a.parse())?;
    let picture = args
        .next()
        .unwrap_or_else(|| "docs/unet_denoise.png".into());
    let (train, test) = FashionMnist::load(std::path::Path::new(FASHION_MNIST_DIR))?;
    let gpu = Gpu::new()?;
    println!("{}", gpu.describe());

    let (count, batch) = (8192, 64);
    let clean = &train.images[..count * PIXELS];
    let mut rng = Rng::new(1);
    let mut model = UNet::new(&mut Init::new(gpu.clone(), 1), 1, 1, 16, 2)?;
    let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam {
        lr: 2e-3,
        ..Adam::default()
    }))?;
    let started = std::time::Instant::now();
    for epoch in 1..=epochs {
        // Fresh noise every epoch.
        let inputs = noisy(clean, &mut rng);
        let mut total = 0.0;
        for b in 0..count / batch {
            let range = b * batch * PIXELS..(b + 1) * batch * PIXELS;
            let shape = [batch, 1, SIDE, SIDE];
            let x = gpu.tensor(&shape, &inputs[range.clone()])?;
            let t = gpu.tensor(&shape, &clean[range])?;
            let loss = nn::train_step(
                &gpu,
                &mut model,
                &x,
                &t,
                Loss::MeanSquaredError,
                &mut opt,
                true,
            )?;
            total += loss.unwrap_or(f32::NAN) as f64;
        }
        println!(
            "epoch {epoch}: train MSE {:.5} ({:.0} s)",
            total / (count / batch) as f64,
            started.elapsed().as_secs_f64()
        );
    }

    // The first 512 test images, with noise of their own.
    let n = 512;
    let target = &test.images[..n * PIXELS];
    let input = noisy(target, &mut Rng::new(2));
    let mut output = Vec::with_capacity(n * PIXELS);
    for b in 0..n / batch {
        let range = b * batch * PIXELS..(b + 1) * batch * PIXELS;
        let x = gpu.tensor(&[batch, 1, SIDE, SIDE], &input[range])?;
        output.extend(gpu.to_vec(&nn::predict(&gpu, &mut model, &x)?)?);
    }
    println!(
        "test MSE: noisy input {:.5}, U-Net output {:.5} ({} test images, noise sigma {SIGMA})",
        mse(&input, target),
        mse(&output, target),
        n
    );

    // Rows: noisy inputs, outputs, targets; 8 images, each pixel 3×3.
    let (cols, scale) = (8, 3);
    let (w, h) = (cols * SIDE * scale, 3 * SIDE * scale);
    let rows = [&input, &output, &target.to_vec()];
    let img = image::GrayImage::from_fn(w as u32, h as u32, |px, py| {
        let (px, py) = (px as usize / scale, py as usize / scale);
        let (row, col) = (py / SIDE, px / SIDE);
        let v = rows[row][col * PIXELS + (py % SIDE) * SIDE + px % SIDE];
        image::Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8])
    });
    img.save(&picture)?;
    println!("wrote {picture}: rows noisy input, U-Net output, clean target");
    Ok(())
}
