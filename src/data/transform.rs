//! torchvision's transforms, on [`Image`]s of `[C, H, W]` floats: the
//! geometric ones (`Resize`, `CenterCrop`, `RandomCrop`,
//! `RandomResizedCrop`, the flips), the photometric ones (`ColorJitter`,
//! `RandomErasing`) and `Normalize`, as one [`Pipeline`] value that is
//! parsed from a command line, printed back, applied with a per-image
//! generator, and turned into its evaluation form.
//!
//! The semantics are torchvision's on tensors, where each transform's doc
//! says how; the random draws are wgconv's own generator (seeded per image
//! by the loader, so a run is reproducible), not torch's.

use super::Image;
use crate::rng::Rng;
use crate::Error;
use std::fmt;

/// How `RandomCrop` fills its padding (torchvision's `padding_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// The `fill` value.
    Constant,
    /// The edge pixel repeated.
    Edge,
    /// Mirrored without repeating the edge (`[3 2 | 1 2 3 | 2 1]`).
    Reflect,
    /// Mirrored with the edge repeated (`[2 1 | 1 2 3 | 3 2]`).
    Symmetric,
}

impl PadMode {
    fn name(self) -> &'static str {
        match self {
            PadMode::Constant => "constant",
            PadMode::Edge => "edge",
            PadMode::Reflect => "reflect",
            PadMode::Symmetric => "symmetric",
        }
    }

    /// The source index of padded index `i` (may be out of `0..n` only
    /// for `Constant`, which the caller fills).
    fn source(self, i: isize, n: isize) -> isize {
        match self {
            PadMode::Constant => i,
            PadMode::Edge => i.clamp(0, n - 1),
            PadMode::Reflect => {
                if n == 1 {
                    return 0;
                }
                let period = 2 * (n - 1);
                let m = i.rem_euclid(period);
                if m < n {
                    m
                } else {
                    period - m
                }
            }
            PadMode::Symmetric => {
                let period = 2 * n;
                let m = i.rem_euclid(period);
                if m < n {
                    m
                } else {
                    period - 1 - m
                }
            }
        }
    }
}

/// One transform, with torchvision's name and arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// `Resize(size)`: `[h, w]`, or one number for the shorter side (the
    /// other keeps the aspect ratio, truncated as torchvision does).
    /// Bilinear with antialiasing (torchvision's default on tensors): a
    /// triangle filter widened by the scale factor when shrinking.
    Resize { size: Vec<usize> },
    /// `CenterCrop([h, w])`: the middle, offsets rounded half to even as
    /// Python's `round`; zero padding where the image is smaller.
    CenterCrop { size: [usize; 2] },
    /// `RandomCrop([h, w], padding, pad_if_needed, fill, padding_mode)`:
    /// pads each side by `padding` `[left, top, right, bottom]`, then cuts
    /// an `h × w` window at a uniform offset.
    RandomCrop {
        size: [usize; 2],
        padding: [usize; 4],
        pad_if_needed: bool,
        fill: f32,
        mode: PadMode,
    },
    /// `RandomResizedCrop([h, w], scale, ratio)`: a window of a random
    /// area fraction and aspect ratio (10 tries, then the whole image
    /// clamped to the ratio, centred), resized to `h × w`.
    RandomResizedCrop {
        size: [usize; 2],
        scale: [f32; 2],
        ratio: [f32; 2],
    },
    /// `RandomHorizontalFlip(p)`.
    HorizontalFlip { p: f32 },
    /// `RandomVerticalFlip(p)`.
    VerticalFlip { p: f32 },
    /// `ColorJitter(brightness, contrast, saturation)`: each factor drawn
    /// from `[max(0, 1 − v), 1 + v]`, applied in a random order, results
    /// clamped to [0, 1]. Contrast blends with the mean of the greyscale
    /// image, saturation with the greyscale image (no effect on grey).
    ColorJitter {
        brightness: f32,
        contrast: f32,
        saturation: f32,
    },
    /// `RandomErasing(p, scale, ratio, value)`: with probability `p` a
    /// rectangle of random area fraction and aspect ratio is set to
    /// `value` (10 tries; none fits, nothing is erased).
    RandomErasing {
        p: f32,
        scale: [f32; 2],
        ratio: [f32; 2],
        value: f32,
    },
    /// `Normalize(mean, std)`: `(x − mean[c]) / std[c]`; one value is
    /// every channel's. Empty vectors mean "the training images' own",
    /// filled in by [`Pipeline::resolve`].
    Normalize { mean: Vec<f32>, std: Vec<f32> },
}

