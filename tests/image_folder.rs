//! Image folders and the loader: a folder written from Fashion-MNIST (or
//! the digits) gives the built-in loader's batches bit for bit, with and
//! without random transforms, whatever the number of workers; JPEG, BMP,
//! WebP and RGB files read back; a run on a folder with augmentation,
//! stopped and resumed, ends bit-identical to a straight one; and every
//! kind of bad folder or file is an error naming the folder or the file
//! (or, where asked, a warning). Needs no adapter: training runs on the
//! CPU reference.

mod common;

use std::path::{Path, PathBuf};
use wgconv::data::folder::write_image_folder;
use wgconv::data::loader::Batches;
use wgconv::data::{
    collect, Dataset, FolderOptions, ImageFolder, LoaderOptions, Pipeline, Transformed,
};
use wgconv::datasets::{FashionMnist, FASHION_MNIST_DIR, FASHION_MNIST_PACKAGE};
use wgconv::nn::{io, Cpu};
use wgconv::train::{self, ImageSet, Preset, RunOptions, TrainConfig};
use wgconv::Error;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgconv-folder-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn digits() -> ImageSet {
    train::load_digits(&train::default_data_path()).unwrap()
}

/// The values as a folder holds them: `round(255 · v) / 255`.
fn quantized(set: &ImageSet) -> ImageSet {
    ImageSet {
        images: set
            .images
            .iter()
            .map(|v| (v * 255.0).round() / 255.0)
            .collect(),
        ..set.clone()
    }
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

/// Fashion-MNIST's training images, or None (skipping loudly) where the
/// package is missing, unless WGCONV_REQUIRE_DATA=1 (CI).
fn fashion(test: &str) -> Option<ImageSet> {
    let dir = Path::new(FASHION_MNIST_DIR);
    if !dir.exists() {
        let why =
            format!("{FASHION_MNIST_DIR} is missing (apt-get install {FASHION_MNIST_PACKAGE})");
        if std::env::var("WGCONV_REQUIRE_DATA").as_deref() == Ok("1") {
            panic!("WGCONV_REQUIRE_DATA=1 but {why}");
        }
        eprintln!("SKIPPED {test}: {why}");
        return None;
    }
    Some(FashionMnist::load(dir).unwrap().0.into())
}

/// The images of `set` in the order a folder written from it lists them:
/// by class, then by index.
fn folder_order(set: &ImageSet) -> ImageSet {
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.sort_by_key(|&i| (set.labels[i], i));
    set.subset(&order)
}

/// Every batch of an epoch (order shuffled by `seed`), as bits.
fn epoch_bits(data: &dyn Dataset, batch: usize, seed: u64, workers: usize) -> Vec<Vec<u32>> {
    let mut order: Vec<usize> = (0..data.len()).collect();
    wgconv::rng::Rng::new(seed).shuffle(&mut order);
    let options = LoaderOptions { workers, ahead: 2 };
    std::thread::scope(|s| {
        let mut batches = Batches::spawn(s, data, &order, batch, seed ^ 99, options);
        let mut out = Vec::new();
        while let Some(b) = batches.next() {
            let b = b.unwrap();
            let mut bits: Vec<u32> = b.images.iter().map(|v| v.to_bits()).collect();
            bits.extend(b.labels.iter().map(|&l| l as u32));
            out.push(bits);
        }
        out
    })
}

#[test]
fn a_fashion_folder_gives_the_builtin_batches_bit_for_bit() {
    let Some(all) = fashion("a_fashion_folder_gives_the_builtin_batches_bit_for_bit") else {
        return;
    };
    let part = all.first(2000);
    let root = temp_dir("fashion");
    let class_names: Vec<String> = FashionMnist::CLASS_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let dirs = write_image_folder(&part, &class_names, &root, "png", false).unwrap();
    assert_eq!(dirs[0], "0-T-shirt-top");
    let (folder, warnings) = ImageFolder::open(&root, &FolderOptions::default()).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(folder.len(), 2000);
    assert_eq!(folder.channels(), 1);
    assert_eq!(folder.class_names(), &dirs[..]);
    assert_eq!(folder.image_shape(), Some([1, 28, 28]));
    let builtin = folder_order(&part);
    // The pixels as read: byte / 255, exactly.
    let read = collect(&folder, 0).unwrap();
    assert_eq!(read, builtin);
    // Batches through a random pipeline: same bits, for any worker count.
    let spec = "random_crop(28,padding=2),hflip,color_jitter(0.3,0.3),random_erasing(0.5)";
    let pipeline = Pipeline::parse(spec).unwrap();
    let from_folder = Transformed::new(&folder, pipeline.clone()).unwrap();
    let from_memory = Transformed::new(&builtin, pipeline).unwrap();
    let want = epoch_bits(&from_memory, 128, 5, 0);
    assert_eq!(want.len(), 16);
    for workers in [0, 1, 3] {
        assert!(
            epoch_bits(&from_folder, 128, 5, workers) == want,
            "{workers} workers: the folder's batches differ from the built-in loader's"
        );
    }
    // Another epoch seed draws other transforms.
    assert!(epoch_bits(&from_memory, 128, 6, 0) != want);
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn jpeg_bmp_webp_and_rgb_files_read_back() {
    let set = digits().first(60);
    for (ext, rgb, exact) in [
        ("png", true, true),
        ("bmp", false, true),
        ("webp", false, true),
        ("jpg", true, false),
        ("JPEG", false, false),
    ] {
        let root = temp_dir(&format!("fmt-{ext}-{rgb}"));
        write_image_folder(&set, &names(10), &root, ext, rgb).unwrap();
        let (folder, _) = ImageFolder::open(&root, &FolderOptions::default()).unwrap();
        assert_eq!(folder.len(), 60, "{ext}");
        // Grey files are read as 1 channel, RGB ones as 3 (the BMP and
        // WebP encoders store grey as RGB).
        let channels = if rgb || ext == "bmp" || ext == "webp" {
            3
        } else {
            1
        };
        assert_eq!(folder.channels(), channels, "{ext} rgb={rgb}");
        let read = collect(&folder, 0).unwrap();
        let want = folder_order(&quantized(&set));
        assert_eq!(read.labels, want.labels, "{ext}");
        let hw = 64;
        let (mut worst, mut total) = (0.0f32, 0.0f64);
        for (i, chunk) in read.images.chunks(channels * hw).enumerate() {
            for ch in 0..channels {
                for p in 0..hw {
                    let d = (chunk[ch * hw + p] - want.images[i * hw + p]).abs();
                    worst = worst.max(d);
                    total += d as f64;
                }
            }
        }
        let mean = total / read.images.len() as f64;
        if exact {
            assert_eq!(worst, 0.0, "{ext}: a lossless format changed a value");
        } else {
            // JPEG (quality 75) on 8x8 digits of hard edges.
            assert!(
                mean < 0.03 && worst < 0.4,
                "{ext}: mean error {mean}, worst {worst}"
            );
        }
        // Asked for: RGB as grey (torchvision's weights), grey as RGBA.
        for c in [1, 3, 4] {
            let options = FolderOptions {
                channels: Some(c),
                ..FolderOptions::default()
            };
            let (f, _) = ImageFolder::open(&root, &options).unwrap();
            let img = f.image(0, &mut wgconv::rng::Rng::new(0)).unwrap();
            assert_eq!(img.shape, [c, 8, 8], "{ext} as {c}");
            if c == 4 {
                assert!(img.pixels[3 * 64..].iter().all(|&a| a == 1.0));
            }
        }
        std::fs::remove_dir_all(&root).ok();
    }
}

#[test]
fn train_and_val_folders_and_a_seeded_holdout() {
    let set = digits().first(200);
    let root = temp_dir("splits");
    write_image_folder(
        &set.first(150),
        &names(10),
        &root.join("train"),
        "png",
        false,
    )
    .unwrap();
    let val = set.subset(&(150..200).collect::<Vec<_>>());
    write_image_folder(&val, &names(10), &root.join("val"), "png", false).unwrap();
    let (tr, te, _) = ImageFolder::open_splits(&root, &FolderOptions::default(), 1).unwrap();
    assert_eq!((tr.len(), te.len()), (150, 50));
    assert_eq!(te.class_names(), tr.class_names());
    // No pair: a hold-out of 10 %, by seed.
    let flat = temp_dir("holdout");
    write_image_folder(&set, &names(10), &flat, "png", false).unwrap();
    let options = FolderOptions::default();
    let (a, b, _) = ImageFolder::open_splits(&flat, &options, 1).unwrap();
    assert_eq!((a.len(), b.len()), (180, 20));
    let (_, b2, _) = ImageFolder::open_splits(&flat, &options, 1).unwrap();
    let (_, b3, _) = ImageFolder::open_splits(&flat, &options, 2).unwrap();
    assert_eq!(b.identity(), b2.identity());
    assert_ne!(b.identity(), b3.identity());
    std::fs::remove_dir_all(&root).ok();
    std::fs::remove_dir_all(&flat).ok();
}

/// Trains the digits CNN on a digits folder with augmentation for 3
/// epochs straight, and again stopped after 1 and resumed: the same bits;
/// and the straight run equals one on the in-memory images.
#[test]
fn a_folder_run_with_augmentation_resumes_bit_identically() {
    let all = digits();
    let (train_set, test_set) = all.split(3, 100);
    let train_set = train_set.first(300);
    let root = temp_dir("resume");
    write_image_folder(&train_set, &names(10), &root, "png", false).unwrap();
    let (folder, _) = ImageFolder::open(&root, &FolderOptions::default()).unwrap();
    let augment = Pipeline::augment(8, 8);
    let on_disk = Transformed::new(folder, augment.clone()).unwrap();
    let in_memory = Transformed::new(folder_order(&quantized(&train_set)), augment).unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        ..TrainConfig::default()
    };
    let b = Cpu::<f32>::new();
    let model = || (b, Preset::Digits.build(b, cfg.seed).unwrap());
    let options = |dir: Option<&Path>, resume: bool, stop: Option<usize>| RunOptions {
        checkpoint: dir.map(Path::to_path_buf),
        resume: dir.filter(|_| resume).map(Path::to_path_buf),
        stop_after: stop,
        model_tag: "digits".into(),
        ..RunOptions::default()
    };
    let mut straight = model();
    let r1 = train::train(
        &mut straight,
        &on_disk,
        &test_set,
        &cfg,
        &options(None, false, None),
        |_| {},
    )
    .unwrap();
    let mut memory = model();
    let r2 = train::train(
        &mut memory,
        &in_memory,
        &test_set,
        &cfg,
        &options(None, false, None),
        |_| {},
    )
    .unwrap();
    let ckpt = temp_dir("resume-ckpt");
    let mut first = model();
    train::train(
        &mut first,
        &on_disk,
        &test_set,
        &cfg,
        &options(Some(&ckpt), false, Some(1)),
        |_| {},
    )
    .unwrap();
    let mut resumed = (b, Preset::Digits.build(b, 77).unwrap());
    let r3 = train::train(
        &mut resumed,
        &on_disk,
        &test_set,
        &cfg,
        &options(Some(&ckpt), true, None),
        |_| {},
    )
    .unwrap();
    for (a, (m, r)) in r1.iter().zip(r2.iter().zip(&r3)) {
        assert_eq!(
            a.train_loss.to_bits(),
            m.train_loss.to_bits(),
            "epoch {}",
            a.epoch
        );
        assert_eq!(
            a.train_loss.to_bits(),
            r.train_loss.to_bits(),
            "epoch {}",
            a.epoch
        );
    }
    let bits = |m: &(Cpu<f32>, Box<dyn wgconv::nn::Layer<Cpu<f32>>>)| -> Vec<(String, Vec<u32>)> {
        io::state_dict(&b, &m.1)
            .unwrap()
            .into_iter()
            .map(|(n, t)| match t {
                io::HostTensor::F32(_, v) => (n, v.iter().map(|f| f.to_bits()).collect()),
                io::HostTensor::Count(c) => (n, vec![c as u32]),
            })
            .collect()
    };
    assert!(
        bits(&straight) == bits(&resumed),
        "the resumed folder run differs"
    );
    assert!(
        bits(&straight) == bits(&memory),
        "the folder run differs from the in-memory one"
    );
    // Another pipeline is another data set: the checkpoint refuses it.
    let other = Transformed::new(
        ImageFolder::open(&root, &FolderOptions::default())
            .unwrap()
            .0,
        Pipeline::parse("hflip").unwrap(),
    )
    .unwrap();
    let mut again = model();
    let e = train::train(
        &mut again,
        &other,
        &test_set,
        &cfg,
        &options(Some(&ckpt), true, None),
        |_| {},
    );
    assert!(
        matches!(&e, Err(Error::ModelFile { message, .. }) if message.contains("train_data")),
        "{e:?}"
    );
    std::fs::remove_dir_all(&root).ok();
    std::fs::remove_dir_all(&ckpt).ok();
}

/// The message of a `DataFile` error, after checking it names `path`.
fn data_error<T: std::fmt::Debug>(result: Result<T, Error>, path: &Path) -> String {
    match result {
        Err(Error::DataFile { path: p, message }) => {
            assert!(
                p.contains(&path.display().to_string()),
                "{p} does not name {}",
                path.display()
            );
            message
        }
        other => panic!(
            "expected a DataFile error naming {}, got {other:?}",
            path.display()
        ),
    }
}

#[test]
fn bad_folders_and_files_are_named() {
    let set = digits().first(30);
    let options = FolderOptions::default();
    // No class folder at all; not a folder.
    let empty = temp_dir("empty");
    let m = data_error(ImageFolder::open(&empty, &options), &empty);
    assert!(m.contains("no class folder"), "{m}");
    let m = data_error(
        ImageFolder::open(&empty.join("nothing"), &options),
        &empty.join("nothing"),
    );
    assert!(m.contains("not a folder"), "{m}");
    // An empty class.
    let root = temp_dir("bad");
    write_image_folder(&set, &names(10), &root, "png", false).unwrap();
    std::fs::create_dir_all(root.join("zebra")).unwrap();
    std::fs::write(root.join("zebra/notes.txt"), "not an image").unwrap();
    let m = data_error(ImageFolder::open(&root, &options), &root.join("zebra"));
    assert!(m.contains("class \"zebra\" holds no image"), "{m}");
    std::fs::remove_dir_all(root.join("zebra")).unwrap();
    // A corrupt file: refused when the folder is opened.
    let corrupt = root.join("3/corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let m = data_error(ImageFolder::open(&root, &options), &corrupt);
    assert!(m.contains("not a readable image"), "{m}");
    // Skipped with a warning where asked.
    let skip = FolderOptions {
        skip_bad: true,
        ..options.clone()
    };
    let (f, warnings) = ImageFolder::open(&root, &skip).unwrap();
    assert_eq!(f.len(), 30);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("corrupt.png"), "{warnings:?}");
    std::fs::remove_file(&corrupt).unwrap();
    // A truncated file: its header reads, its pixels do not. Training
    // names it; with skip_bad the folder leaves it out up front.
    let whole = std::fs::read(
        root.join("0")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    let truncated = root.join("0/truncated.png");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let (f, _) = ImageFolder::open(&root, &options).unwrap();
    let m = data_error(collect(&f, 0), &truncated);
    assert!(m.contains("cannot decode"), "{m}");
    let (f, warnings) = ImageFolder::open(&root, &skip).unwrap();
    assert_eq!((f.len(), warnings.len()), (30, 1));
    std::fs::remove_file(&truncated).unwrap();
    // Too large for the memory limit: named with its size.
    let small = FolderOptions {
        max_image_bytes: 100,
        ..options.clone()
    };
    let e = ImageFolder::open(&root, &small);
    assert!(
        matches!(&e, Err(Error::DataFile { message, .. }) if message.contains("8x8 pixels") && message.contains("limit")),
        "{e:?}"
    );
    // Channels other than 1, 3 and 4.
    let two = FolderOptions {
        channels: Some(2),
        ..options.clone()
    };
    let e = ImageFolder::open(&root, &two);
    assert!(
        matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("1 (grey), 3 (RGB) or 4")),
        "{e:?}"
    );
    // Mixed sizes: the transform that is missing is named.
    let big = ImageSet::new(vec![0.5; 2 * 100], vec![1, 2], [1, 10, 10], 10).unwrap();
    let mixed = temp_dir("mixed");
    write_image_folder(&set, &names(10), &mixed, "png", false).unwrap();
    let big_dir = temp_dir("mixed-big");
    write_image_folder(&big, &names(10), &big_dir, "png", false).unwrap();
    std::fs::rename(big_dir.join("1/0.png"), mixed.join("1/big.png")).unwrap();
    let (f, _) = ImageFolder::open(&mixed, &options).unwrap();
    assert_eq!(f.image_shape(), None);
    let e = Transformed::new(&f, Pipeline::parse("hflip").unwrap());
    assert!(
        matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("different sizes") && message.contains("resize")),
        "{:?}",
        e.err()
    );
    let fixed = Transformed::new(&f, Pipeline::parse("resize((8,8))").unwrap()).unwrap();
    assert_eq!(fixed.image_shape(), Some([1, 8, 8]));
    assert_eq!(collect(&fixed, 0).unwrap().len(), 31);
    let b = Cpu::<f32>::new();
    let e = train::train(
        &mut (b, Preset::Digits.build(b, 1).unwrap()),
        &f,
        &set,
        &TrainConfig::default(),
        &RunOptions::default(),
        |_| {},
    );
    assert!(
        matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("different sizes")),
        "{e:?}"
    );
    for d in [empty, root, mixed, big_dir] {
        std::fs::remove_dir_all(d).ok();
    }
}

