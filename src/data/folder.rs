//! torchvision's `ImageFolder`: one subfolder per class, classes sorted
//! by name and numbered in that order, every PNG, JPEG, BMP and WebP file
//! under a class folder (searched recursively, in sorted order) one image
//! of that class. Images are decoded by the `image` crate when the loader
//! asks for them; opening the folder reads only each file's header (its
//! size and colour type), so a missing class, an unreadable file or an
//! image too large for the memory limit is an error before training
//! starts, naming the folder or the file.

use super::{Dataset, Image};
use crate::rng::Rng;
use crate::Error;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file endings read as images (case-insensitive); other files are
/// ignored, as torchvision ignores them.
pub const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "bmp", "webp"];

/// How a folder is read.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderOptions {
    /// Channels every image is converted to: 1 (grey), 3 (RGB) or 4
    /// (RGBA). `None`: 1 where every image is grey, else 3.
    pub channels: Option<usize>,
    /// Leave out unreadable images with a warning instead of failing.
    /// Every image is then decoded once when the folder is opened (a
    /// header alone does not show a truncated file).
    pub skip_bad: bool,
    /// The most bytes one decoded image may take (as f32 values).
    pub max_image_bytes: u64,
    /// The fraction of images held out for testing, by seed, when the
    /// folder has no `train/` and `val/` (or `test/`) pair.
    pub holdout: f64,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            channels: None,
            skip_bad: false,
            max_image_bytes: 256 << 20,
            holdout: 0.1,
        }
    }
}

/// One image file and its class.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    path: PathBuf,
    label: usize,
    /// `[H, W]` from the header.
    size: [usize; 2],
    bytes: u64,
}

/// The images of a folder (or a subset of them).
#[derive(Debug, Clone)]
pub struct ImageFolder {
    root: PathBuf,
    classes: Arc<Vec<String>>,
    entries: Arc<Vec<Entry>>,
    /// Which entries, in order.
    indices: Vec<usize>,
    channels: usize,
    max_image_bytes: u64,
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::DataFile {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The folder's entries, sorted by name (hidden ones left out).
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| bad(dir, format!("cannot list the folder: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Every image file under `dir`, depth first in sorted order.
fn image_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    for p in sorted_entries(dir)? {
        if p.is_dir() {
            image_files(&p, out)?;
        } else if is_image(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// The image's `[H, W]` and whether it is grey, from its header.
fn header(path: &Path) -> Result<([usize; 2], bool), Error> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| bad(path, format!("cannot open: {e}")))?
        .with_guessed_format()
        .map_err(|e| bad(path, format!("cannot read: {e}")))?;
    if reader.format().is_none() {
        return Err(bad(
            path,
            "not an image in a format wgconv reads (PNG, JPEG, BMP, WebP)",
        ));
    }
    let decoder = reader
        .into_decoder()
        .map_err(|e| bad(path, format!("not a readable image: {e}")))?;
    use image::ImageDecoder;
    let (w, h) = decoder.dimensions();
    let grey = matches!(
        decoder.color_type(),
        image::ColorType::L8
            | image::ColorType::La8
            | image::ColorType::L16
            | image::ColorType::La16
    );
    Ok(([h as usize, w as usize], grey))
}

/// Decodes the file into `channels` planes of values in [0, 1].
fn decode(path: &Path, channels: usize, max_bytes: u64) -> Result<Image, Error> {
    let file = std::fs::File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
    let mut reader = image::ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| bad(path, format!("cannot read: {e}")))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_bytes);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| bad(path, format!("cannot decode (corrupt or truncated?): {e}")))?;
    let (w, h) = (decoded.width() as usize, decoded.height() as usize);
    let hw = h * w;
    let mut pixels = vec![0.0f32; channels * hw];
    // 8-bit values as `byte / 255` exactly (as the IDX reader), wider
    // ones through the crate's float conversion.
    let (values, have): (Vec<f32>, usize) = match &decoded {
        image::DynamicImage::ImageLuma8(g) => (g.iter().map(|&v| v as f32 / 255.0).collect(), 1),
        image::DynamicImage::ImageLumaA8(g) => (g.iter().map(|&v| v as f32 / 255.0).collect(), 2),
        image::DynamicImage::ImageRgb8(g) => (g.iter().map(|&v| v as f32 / 255.0).collect(), 3),
        image::DynamicImage::ImageRgba8(g) => (g.iter().map(|&v| v as f32 / 255.0).collect(), 4),
        image::DynamicImage::ImageLuma16(g) => (g.iter().map(|&v| v as f32 / 65535.0).collect(), 1),
        image::DynamicImage::ImageLumaA16(g) => {
            (g.iter().map(|&v| v as f32 / 65535.0).collect(), 2)
        }
        other => (other.to_rgba32f().into_raw(), 4),
    };
    let at = |i: usize, c: usize| values[i * have + c];
    for i in 0..hw {
        let (rgb, alpha) = match have {
            1 => ([at(i, 0); 3], 1.0),
            2 => ([at(i, 0); 3], at(i, 1)),
            3 => ([at(i, 0), at(i, 1), at(i, 2)], 1.0),
            _ => ([at(i, 0), at(i, 1), at(i, 2)], at(i, 3)),
        };
        match channels {
            1 if have <= 2 => pixels[i] = rgb[0],
            1 => pixels[i] = 0.2989 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2],
            _ => {
                for (c, v) in rgb.iter().enumerate() {
                    pixels[c * hw + i] = *v;
                }
                if channels == 4 {
                    pixels[3 * hw + i] = alpha;
                }
            }
        }
    }
    Ok(Image {
        shape: [channels, h, w],
        pixels,
    })
}

