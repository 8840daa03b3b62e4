//! The training ops (activations, add, losses, max pooling, linear, Adam):
//! GPU against the CPU reference on every adapter over seeded random
//! shapes, and the CPU reference's backward passes against central finite
//! differences in f64.
mod common;
use common::{assert_close, gpus, label, Rng};
use wgconv::{cpu, Adam, Conv2dParams, ConvOp, Gpu, Policy, Pool2dGeometry, Pool2dParams};

fn random_shape(rng: &mut Rng) -> Vec<usize> {
    let rank = rng.range(1, 4);
    (0..rank).map(|_| rng.range(1, 9)).collect()
}

fn scaled(rng: &mut Rng, len: usize, scale: f32) -> Vec<f32> {
    rng.floats(len).into_iter().map(|v| v * scale).collect()
}

/// `mul`, `mul_broadcast` (a gate per leading index, and a scalar) and
/// `mul_broadcast_grad` against the reference, over runs of 1, 3, 4
/// (the vec4 path), 7 and 16 elements per scale and shapes whose lengths
/// are not multiples of the workgroup; a scale that does not broadcast is
/// refused on every backend.
#[test]
fn products_match_reference() {
    let shapes: [(&[usize], &[usize]); 7] = [
        (&[3, 5, 1, 1], &[3, 5, 1, 1]),
        (&[2, 3, 1, 3], &[2, 3, 1, 1]),
        (&[4, 6, 2, 2], &[4, 6, 1, 1]),
        (&[2, 5, 7], &[2, 5, 1]),
        (&[3, 2, 4, 4], &[3, 2, 1, 1]),
        (&[67, 3], &[1]),
        (&[2, 9, 8, 8], &[2, 9, 1, 1]),
    ];
    for gpu in gpus() {
        let mut rng = Rng::new(17);
        for (x_shape, s_shape) in shapes {
            let len: usize = x_shape.iter().product();
            let s_len: usize = s_shape.iter().product();
            let (x, y, s) = (rng.floats(len), rng.floats(len), rng.floats(s_len));
            let ctx = |op: &str| format!("{op} {x_shape:?} x {s_shape:?} on {}", label(gpu));
            let (xt, yt) = (
                gpu.tensor(x_shape, &x).unwrap(),
                gpu.tensor(x_shape, &y).unwrap(),
            );
            let st = gpu.tensor(s_shape, &s).unwrap();
            let got = gpu.mul(&xt, &yt).unwrap().to_vec().unwrap();
            assert_close(&ctx("mul"), x_shape, &got, &cpu::mul(&x, &y).unwrap(), true);
            let got = gpu.mul_broadcast(&xt, &st).unwrap().to_vec().unwrap();
            let want = cpu::mul_broadcast(&x, &s, len / s_len).unwrap();
            assert_close(&ctx("mul_broadcast"), x_shape, &got, &want, true);
            let got = gpu.mul_broadcast_grad(&xt, &yt, s_shape).unwrap();
            assert_eq!(got.shape(), s_shape);
            let want = cpu::mul_broadcast_grad(&x, &y, len / s_len).unwrap();
            assert_close(
                &ctx("mul_broadcast_grad"),
                s_shape,
                &got.to_vec().unwrap(),
                &want,
                false,
            );
        }
        let x = gpu.tensor(&[2, 3, 4, 4], &[1.0; 96]).unwrap();
        for bad in [&[2, 3, 2, 1][..], &[3, 1, 1, 1], &[2, 3]] {
            let s = gpu.zeros(bad).unwrap();
            let e = gpu.mul_broadcast(&x, &s).unwrap_err().to_string();
            assert!(e.contains("does not broadcast"), "{bad:?}: {e}");
        }
    }
    let c = wgconv::nn::Cpu::<f32>::new();
    let x = wgconv::nn::CpuTensor::new(&[2, 3, 4, 4], vec![1.0; 96]).unwrap();
    let s = wgconv::nn::CpuTensor::new(&[3, 1, 1, 1], vec![1.0; 3]).unwrap();
    let e = c.mul_broadcast(&x, &s).unwrap_err().to_string();
    assert!(e.contains("does not broadcast"), "{e}");
}

#[test]
fn activations_match_reference() {
    for gpu in gpus() {
        let mut rng = Rng::new(11);
        for case in 0..20 {
            let shape = random_shape(&mut rng);
            let len = shape.iter().product();
            let x = scaled(&mut rng, len, 6.0);
            let dy = rng.floats(len);
            let ctx = |op: &str| format!("{op} case {case} {shape:?} on {}", label(gpu));
            let xt = gpu.tensor(&shape, &x).unwrap();
            let dyt = gpu.tensor(&shape, &dy).unwrap();

            let y = gpu.relu(&xt).unwrap();
            assert_close(
                &ctx("relu"),
                &shape,
                &y.to_vec().unwrap(),
                &cpu::relu(&x),
                true,
            );
            let dx = gpu.relu_backward(&xt, &dyt).unwrap();
            let want = cpu::relu_backward(&x, &dy).unwrap();
            assert_close(
                &ctx("relu_backward"),
                &shape,
                &dx.to_vec().unwrap(),
                &want,
                true,
            );

            let s = gpu.sigmoid(&xt).unwrap();
            let s_ref = cpu::sigmoid(&x);
            assert_close(&ctx("sigmoid"), &shape, &s.to_vec().unwrap(), &s_ref, false);
            // The backward pass from the reference's own output, so only
            // the backward kernel is under test.
            let st = gpu.tensor(&shape, &s_ref).unwrap();
            let ds = gpu.sigmoid_backward(&st, &dyt).unwrap();
            let want = cpu::sigmoid_backward(&s_ref, &dy).unwrap();
            assert_close(
                &ctx("sigmoid_backward"),
                &shape,
                &ds.to_vec().unwrap(),
                &want,
                false,
            );

            let mut acc = gpu.tensor(&shape, &x).unwrap();
            gpu.add_assign(&mut acc, &dyt).unwrap();
            let mut want = x.clone();
            cpu::add_assign(&mut want, &dy).unwrap();
            assert_close(
                &ctx("add_assign"),
                &shape,
                &acc.to_vec().unwrap(),
                &want,
                false,
            );
        }
    }
}

