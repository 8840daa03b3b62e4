//! Batches for the training loop, made ahead on worker threads
//! (torch's `DataLoader` with `num_workers` and `prefetch_factor`).
//!
//! Worker `w` of `W` makes batches `w, w + W, w + 2W, …` and hands each
//! over through its own channel of `ahead` places; the loop takes batch
//! `k` from worker `k mod W`. So batches arrive in order, at most
//! `W · (ahead + 1)` of them exist at once, and a batch's contents depend
//! only on the epoch's order, its seed and the batch's place: never on
//! the number of workers or their timing. In a browser (no threads) and
//! with 0 workers the loop makes each batch itself when it needs it.

use super::{Dataset, Image};
use crate::rng::Rng;
use crate::train::ImageSet;
use crate::Error;

/// How many batches are made ahead, and by how many threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderOptions {
    /// Worker threads (0: the training loop makes each batch itself).
    pub workers: usize,
    /// Batches each worker may finish before the loop takes them.
    pub ahead: usize,
}

impl Default for LoaderOptions {
    /// Up to 4 workers, one per core, each 2 batches ahead (none in a
    /// browser).
    fn default() -> Self {
        LoaderOptions {
            workers: default_workers(),
            ahead: 2,
        }
    }
}

/// One worker per core, at most 4 (a batch of small images takes far
/// less than a step to make, so more would only take cores from the
/// device's driver on a CPU adapter).
pub fn default_workers() -> usize {
    if cfg!(target_arch = "wasm32") {
        0
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    }
}

/// The generator of the image at `position` of an epoch seeded
/// `epoch_seed` (SplitMix64 of the two mixed, so neighbouring positions
/// draw unrelated values).
pub fn image_rng(epoch_seed: u64, position: usize) -> Rng {
    let mut r = Rng::new(epoch_seed ^ (position as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    Rng::new(r.next_u64())
}

/// The images at `indices` (positions `first_position…` of the epoch)
/// as one batch; every image must have the shape of the first.
pub fn assemble(
    data: &dyn Dataset,
    indices: &[usize],
    first_position: usize,
    epoch_seed: u64,
) -> Result<ImageSet, Error> {
    let mut images = Vec::new();
    let mut labels = Vec::with_capacity(indices.len());
    let mut shape = None;
    for (k, &i) in indices.iter().enumerate() {
        let mut rng = image_rng(epoch_seed, first_position + k);
        let Image { shape: s, pixels } = data.image(i, &mut rng)?;
        match shape {
            None => {
                images.reserve(indices.len() * pixels.len());
                shape = Some(s);
            }
            Some(first) if first != s => {
                return Err(Error::DataFile {
                    path: data.describe(i),
                    message: format!(
                        "is {}x{}x{} (CxHxW), the batch's other images {}x{}x{}: images of \
                         different sizes need a resize((H,W)), or resize(S) and \
                         center_crop(S), in the transforms",
                        s[0], s[1], s[2], first[0], first[1], first[2]
                    ),
                })
            }
            _ => {}
        }
        images.extend_from_slice(&pixels);
        labels.push(data.label(i));
    }
    let image_shape = shape.unwrap_or([0; 3]);
    ImageSet::new(images, labels, image_shape, data.classes())
}

type Slot = Result<ImageSet, Error>;

/// An epoch's batches, in order.
pub struct Batches<'s> {
    data: &'s dyn Dataset,
    order: &'s [usize],
    batch: usize,
    epoch_seed: u64,
    next: usize,
    #[cfg(not(target_arch = "wasm32"))]
    workers: Vec<std::sync::mpsc::Receiver<Slot>>,
}

impl<'s> Batches<'s> {
    /// The batches of `order` in chunks of `batch`, made by the caller as
    /// it asks for them.
    pub fn inline(
        data: &'s dyn Dataset,
        order: &'s [usize],
        batch: usize,
        epoch_seed: u64,
    ) -> Self {
        Batches {
            data,
            order,
            batch: batch.max(1),
            epoch_seed,
            next: 0,
            #[cfg(not(target_arch = "wasm32"))]
            workers: Vec::new(),
        }
    }

    /// The same batches, made ahead by `options.workers` threads of
    /// `scope` (inline with 0 workers).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn spawn<'env>(
        scope: &'s std::thread::Scope<'s, 'env>,
        data: &'s dyn Dataset,
        order: &'s [usize],
        batch: usize,
        epoch_seed: u64,
        options: LoaderOptions,
    ) -> Self {
        let mut batches = Self::inline(data, order, batch, epoch_seed);
        let count = batches.count();
        let workers = options.workers.min(count);
        for w in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Slot>(options.ahead);
            let batch = batches.batch;
            scope.spawn(move || {
                for k in (w..count).step_by(workers) {
                    let made = make(data, order, batch, epoch_seed, k);
                    let failed = made.is_err();
                    // A closed channel: the loop stopped early.
                    if tx.send(made).is_err() || failed {
                        break;
                    }
                }
            });
            batches.workers.push(rx);
        }
        batches
    }

    /// How many batches the epoch has.
    pub fn count(&self) -> usize {
        self.order.len().div_ceil(self.batch)
    }

    /// The next batch, or `None` after the last.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Slot> {
        if self.next >= self.count() {
            return None;
        }
        let k = self.next;
        self.next += 1;
        #[cfg(not(target_arch = "wasm32"))]
        if !self.workers.is_empty() {
            let w = k % self.workers.len();
            return Some(self.workers[w].recv().unwrap_or_else(|_| {
                Err(Error::InvalidParam {
                    op: "loader",
                    param: "worker",
                    message: format!("worker {w} stopped before batch {k}"),
                })
            }));
        }
        Some(make(self.data, self.order, self.batch, self.epoch_seed, k))
    }
}

fn make(data: &dyn Dataset, order: &[usize], batch: usize, seed: u64, k: usize) -> Slot {
    let start = k * batch;
    let end = (start + batch).min(order.len());
    assemble(data, &order[start..end], start, seed)
}