/// A sequence of transforms (torchvision's `Compose`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pipeline(pub Vec<Transform>);

fn bad(message: String) -> Error {
    Error::InvalidParam {
        op: "transform",
        param: "spec",
        message,
    }
}

/// Python's `round`: half to even.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

impl Transform {
    /// Whether applying it draws from the generator.
    pub fn is_random(&self) -> bool {
        !matches!(
            self,
            Transform::Resize { .. } | Transform::CenterCrop { .. } | Transform::Normalize { .. }
        )
    }

    /// The transform's evaluation form, torchvision's usual test-time
    /// counterpart: random crops become centre crops of the same size
    /// (after a resize of the shorter side, for `RandomResizedCrop`),
    /// flips, jitter and erasing go, the rest stays.
    fn eval(&self) -> Vec<Transform> {
        match self {
            Transform::RandomCrop { size, .. } => vec![Transform::CenterCrop { size: *size }],
            Transform::RandomResizedCrop { size, .. } => vec![
                Transform::Resize {
                    size: vec![size[0].min(size[1])],
                },
                Transform::CenterCrop { size: *size },
            ],
            Transform::HorizontalFlip { .. }
            | Transform::VerticalFlip { .. }
            | Transform::ColorJitter { .. }
            | Transform::RandomErasing { .. } => vec![],
            t => vec![t.clone()],
        }
    }

    /// The `[H, W]` of the output for an input of `size` (`None`: images
    /// of several sizes); `None` where it still varies.
    pub fn output_size(&self, size: Option<[usize; 2]>) -> Option<[usize; 2]> {
        match self {
            Transform::Resize { size: s } if s.len() == 2 => Some([s[0], s[1]]),
            Transform::Resize { size: s } => size.map(|[h, w]| resized_shorter_side(h, w, s[0])),
            Transform::CenterCrop { size: s }
            | Transform::RandomCrop { size: s, .. }
            | Transform::RandomResizedCrop { size: s, .. } => Some(*s),
            _ => size,
        }
    }

    /// Applies the transform, drawing from `rng` if it is random.
    pub fn apply(&self, image: Image, rng: &mut Rng) -> Result<Image, Error> {
        let [_, h, w] = image.shape;
        Ok(match self {
            Transform::Resize { size } => {
                let [th, tw] = if size.len() == 2 {
                    [size[0], size[1]]
                } else {
                    resized_shorter_side(h, w, size[0])
                };
                resize(&image, th, tw)
            }
            Transform::CenterCrop { size } => {
                let [th, tw] = *size;
                let top = round_half_even((h as f64 - th as f64) / 2.0) as isize;
                let left = round_half_even((w as f64 - tw as f64) / 2.0) as isize;
                crop(&image, top, left, th, tw, 0.0, PadMode::Constant)
            }
            Transform::RandomCrop {
                size,
                padding,
                pad_if_needed,
                fill,
                mode,
            } => {
                let [th, tw] = *size;
                let [mut l, mut t, mut r, mut b] = padding.map(|p| p as isize);
                let (mut ph, mut pw) = (h as isize + t + b, w as isize + l + r);
                if *pad_if_needed && pw < tw as isize {
                    let more = tw as isize - pw;
                    l += more;
                    r += more;
                    pw += 2 * more;
                }
                if *pad_if_needed && ph < th as isize {
                    let more = th as isize - ph;
                    t += more;
                    b += more;
                    ph += 2 * more;
                }
                if ph < th as isize || pw < tw as isize {
                    return Err(bad(format!(
                        "random_crop: a {th}x{tw} window does not fit a {h}x{w} image padded to \
                         {ph}x{pw} (give a larger padding or pad_if_needed=true)"
                    )));
                }
                let i = rng.range(0, (ph - th as isize) as usize) as isize;
                let j = rng.range(0, (pw - tw as isize) as usize) as isize;
                let _ = (r, b);
                crop(&image, i - t, j - l, th, tw, *fill, *mode)
            }
            Transform::RandomResizedCrop { size, scale, ratio } => {
                let (i, j, ch, cw) = resized_crop_window(h, w, *scale, *ratio, rng);
                let window = crop(&image, i, j, ch, cw, 0.0, PadMode::Constant);
                resize(&window, size[0], size[1])
            }
            Transform::HorizontalFlip { p } => {
                if rng_unit(rng) < *p {
                    flip(image, true)
                } else {
                    image
                }
            }
            Transform::VerticalFlip { p } => {
                if rng_unit(rng) < *p {
                    flip(image, false)
                } else {
                    image
                }
            }
            Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
            } => color_jitter(image, [*brightness, *contrast, *saturation], rng),
            Transform::RandomErasing {
                p,
                scale,
                ratio,
                value,
            } => random_erasing(image, *p, *scale, *ratio, *value, rng),
            Transform::Normalize { mean, std } => normalize(image, mean, std)?,
        })
    }
}

