//! The README's training snippet, runnable: a small CNN, a few Adam steps
//! on random 8×8 images, the model saved as safetensors.
//!
//! `cargo run --release --example train_step`

use wgconv::nn::{LayerKind, Loss, Optimizer, OptimizerConfig, Sequential};
use wgconv::{Adam, Conv2dParams, Gpu, Pool2dParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gpu = Gpu::new()?;
    let mut rng = wgconv::rng::Rng::new(1);
    let images: Vec<f32> = (0..32 * 64).map(|_| rng.unit().abs()).collect();
    let labels: Vec<usize> = (0..32).map(|_| rng.range(0, 9)).collect();

    let mut model = Sequential::new(gpu.clone())
        .push(
            LayerKind::Conv2d {
                in_channels: 1,
                out_channels: 8,
                kernel: [3, 3],
                params: Conv2dParams::square(1, 1),
                bias: true,
            },
            &mut rng,
        )?
        .push(LayerKind::Relu, &mut rng)?
        .push(LayerKind::MaxPool2d(Pool2dParams::window(2)), &mut rng)?
        .push(LayerKind::Flatten, &mut rng)?
        .push(
            LayerKind::Linear {
                in_features: 8 * 4 * 4,
                out_features: 10,
            },
            &mut rng,
        )?;
    let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam::default()))?;
    let x = gpu.tensor(&[32, 1, 8, 8], &images)?;
    let t = gpu.tensor(&[32, 10], &wgconv::nn::one_hot(&labels, 10)?)?;
    for step in 0..5 {
        // zero_grad, forward, loss gradient, backward, Adam: one submission.
        let loss = model.train_step(&x, &t, Loss::SoftmaxCrossEntropy, &mut opt, true)?;
        println!("step {step}: loss {:.4}", loss.unwrap_or(f32::NAN));
    }
    let path = std::env::temp_dir().join("wgconv_train_step.safetensors");
    wgconv::nn::io::save(&model, &path, &[])?;
    println!("saved {}", path.display());
    Ok(())
}
