//! Writes a built-in data set as an image folder with `train/` and `val/`
//! halves (its own train and test splits), one subfolder per class: what
//! `wgconv train --data FOLDER` (and torchvision's `ImageFolder`) reads.
//! The README's loader measurement trains on Fashion-MNIST written so.
//!
//! ```text
//! cargo run --release --example image_folder -- OUT [digits|fashion-mnist] [COUNT] [png|jpg|bmp|webp] [rgb]
//! ```
//!
//! COUNT limits the training images (the first COUNT; the val half keeps
//! a tenth as many, at least one per run).

use std::path::PathBuf;
use wgconv::data::folder::write_image_folder;
use wgconv::data::{DataSource, FolderOptions, Subset};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    wgconv::quiet_headless_driver_probes();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(args.first().ok_or(
        "usage: image_folder OUT [digits|fashion-mnist] [COUNT] [png|jpg|bmp|webp] [rgb]",
    )?);
    let source = DataSource::parse(args.get(1).map_or("fashion-mnist", String::as_str))?;
    let count: Option<usize> = args.get(2).map(|c| c.parse()).transpose()?;
    let format = args.get(3).map_or("png", String::as_str);
    let rgb = args.get(4).is_some_and(|a| a == "rgb");
    let splits = source.open(None, &FolderOptions::default(), 1)?;
    let start = std::time::Instant::now();
    for (half, data, limit) in [
        ("train", &splits.train, count),
        ("val", &splits.test, count.map(|c| (c / 10).max(1))),
    ] {
        let n = limit.unwrap_or(data.len()).min(data.len());
        let first = Subset {
            inner: &**data,
            indices: (0..n).collect(),
        };
        let set = wgconv::data::collect(&first, 0)?;
        let dirs = write_image_folder(&set, &splits.class_names, &out.join(half), format, rgb)?;
        println!(
            "{half}: {n} images in {} classes ({} …) under {}",
            dirs.len(),
            dirs[0],
            out.join(half).display()
        );
    }
    println!("wrote in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
