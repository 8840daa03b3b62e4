//! IDX files and Fashion-MNIST: well-formed files (plain and gzip) read
//! back exactly, every kind of damage is an `Error::DataFile` naming the
//! file and the problem, a missing data set names the Debian package, and
//! the real Fashion-MNIST (installed by `.ci/run`) loads with its known
//! sizes and class balance. Needs no adapter.

use std::io::Write;
use std::path::{Path, PathBuf};
use wgconv::datasets::{
    parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels, FashionMnist,
    FASHION_MNIST_DIR, FASHION_MNIST_PACKAGE,
};
use wgconv::Error;

fn idx(rank: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, rank];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(data);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgconv-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The message of a `DataFile` error, after checking it names `file`.
fn data_error(result: Result<impl std::fmt::Debug, Error>, file: &str) -> String {
    match result {
        Err(Error::DataFile { path, message }) => {
            assert!(path.contains(file), "{path} does not name {file}");
            message
        }
        other => panic!("expected a DataFile error for {file}, got {other:?}"),
    }
}

#[test]
fn idx_files_read_back_exactly_plain_and_gzipped() {
    let pixels: Vec<u8> = (0..2 * 3 * 4).map(|i| (i * 11) as u8).collect();
    let images = idx(3, &[2, 3, 4], &pixels);
    let labels = idx(1, &[2], &[7, 0]);
    let got = parse_idx_images(&images, "mem").unwrap();
    assert_eq!((got.count, got.rows, got.cols), (2, 3, 4));
    assert_eq!(got.pixels, pixels);
    assert_eq!(parse_idx_labels(&labels, "mem", 10).unwrap(), vec![7, 0]);
    let dir = temp_dir("idx");
    for (name, bytes) in [("plain", images.clone()), ("packed.gz", gz(&images))] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(read_idx_images(&path).unwrap(), got, "{name}");
    }
    let path = dir.join("labels.gz");
    std::fs::write(&path, gz(&labels)).unwrap();
    assert_eq!(read_idx_labels(&path, 10).unwrap(), vec![7, 0]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn damaged_idx_files_are_named_errors() {
    let good = idx(3, &[2, 2, 2], &[1; 8]);
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("empty.idx", vec![], "truncated"),
        ("short-header.idx", good[..10].to_vec(), "truncated"),
        (
            "short-data.idx",
            good[..good.len() - 1].to_vec(),
            "truncated",
        ),
        ("trailing.idx", [&good[..], &[0]].concat(), "after the data"),
        ("labels-as-images.idx", idx(1, &[8], &[0; 8]), "bad magic"),
        (
            "floats.idx",
            [&[0u8, 0, 0x0d, 3][..], &good[4..]].concat(),
            "bad magic",
        ),
    ];
    for (name, bytes, what) in cases {
        let message = data_error(parse_idx_images(&bytes, name), name);
        assert!(message.contains(what), "{name}: {message}");
    }
    let message = data_error(parse_idx_images(&idx(3, &[0, 28, 28], &[]), "zero"), "zero");
    assert!(message.contains("empty"), "{message}");
    let message = data_error(parse_idx_labels(&idx(1, &[3], &[1, 10, 2]), "l", 10), "l");
    assert!(message.contains("label 10 of item 1"), "{message}");

    let dir = temp_dir("idx-damaged");
    let path = dir.join("broken.gz");
    std::fs::write(&path, &gz(&good)[..20]).unwrap();
    let message = data_error(read_idx_images(&path), "broken.gz");
    assert!(message.contains("gzip"), "{message}");
    let message = data_error(read_idx_images(&dir.join("absent")), "absent");
    assert!(!message.is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

/// Writes a Fashion-MNIST-shaped split into `dir`.
fn write_split(dir: &Path, prefix: &str, images: &[u8], dims: [u32; 3], labels: &[u8]) {
    let n = labels.len() as u32;
    std::fs::write(
        dir.join(format!("{prefix}-images-idx3-ubyte.gz")),
        gz(&idx(3, &dims, images)),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
        gz(&idx(1, &[n], labels)),
    )
    .unwrap();
}

#[test]
fn fashion_mnist_loader_scales_pixels_and_checks_its_files() {
    let dir = temp_dir("fashion");
    let side = FashionMnist::SIDE;
    let pixels: Vec<u8> = (0..2 * side * side).map(|i| (i % 256) as u8).collect();
    write_split(&dir, "train", &pixels, [2, 28, 28], &[3, 9]);
    write_split(&dir, "t10k", &pixels[..side * side], [1, 28, 28], &[5]);
    let (train, test) = FashionMnist::load(&dir).unwrap();
    assert_eq!((train.len(), test.len()), (2, 1));
    assert_eq!(train.labels, vec![3, 9]);
    assert_eq!(train.images[255], 1.0);
    assert_eq!(train.images[51], 51.0 / 255.0);

    // Counts that differ between images and labels.
    write_split(&dir, "t10k", &pixels[..side * side], [1, 28, 28], &[5, 6]);
    let message = data_error(FashionMnist::load(&dir), "t10k-labels");
    assert!(message.contains("2 labels for the 1 images"), "{message}");
    // Images of another size.
    write_split(&dir, "t10k", &pixels[..16], [1, 4, 4], &[5]);
    let message = data_error(FashionMnist::load(&dir), "t10k-images");
    assert!(message.contains("4x4"), "{message}");
    std::fs::remove_dir_all(&dir).ok();

    // A missing data set says which package to install.
    let message = data_error(FashionMnist::load(&dir), "train-images");
    assert!(
        message.contains(&format!("apt-get install {FASHION_MNIST_PACKAGE}")),
        "{message}"
    );
}

/// The real data set: 60 000 + 10 000 images, 6 000 / 1 000 of each class.
/// Skips loudly where the package is not installed, unless
/// WGCONV_REQUIRE_DATA=1 (CI), where that is a failure.
#[test]
fn the_installed_fashion_mnist_has_its_published_sizes() {
    let dir = Path::new(FASHION_MNIST_DIR);
    if !dir.exists() {
        let why =
            format!("{FASHION_MNIST_DIR} is missing (apt-get install {FASHION_MNIST_PACKAGE})");
        if std::env::var("WGCONV_REQUIRE_DATA").as_deref() == Ok("1") {
            panic!("WGCONV_REQUIRE_DATA=1 but {why}");
        }
        eprintln!("SKIPPED the_installed_fashion_mnist_has_its_published_sizes: {why}");
        return;
    }
    let (train, test) = FashionMnist::load(dir).unwrap();
    for (split, data, per_class) in [("train", &train, 6000), ("test", &test, 1000)] {
        assert_eq!(data.len(), 10 * per_class, "{split}");
        assert_eq!(data.images.len(), data.len() * 784, "{split}");
        let mut counts = [0usize; 10];
        for &l in &data.labels {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, [per_class; 10], "{split}: images per class");
        assert!(data.images.iter().all(|p| (0.0..=1.0).contains(p)));
        // Not all black: the mean pixel of Fashion-MNIST is about 0.29.
        let mean = data.images.iter().map(|&p| p as f64).sum::<f64>() / data.images.len() as f64;
        assert!((0.25..0.33).contains(&mean), "{split}: mean pixel {mean}");
    }
}

/// A gzip file of several members (what `cat a.gz b.gz` or a writer that
/// flushes in parts makes, and `gzip -d` reads whole) is read whole, for
/// IDX files and the digits CSV alike; bytes after the last member that
/// are not gzip are an error naming the file, not silently dropped.
#[test]
fn multi_member_gzip_is_read_whole_and_trailing_junk_refused() {
    let pixels: Vec<u8> = (0..2 * 3 * 4).map(|i| (i * 7) as u8).collect();
    let images = idx(3, &[2, 3, 4], &pixels);
    let (head, tail) = images.split_at(10);
    let mut two = gz(head);
    two.extend(gz(tail));
    let dir = temp_dir("multigz");
    let path = dir.join("two-members.gz");
    std::fs::write(&path, &two).unwrap();
    assert_eq!(read_idx_images(&path).unwrap().pixels, pixels);
    let mut junk = gz(&images);
    junk.extend(b"not gzip at all");
    let path = dir.join("junk.gz");
    std::fs::write(&path, &junk).unwrap();
    let message = data_error(read_idx_images(&path), "junk.gz");
    assert!(message.contains("gzip"), "{message}");
    // The digits CSV: the shipped file split into two members.
    let csv = wgconv::datasets::gunzip(&std::fs::read(wgconv::train::default_data_path()).unwrap())
        .unwrap();
    let (a, b) = csv.split_at(csv.len() / 2);
    let mut parts = gz(a);
    parts.extend(gz(b));
    let digits = wgconv::train::digits_from_gzip(&parts).unwrap();
    assert_eq!(digits.len(), 1797);
    parts.extend(b"junk");
    assert!(wgconv::train::digits_from_gzip(&parts).is_err());
    std::fs::remove_dir_all(&dir).ok();
}