#[test]
fn losses_match_reference() {
    for gpu in gpus() {
        let mut rng = Rng::new(12);
        for case in 0..20 {
            // Up to 600 rows: more than one row per invocation of the
            // 256-wide reduction.
            let rows = if case % 5 == 4 {
                rng.range(257, 600)
            } else {
                rng.range(1, 40)
            };
            let classes = rng.range(1, 17);
            let shape = [rows, classes];
            let len = rows * classes;
            let z = scaled(&mut rng, len, 8.0);
            // Half the cases one-hot targets, half soft probabilities.
            let t: Vec<f32> = if case % 2 == 0 {
                let labels: Vec<usize> = (0..rows).map(|_| rng.range(0, classes - 1)).collect();
                wgconv::nn::one_hot(&labels, classes).unwrap()
            } else {
                let raw: Vec<f32> = (0..len).map(|_| rng.unit() + 1.0).collect();
                raw.chunks(classes)
                    .flat_map(|r| {
                        let s: f32 = r.iter().sum();
                        r.iter().map(move |v| v / s)
                    })
                    .collect()
            };
            let ctx = |op: &str| format!("{op} case {case} {shape:?} on {}", label(gpu));
            let zt = gpu.tensor(&shape, &z).unwrap();
            let tt = gpu.tensor(&shape, &t).unwrap();

            let loss = gpu.softmax_cross_entropy(&zt, &tt).unwrap();
            let want = cpu::softmax_cross_entropy(&z, &t, shape).unwrap();
            assert_close(
                &ctx("softmax_cross_entropy"),
                &[1],
                &loss.to_vec().unwrap(),
                &[want],
                false,
            );
            let dz = gpu.softmax_cross_entropy_backward(&zt, &tt).unwrap();
            let want = cpu::softmax_cross_entropy_backward(&z, &t, shape).unwrap();
            assert_close(
                &ctx("softmax_cross_entropy_backward"),
                &shape,
                &dz.to_vec().unwrap(),
                &want,
                false,
            );

            let loss = gpu.mse_loss(&zt, &tt).unwrap();
            let want = cpu::mse_loss(&z, &t).unwrap();
            assert_close(
                &ctx("mse_loss"),
                &[1],
                &loss.to_vec().unwrap(),
                &[want],
                false,
            );
            let dy = gpu.mse_loss_backward(&zt, &tt).unwrap();
            let want = cpu::mse_loss_backward(&z, &t).unwrap();
            assert_close(
                &ctx("mse_loss_backward"),
                &shape,
                &dy.to_vec().unwrap(),
                &want,
                false,
            );
        }
    }
}

#[test]
fn softmax_cross_entropy_stays_finite_for_huge_logits() {
    // Row 0: the target class has the largest logit, so the loss is
    // log(1 + e^-1e4 + e^-2e4) = 0 in f32. Row 1: the target has logit
    // -1e4, so its loss is lse - z = 1e4 - (-1e4) = 2e4.
    let z = [1e4, 0.0, -1e4, 1e4, 0.0, -1e4];
    let t = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    let want_loss = (0.0 + 2e4) / 2.0;
    let want_grad = [0.0, 0.0, 0.0, 0.5, 0.0, -0.5];
    let cpu_loss = cpu::softmax_cross_entropy(&z, &t, [2, 3]).unwrap();
    assert_eq!(cpu_loss, want_loss);
    for gpu in gpus() {
        let zt = gpu.tensor(&[2, 3], &z).unwrap();
        let tt = gpu.tensor(&[2, 3], &t).unwrap();
        let loss = gpu
            .softmax_cross_entropy(&zt, &tt)
            .unwrap()
            .to_vec()
            .unwrap();
        assert!(loss[0].is_finite(), "loss {loss:?} on {}", label(gpu));
        assert!(
            (loss[0] - want_loss).abs() <= 1e-5 * want_loss,
            "loss {loss:?} on {}",
            label(gpu)
        );
        let dz = gpu
            .softmax_cross_entropy_backward(&zt, &tt)
            .unwrap()
            .to_vec()
            .unwrap();
        for (g, w) in dz.iter().zip(want_grad) {
            assert!(
                g.is_finite() && (g - w).abs() <= 1e-6,
                "grad {dz:?} on {}",
                label(gpu)
            );
        }
    }
}