/// Uniform in [0, 1) on a grid of 2^-24.
fn rng_unit(rng: &mut Rng) -> f32 {
    (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32
}

/// Uniform in [lo, hi) in f64.
fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
}

/// torchvision's `Resize(int)`: the shorter side becomes `s`, the longer
/// one `int(s · long / short)`.
fn resized_shorter_side(h: usize, w: usize, s: usize) -> [usize; 2] {
    if h <= w {
        [s, (s as u64 * w as u64 / h.max(1) as u64) as usize]
    } else {
        [(s as u64 * h as u64 / w.max(1) as u64) as usize, s]
    }
}

/// The window `(top, left, height, width)` of `RandomResizedCrop`.
fn resized_crop_window(
    h: usize,
    w: usize,
    scale: [f32; 2],
    ratio: [f32; 2],
    rng: &mut Rng,
) -> (isize, isize, usize, usize) {
    let area = (h * w) as f64;
    let log_ratio = [(ratio[0] as f64).ln(), (ratio[1] as f64).ln()];
    for _ in 0..10 {
        let target = area * uniform(rng, scale[0] as f64, scale[1] as f64);
        let aspect = uniform(rng, log_ratio[0], log_ratio[1]).exp();
        let cw = round_half_even((target * aspect).sqrt()) as usize;
        let ch = round_half_even((target / aspect).sqrt()) as usize;
        if 0 < cw && cw <= w && 0 < ch && ch <= h {
            let i = rng.range(0, h - ch) as isize;
            let j = rng.range(0, w - cw) as isize;
            return (i, j, ch, cw);
        }
    }
    let in_ratio = w as f64 / h as f64;
    let (lo, hi) = (ratio[0].min(ratio[1]) as f64, ratio[0].max(ratio[1]) as f64);
    let (ch, cw) = if in_ratio < lo {
        (round_half_even(w as f64 / lo) as usize, w)
    } else if in_ratio > hi {
        (h, round_half_even(h as f64 * hi) as usize)
    } else {
        (h, w)
    };
    (((h - ch) / 2) as isize, ((w - cw) / 2) as isize, ch, cw)
}

/// The `th × tw` window at `(top, left)`, which may reach outside the
/// image: outside pixels come from `mode` (`fill` for `Constant`).
fn crop(
    image: &Image,
    top: isize,
    left: isize,
    th: usize,
    tw: usize,
    fill: f32,
    mode: PadMode,
) -> Image {
    let [c, h, w] = image.shape;
    let mut out = Vec::with_capacity(c * th * tw);
    for ch in 0..c {
        let plane = &image.pixels[ch * h * w..(ch + 1) * h * w];
        for r in 0..th as isize {
            let sr = mode.source(top + r, h as isize);
            for s in 0..tw as isize {
                let ss = mode.source(left + s, w as isize);
                let inside = (0..h as isize).contains(&sr) && (0..w as isize).contains(&ss);
                out.push(if inside {
                    plane[sr as usize * w + ss as usize]
                } else {
                    fill
                });
            }
        }
    }
    Image {
        shape: [c, th, tw],
        pixels: out,
    }
}

fn flip(mut image: Image, horizontal: bool) -> Image {
    let [c, h, w] = image.shape;
    for plane in image.pixels.chunks_exact_mut(h * w).take(c) {
        if horizontal {
            plane.chunks_exact_mut(w).for_each(<[f32]>::reverse);
        } else {
            for r in 0..h / 2 {
                let (a, b) = plane.split_at_mut((h - 1 - r) * w);
                a[r * w..(r + 1) * w].swap_with_slice(&mut b[..w]);
            }
        }
    }
    image
}

/// For each output index along an axis of `n_in → n_out`, the first
/// input index and the normalised weights of the antialiased triangle
/// filter (PIL's and torchvision's `antialias=True` bilinear).
fn filter_taps(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = n_in as f64 / n_out as f64;
    let support = scale.max(1.0);
    (0..n_out)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((center + support + 0.5).floor() as usize).min(n_in);
            let mut weights: Vec<f64> = (lo..hi)
                .map(|j| {
                    let x = (j as f64 - center + 0.5) / support;
                    (1.0 - x.abs()).max(0.0)
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total > 0.0 {
                weights.iter_mut().for_each(|v| *v /= total);
            }
            (lo, weights)
        })
        .collect()
}

