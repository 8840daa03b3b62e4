//! The transforms of `wgconv::data::transform`, each against a case
//! computed by hand (or, for the resize, against torch's own values in
//! tests/fixtures/torch_resize.json from scripts/make_transform_fixture.py),
//! the random ones reproducible from their seed; the pipeline's syntax
//! parses, prints back and refuses bad input with a message naming it.
//! Needs no adapter.

mod common;

use common::{floats, ints};
use wgconv::data::{Image, PadMode, Pipeline, Transform};
use wgconv::rng::Rng;
use wgconv::Error;

fn image(shape: [usize; 3], pixels: Vec<f32>) -> Image {
    assert_eq!(shape.iter().product::<usize>(), pixels.len());
    Image { shape, pixels }
}

fn ramp(shape: [usize; 3]) -> Image {
    let n = shape.iter().product::<usize>();
    image(shape, (0..n).map(|i| i as f32).collect())
}

fn apply(spec: &str, x: Image, seed: u64) -> Image {
    Pipeline::parse(spec)
        .unwrap()
        .apply(x, &mut Rng::new(seed))
        .unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} against {y}");
    }
}

#[test]
fn resize_matches_torch_antialiased_bilinear() {
    let fixture = common::fixture("torch_resize.json");
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let (shape, size) = (ints(&case["shape"]), ints(&case["size"]));
        let x = image([shape[0], shape[1], shape[2]], floats(&case["input"]));
        let y = apply(&format!("resize(({},{}))", size[0], size[1]), x, 0);
        assert_eq!(y.shape, [shape[0], size[0], size[1]]);
        close(&y.pixels, &floats(&case["output"]), 1e-5);
    }
}

#[test]
fn resize_by_hand_and_by_the_shorter_side() {
    // 4 → 2 along a row: the triangle filter widened to 2 pixels gives
    // weights 3/7, 3/7, 1/7 (0·3 + 1·3 + 2·1) / 7 = 5/7, and 16/7.
    let y = apply("resize((1,2))", ramp([1, 1, 4]), 0);
    close(&y.pixels, &[5.0 / 7.0, 16.0 / 7.0], 1e-6);
    // 2 → 4: plain bilinear, the edges clamped.
    let y = apply("resize((1,4))", ramp([1, 1, 2]), 0);
    close(&y.pixels, &[0.0, 0.25, 0.75, 1.0], 1e-6);
    // One number: the shorter side, the other truncated as torchvision.
    let y = apply("resize(4)", ramp([1, 6, 9]), 0);
    assert_eq!(y.shape, [1, 4, 6]);
    let y = apply("resize(5)", ramp([2, 7, 3]), 0);
    assert_eq!(y.shape, [2, 11, 5]);
    // The same size: the very values.
    let x = ramp([1, 3, 3]);
    assert_eq!(apply("resize(3)", x.clone(), 0), x);
}

#[test]
fn center_crop_rounds_half_to_even_and_pads_with_zeros() {
    // 4x4 → 3x3: offset round(0.5) = 0 (Python's round), the top left.
    let y = apply("center_crop(3)", ramp([1, 4, 4]), 0);
    assert_eq!(y.pixels, vec![0., 1., 2., 4., 5., 6., 8., 9., 10.]);
    // 6 → 3: offset round(1.5) = 2.
    let y = apply("center_crop((1,3))", ramp([1, 1, 6]), 0);
    assert_eq!(y.pixels, vec![2., 3., 4.]);
    // Larger than the image: zero padding around it.
    let y = apply("center_crop((1,4))", image([1, 1, 2], vec![7., 8.]), 0);
    assert_eq!(y.pixels, vec![0., 7., 8., 0.]);
}

