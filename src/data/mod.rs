//! Data sets as values: what `wgconv train --data` names, found in one
//! table ([`builtin`]) or read from a folder of images ([`folder`]),
//! behind one [`Dataset`] trait that the loader ([`loader`]) turns into
//! batches on worker threads, through the transforms of [`transform`].
//!
//! A data set hands out one image at a time, with a generator seeded for
//! that image and epoch: what an image becomes depends on the run's seed,
//! the epoch and the image's place in it, never on which thread made it or
//! when, so runs are reproducible and resume bit-identically.

pub mod builtin;
pub mod folder;
pub mod loader;
pub mod transform;

pub use builtin::{DataSource, Splits, BUILT_IN};
pub use folder::{FolderOptions, ImageFolder};
pub use loader::LoaderOptions;
pub use transform::{PadMode, Pipeline, Transform};

use crate::rng::Rng;
use crate::train::ImageSet;
use crate::Error;

/// One image, `[C, H, W]` values (in [0, 1] as read).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub shape: [usize; 3],
    pub pixels: Vec<f32>,
}

/// Labelled images that can be read one at a time, from any thread.
pub trait Dataset: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn classes(&self) -> usize;
    fn label(&self, index: usize) -> usize;
    /// The shape of every image [`Dataset::image`] returns, or `None`
    /// when they differ (a folder of photos before a resize).
    fn image_shape(&self) -> Option<[usize; 3]>;
    /// The channels of every image (known even where sizes differ).
    fn channels(&self) -> usize {
        self.image_shape().map_or(0, |s| s[0])
    }
    /// Image `index`, drawing any randomness from `rng` (seeded for this
    /// image and epoch by the loader).
    fn image(&self, index: usize, rng: &mut Rng) -> Result<Image, Error>;
    /// The images' identity: changes when the images, their order, their
    /// labels or their transforms do (checkpoints and model files record
    /// it).
    fn identity(&self) -> String;
    /// Whether [`Dataset::image`] draws from its generator.
    fn is_random(&self) -> bool {
        false
    }
    /// Where image `index` comes from, for messages.
    fn describe(&self, index: usize) -> String {
        format!("image {index}")
    }
}

impl Dataset for ImageSet {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn label(&self, index: usize) -> usize {
        self.labels[index]
    }
    fn image_shape(&self) -> Option<[usize; 3]> {
        Some(self.image_shape)
    }
    fn image(&self, index: usize, _: &mut Rng) -> Result<Image, Error> {
        let p = self.pixels();
        Ok(Image {
            shape: self.image_shape,
            pixels: self.images[index * p..(index + 1) * p].to_vec(),
        })
    }
    fn identity(&self) -> String {
        ImageSet::identity(self)
    }
}

/// A data set seen through a [`Pipeline`] (torchvision's `transform=`).
pub struct Transformed<D> {
    pub inner: D,
    pub pipeline: Pipeline,
}

impl<D: Dataset> Transformed<D> {
    /// Fails, naming the transform that is missing, unless every image
    /// leaves the pipeline with one shape.
    pub fn new(inner: D, pipeline: Pipeline) -> Result<Transformed<D>, Error> {
        if Self::shape_through(&inner, &pipeline).is_none() {
            return Err(Error::InvalidParam {
                op: "transform",
                param: "pipeline",
                message: format!(
                    "the images have different sizes and `{pipeline}` does not make them one: \
                     add resize((H,W)), or resize(S) followed by center_crop(S), to the \
                     transforms"
                ),
            });
        }
        Ok(Transformed { inner, pipeline })
    }

    fn shape_through(inner: &D, pipeline: &Pipeline) -> Option<[usize; 3]> {
        match inner.image_shape() {
            Some(s) => pipeline.output_shape(Some(s)),
            None => pipeline.output_shape_of(inner.channels(), None),
        }
    }
}

impl<D: Dataset> Dataset for Transformed<D> {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn classes(&self) -> usize {
        self.inner.classes()
    }
    fn label(&self, index: usize) -> usize {
        self.inner.label(index)
    }
    fn image_shape(&self) -> Option<[usize; 3]> {
        Self::shape_through(&self.inner, &self.pipeline)
    }
    fn channels(&self) -> usize {
        self.inner.channels()
    }
    fn image(&self, index: usize, rng: &mut Rng) -> Result<Image, Error> {
        let image = self.inner.image(index, rng)?;
        self.pipeline.apply(image, rng).map_err(|e| match e {
            Error::InvalidParam { message, .. } => Error::DataFile {
                path: self.inner.describe(index),
                message,
            },
            e => e,
        })
    }
    fn identity(&self) -> String {
        if self.pipeline.is_empty() {
            return self.inner.identity();
        }
        format!("{} through {}", self.inner.identity(), self.pipeline)
    }
    fn is_random(&self) -> bool {
        self.inner.is_random() || self.pipeline.is_random()
    }
    fn describe(&self, index: usize) -> String {
        self.inner.describe(index)
    }
}