/// `train::evaluate` on outputs chosen by hand (an identity linear layer
/// passes the pixels through as logits): the confusion matrix, precision,
/// recall and top-5 accuracy (ties ranked as torch.topk: the lower class
/// first); `evaluate_with_progress` reports each batch's images.
#[test]
fn evaluation_counts_precision_recall_and_top5_by_hand() {
    use wgconv::nn::{BackendBase, Flatten, Init, Linear, ModuleExt, Sequential};
    let b = Cpu::<f32>::new();
    let init = &mut Init::new(b, 1);
    let mut model = Sequential::new()
        .push(Flatten)
        .push(Linear::new(init, 7, 7, false).unwrap());
    let eye: Vec<f32> = (0..49)
        .map(|i| if i % 8 == 0 { 1.0 } else { 0.0 })
        .collect();
    for (_, p) in model.named_parameters_mut() {
        p.set_value(b.tensor(&[7, 7], &eye).unwrap());
    }
    let logits: Vec<f32> = [
        [9., 1., 1., 1., 1., 1., 1.], // class 0: right
        [1., 5., 8., 1., 1., 1., 1.], // class 1: predicted 2, second: in the top 5
        [3., 4., 0., 5., 6., 7., 8.], // class 2: predicted 6, last of 7: out
        [0., 0., 0., 0., 0., 0., 0.], // class 3: a tie, ranked 4th: in
    ]
    .concat();
    let data = ImageSet::new(logits, vec![0, 1, 2, 3], [1, 1, 7], 7).unwrap();
    let e = train::evaluate(&b, &mut model, &data).unwrap();
    assert_eq!(e.accuracy, 0.25);
    assert_eq!(e.top5_accuracy, Some(0.75));
    let mut want = vec![vec![0usize; 7]; 7];
    want[0][0] = 1;
    want[1][2] = 1;
    want[2][6] = 1;
    want[3][0] = 1;
    assert_eq!(e.confusion, want);
    assert_eq!((e.precision(0), e.recall(0)), (0.5, 1.0));
    assert_eq!((e.precision(2), e.recall(1)), (0.0, 0.0));
    assert!(e.precision(5).is_nan() && e.recall(5).is_nan());
    // With progress: one call per batch, adding up to the images, and the
    // same evaluation.
    let mut calls = Vec::new();
    let p = train::evaluate_with_progress(&b, &mut model, &data, |n| calls.push(n)).unwrap();
    assert_eq!(calls, [4]);
    assert_eq!(p.confusion, e.confusion);
    // 5 classes or fewer: no top-5.
    let few = ImageSet::new(vec![1.0, 0.0, 0.0, 0.0, 0.0], vec![0], [1, 1, 5], 5).unwrap();
    let mut small = Sequential::new()
        .push(Flatten)
        .push(Linear::new(init, 5, 5, true).unwrap());
    assert_eq!(
        train::evaluate(&b, &mut small, &few).unwrap().top5_accuracy,
        None
    );
    let _ = small.is_training();
}

