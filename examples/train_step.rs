//! The README's training snippet, runnable: a small CNN as a
//! `Sequential`, a few Adam steps on random 8×8 images, the model saved as
//! safetensors with torch's names.
//!
//! `cargo run --release --example train_step`

use wgconv::nn::{
    self, Conv2d, Flatten, Init, Linear, Loss, MaxPool2d, Optimizer, OptimizerConfig, Relu,
    Sequential,
};
use wgconv::{Adam, Gpu, Pool2dParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    wgconv::quiet_headless_driver_probes();
    let gpu = Gpu::new()?;
    let mut rng = wgconv::rng::Rng::new(1);
    let images: Vec<f32> = (0..32 * 64).map(|_| rng.unit().abs()).collect();
    let labels: Vec<usize> = (0..32).map(|_| rng.range(0, 9)).collect();

    let init = &mut Init::new(gpu.clone(), 1);
    let mut model = Sequential::new()
        .push(Conv2d::square(init, 1, 8, 3, 1, 1, true)?)
        .push(Relu)
        .push(MaxPool2d(Pool2dParams::window(2)))
        .push(Flatten)
        .push(Linear::new(init, 8 * 4 * 4, 10, true)?);
    let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam::default()))?;
    let x = gpu.tensor(&[32, 1, 8, 8], &images)?;
    let t = gpu.tensor(&[32, 10], &nn::one_hot(&labels, 10)?)?;
    for step in 0..5 {
        // zero_grad, forward, loss, backward, Adam: one submission.
        let loss = nn::train_step(
            &gpu,
            &mut model,
            &x,
            &t,
            Loss::SoftmaxCrossEntropy,
            &mut opt,
            true,
        )?;
        println!("step {step}: loss {:.4}", loss.unwrap_or(f32::NAN));
    }
    let path = std::env::temp_dir().join("wgconv_train_step.safetensors");
    nn::io::save(&gpu, &model, &path, &[])?;
    println!("saved {}", path.display());
    Ok(())
}