/// Logits near ±1e4 whose softmax is not 0 or 1: the loss and every
/// gradient element within 1e-6 of the f64 reference, relative to the
/// row's largest value. Taking exp(z − lse) with lse = m + log(s) rounded
/// to f32 near 1e4 (half an ulp there is 5e-4) was off by about 3e-5
/// relative in the gradient and 1e-4 in the loss; PyTorch's f32 path is
/// within 1e-7. The inputs are exact in f32 (1e4 plus multiples of 1/8).
#[test]
fn softmax_cross_entropy_is_accurate_at_large_logits() {
    let z = [
        1e4 + 0.25,
        1e4 - 0.5,
        1e4 + 1.0,
        -1e4,
        -1e4 + 0.75,
        -1e4,
        -1e4 - 1.5,
        -1e4 + 0.125,
        3e4 + 2.0,
        3e4 - 1.0,
        3e4 + 0.5,
        3e4 + 2.125,
    ];
    let t = [
        0.0, 1.0, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25, 0.0, 0.0, 0.5, 0.5,
    ];
    let shape = [3, 4];
    let want_loss =
        cpu::softmax_cross_entropy(&z.map(f64::from), &t.map(f64::from), shape).unwrap();
    let want =
        cpu::softmax_cross_entropy_backward(&z.map(f64::from), &t.map(f64::from), shape).unwrap();
    for gpu in gpus() {
        let zt = gpu.tensor(&shape, &z).unwrap();
        let tt = gpu.tensor(&shape, &t).unwrap();
        let loss = gpu
            .softmax_cross_entropy(&zt, &tt)
            .unwrap()
            .to_vec()
            .unwrap()[0] as f64;
        assert!(
            (loss - want_loss).abs() <= 1e-6 * want_loss.abs(),
            "loss {loss} against {want_loss} on {}",
            label(gpu)
        );
        let dz = gpu
            .softmax_cross_entropy_backward(&zt, &tt)
            .unwrap()
            .to_vec()
            .unwrap();
        for row in 0..3 {
            let w = &want[row * 4..row * 4 + 4];
            let scale = w.iter().fold(0f64, |m, v| m.max(v.abs()));
            for j in 0..4 {
                let g = dz[row * 4 + j] as f64;
                assert!(
                    (g - w[j]).abs() <= 1e-6 * scale,
                    "dz[{row}][{j}] = {g} against {} (row scale {scale}) on {}",
                    w[j],
                    label(gpu)
                );
            }
        }
    }
}

#[test]
fn pooling_matches_reference_with_ties_overlap_padding_and_ceil_mode() {
    for gpu in gpus() {
        let mut rng = Rng::new(13);
        for case in 0..40 {
            // Rng::range is inclusive: kernels 1-3, strides 1-3, padding
            // up to half the kernel.
            let k = [rng.range(1, 3) as u32, rng.range(1, 3) as u32];
            let p = Pool2dParams {
                kernel: k,
                stride: [rng.range(1, 3) as u32, rng.range(1, 3) as u32],
                padding: [
                    rng.range(0, k[0] as usize / 2) as u32,
                    rng.range(0, k[1] as usize / 2) as u32,
                ],
                // Every other case in ceil mode, a third of the averages
                // without the padding in the divisor.
                ceil_mode: case % 2 == 1,
                count_include_pad: case % 3 != 0,
            };
            let shape = [
                rng.range(1, 3),
                rng.range(1, 4),
                rng.range(k[0] as usize, 12),
                rng.range(k[1] as usize, 12),
            ];
            let len = shape.iter().product();
            // Integers in -3..=3: many ties, so the first-maximum rule is
            // exercised; every max-pooling result is exact.
            let x = rng.ints(len);
            let ys = Pool2dGeometry::new("test", &shape, &p).unwrap().y_shape();
            let dy = rng.ints(ys.iter().product());
            let ctx = |op: &str| format!("{op} case {case} {shape:?} {p:?} on {}", label(gpu));
            let xt = gpu.tensor(&shape, &x).unwrap();
            let dyt = gpu.tensor(&ys, &dy).unwrap();
            let y = gpu.max_pool2d(&xt, &p).unwrap();
            assert_eq!(y.shape(), &ys);
            let want = cpu::max_pool2d(&x, shape, &p).unwrap();
            assert_close(&ctx("max_pool2d"), &ys, &y.to_vec().unwrap(), &want, true);
            let dx = gpu.max_pool2d_backward(&xt, &dyt, &p).unwrap();
            let want = cpu::max_pool2d_backward(&x, shape, &dy, &p).unwrap();
            let got = dx.to_vec().unwrap();
            assert_close(&ctx("max_pool2d_backward"), &shape, &got, &want, true);
            let y = gpu.avg_pool2d(&xt, &p).unwrap();
            let want = cpu::avg_pool2d(&x, shape, &p).unwrap();
            assert_close(&ctx("avg_pool2d"), &ys, &y.to_vec().unwrap(), &want, false);
            let dx = gpu.avg_pool2d_backward(&dyt, shape, &p).unwrap();
            let want = cpu::avg_pool2d_backward(&dy, shape, &p).unwrap();
            let got = dx.to_vec().unwrap();
            assert_close(&ctx("avg_pool2d_backward"), &shape, &got, &want, false);
        }
        // Global average pooling: the mean of each plane.
        let shape = [2, 3, 7, 5];
        let x = rng.floats(shape.iter().product());
        let xt = gpu.tensor(&shape, &x).unwrap();
        let y = gpu.global_avg_pool2d(&xt).unwrap();
        assert_eq!(y.shape(), &[2, 3, 1, 1]);
        let mean0 = x[..35].iter().map(|&v| v as f64).sum::<f64>() / 35.0;
        let want = cpu::global_avg_pool2d(&x, shape).unwrap();
        assert!(
            (want[0] as f64 - mean0).abs() < 1e-6,
            "{} vs {mean0}",
            want[0]
        );
        assert_close(
            &format!("global_avg_pool2d on {}", label(gpu)),
            &[2, 3, 1, 1],
            &y.to_vec().unwrap(),
            &want,
            false,
        );
        let dy = rng.floats(6);
        let dx = gpu
            .global_avg_pool2d_backward(&gpu.tensor(&[2, 3, 1, 1], &dy).unwrap(), shape)
            .unwrap();
        let want = cpu::global_avg_pool2d_backward(&dy, shape).unwrap();
        assert_eq!(want[34], dy[0] / 35.0);
        assert_close(
            &format!("global_avg_pool2d_backward on {}", label(gpu)),
            &shape,
            &dx.to_vec().unwrap(),
            &want,
            false,
        );
    }
}

