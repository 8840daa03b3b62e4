//! Data-parallel training of the digits CNN on every adapter of this
//! machine (the README's "Data-parallel training" snippet): one replica
//! per device, each batch split between them, the primary's weights
//! copied to the others after every step.
use wgconv::nn::DataParallel;
use wgconv::train::{self, Preset, RunOptions, TrainConfig};
use wgconv::Gpu;

fn main() -> Result<(), wgconv::Error> {
    wgconv::quiet_headless_driver_probes();
    let cfg = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    };
    let replicas = Gpu::devices("all")?
        .into_iter()
        .map(|g| Ok((g.clone(), Preset::Digits.build(g, cfg.seed)?)))
        .collect::<Result<Vec<_>, wgconv::Error>>()?;
    let mut dp = DataParallel::new(replicas, None)?;
    println!("replicas: {}", dp.describe());
    let (tr, te) =
        train::load_digits(&train::default_data_path())?.split(cfg.seed, train::TEST_IMAGES);
    let reports = train::train(&mut dp, &tr, &te, &cfg, &RunOptions::default(), |_| {})?;
    for r in &reports {
        println!(
            "epoch {}: test accuracy {:.2} %, compute {:.2} s, communication {:.2} s",
            r.epoch,
            100.0 * r.test_accuracy,
            r.compute_seconds,
            r.communication_seconds
        );
    }
    Ok(())
}
