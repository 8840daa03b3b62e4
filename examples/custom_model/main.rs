//! A user's own model, trained: the squeeze-and-excitation residual
//! network of `model.rs` (structs and a forward in Rust) on the 8×8
//! digits, on the GPU, with its CPU twin (the same model on the CPU
//! reference, from the same seed) taking the same first steps to the same
//! losses; then saved with torch's `state_dict` names.
//!
//! `cargo run --release --example custom_model`

mod model;

use model::SeNet;
use wgconv::nn::{self, Cpu, Init, Loss, ModuleExt, Optimizer, OptimizerConfig};
use wgconv::train::{self, RunOptions, TrainConfig};
use wgconv::{Adam, Gpu};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    wgconv::quiet_headless_driver_probes();
    let gpu = Gpu::new()?;
    let cfg = TrainConfig {
        epochs: 5,
        ..TrainConfig::default()
    };
    let (tr, te) =
        train::load_digits(&train::default_data_path())?.split(cfg.seed, train::TEST_IMAGES);

    // The CPU twin: 10 steps of both, from the same weights, side by side.
    let cpu = Cpu::<f32>::new();
    let mut on_gpu = SeNet::new(&mut Init::new(gpu.clone(), cfg.seed), 8, 64, 10)?;
    let mut on_cpu = SeNet::new(&mut Init::new(cpu, cfg.seed), 8, 64, 10)?;
    let adam = OptimizerConfig::Adam(Adam {
        lr: 2e-3,
        ..Adam::default()
    });
    let (mut opt_gpu, mut opt_cpu) = (Optimizer::new(adam)?, Optimizer::new(adam)?);
    let mut worst = 0.0f32;
    for step in 0..10 {
        let idx: Vec<usize> = (step * 32..step * 32 + 32).collect();
        let batch = tr.subset(&idx);
        let (x, t) = train::batch_tensors(&gpu, &batch)?;
        let l_gpu = nn::train_step(
            &gpu,
            &mut on_gpu,
            &x,
            &t,
            Loss::SoftmaxCrossEntropy,
            &mut opt_gpu,
            true,
        )?;
        let (x, t) = train::batch_tensors(&cpu, &batch)?;
        let l_cpu = nn::train_step(
            &cpu,
            &mut on_cpu,
            &x,
            &t,
            Loss::SoftmaxCrossEntropy,
            &mut opt_cpu,
            true,
        )?;
        let (g, c) = (l_gpu.unwrap_or(f32::NAN), l_cpu.unwrap_or(f32::NAN));
        worst = worst.max((g - c).abs() / c.abs().max(1.0));
        println!(
            "step {step}: loss {g:.6} on {}, {c:.6} on the CPU reference",
            gpu.describe()
        );
    }
    println!("largest relative difference of the losses: {worst:.1e}");

    // The whole run on the GPU, with wgconv's epoch loop.
    let model = SeNet::new(&mut Init::new(gpu.clone(), cfg.seed), 8, 64, 10)?;
    let mut run = (gpu.clone(), model);
    let reports = train::train(&mut run, &tr, &te, &cfg, &RunOptions::default(), |_| {})?;
    for r in &reports {
        println!(
            "epoch {}: train loss {:.4}, test accuracy {:.2} %",
            r.epoch,
            r.train_loss,
            100.0 * r.test_accuracy
        );
    }
    let path = std::env::temp_dir().join("wgconv_custom_model.safetensors");
    nn::io::save(&gpu, &run.1, &path, &[])?;
    let names: Vec<String> = run
        .1
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    println!(
        "saved {} with torch's names: {}",
        path.display(),
        names.join(", ")
    );
    Ok(())
}