/// torch's example shape: 3x3 windows at stride 2 with padding 1 over a
/// 5x5 input give 3x3; the corner window covers 2x2 inputs, its average
/// divides by 9 (count_include_pad) and its maximum ignores the padding
/// even when every input is negative.
#[test]
fn overlapping_padded_pooling_follows_torch() {
    let x: Vec<f32> = (0..25).map(|i| -(i as f32) - 1.0).collect();
    let p = Pool2dParams::square(3, 2, 1);
    let y = cpu::max_pool2d(&x, [1, 1, 5, 5], &p).unwrap();
    assert_eq!(y.len(), 9);
    assert_eq!(y[0], -1.0, "corner window max is x[0,0], not the padding");
    let a = cpu::avg_pool2d(&x, [1, 1, 5, 5], &p).unwrap();
    assert_eq!(a[0], (-1.0 - 2.0 - 6.0 - 7.0) / 9.0);
    // Every input under two overlapping windows receives both gradients.
    let dx = cpu::avg_pool2d_backward(&[9.0f32; 9], [1, 1, 5, 5], &p).unwrap();
    assert_eq!(
        dx[1], 2.0,
        "(0, 1) is under the windows of output columns 0 and 1"
    );
    assert_eq!(dx[6], 4.0, "(1, 1) is under four windows");
    assert_eq!(dx[12], 1.0, "(2, 2) is under the centre window alone");
    for gpu in gpus() {
        let xt = gpu.tensor(&[1, 1, 5, 5], &x).unwrap();
        assert_eq!(
            gpu.max_pool2d(&xt, &p).unwrap().to_vec().unwrap(),
            y,
            "on {}",
            label(gpu)
        );
    }
}

#[test]
fn max_pool_backward_picks_the_first_maximum() {
    // One 2x2 window holding 5, 5 / 1, 5: the gradient goes to the first 5.
    let x = [5.0, 5.0, 1.0, 5.0];
    let window = Pool2dParams::window(2);
    let dx = cpu::max_pool2d_backward(&x, [1, 1, 2, 2], &[7.0], &window).unwrap();
    assert_eq!(dx, vec![7.0, 0.0, 0.0, 0.0]);
    for gpu in gpus() {
        let xt = gpu.tensor(&[1, 1, 2, 2], &x).unwrap();
        let dyt = gpu.tensor(&[1, 1, 1, 1], &[7.0]).unwrap();
        let dx = gpu
            .max_pool2d_backward(&xt, &dyt, &window)
            .unwrap()
            .to_vec()
            .unwrap();
        assert_eq!(dx, vec![7.0, 0.0, 0.0, 0.0], "on {}", label(gpu));
    }
}

/// Linear layers run the convolution GEMM kernels: every forced variant,
/// with shapes on both sides of the tile sizes.
#[test]
fn linear_matches_reference_in_every_variant() {
    for base in gpus() {
        for variant in Policy::ALL {
            let gpu = base.with_policy(variant);
            let mut rng = Rng::new(14);
            for case in 0..12 {
                let n = rng.range(1, 80);
                let fan_in = rng.range(1, 90);
                let fan_out = rng.range(1, 80);
                let ints = case % 3 == 0;
                let mut gen = |len| if ints { rng.ints(len) } else { rng.floats(len) };
                let x = gen(n * fan_in);
                let w = gen(fan_out * fan_in);
                let b = gen(fan_out);
                let dy = gen(n * fan_out);
                let ctx = |op: &str| {
                    format!(
                        "{op} case {case} n {n} in {fan_in} out {fan_out} on {}",
                        label(&gpu)
                    )
                };
                let xt = gpu.tensor(&[n, fan_in], &x).unwrap();
                let wt = gpu.tensor(&[fan_out, fan_in], &w).unwrap();
                let bt = gpu.tensor(&[fan_out], &b).unwrap();
                let dyt = gpu.tensor(&[n, fan_out], &dy).unwrap();

                let y = gpu.linear(&xt, &wt, Some(&bt)).unwrap();
                assert_eq!(y.shape(), &[n, fan_out]);
                let want = cpu::linear(&x, [n, fan_in], &w, [fan_out, fan_in], Some(&b)).unwrap();
                assert_close(
                    &ctx("linear"),
                    &[n, fan_out],
                    &y.to_vec().unwrap(),
                    &want,
                    ints,
                );
                let dx = gpu.linear_input_grad(&dyt, &wt).unwrap();
                let want = cpu::linear_input_grad(&dy, &w, [fan_out, fan_in]).unwrap();
                assert_close(
                    &ctx("linear_input_grad"),
                    &[n, fan_in],
                    &dx.to_vec().unwrap(),
                    &want,
                    ints,
                );
                let dw = gpu.linear_weight_grad(&xt, &dyt).unwrap();
                let want = cpu::linear_weight_grad(&x, [n, fan_in], &dy, fan_out).unwrap();
                assert_close(
                    &ctx("linear_weight_grad"),
                    &[fan_out, fan_in],
                    &dw.to_vec().unwrap(),
                    &want,
                    ints,
                );
                let db = gpu.linear_bias_grad(&dyt).unwrap();
                let want = cpu::linear_bias_grad(&dy, [n, fan_out]).unwrap();
                assert_close(
                    &ctx("linear_bias_grad"),
                    &[fan_out],
                    &db.to_vec().unwrap(),
                    &want,
                    ints,
                );
            }
        }
    }
}