/// A file's `[H, W]`, whether it is grey and its length, after checking
/// its header (and with `skip_bad` its pixels) and its decoded size.
fn check(path: &Path, options: &FolderOptions) -> Result<([usize; 2], bool, u64), Error> {
    let (size, grey) = header(path)?;
    let channels = options.channels.unwrap_or(4) as u64;
    let need = size[0] as u64 * size[1] as u64 * channels * 4;
    if need > options.max_image_bytes {
        return Err(bad(
            path,
            format!(
                "{}x{} pixels take {} MiB decoded, more than the {} MiB limit (--max-image-mib)",
                size[1],
                size[0],
                need >> 20,
                options.max_image_bytes >> 20
            ),
        ));
    }
    if options.skip_bad {
        decode(path, 1, options.max_image_bytes)?;
    }
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok((size, grey, bytes))
}

/// `f` of every item, in order, on up to one thread per core (on the
/// calling thread where there are no threads).
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = if cfg!(target_arch = "wasm32") {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    if threads <= 1 || items.len() < 64 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

impl ImageFolder {
    /// Reads the class folders of `root` and every image file's header.
    /// Returns the folder and the warnings of the files left out (with
    /// `options.skip_bad`).
    pub fn open(root: &Path, options: &FolderOptions) -> Result<(ImageFolder, Vec<String>), Error> {
        if !root.is_dir() {
            return Err(bad(root, "is not a folder"));
        }
        let classes: Vec<PathBuf> = sorted_entries(root)?
            .into_iter()
            .filter(|p| p.is_dir())
            .collect();
        if classes.is_empty() {
            return Err(bad(
                root,
                "holds no class folder: an image folder has one subfolder per class (e.g. \
                 cats/1.png, dogs/2.png)",
            ));
        }
        let names: Vec<String> = classes
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        Self::open_classes(root, &names, options, true)
    }

    /// [`ImageFolder::open`] with the classes given (a `val/` folder takes
    /// its `train/` folder's classes). Unless `every_class`, a class
    /// folder may be absent or empty.
    fn open_classes(
        root: &Path,
        names: &[String],
        options: &FolderOptions,
        every_class: bool,
    ) -> Result<(ImageFolder, Vec<String>), Error> {
        if let Some(c) = options.channels {
            if ![1, 3, 4].contains(&c) {
                return Err(Error::InvalidParam {
                    op: "ImageFolder",
                    param: "channels",
                    message: format!(
                        "{c}: images are read as 1 (grey), 3 (RGB) or 4 (RGBA) channels"
                    ),
                });
            }
        }
        let mut files: Vec<(PathBuf, usize)> = Vec::new();
        let mut counts = Vec::new();
        for (label, name) in names.iter().enumerate() {
            let dir = root.join(name);
            let mut found = Vec::new();
            if dir.is_dir() {
                image_files(&dir, &mut found)?;
            }
            counts.push(found.len());
            files.extend(found.into_iter().map(|p| (p, label)));
        }
        // Headers (and with skip_bad whole images) on every core: reading
        // 70 000 small files one by one is seconds on a cold cache.
        let checks = in_parallel(&files, |(path, _)| check(path, options));
        let mut entries = Vec::new();
        let mut warnings = Vec::new();
        let mut all_grey = true;
        let mut kept = vec![0usize; names.len()];
        for ((path, label), checked) in files.into_iter().zip(checks) {
            match checked {
                Ok((size, grey, bytes)) => {
                    all_grey &= grey;
                    kept[label] += 1;
                    entries.push(Entry {
                        path,
                        label,
                        size,
                        bytes,
                    });
                }
                Err(e) if options.skip_bad => warnings.push(format!("skipped {e}")),
                Err(e) => return Err(e),
            }
        }
        if every_class {
            if let Some(label) = kept.iter().position(|&k| k == 0) {
                let name = &names[label];
                return Err(bad(
                    &root.join(name),
                    format!(
                        "class {name:?} holds no image (PNG, JPEG, BMP or WebP){}: every \
                         class folder needs at least one",
                        if counts[label] > 0 { " that reads" } else { "" }
                    ),
                ));
            }
        }
        if entries.is_empty() {
            return Err(bad(root, "holds no image (PNG, JPEG, BMP or WebP)"));
        }
        let channels = options.channels.unwrap_or(if all_grey { 1 } else { 3 });
        let folder = ImageFolder {
            root: root.to_path_buf(),
            classes: Arc::new(names.to_vec()),
            indices: (0..entries.len()).collect(),
            entries: Arc::new(entries),
            channels,
            max_image_bytes: options.max_image_bytes,
        };
        Ok((folder, warnings))
    }

    /// The class names, in label order.
    pub fn class_names(&self) -> &[String] {
        &self.classes
    }

    /// The channels images are read as.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The images at `indices` (of this folder's order), in that order.
    pub fn subset(&self, indices: &[usize]) -> ImageFolder {
        ImageFolder {
            indices: indices.iter().map(|&i| self.indices[i]).collect(),
            ..self.clone()
        }
    }

    /// A seeded shuffle split into (train, test), `fraction` of the
    /// images (at least one) held out.
    pub fn split(&self, seed: u64, fraction: f64) -> (ImageFolder, ImageFolder) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        Rng::new(seed).shuffle(&mut order);
        let test = ((self.len() as f64 * fraction).round() as usize).clamp(1, self.len());
        let cut = self.len() - test;
        (self.subset(&order[..cut]), self.subset(&order[cut..]))
    }

    /// The (train, test) images of `root`: its `train/` and `val/` (or
    /// `test/`) folders where it has both, else a seeded hold-out of
    /// `options.holdout`. With the warnings of skipped files.
    pub fn open_splits(
        root: &Path,
        options: &FolderOptions,
        seed: u64,
    ) -> Result<(ImageFolder, ImageFolder, Vec<String>), Error> {
        let train_dir = root.join("train");
        let val_dir = ["val", "test"]
            .iter()
            .map(|n| root.join(n))
            .find(|p| p.is_dir());
        if let (true, Some(val_dir)) = (train_dir.is_dir(), val_dir) {
            let (train, mut warnings) = ImageFolder::open(&train_dir, options)?;
            let mut options = options.clone();
            options.channels = Some(train.channels);
            let extra: Vec<String> = sorted_entries(&val_dir)?
                .into_iter()
                .filter(|p| p.is_dir())
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .filter(|n| !train.classes.contains(n))
                .collect();
            if !extra.is_empty() {
                return Err(bad(
                    &val_dir,
                    format!("has classes the train folder has not: {}", extra.join(", ")),
                ));
            }
            let (val, more) = ImageFolder::open_classes(&val_dir, &train.classes, &options, false)?;
            warnings.extend(more);
            return Ok((train, val, warnings));
        }
        if !(0.0..1.0).contains(&options.holdout) || options.holdout <= 0.0 {
            return Err(Error::InvalidParam {
                op: "ImageFolder",
                param: "holdout",
                message: format!("{} is not a fraction in (0, 1)", options.holdout),
            });
        }
        let (all, warnings) = ImageFolder::open(root, options)?;
        if all.len() < 2 {
            return Err(bad(
                root,
                "holds one image: nothing to hold out for testing",
            ));
        }
        let (train, test) = all.split(seed, options.holdout);
        Ok((train, test, warnings))
    }
}