fn close(a: &[f32], b: &[f32]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-6, "{a:?} against {b:?}");
    }
}

/// Other colour types than 8-bit grey and RGB: grey with alpha, 16-bit
/// grey, RGBA and a palette-free 16-bit RGB read as the channels asked
/// for, with their values scaled to [0, 1].
#[test]
fn grey_alpha_16_bit_and_rgba_files_are_converted() {
    let root = temp_dir("modes");
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::create_dir_all(root.join("b")).unwrap();
    image::GrayAlphaImage::from_fn(3, 2, |x, _| image::LumaA([(x * 100) as u8, 7]))
        .save(root.join("a/la.png"))
        .unwrap();
    image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_fn(3, 2, |x, _| {
        image::Luma([(x * 30000) as u16])
    })
    .save(root.join("a/l16.png"))
    .unwrap();
    // Class b is empty so far: the folder is refused, naming it.
    let e = ImageFolder::open(&root, &FolderOptions::default());
    assert!(
        matches!(&e, Err(Error::DataFile { path, .. }) if path.ends_with("/b")),
        "{:?}",
        e.err()
    );
    image::RgbaImage::from_fn(3, 2, |x, _| image::Rgba([255, (x * 50) as u8, 0, 128]))
        .save(root.join("b/rgba.png"))
        .unwrap();
    let mut rng = wgconv::rng::Rng::new(0);
    // Grey and grey-with-alpha and 16-bit grey: all grey, so 1 channel,
    // but the RGBA file makes the folder RGB.
    let (f, _) = ImageFolder::open(&root, &FolderOptions::default()).unwrap();
    assert_eq!(f.channels(), 3);
    let grey = FolderOptions {
        channels: Some(1),
        ..FolderOptions::default()
    };
    let (f, _) = ImageFolder::open(&root, &grey).unwrap();
    // Files sorted by name: a/l16.png, a/la.png, b/rgba.png.
    let l16 = f.image(0, &mut rng).unwrap();
    close(
        &l16.pixels[..3],
        &[0.0, 30000.0 / 65535.0, 60000.0 / 65535.0],
    );
    let la = f.image(1, &mut rng).unwrap();
    assert_eq!(la.pixels[..3], [0.0, 100.0 / 255.0, 200.0 / 255.0]);
    let rgba = f.image(2, &mut rng).unwrap();
    let want = 0.2989f32 * 1.0 + 0.587 * (50.0 / 255.0);
    assert!(
        (rgba.pixels[1] - want).abs() < 1e-6,
        "{} against {want}",
        rgba.pixels[1]
    );
    let four = FolderOptions {
        channels: Some(4),
        ..FolderOptions::default()
    };
    let (f, _) = ImageFolder::open(&root, &four).unwrap();
    let rgba = f.image(2, &mut rng).unwrap();
    assert_eq!(rgba.shape, [4, 2, 3]);
    assert_eq!(rgba.pixels[3 * 6], 128.0 / 255.0);
    let la = f.image(1, &mut rng).unwrap();
    assert_eq!(la.pixels[3 * 6], 7.0 / 255.0);
    std::fs::remove_dir_all(&root).ok();
}