/// A linear layer's forward GEMM with few output tiles and a long
/// reduction (like the Fashion model's 3136 -> 128 at batch 128) cuts the
/// reduction into ranges added in order with the bias (`reduce_splits`):
/// Auto plans a split for each case, and every policy matches the
/// reference, exactly on integers.
#[test]
fn linear_forward_with_a_split_reduction_matches_reference() {
    let cases = [
        (128, 3136, 128),
        (16, 1200, 24),
        (5, 1100, 9),
        (33, 1500, 17),
    ];
    for base in gpus() {
        for &(n, fan_in, fan_out) in &cases {
            let plan = base
                .explain(
                    ConvOp::Forward,
                    [n, fan_in, 1, 1],
                    [fan_out, fan_in, 1, 1],
                    &Conv2dParams::default(),
                )
                .unwrap();
            let what = format!("{n}x{fan_in}->{fan_out} on {}", label(base));
            assert!(plan.splits > 1, "{what}: {plan:?}");
        }
        for variant in Policy::ALL {
            let gpu = base.with_policy(variant);
            let mut rng = Rng::new(15);
            // The Fashion-sized case is planned above, run here by Auto only.
            let run = if variant == Policy::Auto {
                &cases[..]
            } else {
                &cases[1..]
            };
            for (case, &(n, fan_in, fan_out)) in run.iter().enumerate() {
                let ints = case != 2;
                let mut gen = |len| if ints { rng.ints(len) } else { rng.floats(len) };
                let (x, w, b) = (gen(n * fan_in), gen(fan_out * fan_in), gen(fan_out));
                let y = gpu
                    .linear(
                        &gpu.tensor(&[n, fan_in], &x).unwrap(),
                        &gpu.tensor(&[fan_out, fan_in], &w).unwrap(),
                        Some(&gpu.tensor(&[fan_out], &b).unwrap()),
                    )
                    .unwrap();
                let want = cpu::linear(&x, [n, fan_in], &w, [fan_out, fan_in], Some(&b)).unwrap();
                let ctx = format!("linear {n}x{fan_in}->{fan_out} on {}", label(&gpu));
                assert_close(&ctx, &[n, fan_out], &y.to_vec().unwrap(), &want, ints);
            }
        }
    }
}

fn adam_run(gpu: &Gpu, cfg: &Adam, p0: &[f32], grads: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let shape = [p0.len()];
    let mut p = gpu.tensor(&shape, p0).unwrap();
    let mut state = wgconv::AdamState::default();
    let mut p_ref = p0.to_vec();
    let mut state_ref = cpu::CpuAdamState::default();
    for g in grads {
        let gt = gpu.tensor(&shape, g).unwrap();
        gpu.adam_step(&mut p, &gt, &mut state, cfg).unwrap();
        cpu::adam_step(&mut p_ref, g, &mut state_ref, cfg).unwrap();
    }
    assert_eq!(state.step(), grads.len() as u64);
    (p.to_vec().unwrap(), p_ref)
}

/// AdamW's first step, written out: the parameter shrinks by lr·wd before
/// the Adam step, whose first move is lr·g/(|g| + eps) (m = (1−β1)g,
/// v = (1−β2)g², both bias-corrected back to g and g²); Adam's L2 decay
/// instead adds wd·p to the gradient, which moves differently.
#[test]
fn adamw_decays_the_weight_before_the_adam_step() {
    let cfg = Adam {
        lr: 0.1,
        weight_decay: 0.5,
        eps: 1e-8,
        ..Adam::adamw()
    };
    let (p0, g) = ([2.0f64, -1.0, 0.5], [0.3f64, -0.2, 0.0]);
    let mut p = p0;
    cpu::adam_step(&mut p, &g, &mut cpu::CpuAdamState::default(), &cfg).unwrap();
    for i in 0..3 {
        // In f64 of the f32 hyper-parameters the step uses.
        let (lr, eps) = (0.1f32 as f64, 1e-8f32 as f64);
        let want = p0[i] * (1.0 - lr * 0.5) - lr * g[i] / (g[i].abs() + eps);
        assert!(
            (p[i] - want).abs() < 1e-12,
            "p[{i}] = {} against {want}",
            p[i]
        );
    }
    let l2 = Adam {
        decoupled_weight_decay: false,
        ..cfg
    };
    let mut q = p0;
    cpu::adam_step(&mut q, &g, &mut cpu::CpuAdamState::default(), &l2).unwrap();
    assert!(
        (q[2] - p[2]).abs() > 0.05,
        "L2 and decoupled decay should differ: {q:?} {p:?}"
    );
    for gpu in gpus() {
        let p0f = p0.map(|v| v as f32);
        let grads = vec![g.map(|v| v as f32).to_vec()];
        let (got, want) = adam_run(gpu, &cfg, &p0f, &grads);
        assert_close(
            &format!("adamw on {}", label(gpu)),
            &[3],
            &got,
            &want,
            false,
        );
    }
}