#[test]
fn random_crop_pads_in_every_mode() {
    let row = image([1, 1, 3], vec![1., 2., 3.]);
    // A window as wide as the padded row has one place: the padding shows.
    for (mode, want) in [
        ("constant", vec![9., 9., 1., 2., 3., 9., 9.]),
        ("edge", vec![1., 1., 1., 2., 3., 3., 3.]),
        ("reflect", vec![3., 2., 1., 2., 3., 2., 1.]),
        ("symmetric", vec![2., 1., 1., 2., 3., 3., 2.]),
    ] {
        let spec = format!("random_crop((1,7),padding=(2,0),fill=9,padding_mode={mode})");
        assert_eq!(apply(&spec, row.clone(), 3).pixels, want, "{mode}");
    }
    // pad_if_needed grows a too small image to the window.
    let y = apply("random_crop((1,5),pad_if_needed=true)", row.clone(), 1);
    assert_eq!(y.pixels, vec![0., 1., 2., 3., 0.]);
    // Without it the window does not fit: an error naming it.
    let e = Pipeline::parse("random_crop(5)")
        .unwrap()
        .apply(row, &mut Rng::new(0));
    assert!(
        matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("does not fit")),
        "{e:?}"
    );
}

#[test]
fn random_crop_shifts_by_at_most_the_padding_and_is_seeded() {
    let x = ramp([1, 5, 5]);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let y = apply("random_crop(5,padding=2)", x.clone(), seed);
        assert_eq!(y, apply("random_crop(5,padding=2)", x.clone(), seed));
        // Find the shift from where pixel (2, 2) = 12 went.
        let at = y.pixels.iter().position(|&v| v == 12.0).unwrap();
        seen.insert((at / 5, at % 5));
    }
    // Every shift of -2..=2 each way, and no other.
    assert_eq!(seen.len(), 25);
    assert!(seen.iter().all(|&(r, c)| r <= 4 && c <= 4));
}

#[test]
fn flips_with_probability_one_and_zero() {
    let x = ramp([2, 2, 3]);
    let h = apply("hflip(1)", x.clone(), 0);
    assert_eq!(
        h.pixels,
        vec![2., 1., 0., 5., 4., 3., 8., 7., 6., 11., 10., 9.]
    );
    let v = apply("vflip(1)", x.clone(), 0);
    assert_eq!(
        v.pixels,
        vec![3., 4., 5., 0., 1., 2., 9., 10., 11., 6., 7., 8.]
    );
    assert_eq!(apply("hflip(0)", x.clone(), 0), x);
    // p = 0.5: both outcomes, about as often.
    let flipped = (0..1000)
        .filter(|&s| apply("hflip", x.clone(), s) != x)
        .count();
    assert!((400..600).contains(&flipped), "{flipped} of 1000");
}

#[test]
fn normalize_per_channel_and_for_all() {
    let x = image([2, 1, 2], vec![0.5, 1.0, 0.25, 0.75]);
    let y = apply("normalize(mean=(0.5,0.25),std=(0.5,0.25))", x.clone(), 0);
    assert_eq!(y.pixels, vec![0.0, 1.0, 0.0, 2.0]);
    let y = apply("normalize(0.5,0.5)", x.clone(), 0);
    assert_eq!(y.pixels, vec![0.0, 1.0, -0.5, 0.5]);
    let e = Pipeline::parse("normalize(mean=(0,0,0),std=(1,1,1))")
        .unwrap()
        .apply(x, &mut Rng::new(0));
    assert!(
        matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("3 mean values for images of 2 channels")),
        "{e:?}"
    );
}

