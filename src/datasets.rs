//! Image data sets on disk: IDX files (the format of MNIST and
//! Fashion-MNIST) and Fashion-MNIST as Debian's `dataset-fashion-mnist`
//! installs it. Read here rather than through a crate: the format is a
//! 4-byte magic, big-endian sizes and raw bytes, and every way a file can
//! be wrong gets an [`Error::DataFile`] naming the file and the problem.

use crate::Error;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where `apt-get install dataset-fashion-mnist` puts the four files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The Debian package that ships Fashion-MNIST.
pub const FASHION_MNIST_PACKAGE: &str = "dataset-fashion-mnist";

/// IDX magic of unsigned-byte data: 0x00 0x00, type 0x08, then the rank.
const UBYTE: u8 = 0x08;

/// Images of an IDX rank-3 file: `count` images of `rows × cols` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count · rows · cols` bytes, row-major per image.
    pub pixels: Vec<u8>,
}

fn bad(name: &str, message: impl Into<String>) -> Error {
    Error::DataFile {
        path: name.to_string(),
        message: message.into(),
    }
}

/// The file's bytes, gunzipped when they start with gzip's magic.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, Error> {
    let name = path.display().to_string();
    let raw = std::fs::read(path).map_err(|e| bad(&name, e.to_string()))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        gunzip(&raw).map_err(|e| bad(&name, e))
    } else {
        Ok(raw)
    }
}

/// Every member of a gzip file, concatenated, as `gzip -d` reads it (a
/// file written in parts has several); bytes after the last member that
/// are not another member are an error, not ignored.
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt gzip stream (or bytes after it that are not gzip): {e}"))?;
    Ok(out)
}

/// The sizes of an unsigned-byte IDX file of rank `rank`, and its data.
fn header<'a>(bytes: &'a [u8], name: &str, rank: u8) -> Result<(Vec<usize>, &'a [u8]), Error> {
    let head = 4 + 4 * rank as usize;
    if bytes.len() < head {
        return Err(bad(
            name,
            format!(
                "truncated: {} bytes, an IDX header of rank {rank} has {head}",
                bytes.len()
            ),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != UBYTE || bytes[3] != rank {
        return Err(bad(
            name,
            format!(
                "bad magic {:02x} {:02x} {:02x} {:02x}: expected 00 00 08 {rank:02x} (unsigned bytes, rank {rank})",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..head]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let want = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let data = &bytes[head..];
    match want {
        Some(w) if w == data.len() => Ok((dims, data)),
        Some(w) if w > data.len() => Err(bad(
            name,
            format!(
                "truncated: sizes {dims:?} need {w} bytes of data, the file has {}",
                data.len()
            ),
        )),
        Some(w) => Err(bad(
            name,
            format!(
                "{} bytes after the data of sizes {dims:?} ({w} bytes)",
                data.len() - w
            ),
        )),
        None => Err(bad(name, format!("sizes {dims:?} overflow"))),
    }
}

/// Parses an IDX image file (rank 3, unsigned bytes); `name` names it in
/// errors.
pub fn parse_idx_images(bytes: &[u8], name: &str) -> Result<IdxImages, Error> {
    let (dims, data) = header(bytes, name, 3)?;
    if dims.contains(&0) {
        return Err(bad(name, format!("empty: sizes {dims:?}")));
    }
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: data.to_vec(),
    })
}

/// Parses an IDX label file (rank 1, unsigned bytes) whose labels must be
/// below `classes`; `name` names it in errors.
pub fn parse_idx_labels(bytes: &[u8], name: &str, classes: usize) -> Result<Vec<u8>, Error> {
    let (_, data) = header(bytes, name, 1)?;
    if let Some((i, l)) = data
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(bad(
            name,
            format!("label {l} of item {i} is out of range (there are {classes} classes)"),
        ));
    }
    Ok(data.to_vec())
}

/// Reads an IDX image file, gzip-compressed or not.
pub fn read_idx_images(path: &Path) -> Result<IdxImages, Error> {
    parse_idx_images(&read_maybe_gz(path)?, &path.display().to_string())
}

/// Reads an IDX label file, gzip-compressed or not, with labels below
/// `classes`.
pub fn read_idx_labels(path: &Path, classes: usize) -> Result<Vec<u8>, Error> {
    parse_idx_labels(&read_maybe_gz(path)?, &path.display().to_string(), classes)
}

/// One split of Fashion-MNIST: 28×28 grey images, pixels scaled to
/// [0, 1] (`byte / 255`), labels 0–9 (T-shirt/top, Trouser, Pullover,
/// Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
#[derive(Debug, Clone, PartialEq)]
pub struct FashionMnist {
    /// `len() × 784` values, row-major per image.
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
}

impl FashionMnist {
    pub const CLASSES: usize = 10;
    pub const SIDE: usize = 28;
    pub const CLASS_NAMES: [&'static str; 10] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];

    /// The training split (60 000 images) and the test split (10 000)
    /// from `dir` (see [`FASHION_MNIST_DIR`]). Fails, naming the file,
    /// when one is missing (then also naming the Debian package that
    /// ships them), corrupt, not 28×28, or when images and labels differ
    /// in count.
    pub fn load(dir: &Path) -> Result<(FashionMnist, FashionMnist), Error> {
        Ok((
            Self::load_split(dir, "train")?,
            Self::load_split(dir, "t10k")?,
        ))
    }

    fn load_split(dir: &Path, prefix: &str) -> Result<FashionMnist, Error> {
        let file = |what: &str| -> Result<PathBuf, Error> {
            let path = dir.join(format!(
                "{prefix}-{what}-idx{}-ubyte.gz",
                if what == "images" { 3 } else { 1 }
            ));
            if path.exists() {
                Ok(path)
            } else {
                Err(bad(
                    &path.display().to_string(),
                    format!(
                        "missing: Fashion-MNIST comes with the Debian package {FASHION_MNIST_PACKAGE} (apt-get install {FASHION_MNIST_PACKAGE}), which installs it in {FASHION_MNIST_DIR}"
                    ),
                ))
            }
        };
        let images_path = file("images")?;
        let labels_path = file("labels")?;
        let images = read_idx_images(&images_path)?;
        if (images.rows, images.cols) != (Self::SIDE, Self::SIDE) {
            return Err(bad(
                &images_path.display().to_string(),
                format!(
                    "images of {}x{}, Fashion-MNIST's are 28x28",
                    images.rows, images.cols
                ),
            ));
        }
        let labels = read_idx_labels(&labels_path, Self::CLASSES)?;
        if labels.len() != images.count {
            return Err(bad(
                &labels_path.display().to_string(),
                format!(
                    "{} labels for the {} images of {}",
                    labels.len(),
                    images.count,
                    images_path.display()
                ),
            ));
        }
        Ok(FashionMnist {
            images: images.pixels.iter().map(|&p| p as f32 / 255.0).collect(),
            labels,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}
