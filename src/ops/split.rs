//! Work on tensors larger than one storage binding
//! (`max_storage_buffer_binding_size`, 128 MiB on lavapipe) is split into
//! pieces that each fit: the convolutions and the bias gradient split over
//! the batch, the element-wise ops over element ranges. Each piece binds a
//! sub-range of the tensor's buffer ([`Slice`]), so no copies are made.
//! Pieces that produce a reduction over the batch (weight and bias
//! gradients) are added into the result one after another, in order, so
//! the result stays deterministic.

use crate::gpu::Slice;
use crate::{Error, Gpu};

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Images per piece when a batch of `n` images is split so that, for every
/// tensor strided by image (`per_image` bytes each), a piece fits in one
/// binding and every piece starts at an offset aligned to
/// `min_storage_buffer_offset_alignment`. `n` itself when everything fits.
/// At most `max_images` per piece (a kernel's loop budget, see
/// [`crate::plan::MAX_LOOP_TRIPS`]). Fails when a single image is larger than a
/// binding, or `max_images` is 0.
pub(crate) fn batch_chunk(
    gpu: &Gpu,
    op: &'static str,
    n: usize,
    per_image: &[u64],
    max_images: usize,
) -> Result<usize, Error> {
    let limits = &gpu.inner.limits;
    let max = limits.max_storage_buffer_binding_size;
    if max_images == 0 {
        return Err(Error::LimitExceeded {
            op,
            limit:
                "65 535 loop iterations per invocation (one image is too large to split by image)",
            requested: 1,
            max: 0,
        });
    }
    if n <= max_images && per_image.iter().all(|&p| p.saturating_mul(n as u64) <= max) {
        return Ok(n);
    }
    let align = limits.min_storage_buffer_offset_alignment.max(1) as u64;
    let mut fit = u64::MAX;
    let mut step = 1u64;
    for &p in per_image {
        if p > max {
            return Err(Error::LimitExceeded {
                op,
                limit: "max_storage_buffer_binding_size (bytes of one image; work is split by image, so one must fit)",
                requested: p,
                max,
            });
        }
        fit = fit.min(max / p);
        // Offsets n0·p must be multiples of `align`: n0 a multiple of align / gcd(align, p).
        let need = align / gcd(align, p);
        step = step / gcd(step, need) * need;
    }
    let chunk = fit.min(max_images as u64) / step * step;
    if chunk == 0 {
        return Err(Error::LimitExceeded {
            op,
            limit: "max_storage_buffer_binding_size (no aligned split of the batch fits)",
            requested: per_image.iter().max().copied().unwrap_or(0) * step,
            max,
        });
    }
    Ok(chunk as usize)
}

/// Elements per piece of an element-wise op over `len` f32 values: all of
/// them when they fit one binding, else the most that fit, rounded to the
/// offset alignment.
pub(crate) fn element_chunk(gpu: &Gpu, len: usize) -> usize {
    let limits = &gpu.inner.limits;
    let max_elems = (limits.max_storage_buffer_binding_size / 4) as usize;
    if len <= max_elems {
        return len.max(1);
    }
    let align = (limits.min_storage_buffer_offset_alignment as usize / 4).max(64);
    (max_elems / align * align).max(align)
}

/// The pieces `(first, count)` of `0..total` in steps of `chunk`.
pub(crate) fn pieces(total: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    let chunk = chunk.max(1);
    (0..total)
        .step_by(chunk)
        .map(move |first| (first, chunk.min(total - first)))
}

/// `count` items of `item_bytes` each from item `first` of `buffer`.
pub(crate) fn slice(
    buffer: &wgpu::Buffer,
    item_bytes: u64,
    first: usize,
    count: usize,
) -> Slice<'_> {
    Slice {
        buffer,
        offset: item_bytes * first as u64,
        size: item_bytes * count as u64,
    }
}