impl Dataset for ImageFolder {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn classes(&self) -> usize {
        self.classes.len()
    }
    fn label(&self, index: usize) -> usize {
        self.entries[self.indices[index]].label
    }
    fn image_shape(&self) -> Option<[usize; 3]> {
        let first = self.entries[*self.indices.first()?].size;
        self.indices
            .iter()
            .all(|&i| self.entries[i].size == first)
            .then_some([self.channels, first[0], first[1]])
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn image(&self, index: usize, _: &mut Rng) -> Result<Image, Error> {
        let e = &self.entries[self.indices[index]];
        decode(&e.path, self.channels, self.max_image_bytes)
    }
    /// A CRC-32 of every file's path under the root, size and label, in
    /// order (the bytes are not read: a file rewritten in place with as
    /// many bytes keeps the identity).
    fn identity(&self) -> String {
        let mut crc = flate2::Crc::new();
        for &i in &self.indices {
            let e = &self.entries[i];
            let rel = e.path.strip_prefix(&self.root).unwrap_or(&e.path);
            crc.update(rel.to_string_lossy().as_bytes());
            crc.update(&e.bytes.to_le_bytes());
            crc.update(&(e.label as u64).to_le_bytes());
        }
        crc.update(&(self.channels as u64).to_le_bytes());
        format!("{:08x}", crc.sum())
    }
    fn describe(&self, index: usize) -> String {
        self.entries[self.indices[index]].path.display().to_string()
    }
}

/// Writes `set` as an image folder under `root` that [`ImageFolder`]
/// (and torchvision's) reads back: one subfolder per class, named after
/// `class_names` (characters a file name cannot hold replaced by `-`,
/// and prefixed with the label where the names would not sort in label
/// order), one file per image named by its index, `extension` choosing
/// the format (`png`, `jpg`, `bmp`, `webp`; WebP is written lossless).
/// Values are written as `round(255 · v)` (exact for images read from
/// bytes); `rgb` writes grey images as three equal channels. Returns the
/// class folders' names.
pub fn write_image_folder(
    set: &crate::train::ImageSet,
    class_names: &[String],
    root: &Path,
    extension: &str,
    rgb: bool,
) -> Result<Vec<String>, Error> {
    let [c, h, w] = set.image_shape;
    if class_names.len() != set.classes || ![1, 3].contains(&c) {
        return Err(bad(
            root,
            format!(
                "{} class names for {} classes of {c}-channel images (1 or 3 are written)",
                class_names.len(),
                set.classes
            ),
        ));
    }
    let clean: Vec<String> = class_names
        .iter()
        .map(|n| n.replace(['/', '\\', ':', '\0'], "-"))
        .collect();
    let sorted = clean.windows(2).all(|p| p[0] < p[1]);
    let width = (set.classes.max(2) - 1).to_string().len();
    let dirs: Vec<String> = clean
        .iter()
        .enumerate()
        .map(|(i, n)| {
            if sorted {
                n.clone()
            } else {
                format!("{i:0width$}-{n}")
            }
        })
        .collect();
    for d in &dirs {
        std::fs::create_dir_all(root.join(d)).map_err(|e| bad(&root.join(d), e.to_string()))?;
    }
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let digits = set.len().to_string().len();
    for (i, (pixels, &label)) in set
        .images
        .chunks_exact(set.pixels())
        .zip(&set.labels)
        .enumerate()
    {
        let path = root
            .join(&dirs[label])
            .join(format!("{i:0digits$}.{extension}"));
        let hw = h * w;
        let image: image::DynamicImage = if c == 1 && !rgb {
            image::GrayImage::from_fn(w as u32, h as u32, |x, y| {
                image::Luma([byte(pixels[y as usize * w + x as usize])])
            })
            .into()
        } else {
            image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
                let at = y as usize * w + x as usize;
                let ch = |k: usize| byte(pixels[if c == 1 { at } else { k * hw + at }]);
                image::Rgb([ch(0), ch(1), ch(2)])
            })
            .into()
        };
        image
            .save(&path)
            .map_err(|e| bad(&path, format!("cannot write: {e}")))?;
    }
    Ok(dirs)
}
