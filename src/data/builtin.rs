//! The data sets `wgconv train --data` knows by name, as one table: each
//! row has its tag, image shape, class names, default model and settings,
//! where it is found and how it is read. Anything else given to `--data`
//! is a folder of images ([`ImageFolder`]). The CLI, the benchmark and
//! the browser page all look data sets up here.

use super::{Dataset, FolderOptions, ImageFolder};
use crate::datasets::{FashionMnist, FASHION_MNIST_DIR};
use crate::train::{self, ImageSet, Preset, TrainConfig};
use crate::Error;
use std::path::{Path, PathBuf};

/// A data set wgconv knows by name.
#[derive(Debug)]
pub struct BuiltIn {
    /// The name `--data` takes and model files record.
    pub tag: &'static str,
    /// One line for `--help` and the README.
    pub about: &'static str,
    /// `[C, H, W]` of every image.
    pub image_shape: [usize; 3],
    pub class_names: &'static [&'static str],
    /// The model `--model default` builds for it.
    pub model: Preset,
    /// The settings `wgconv train` runs it with by default.
    pub defaults: fn() -> TrainConfig,
    /// Where it is read from without `--data-path`.
    pub default_path: fn() -> PathBuf,
    /// Reads (train, test) from a path, splitting by seed where the data
    /// set has no test split of its own.
    pub load: LoadFn,
}

/// How a built-in data set is read: (train, test) from a path and a split
/// seed.
pub type LoadFn = fn(&Path, u64) -> Result<(ImageSet, ImageSet), Error>;

const DIGIT_NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

fn load_digits(path: &Path, seed: u64) -> Result<(ImageSet, ImageSet), Error> {
    Ok(train::load_digits(path)?.split(seed, train::TEST_IMAGES))
}

fn load_fashion(path: &Path, _seed: u64) -> Result<(ImageSet, ImageSet), Error> {
    let (tr, te) = FashionMnist::load(path)?;
    Ok((tr.into(), te.into()))
}

/// Every built-in data set.
pub static BUILT_IN: [BuiltIn; 2] = [
    BuiltIn {
        tag: "digits",
        about: "the 8x8 digits shipped in the repository (1437 train / 360 test, split by --seed)",
        image_shape: [1, 8, 8],
        class_names: &DIGIT_NAMES,
        model: Preset::Digits,
        defaults: TrainConfig::default,
        default_path: train::default_data_path,
        load: load_digits,
    },
    BuiltIn {
        tag: "fashion-mnist",
        about: "Fashion-MNIST from Debian's dataset-fashion-mnist (60 000 train / 10 000 test)",
        image_shape: [1, FashionMnist::SIDE, FashionMnist::SIDE],
        class_names: &FashionMnist::CLASS_NAMES,
        model: Preset::Fashion,
        defaults: TrainConfig::fashion,
        default_path: || PathBuf::from(FASHION_MNIST_DIR),
        load: load_fashion,
    },
];

/// What `--data` names: a built-in data set or a folder of images.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    BuiltIn(&'static BuiltIn),
    Folder(PathBuf),
}

impl PartialEq for BuiltIn {
    fn eq(&self, other: &Self) -> bool {
        self.tag == other.tag
    }
}

/// A data set read: its (train, test) images, class names, and the
/// warnings of files left out.
pub struct Splits {
    pub train: Box<dyn Dataset>,
    pub test: Box<dyn Dataset>,
    pub class_names: Vec<String>,
    pub warnings: Vec<String>,
}

/// The images a model is tested on ([`DataSource::open_test`]).
pub struct TestImages {
    pub images: Box<dyn Dataset>,
    pub class_names: Vec<String>,
    pub warnings: Vec<String>,
}

impl DataSource {
    /// A built-in data set's tag, or else an existing folder.
    pub fn parse(name: &str) -> Result<DataSource, Error> {
        if let Some(b) = BUILT_IN.iter().find(|b| b.tag == name) {
            return Ok(DataSource::BuiltIn(b));
        }
        let path = Path::new(name);
        if path.is_dir() {
            // One spelling per folder (`photos`, `./photos/`): model files
            // record it, and eval compares it.
            let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            return Ok(DataSource::Folder(path));
        }
        let tags: Vec<&str> = BUILT_IN.iter().map(|b| b.tag).collect();
        Err(Error::InvalidParam {
            op: "data",
            param: "name",
            message: format!(
                "{name:?} is neither a data set wgconv knows ({}) nor a folder of images{}",
                tags.join(", "),
                if path.exists() { " (it is a file)" } else { "" }
            ),
        })
    }

    /// The name model files and reports record: the built-in tag, or the
    /// folder's absolute path.
    pub fn tag(&self) -> String {
        match self {
            DataSource::BuiltIn(b) => b.tag.to_string(),
            DataSource::Folder(p) => p.display().to_string(),
        }
    }

    /// The model `--model default` builds.
    pub fn default_model(&self) -> Preset {
        match self {
            DataSource::BuiltIn(b) => b.model,
            DataSource::Folder(_) => Preset::Fashion,
        }
    }

    /// The settings `wgconv train` uses unless told otherwise (a folder
    /// gets Fashion-MNIST's).
    pub fn defaults(&self) -> TrainConfig {
        match self {
            DataSource::BuiltIn(b) => (b.defaults)(),
            DataSource::Folder(_) => TrainConfig::fashion(),
        }
    }

    /// `[C, H, W]` of the images where known without reading them.
    pub fn image_shape(&self) -> Option<[usize; 3]> {
        match self {
            DataSource::BuiltIn(b) => Some(b.image_shape),
            DataSource::Folder(_) => None,
        }
    }

    /// The images a model is tested on: a built-in data set's test split
    /// (by `seed`), a folder's `val/` (or `test/`) half where it has
    /// train/ and val/, else every image of the folder.
    pub fn open_test(
        &self,
        path: Option<&Path>,
        folder: &FolderOptions,
        seed: u64,
    ) -> Result<TestImages, Error> {
        match self {
            DataSource::Folder(root) if !root.join("train").is_dir() => {
                let (all, warnings) = ImageFolder::open(root, folder)?;
                Ok(TestImages {
                    class_names: all.class_names().to_vec(),
                    images: Box::new(all),
                    warnings,
                })
            }
            _ => {
                let s = self.open(path, folder, seed)?;
                Ok(TestImages {
                    images: s.test,
                    class_names: s.class_names,
                    warnings: s.warnings,
                })
            }
        }
    }

    /// Reads the (train, test) images: a built-in one from `path` (or its
    /// default place), split by `seed` where it has no test split; a
    /// folder as [`ImageFolder::open_splits`] reads it.
    pub fn open(
        &self,
        path: Option<&Path>,
        folder: &FolderOptions,
        seed: u64,
    ) -> Result<Splits, Error> {
        match self {
            DataSource::BuiltIn(b) => {
                let default = (b.default_path)();
                let (train, test) = (b.load)(path.unwrap_or(&default), seed)?;
                Ok(Splits {
                    train: Box::new(train),
                    test: Box::new(test),
                    class_names: b.class_names.iter().map(|s| s.to_string()).collect(),
                    warnings: Vec::new(),
                })
            }
            DataSource::Folder(root) => {
                let (train, test, warnings) = ImageFolder::open_splits(root, folder, seed)?;
                Ok(Splits {
                    class_names: train.class_names().to_vec(),
                    train: Box::new(train),
                    test: Box::new(test),
                    warnings,
                })
            }
        }
    }
}