/// Bilinear resize with antialiasing, separable: rows first, then columns.
fn resize(image: &Image, th: usize, tw: usize) -> Image {
    let [c, h, w] = image.shape;
    if (th, tw) == (h, w) {
        return image.clone();
    }
    let across = filter_taps(w, tw);
    let down = filter_taps(h, th);
    let mut out = Vec::with_capacity(c * th * tw);
    let mut mid = vec![0.0f64; h * tw];
    for ch in 0..c {
        let plane = &image.pixels[ch * h * w..(ch + 1) * h * w];
        for r in 0..h {
            for (s, (lo, weights)) in across.iter().enumerate() {
                mid[r * tw + s] = weights
                    .iter()
                    .enumerate()
                    .map(|(k, wt)| wt * plane[r * w + lo + k] as f64)
                    .sum();
            }
        }
        for (lo, weights) in &down {
            for s in 0..tw {
                let v: f64 = weights
                    .iter()
                    .enumerate()
                    .map(|(k, wt)| wt * mid[(lo + k) * tw + s])
                    .sum();
                out.push(v as f32);
            }
        }
    }
    Image {
        shape: [c, th, tw],
        pixels: out,
    }
}

/// torchvision's `rgb_to_grayscale` weights (ITU-R 601).
const GREY: [f32; 3] = [0.2989, 0.587, 0.114];

/// The greyscale plane of an image (grey images are their own).
fn greyscale(image: &Image) -> Vec<f32> {
    let [c, h, w] = image.shape;
    let hw = h * w;
    if c < 3 {
        return image.pixels[..hw].to_vec();
    }
    (0..hw)
        .map(|i| {
            GREY[0] * image.pixels[i]
                + GREY[1] * image.pixels[hw + i]
                + GREY[2] * image.pixels[2 * hw + i]
        })
        .collect()
}

fn color_jitter(mut image: Image, amounts: [f32; 3], rng: &mut Rng) -> Image {
    let [c, h, w] = image.shape;
    let hw = h * w;
    let mut order: Vec<usize> = (0..3).filter(|&k| amounts[k] > 0.0).collect();
    let factors: Vec<f32> = (0..3)
        .map(|k| {
            let v = amounts[k] as f64;
            uniform(rng, (1.0 - v).max(0.0), 1.0 + v) as f32
        })
        .collect();
    rng.shuffle(&mut order);
    // Blends with `other` (one value, or a plane per pixel) as
    // torchvision's `_blend`: clamp(f·x + (1 − f)·other, 0, 1); alpha
    // channels (the 4th) are left alone.
    let blend = |pixels: &mut [f32], f: f32, other: &dyn Fn(usize) -> f32| {
        for ch in 0..c.min(3) {
            for i in 0..hw {
                let x = &mut pixels[ch * hw + i];
                *x = (f * *x + (1.0 - f) * other(i)).clamp(0.0, 1.0);
            }
        }
    };
    for k in order {
        let f = factors[k];
        match k {
            0 => blend(&mut image.pixels, f, &|_| 0.0),
            1 => {
                let grey = greyscale(&image);
                let mean = (grey.iter().map(|&v| v as f64).sum::<f64>() / hw as f64) as f32;
                blend(&mut image.pixels, f, &|_| mean);
            }
            _ if c >= 3 => {
                let grey = greyscale(&image);
                blend(&mut image.pixels, f, &|i| grey[i]);
            }
            _ => {}
        }
    }
    image
}

fn random_erasing(
    mut image: Image,
    p: f32,
    scale: [f32; 2],
    ratio: [f32; 2],
    value: f32,
    rng: &mut Rng,
) -> Image {
    if rng_unit(rng) >= p {
        return image;
    }
    let [c, h, w] = image.shape;
    let area = (h * w) as f64;
    let log_ratio = [(ratio[0] as f64).ln(), (ratio[1] as f64).ln()];
    for _ in 0..10 {
        let target = area * uniform(rng, scale[0] as f64, scale[1] as f64);
        let aspect = uniform(rng, log_ratio[0], log_ratio[1]).exp();
        let eh = round_half_even((target * aspect).sqrt()) as usize;
        let ew = round_half_even((target / aspect).sqrt()) as usize;
        if !(eh < h && ew < w) {
            continue;
        }
        let i = rng.range(0, h - eh);
        let j = rng.range(0, w - ew);
        for ch in 0..c {
            for r in i..i + eh {
                let row = (ch * h + r) * w;
                image.pixels[row + j..row + j + ew].fill(value);
            }
        }
        return image;
    }
    image
}