#[test]
fn adam_matches_reference() {
    let configs = [
        Adam::default(),
        Adam {
            lr: 0.01,
            betas: (0.8, 0.99),
            eps: 1e-6,
            weight_decay: 0.1,
            decoupled_weight_decay: false,
        },
        // AdamW.
        Adam {
            lr: 0.01,
            betas: (0.8, 0.99),
            eps: 1e-6,
            weight_decay: 0.1,
            decoupled_weight_decay: true,
        },
    ];
    for gpu in gpus() {
        let mut rng = Rng::new(15);
        for (i, cfg) in configs.iter().enumerate() {
            // Lengths of whole vec4s and not (the kernel's two widths).
            for len in [1, 2048, 2999] {
                let p0 = rng.floats(len);
                let grads: Vec<Vec<f32>> = (0..6).map(|_| rng.floats(len)).collect();
                let (got, want) = adam_run(gpu, cfg, &p0, &grads);
                assert_close(
                    &format!("adam config {i} len {len} on {}", label(gpu)),
                    &[len],
                    &got,
                    &want,
                    false,
                );
            }
        }
    }
}

#[test]
fn adam_first_step_moves_each_weight_by_lr() {
    // After one step m̂ = g and sqrt(v̂) = |g|, so torch's Adam moves every
    // weight by lr · g / (|g| + eps): lr against the gradient's sign.
    let cfg = Adam::default();
    let p0: [f32; 4] = [1.0, -2.0, 0.5, 3.0];
    let g: Vec<f32> = vec![0.3, -4.0, 1e-3, -0.02];
    let want: Vec<f32> = p0
        .iter()
        .zip(&g)
        .map(|(p, g)| p - cfg.lr * g.signum())
        .collect();
    let mut p_ref = p0.to_vec();
    cpu::adam_step(&mut p_ref, &g, &mut cpu::CpuAdamState::default(), &cfg).unwrap();
    assert_close("cpu adam first step", &[4], &p_ref, &want, false);
    for gpu in gpus() {
        let (got, _) = adam_run(gpu, &cfg, &p0, std::slice::from_ref(&g));
        assert_close(
            &format!("adam first step on {}", label(gpu)),
            &[4],
            &got,
            &want,
            false,
        );
    }
}

// ---- The CPU reference against finite differences (f64) ----

const H: f64 = 1e-6;

fn f64s(rng: &mut Rng, len: usize, scale: f64) -> Vec<f64> {
    (0..len).map(|_| rng.unit() as f64 * scale).collect()
}

