//! `wgconv train` and `wgconv eval` on a folder of images, as CI runs
//! them: a folder written from Fashion-MNIST (2 000 grey PNGs and 300 RGB
//! JPEGs in the same class folders, so the images are read as RGB) trains
//! one short epoch through a transform pipeline with `normalize`'s
//! statistics measured, prints the data wait and the per-class metrics,
//! saves a model that `eval` reads back on the folder (the same test
//! images) and on another folder (every image of it).

use std::path::{Path, PathBuf};
use std::process::Command;
use wgconv::data::folder::write_image_folder;
use wgconv::datasets::{FashionMnist, FASHION_MNIST_DIR, FASHION_MNIST_PACKAGE};
use wgconv::train::ImageSet;

const WGCONV: &str = env!("CARGO_BIN_EXE_wgconv");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgconv-cli-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> String {
    let out = Command::new(WGCONV).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Moves every file of `from`'s class folders into `to`'s, prefixed.
fn merge(from: &Path, to: &Path, prefix: &str) {
    for class in std::fs::read_dir(from).unwrap() {
        let class = class.unwrap().path();
        let name = class.file_name().unwrap();
        for f in std::fs::read_dir(&class).unwrap() {
            let f = f.unwrap().path();
            let file = format!("{prefix}{}", f.file_name().unwrap().to_string_lossy());
            std::fs::rename(&f, to.join(name).join(file)).unwrap();
        }
    }
}

#[test]
fn trains_and_evaluates_on_an_image_folder() {
    let dir = Path::new(FASHION_MNIST_DIR);
    if !dir.exists() {
        let why =
            format!("{FASHION_MNIST_DIR} is missing (apt-get install {FASHION_MNIST_PACKAGE})");
        if std::env::var("WGCONV_REQUIRE_DATA").as_deref() == Ok("1") {
            panic!("WGCONV_REQUIRE_DATA=1 but {why}");
        }
        eprintln!("SKIPPED trains_and_evaluates_on_an_image_folder: {why}");
        return;
    }
    let (train, test) = FashionMnist::load(dir).unwrap();
    let (train, test): (ImageSet, ImageSet) = (train.into(), test.into());
    let names: Vec<String> = FashionMnist::CLASS_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let root = temp_dir("folder");
    let photos = root.join("photos");
    write_image_folder(&train.first(2000), &names, &photos, "png", false).unwrap();
    let jpegs = root.join("jpegs");
    let rest: Vec<usize> = (2000..2300).collect();
    write_image_folder(&train.subset(&rest), &names, &jpegs, "jpg", true).unwrap();
    merge(&jpegs, &photos, "rgb-");
    let folder = photos.to_str().unwrap();
    let model = root.join("m.safetensors");
    let metrics = root.join("m.json");
    let out = run(&[
        "train",
        "--cpu",
        "--data",
        folder,
        "--model",
        "digits-cnn",
        "--epochs",
        "1",
        "--transform",
        "random_crop(28,padding=2),hflip,normalize",
        "--save",
        model.to_str().unwrap(),
        "--metrics",
        metrics.to_str().unwrap(),
    ]);
    for wanted in [
        "(3x28x28, 10 classes)",
        "2070 train / 230 test images",
        "normalize(mean=(",
        "center_crop(28)",
        "data wait",
        "recall  precision",
        "top-5 accuracy",
    ] {
        assert!(out.contains(wanted), "{out}\ndoes not say {wanted:?}");
    }
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    let accuracy = m["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.4, "{accuracy}");
    assert_eq!(m["precision"].as_array().unwrap().len(), 10);
    assert_eq!(m["recall"].as_array().unwrap().len(), 10);
    assert!(m["top5_accuracy"].as_f64().unwrap() >= accuracy);
    assert!(m["epochs"][0]["data_wait_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(m["class_names"][0], "0-T-shirt-top");
    // eval on the folder: the same 230 test images, the same accuracy.
    let out = run(&[
        "eval",
        "--cpu",
        "--load",
        model.to_str().unwrap(),
        "--data",
        folder,
    ]);
    let percent = format!("{:.2} %", 100.0 * accuracy);
    assert!(
        out.contains(&percent) && out.contains("230"),
        "{out}\nnot {percent}"
    );
    // eval on a folder it never saw: every image of it, grey files read
    // as the RGB the model takes.
    let other = root.join("other");
    write_image_folder(&test.first(120), &names, &other, "png", false).unwrap();
    let out = run(&[
        "eval",
        "--cpu",
        "--load",
        model.to_str().unwrap(),
        "--data",
        other.to_str().unwrap(),
    ]);
    assert!(out.contains("on 120 "), "{out}");
    std::fs::remove_dir_all(&root).ok();
}