fn normalize(mut image: Image, mean: &[f32], std: &[f32]) -> Result<Image, Error> {
    let [c, h, w] = image.shape;
    let per = |v: &[f32], ch: usize| if v.len() == 1 { v[0] } else { v[ch] };
    for (name, v) in [("mean", mean), ("std", std)] {
        if v.len() != 1 && v.len() != c {
            return Err(bad(format!(
                "normalize: {} {name} values for images of {c} channels (give 1 or {c})",
                v.len()
            )));
        }
    }
    for ch in 0..c {
        let (m, s) = (per(mean, ch), per(std, ch));
        for x in &mut image.pixels[ch * h * w..(ch + 1) * h * w] {
            *x = (*x - m) / s;
        }
    }
    Ok(image)
}

impl Pipeline {
    /// No transform.
    pub fn none() -> Pipeline {
        Pipeline(Vec::new())
    }

    /// `wgconv train --augment`: random shifts of up to 2 pixels (zero
    /// fill) and horizontal flips, for images of `h × w`.
    pub fn augment(h: usize, w: usize) -> Pipeline {
        Pipeline(vec![
            Transform::RandomCrop {
                size: [h, w],
                padding: [2; 4],
                pad_if_needed: false,
                fill: 0.0,
                mode: PadMode::Constant,
            },
            Transform::HorizontalFlip { p: 0.5 },
        ])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any transform draws from the generator.
    pub fn is_random(&self) -> bool {
        self.0.iter().any(Transform::is_random)
    }

    /// The evaluation pipeline of a training one ([`Transform`]'s
    /// counterparts): what the test images go through.
    pub fn eval(&self) -> Pipeline {
        Pipeline(self.0.iter().flat_map(Transform::eval).collect())
    }

    /// The images' shape after the pipeline, from their shape before it;
    /// `None` where their sizes still vary.
    pub fn output_shape(&self, shape: Option<[usize; 3]>) -> Option<[usize; 3]> {
        let [c, h, w] = shape?;
        self.output_shape_of(c, Some([h, w]))
    }

    /// [`Pipeline::output_shape`] for images of `channels` and `size`
    /// (`None`: several sizes).
    pub fn output_shape_of(&self, channels: usize, size: Option<[usize; 2]>) -> Option<[usize; 3]> {
        let [h, w] = self.0.iter().fold(size, |s, t| t.output_size(s))?;
        Some([channels, h, w])
    }

    /// Applies every transform in order.
    pub fn apply(&self, mut image: Image, rng: &mut Rng) -> Result<Image, Error> {
        for t in &self.0 {
            image = t.apply(image, rng)?;
        }
        Ok(image)
    }

    /// Whether a `normalize` without values waits for the training
    /// images' statistics.
    pub fn needs_statistics(&self) -> bool {
        self.0
            .iter()
            .any(|t| matches!(t, Transform::Normalize { mean, .. } if mean.is_empty()))
    }

    /// Fills a `normalize` without values with the per-channel `mean` and
    /// `std` given (the training images' own, measured after the
    /// transforms before it: [`super::channel_statistics`]).
    pub fn resolve(&self, mean: &[f32], std: &[f32]) -> Pipeline {
        Pipeline(
            self.0
                .iter()
                .map(|t| match t {
                    Transform::Normalize { mean: m, .. } if m.is_empty() => Transform::Normalize {
                        mean: mean.to_vec(),
                        std: std.to_vec(),
                    },
                    t => t.clone(),
                })
                .collect(),
        )
    }

    /// The transforms before the first `normalize` without values, in
    /// their evaluation form: what the statistics are measured after.
    pub fn before_statistics(&self) -> Pipeline {
        let cut = self
            .0
            .iter()
            .position(|t| matches!(t, Transform::Normalize { mean, .. } if mean.is_empty()))
            .unwrap_or(self.0.len());
        Pipeline(self.0[..cut].to_vec()).eval()
    }

    /// Parses a comma-separated list such as
    /// `resize(32),random_crop(28,padding=2),hflip,normalize`:
    /// torchvision's names in snake case (flips also as `hflip`/`vflip`),
    /// arguments positional or `name=value`, pairs as `(a,b)` or one
    /// number for both.
    pub fn parse(spec: &str) -> Result<Pipeline, Error> {
        let mut out = Vec::new();
        if spec.trim() == "none" {
            return Ok(Pipeline::none());
        }
        for item in split_top(spec)? {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            out.push(parse_transform(item)?);
        }
        Ok(Pipeline(out))
    }
}

/// Splits at the commas outside parentheses.
fn split_top(s: &str) -> Result<Vec<&str>, Error> {
    let (mut depth, mut start, mut parts) = (0i32, 0, Vec::new());
    for (i, ch) in s.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(bad(format!("unbalanced ')' in {s:?}")));
                }
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(bad(format!("unbalanced '(' in {s:?}")));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

/// The arguments of one transform, by position and by name.
struct Args<'a> {
    name: &'a str,
    positional: Vec<&'a str>,
    named: Vec<(&'a str, &'a str)>,
    used: Vec<bool>,
}