/// A data set behind a reference or a box is the data set.
macro_rules! forward_dataset {
    ($($ty:ty),*) => {$(
        impl<D: Dataset + ?Sized> Dataset for $ty {
            fn len(&self) -> usize {
                (**self).len()
            }
            fn classes(&self) -> usize {
                (**self).classes()
            }
            fn label(&self, index: usize) -> usize {
                (**self).label(index)
            }
            fn image_shape(&self) -> Option<[usize; 3]> {
                (**self).image_shape()
            }
            fn channels(&self) -> usize {
                (**self).channels()
            }
            fn image(&self, index: usize, rng: &mut Rng) -> Result<Image, Error> {
                (**self).image(index, rng)
            }
            fn identity(&self) -> String {
                (**self).identity()
            }
            fn is_random(&self) -> bool {
                (**self).is_random()
            }
            fn describe(&self, index: usize) -> String {
                (**self).describe(index)
            }
        }
    )*};
}

forward_dataset!(&D, Box<D>);

/// Some images of a data set, in a given order (torch's `Subset`).
pub struct Subset<D> {
    pub inner: D,
    pub indices: Vec<usize>,
}

impl<D: Dataset> Dataset for Subset<D> {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn classes(&self) -> usize {
        self.inner.classes()
    }
    fn label(&self, index: usize) -> usize {
        self.inner.label(self.indices[index])
    }
    fn image_shape(&self) -> Option<[usize; 3]> {
        self.inner.image_shape()
    }
    fn channels(&self) -> usize {
        self.inner.channels()
    }
    fn image(&self, index: usize, rng: &mut Rng) -> Result<Image, Error> {
        self.inner.image(self.indices[index], rng)
    }
    /// The inner identity and a CRC-32 of the indices.
    fn identity(&self) -> String {
        let mut crc = flate2::Crc::new();
        for &i in &self.indices {
            crc.update(&(i as u64).to_le_bytes());
        }
        format!("{} at {:08x}", self.inner.identity(), crc.sum())
    }
    fn is_random(&self) -> bool {
        self.inner.is_random()
    }
    fn describe(&self, index: usize) -> String {
        self.inner.describe(self.indices[index])
    }
}

/// Every image of `data` in order, as one in-memory [`ImageSet`] (read
/// with `seed`'s generators where the data set is random).
pub fn collect(data: &dyn Dataset, seed: u64) -> Result<ImageSet, Error> {
    let all: Vec<usize> = (0..data.len()).collect();
    loader::assemble(data, &all, 0, seed)
}

/// The per-channel mean and standard deviation (population, as
/// `tensor.std(unbiased=False)`) of every pixel of `data`, summed in f64
/// in image order: what a `normalize` without values fills in.
pub fn channel_statistics(data: &dyn Dataset) -> Result<(Vec<f32>, Vec<f32>), Error> {
    let mut sums: Vec<(f64, f64)> = Vec::new();
    let mut count = 0usize;
    let mut rng = Rng::new(0);
    for i in 0..data.len() {
        let image = data.image(i, &mut rng)?;
        let [c, h, w] = image.shape;
        if sums.is_empty() {
            sums = vec![(0.0, 0.0); c];
        }
        for (ch, s) in sums.iter_mut().enumerate().take(c) {
            for &v in &image.pixels[ch * h * w..(ch + 1) * h * w] {
                s.0 += v as f64;
                s.1 += (v as f64) * (v as f64);
            }
        }
        count += h * w;
    }
    let n = count.max(1) as f64;
    let mean: Vec<f32> = sums.iter().map(|s| (s.0 / n) as f32).collect();
    let std: Vec<f32> = sums
        .iter()
        .map(|s| {
            let m = s.0 / n;
            ((s.1 / n - m * m).max(0.0).sqrt() as f32).max(1e-6)
        })
        .collect();
    Ok((mean, std))
}
