//! The README's "Train on your own images" as a program: a folder of
//! images (one subfolder per class) through a transform pipeline into a
//! ResNet sized for it, epoch by epoch through `train::Run`.
//!
//! ```text
//! cargo run --release --example own_images -- FOLDER [EPOCHS]
//! ```

use wgconv::data::{DataSource, Dataset, FolderOptions, Pipeline, Transformed};
use wgconv::train::{self, Preset, RunOptions, TrainConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    wgconv::quiet_headless_driver_probes();
    let folder = std::env::args()
        .nth(1)
        .ok_or("usage: own_images FOLDER [EPOCHS]")?;
    let epochs: usize = std::env::args().nth(2).map_or(Ok(1), |e| e.parse())?;
    let opened = std::time::Instant::now();
    let data = DataSource::parse(&folder)?.open(None, &FolderOptions::default(), 1)?;
    println!(
        "{} train / {} test images in {} classes, opened in {:.2} s",
        data.train.len(),
        data.test.len(),
        data.class_names.len(),
        opened.elapsed().as_secs_f64()
    );
    let augment = Pipeline::parse("resize((32,32)),hflip,normalize(0.5,0.25)")?;
    let train_set = Transformed::new(data.train, augment.clone())?;
    let test_set = Transformed::new(data.test, augment.eval())?; // resize, normalize
    let shape = train_set.image_shape().ok_or("no one image shape")?;
    let gpu = wgconv::Gpu::new()?;
    let model = Preset::Resnet.build_for(gpu.clone(), 1, shape, data.class_names.len())?;
    let cfg = TrainConfig {
        epochs,
        ..TrainConfig::fashion()
    };
    let mut run = train::Run::new(
        (gpu, model),
        &train_set,
        &test_set,
        &cfg,
        &RunOptions::default(),
    )?;
    while !run.is_done() {
        let report = run.epoch(&mut |_| {})?;
        println!(
            "epoch {}: {:.2} % ({:.2} s waiting for data)",
            report.epoch,
            100.0 * report.test_accuracy,
            report.data_wait_seconds
        );
    }
    Ok(())
}