#[test]
fn color_jitter_scales_brightness_and_blends_contrast() {
    let x = image([1, 1, 4], vec![0.1, 0.2, 0.3, 0.4]);
    for seed in 0..50 {
        // Brightness: every pixel times one factor in [0.5, 1.5].
        let y = apply("color_jitter(brightness=0.5)", x.clone(), seed);
        let f = y.pixels[0] / 0.1;
        assert!((0.5..=1.5).contains(&f), "factor {f}");
        close(
            &y.pixels,
            &x.pixels.iter().map(|v| v * f).collect::<Vec<_>>(),
            1e-6,
        );
        // Contrast: a blend with the mean (0.25), which stays.
        let y = apply("color_jitter(contrast=0.5)", x.clone(), seed);
        let f = (y.pixels[3] - 0.25) / 0.15;
        assert!((0.5 - 1e-5..=1.5 + 1e-5).contains(&f), "factor {f}");
        let want: Vec<f32> = x.pixels.iter().map(|v| f * v + (1.0 - f) * 0.25).collect();
        close(&y.pixels, &want, 1e-6);
    }
    // Clamped to [0, 1].
    let bright = image([1, 1, 2], vec![0.9, 1.0]);
    for seed in 0..20 {
        let y = apply("color_jitter(brightness=0.9)", bright.clone(), seed);
        assert!(y.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    // Saturation on RGB: a blend with the grey image; on grey, nothing.
    let grey = image([1, 1, 2], vec![0.3, 0.6]);
    assert_eq!(apply("color_jitter(saturation=0.9)", grey.clone(), 4), grey);
    let rgb = image([3, 1, 1], vec![1.0, 0.0, 0.0]);
    let g = 0.2989f32; // the grey of pure red
    let mut checked = 0;
    for seed in 0..40 {
        let y = apply("color_jitter(saturation=1)", rgb.clone(), seed);
        if y.pixels[1] <= 0.0 {
            continue; // f > 1: green clamped at 0, f not recoverable
        }
        // G = B = (1 − f)·g, R = f + (1 − f)·g.
        let f = 1.0 - y.pixels[1] / g;
        close(
            &y.pixels,
            &[f + (1.0 - f) * g, y.pixels[1], y.pixels[1]],
            1e-5,
        );
        checked += 1;
    }
    assert!(checked > 5, "{checked}");
}

#[test]
fn random_erasing_sets_one_rectangle() {
    let x = image([2, 10, 10], vec![1.0; 200]);
    let mut erased_any = false;
    for seed in 0..100 {
        let y = apply("random_erasing(1,scale=(0.1,0.2),value=0)", x.clone(), seed);
        let zeros: Vec<usize> = (0..100).filter(|&i| y.pixels[i] == 0.0).collect();
        if zeros.is_empty() {
            continue;
        }
        erased_any = true;
        // A rectangle: its bounding box is all zeros, in both channels.
        let (r0, r1) = (zeros[0] / 10, zeros[zeros.len() - 1] / 10);
        let c0 = zeros.iter().map(|i| i % 10).min().unwrap();
        let c1 = zeros.iter().map(|i| i % 10).max().unwrap();
        assert_eq!(zeros.len(), (r1 - r0 + 1) * (c1 - c0 + 1), "seed {seed}");
        assert!((5..=30).contains(&zeros.len()), "{} pixels", zeros.len());
        assert_eq!(&y.pixels[..100], &y.pixels[100..]);
    }
    assert!(erased_any);
    assert_eq!(apply("random_erasing(0)", x.clone(), 1), x);
}

#[test]
fn random_resized_crop_covers_its_scale_and_resizes() {
    let x = ramp([1, 8, 8]);
    // The whole image at scale 1 and ratio 1: the image itself.
    assert_eq!(
        apply(
            "random_resized_crop(8,scale=(1,1),ratio=(1,1))",
            x.clone(),
            3
        ),
        x
    );
    for seed in 0..30 {
        let y = apply("random_resized_crop((4,6))", x.clone(), seed);
        assert_eq!(y.shape, [1, 4, 6]);
        assert_eq!(y, apply("random_resized_crop((4,6))", x.clone(), seed));
        assert!(y.pixels.iter().all(|v| (0.0..=63.0).contains(v)));
    }
}

#[test]
fn pipelines_parse_print_back_and_have_an_eval_form() {
    let spec = "resize(32),random_crop(28,padding=2),hflip,color_jitter(0.4,0.4),\
                random_erasing(0.25),normalize(0.5,0.25)";
    let p = Pipeline::parse(spec).unwrap();
    assert_eq!(p.0.len(), 6);
    assert!(p.is_random());
    // Printed with every argument, and read back to the same value.
    let printed = p.to_string();
    assert_eq!(Pipeline::parse(&printed).unwrap(), p, "{printed}");
    // The test images: the random crop centred, flips, jitter, erasing gone.
    let eval = p.eval();
    assert!(!eval.is_random());
    assert_eq!(
        eval.to_string(),
        "resize(32),center_crop(28),normalize(mean=0.5,std=0.25)"
    );
    assert_eq!(eval.output_shape(Some([3, 40, 50])), Some([3, 28, 28]));
    assert_eq!(p.output_shape(None), None);
    // A resize of both sides fixes the shape of images of any size.
    let fixed = Pipeline::parse("resize((20,24))").unwrap();
    assert_eq!(fixed.output_shape(None), None);
    assert_eq!(fixed.output_shape(Some([1, 5, 5])), Some([1, 20, 24]));
    let rrc = Pipeline::parse("random_resized_crop(24)").unwrap();
    assert_eq!(
        rrc.eval().0,
        vec![
            Transform::Resize { size: vec![24] },
            Transform::CenterCrop { size: [24, 24] }
        ]
    );
    assert_eq!(Pipeline::augment(28, 28).to_string(), "random_crop(28,padding=(2,2,2,2),pad_if_needed=false,fill=0,padding_mode=constant),hflip(0.5)");
    assert!(matches!(
        Pipeline::augment(8, 8).0[0],
        Transform::RandomCrop {
            mode: PadMode::Constant,
            ..
        }
    ));
    assert!(Pipeline::parse("none").unwrap().is_empty());
    assert!(Pipeline::parse("").unwrap().is_empty());
}

#[test]
fn normalize_without_values_takes_the_statistics_given() {
    let p = Pipeline::parse("hflip,normalize").unwrap();
    assert!(p.needs_statistics());
    assert_eq!(p.before_statistics().to_string(), "none");
    let r = p.resolve(&[0.25], &[0.5]);
    assert!(!r.needs_statistics());
    assert_eq!(r.to_string(), "hflip(0.5),normalize(mean=0.25,std=0.5)");
}

#[test]
fn bad_specs_are_refused_naming_the_problem() {
    for (spec, wanted) in [
        ("rotate(10)", "unknown transform \"rotate\""),
        ("resize", "needs a size"),
        ("resize(0)", "whole number"),
        ("resize(2.5)", "whole number"),
        ("center_crop((1,2,3))", "1 or 2 numbers"),
        ("random_crop(28,padding=(1,2,3))", "1, 2 or 4"),
        ("random_crop(28,padding_mode=wrap)", "\"wrap\""),
        ("random_crop(28,pad_if_needed=maybe)", "pad_if_needed"),
        ("hflip(1.5)", "not in [0, 1]"),
        ("hflip(p=x)", "not a number"),
        ("color_jitter(brightness=-1)", "negative"),
        ("normalize(0.5)", "both mean and std"),
        ("normalize(0.5,0)", "positive"),
        ("random_resized_crop(8,scale=(0.5,0.1))", "ascending"),
        ("random_resized_crop(8,scale=(0.5,2))", "past 1"),
        ("resize(8,colour=1)", "no argument called \"colour\""),
        ("hflip(0.5,0.5)", "at most 1"),
        ("resize(8", "unbalanced"),
        ("resize(8))", "unbalanced"),
        ("hflip(p=0.5,0.5)", "after a named one"),
    ] {
        match Pipeline::parse(spec) {
            Err(Error::InvalidParam { message, .. }) => {
                assert!(
                    message.contains(wanted),
                    "{spec}: {message:?} does not say {wanted:?}"
                )
            }
            other => panic!("{spec}: {other:?}"),
        }
    }
}