/// `analytic[i]` against the central difference of `loss` in element `i`.
fn assert_fd(what: &str, v: &[f64], analytic: &[f64], loss: impl Fn(&[f64]) -> f64) {
    assert_eq!(v.len(), analytic.len(), "{what}: gradient length");
    for i in 0..v.len() {
        let mut plus = v.to_vec();
        plus[i] += H;
        let mut minus = v.to_vec();
        minus[i] -= H;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * H);
        assert!(
            (analytic[i] - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
            "{what}[{i}]: reference {} vs finite difference {numeric}",
            analytic[i]
        );
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn reference_backward_passes_match_finite_differences() {
    let mut rng = Rng::new(16);
    for case in 0..6 {
        let len = rng.range(1, 40);
        // Keep x away from ReLU's kink at 0 by more than H.
        let x: Vec<f64> = f64s(&mut rng, len, 3.0)
            .into_iter()
            .map(|v| if v.abs() < 1e-3 { 0.5 } else { v })
            .collect();
        let dy = f64s(&mut rng, len, 1.0);
        let what = |op: &str| format!("case {case} {op}");
        assert_fd(
            &what("relu"),
            &x,
            &cpu::relu_backward(&x, &dy).unwrap(),
            |v| dot(&cpu::relu(v), &dy),
        );
        let y = cpu::sigmoid(&x);
        assert_fd(
            &what("sigmoid"),
            &x,
            &cpu::sigmoid_backward(&y, &dy).unwrap(),
            |v| dot(&cpu::sigmoid(v), &dy),
        );
        let t = f64s(&mut rng, len, 1.0);
        assert_fd(
            &what("mse"),
            &x,
            &cpu::mse_loss_backward(&x, &t).unwrap(),
            |v| cpu::mse_loss(v, &t).unwrap(),
        );

        let (rows, classes) = (rng.range(1, 5), rng.range(2, 6));
        let z = f64s(&mut rng, rows * classes, 4.0);
        let raw = f64s(&mut rng, rows * classes, 1.0);
        let t: Vec<f64> = raw.iter().map(|v| v.abs()).collect();
        let shape = [rows, classes];
        let dz = cpu::softmax_cross_entropy_backward(&z, &t, shape).unwrap();
        assert_fd(&what("softmax_cross_entropy"), &z, &dz, |v| {
            cpu::softmax_cross_entropy(v, &t, shape).unwrap()
        });

        // Distinct random values: no ties, so the max is differentiable.
        let xs = [
            rng.range(1, 2),
            rng.range(1, 3),
            rng.range(2, 7),
            rng.range(2, 7),
        ];
        // Overlapping windows: 2x2 at stride 1, padding 0 or 1.
        let pool = Pool2dParams::square(2, 1, rng.range(0, 1) as u32);
        let xp = f64s(&mut rng, xs.iter().product(), 1.0);
        let ys = Pool2dGeometry::new("fd", &xs, &pool).unwrap().y_shape();
        let dyp = f64s(&mut rng, ys.iter().product(), 1.0);
        let dx = cpu::max_pool2d_backward(&xp, xs, &dyp, &pool).unwrap();
        assert_fd(&what("max_pool2d"), &xp, &dx, |v| {
            dot(&cpu::max_pool2d(v, xs, &pool).unwrap(), &dyp)
        });
        let dx = cpu::avg_pool2d_backward(&dyp, xs, &pool).unwrap();
        assert_fd(&what("avg_pool2d"), &xp, &dx, |v| {
            dot(&cpu::avg_pool2d(v, xs, &pool).unwrap(), &dyp)
        });

        let (n, fi, fo) = (rng.range(1, 4), rng.range(1, 5), rng.range(1, 5));
        let xl = f64s(&mut rng, n * fi, 1.0);
        let w = f64s(&mut rng, fo * fi, 1.0);
        let b = f64s(&mut rng, fo, 1.0);
        let dyl = f64s(&mut rng, n * fo, 1.0);
        let fwd = |x: &[f64], w: &[f64], b: &[f64]| {
            dot(
                &cpu::linear(x, [n, fi], w, [fo, fi], Some(b)).unwrap(),
                &dyl,
            )
        };
        let dx = cpu::linear_input_grad(&dyl, &w, [fo, fi]).unwrap();
        assert_fd(&what("linear dx"), &xl, &dx, |v| fwd(v, &w, &b));
        let dw = cpu::linear_weight_grad(&xl, [n, fi], &dyl, fo).unwrap();
        assert_fd(&what("linear dw"), &w, &dw, |v| fwd(&xl, v, &b));
        let db = cpu::linear_bias_grad(&dyl, [n, fo]).unwrap();
        assert_fd(&what("linear db"), &b, &db, |v| fwd(&xl, &w, v));
    }
}

/// `copy` reproduces every bit (NaN payloads, -0, infinities, subnormals)
/// on every adapter, over sizes that end mid-workgroup, and gives a new
/// buffer: changing the copy leaves the source as it was.
#[test]
fn copy_is_bit_exact_and_owns_its_buffer() {
    let special = [
        f32::from_bits(0x7fc0_1234),
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(1),
        f32::MAX,
    ];
    for gpu in gpus() {
        let mut rng = Rng::new(5);
        for len in [1usize, 7, 64, 65, 1000] {
            let mut x = rng.floats(len);
            for (v, s) in x.iter_mut().zip(special) {
                *v = s;
            }
            let xt = gpu.tensor(&[len], &x).unwrap();
            let mut y = gpu.copy(&xt).unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&y.to_vec().unwrap()),
                bits(&cpu::copy(&x)),
                "copy of {len} on {}",
                label(gpu)
            );
            let ones = gpu.tensor(&[len], &vec![1.0; len]).unwrap();
            gpu.add_assign(&mut y, &ones).unwrap();
            assert_eq!(
                bits(&xt.to_vec().unwrap()),
                bits(&x),
                "source changed with its copy ({len} on {})",
                label(gpu)
            );
        }
    }
}

/// 2x2 max pooling at stride 2 without padding has kernels of its own
/// (unrolled windows): forward and backward match the reference exactly
/// with ties, NaNs (first, last and lone positions of a window), odd
/// planes whose last row or column no window covers (the backward pass
/// then gathers), rows of outputs that are not a multiple of a run, and
/// rows of a multiple of 4 inputs (the vec4 entry points: a whole run of
/// two pairs, runs ending in one pair, an odd height the forward pass
/// takes and the backward pass gathers) and rows of an even number that
/// is not (the vec2 entry points: 6, 18, 2, 14 and 10 inputs, whole runs
/// and runs of 3, 1 and 2 windows, an odd height).
#[test]
fn max_pool2d_2x2_kernels_match_reference_with_ties_and_nans() {
    let p = Pool2dParams::window(2);
    let shapes = [
        [2, 3, 8, 6],
        [1, 2, 5, 7],
        [3, 1, 2, 18],
        [1, 1, 9, 2],
        [2, 3, 6, 8],
        [2, 2, 4, 20],
        [1, 2, 7, 12],
        [2, 2, 6, 14],
        [1, 3, 5, 10],
    ];
    for gpu in gpus() {
        let mut rng = Rng::new(29);
        for shape in shapes {
            let len = shape.iter().product();
            let mut x = rng.ints(len);
            for i in [0, 3, shape[3] + 1, len / 2, len - 1] {
                x[i] = f32::NAN;
            }
            let ys = Pool2dGeometry::new("test", &shape, &p).unwrap().y_shape();
            let dy = rng.floats(ys.iter().product());
            let xt = gpu.tensor(&shape, &x).unwrap();
            let ctx = |op: &str| format!("{op} {shape:?} on {}", label(gpu));
            let y = gpu.max_pool2d(&xt, &p).unwrap().to_vec().unwrap();
            let want = cpu::max_pool2d(&x, shape, &p).unwrap();
            assert!(want.iter().any(|v| v.is_nan()), "{shape:?}: no NaN window");
            for (i, (g, w)) in y.iter().zip(&want).enumerate() {
                let same = g == w || (g.is_nan() && w.is_nan());
                assert!(
                    same,
                    "{}: output {i}: gpu {g} vs ref {w}",
                    ctx("max_pool2d")
                );
            }
            assert_eq!(y.len(), want.len());
            let dx = gpu
                .max_pool2d_backward(&xt, &gpu.tensor(&ys, &dy).unwrap(), &p)
                .unwrap();
            let want = cpu::max_pool2d_backward(&x, shape, &dy, &p).unwrap();
            let got = dx.to_vec().unwrap();
            assert_close(&ctx("max_pool2d_backward"), &shape, &got, &want, true);
        }
    }
}