impl<'a> Args<'a> {
    fn parse(name: &'a str, inner: &'a str) -> Result<Args<'a>, Error> {
        let mut a = Args {
            name,
            positional: Vec::new(),
            named: Vec::new(),
            used: Vec::new(),
        };
        for part in split_top(inner)? {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.split_once('=') {
                Some((k, v)) => a.named.push((k.trim(), v.trim())),
                None if a.named.is_empty() => a.positional.push(part),
                None => {
                    return Err(bad(format!(
                        "{name}: positional argument {part:?} after a named one"
                    )))
                }
            }
        }
        a.used = vec![false; a.named.len()];
        Ok(a)
    }

    /// The argument at `position` or called `key`.
    fn get(&mut self, position: usize, key: &str) -> Option<&'a str> {
        if let Some(i) = self.named.iter().position(|(k, _)| *k == key) {
            self.used[i] = true;
            return Some(self.named[i].1);
        }
        self.positional.get(position).copied()
    }

    fn numbers(&mut self, position: usize, key: &str) -> Result<Option<Vec<f64>>, Error> {
        let Some(v) = self.get(position, key) else {
            return Ok(None);
        };
        let inner = v
            .trim()
            .trim_start_matches(['(', '['])
            .trim_end_matches([')', ']']);
        inner
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| {
                        bad(format!(
                            "{}: {key} {v:?} is not a number or a list of numbers",
                            self.name
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn number(&mut self, position: usize, key: &str, default: f64) -> Result<f64, Error> {
        match self.numbers(position, key)? {
            None => Ok(default),
            Some(v) if v.len() == 1 => Ok(v[0]),
            Some(v) => Err(bad(format!(
                "{}: {key} takes one number, not {v:?}",
                self.name
            ))),
        }
    }

    fn pair(&mut self, position: usize, key: &str, default: [f64; 2]) -> Result<[f64; 2], Error> {
        match self.numbers(position, key)? {
            None => Ok(default),
            Some(v) if v.len() == 1 => Ok([v[0], v[0]]),
            Some(v) if v.len() == 2 => Ok([v[0], v[1]]),
            Some(v) => Err(bad(format!(
                "{}: {key} takes 1 or 2 numbers, not {}",
                self.name,
                v.len()
            ))),
        }
    }

    fn size(&mut self, position: usize) -> Result<[usize; 2], Error> {
        let name = self.name;
        let v = self.numbers(position, "size")?.ok_or_else(|| {
            bad(format!(
                "{name}: needs a size, e.g. {name}(28) or {name}((28,32))"
            ))
        })?;
        let v = v
            .iter()
            .map(|&x| whole(name, "size", x, 1))
            .collect::<Result<Vec<_>, _>>()?;
        match v[..] {
            [s] => Ok([s, s]),
            [h, w] => Ok([h, w]),
            _ => Err(bad(format!("{name}: size takes 1 or 2 numbers"))),
        }
    }

    fn probability(&mut self, position: usize, default: f64) -> Result<f32, Error> {
        let p = self.number(position, "p", default)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(bad(format!("{}: p {p} is not in [0, 1]", self.name)));
        }
        Ok(p as f32)
    }

    /// Fails on a positional argument past `count` or an unused name.
    fn done(&self, count: usize) -> Result<(), Error> {
        if self.positional.len() > count {
            return Err(bad(format!(
                "{}: {} positional arguments, it takes at most {count}",
                self.name,
                self.positional.len()
            )));
        }
        if let Some(i) = self.used.iter().position(|u| !u) {
            return Err(bad(format!(
                "{}: no argument called {:?}",
                self.name, self.named[i].0
            )));
        }
        Ok(())
    }
}

fn whole(name: &str, key: &str, x: f64, min: usize) -> Result<usize, Error> {
    if x.fract() != 0.0 || x < min as f64 || x > 1e9 {
        return Err(bad(format!(
            "{name}: {key} {x} is not a whole number >= {min}"
        )));
    }
    Ok(x as usize)
}

fn range_pair(name: &str, key: &str, v: [f64; 2], positive: bool) -> Result<[f32; 2], Error> {
    if v[0] > v[1] || (positive && v[0] <= 0.0) || v[0] < 0.0 {
        return Err(bad(format!(
            "{name}: {key} ({}, {}) must be {}ascending",
            v[0],
            v[1],
            if positive {
                "positive and "
            } else {
                "non-negative and "
            }
        )));
    }
    Ok([v[0] as f32, v[1] as f32])
}

fn parse_transform(item: &str) -> Result<Transform, Error> {
    let (name, inner) = match item.find('(') {
        Some(i) if item.ends_with(')') => (item[..i].trim(), &item[i + 1..item.len() - 1]),
        Some(_) => return Err(bad(format!("{item:?}: arguments end with ')'"))),
        None => (item, ""),
    };
    let mut a = Args::parse(name, inner)?;
    let t = match name {
        "resize" => {
            let v = a.numbers(0, "size")?.ok_or_else(|| {
                bad("resize: needs a size, e.g. resize(32) or resize((32,32))".into())
            })?;
            if v.len() > 2 {
                return Err(bad("resize: size takes 1 or 2 numbers".into()));
            }
            let size = v
                .iter()
                .map(|&x| whole(name, "size", x, 1))
                .collect::<Result<Vec<_>, _>>()?;
            a.done(1)?;
            Transform::Resize { size }
        }
        "center_crop" => {
            let size = a.size(0)?;
            a.done(1)?;
            Transform::CenterCrop { size }
        }
        "random_crop" => {
            let size = a.size(0)?;
            let padding = match a.numbers(1, "padding")? {
                None => [0; 4],
                Some(v) => {
                    let v = v
                        .iter()
                        .map(|&x| whole(name, "padding", x, 0))
                        .collect::<Result<Vec<_>, _>>()?;
                    match v[..] {
                        [p] => [p; 4],
                        [lr, tb] => [lr, tb, lr, tb],
                        [l, t, r, b] => [l, t, r, b],
                        _ => {
                            return Err(bad("random_crop: padding takes 1, 2 or 4 numbers".into()))
                        }
                    }
                }
            };
            let pad_if_needed = match a.get(2, "pad_if_needed") {
                None | Some("false") | Some("False") => false,
                Some("true") | Some("True") => true,
                Some(v) => {
                    return Err(bad(format!(
                        "random_crop: pad_if_needed {v:?} is not true or false"
                    )))
                }
            };
            let fill = a.number(3, "fill", 0.0)? as f32;
            let mode = match a.get(4, "padding_mode") {
                None | Some("constant") => PadMode::Constant,
                Some("edge") => PadMode::Edge,
                Some("reflect") => PadMode::Reflect,
                Some("symmetric") => PadMode::Symmetric,
                Some(m) => {
                    return Err(bad(format!(
                    "random_crop: padding_mode {m:?} is not constant, edge, reflect or symmetric"
                )))
                }
            };
            a.done(5)?;
            Transform::RandomCrop {
                size,
                padding,
                pad_if_needed,
                fill,
                mode,
            }
        }
        "random_resized_crop" => {
            let size = a.size(0)?;
            let scale = range_pair(name, "scale", a.pair(1, "scale", [0.08, 1.0])?, true)?;
            if scale[1] > 1.0 {
                return Err(bad(format!("{name}: scale {scale:?} reaches past 1")));
            }
            let ratio = range_pair(
                name,
                "ratio",
                a.pair(2, "ratio", [3.0 / 4.0, 4.0 / 3.0])?,
                true,
            )?;
            a.done(3)?;
            Transform::RandomResizedCrop { size, scale, ratio }
        }
        "hflip" | "random_horizontal_flip" => {
            let p = a.probability(0, 0.5)?;
            a.done(1)?;
            Transform::HorizontalFlip { p }
        }
        "vflip" | "random_vertical_flip" => {
            let p = a.probability(0, 0.5)?;
            a.done(1)?;
            Transform::VerticalFlip { p }
        }
        "color_jitter" => {
            let mut amount = |i: usize, key: &str| -> Result<f32, Error> {
                let v = a.number(i, key, 0.0)?;
                if v < 0.0 {
                    return Err(bad(format!("color_jitter: {key} {v} is negative")));
                }
                Ok(v as f32)
            };
            let t = Transform::ColorJitter {
                brightness: amount(0, "brightness")?,
                contrast: amount(1, "contrast")?,
                saturation: amount(2, "saturation")?,
            };
            a.done(3)?;
            t
        }
        "random_erasing" => {
            let p = a.probability(0, 0.5)?;
            let scale = range_pair(name, "scale", a.pair(1, "scale", [0.02, 0.33])?, false)?;
            let ratio = range_pair(name, "ratio", a.pair(2, "ratio", [0.3, 3.3])?, true)?;
            let value = a.number(3, "value", 0.0)? as f32;
            a.done(4)?;
            Transform::RandomErasing {
                p,
                scale,
                ratio,
                value,
            }
        }
        "normalize" => {
            let mean = a.numbers(0, "mean")?;
            let std = a.numbers(1, "std")?;
            a.done(2)?;
            match (mean, std) {
                (None, None) => Transform::Normalize {
                    mean: vec![],
                    std: vec![],
                },
                (Some(m), Some(s)) => {
                    if s.iter().any(|&v| v <= 0.0) {
                        return Err(bad(format!("normalize: std {s:?} must be positive")));
                    }
                    Transform::Normalize {
                        mean: m.iter().map(|&v| v as f32).collect(),
                        std: s.iter().map(|&v| v as f32).collect(),
                    }
                }
                _ => {
                    return Err(bad(
                        "normalize: give both mean and std, or neither (then the training \
                         images' own)"
                            .into(),
                    ))
                }
            }
        }
        other => {
            return Err(bad(format!(
                "unknown transform {other:?}; known: resize, center_crop, random_crop, \
                 random_resized_crop, hflip, vflip, color_jitter, random_erasing, normalize"
            )))
        }
    };
    Ok(t)
}

fn list(v: &[f32]) -> String {
    if v.len() == 1 {
        format!("{}", v[0])
    } else {
        let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        format!("({})", parts.join(","))
    }
}

fn size(s: [usize; 2]) -> String {
    if s[0] == s[1] {
        s[0].to_string()
    } else {
        format!("({},{})", s[0], s[1])
    }
}

/// Prints in the syntax [`Pipeline::parse`] reads, every argument given,
/// so the printed value parses back to the same pipeline.
impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Resize { size } => {
                let parts: Vec<String> = size.iter().map(usize::to_string).collect();
                if parts.len() == 1 {
                    write!(f, "resize({})", parts[0])
                } else {
                    write!(f, "resize(({}))", parts.join(","))
                }
            }
            Transform::CenterCrop { size: s } => write!(f, "center_crop({})", size(*s)),
            Transform::RandomCrop {
                size: s,
                padding,
                pad_if_needed,
                fill,
                mode,
            } => {
                let p: Vec<String> = padding.iter().map(usize::to_string).collect();
                write!(
                    f,
                    "random_crop({},padding=({}),pad_if_needed={pad_if_needed},fill={fill},padding_mode={})",
                    size(*s),
                    p.join(","),
                    mode.name()
                )
            }
            Transform::RandomResizedCrop {
                size: s,
                scale,
                ratio,
            } => write!(
                f,
                "random_resized_crop({},scale={},ratio={})",
                size(*s),
                list(scale),
                list(ratio)
            ),
            Transform::HorizontalFlip { p } => write!(f, "hflip({p})"),
            Transform::VerticalFlip { p } => write!(f, "vflip({p})"),
            Transform::ColorJitter {
                brightness,
                contrast,
                saturation,
            } => write!(
                f,
                "color_jitter(brightness={brightness},contrast={contrast},saturation={saturation})"
            ),
            Transform::RandomErasing {
                p,
                scale,
                ratio,
                value,
            } => write!(
                f,
                "random_erasing({p},scale={},ratio={},value={value})",
                list(scale),
                list(ratio)
            ),
            Transform::Normalize { mean, std } if mean.is_empty() => {
                let _ = std;
                write!(f, "normalize")
            }
            Transform::Normalize { mean, std } => {
                write!(f, "normalize(mean={},std={})", list(mean), list(std))
            }
        }
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "none");
        }
        let parts: Vec<String> = self.0.iter().map(Transform::to_string).collect();
        write!(f, "{}", parts.join(","))
    }
}