/// Pools whose windows tile the input (2x2 at stride 2 of even planes, 3x3
/// at stride 3 with padding 1, 1x2 at stride 1x2) take the per-window
/// backward pass (`backward_tiles`); it matches the reference exactly,
/// with ties, NaNs, and windows that are partly padding.
#[test]
fn max_pool2d_backward_per_window_matches_reference() {
    let cases = [
        ([2, 3, 8, 6], Pool2dParams::window(2)),
        (
            [1, 2, 4, 7],
            Pool2dParams {
                kernel: [3, 3],
                stride: [3, 3],
                padding: [1, 1],
                ceil_mode: false,
                count_include_pad: true,
            },
        ),
        (
            [3, 1, 5, 8],
            Pool2dParams {
                kernel: [1, 2],
                stride: [1, 2],
                padding: [0, 0],
                ceil_mode: false,
                count_include_pad: true,
            },
        ),
    ];
    for gpu in gpus() {
        let mut rng = Rng::new(17);
        for (shape, p) in cases {
            let g = Pool2dGeometry::new("test", &shape, &p).unwrap();
            assert!(g.windows_tile_input(), "{shape:?} {p:?} should tile");
            let len = shape.iter().product();
            let mut x = rng.ints(len);
            x[3] = f32::NAN;
            x[len - 2] = f32::NAN;
            let ys = g.y_shape();
            let dy = rng.floats(ys.iter().product());
            let dx = gpu
                .max_pool2d_backward(
                    &gpu.tensor(&shape, &x).unwrap(),
                    &gpu.tensor(&ys, &dy).unwrap(),
                    &p,
                )
                .unwrap();
            let want = cpu::max_pool2d_backward(&x, shape, &dy, &p).unwrap();
            assert_close(
                &format!("max_pool2d_backward {shape:?} {p:?} on {}", label(gpu)),
                &shape,
                &dx.to_vec().unwrap(),
                &want,
                true,
            );
        }
    }
    // And the ones that do not tile: a remainder row, overlap, a gap.
    for (shape, k, s) in [
        ([1, 1, 5, 4], 2, 2),
        ([1, 1, 6, 6], 3, 2),
        ([1, 1, 6, 6], 2, 3),
    ] {
        let p = Pool2dParams {
            kernel: [k, k],
            stride: [s, s],
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
        };
        let g = Pool2dGeometry::new("test", &shape, &p).unwrap();
        assert!(!g.windows_tile_input(), "{shape:?} {p:?} should not tile");
    }
}

/// Max and average pooling in ceil mode and the average without the
/// padding in its divisor against PyTorch (tests/fixtures/torch_pool.json,
/// from scripts/make_pool_fixture.py: odd sizes, padding, overlapping and
/// partial windows), through the modules and the autodiff, on the
/// reference and every adapter.
#[test]
fn pooling_modes_match_pytorch_everywhere() {
    use wgconv::nn::{AvgPool2d, Backend, Cpu, Forward, Graph, MaxPool2d};
    let f = common::fixture("torch_pool.json");
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    fn run<B: Backend>(b: B, who: &str, c: &serde_json::Value) {
        let ints = |k: &str| common::ints(&c[k]);
        let pair = |k: &str| [ints(k)[0] as u32, ints(k)[1] as u32];
        let p = Pool2dParams {
            kernel: pair("kernel"),
            stride: pair("stride"),
            padding: pair("padding"),
            ceil_mode: c["ceil_mode"].as_bool().unwrap(),
            count_include_pad: c["count_include_pad"].as_bool().unwrap(),
        };
        let (shape, y_shape) = (ints("shape"), ints("y_shape"));
        let ctx = format!("{who} {} {shape:?} {p:?}", c["op"]);
        let g = Graph::new(b.clone());
        let x = g.input_with_grad(b.tensor(&shape, &common::floats(&c["x"])).unwrap());
        let y = if c["op"] == "max" {
            MaxPool2d(p).forward(&x)
        } else {
            AvgPool2d(p).forward(&x)
        }
        .unwrap();
        assert_eq!(y.shape(), &y_shape[..], "{ctx}");
        let want = common::floats(&c["y"]);
        assert_close(&ctx, &y_shape, &b.to_vec(y.value()).unwrap(), &want, false);
        common::backward_from(&y, &common::floats(&c["dy"]));
        let dx = b.to_vec(&x.grad().unwrap()).unwrap();
        let want = common::floats(&c["dx"]);
        assert_close(&format!("{ctx} dx"), &shape, &dx, &want, false);
    }
    for c in cases {
        run(Cpu::<f32>::new(), "cpu", c);
        for gpu in gpus() {
            run(gpu.clone(), &label(gpu), c);
        }
    }
}
