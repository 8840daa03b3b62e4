//! Past the adapter's limits: tensors larger than
//! `max_storage_buffer_binding_size` (128 MiB on lavapipe) run correctly by
//! splitting the work, grids past `max_compute_workgroups_per_dimension`
//! fold into two dimensions, and what cannot be served fails with an `Err`
//! that names the limit and the sizes.
mod common;
use common::{gpus, label, Rng};
use wgconv::plan::{Algorithm, ConvOp};
use wgconv::{cpu, Conv2dParams, Error, Sgd, SgdState};

/// 65 images of 1024×1024: 260 MiB, over twice lavapipe's binding limit.
/// Integer inputs whose products sum to less than 2^24 in magnitude keep
/// every partial sum exact in f32, in whatever order a kernel adds them,
/// so the checks are `==`.
#[test]
fn convolutions_split_tensors_larger_than_a_binding() {
    let n = 65;
    let img = 1024 * 1024;
    let xs = [n, 1, 1024, 1024];
    let ws = [1, 1, 3, 3];
    let p = Conv2dParams::square(1, 1);
    let mut rng = Rng::new(77);
    // ±1 at 3 pixels in 16: the weight gradient below (dy = x) sums
    // x·x over 68 M pixels, about 12.8 M, under 2^24 ≈ 16.8 M.
    let x: Vec<f32> = (0..n * img)
        .map(|_| match rng.range(0, 15) {
            0 => -1.0,
            1 | 2 => 1.0,
            _ => 0.0,
        })
        .collect();
    let w = rng.ints(9);
    for gpu in gpus() {
        let who = label(gpu);
        let bind = gpu.limits().max_storage_buffer_binding_size as usize;
        assert!(
            n * img * 4 > 2 * bind,
            "{who}: the test must exceed the binding limit"
        );
        let xt = gpu.tensor(&xs, &x).unwrap();
        let wt = gpu.tensor(&ws, &w).unwrap();
        // Images on both sides of every split point, and the ends.
        let per_piece = bind / (img * 4);
        let mut sampled: Vec<usize> = (1..n / per_piece + 1)
            .flat_map(|k| [k * per_piece - 1, k * per_piece])
            .filter(|&i| i < n)
            .collect();
        sampled.extend([0, n - 1]);
        let one = |data: &[f32], i: usize| data[i * img..(i + 1) * img].to_vec();
        let img_shape = [1, 1, 1024, 1024];

        let clock = std::time::Instant::now();
        let lap = |what: &str| eprintln!("{who}: {what} at {:.1} s", clock.elapsed().as_secs_f64());
        let y = gpu.conv2d(&xt, &wt, None, &p).unwrap().to_vec().unwrap();
        lap("conv2d");
        for &i in &sampled {
            let want = cpu::conv2d(&one(&x, i), img_shape, &w, ws, None, &p).unwrap();
            assert!(one(&y, i) == want, "{who}: conv2d image {i}");
        }
        drop(y);

        // dy = x (same shape: stride 1, pad 1).
        let dx = gpu
            .conv2d_input_grad(&xt, &wt, xs, &p)
            .unwrap()
            .to_vec()
            .unwrap();
        for &i in &sampled {
            let want = cpu::conv2d_input_grad(&one(&x, i), &w, ws, img_shape, &p).unwrap();
            assert!(one(&dx, i) == want, "{who}: conv2d_input_grad image {i}");
        }
        drop(dx);
        lap("conv2d_input_grad");

        let dw = gpu
            .conv2d_weight_grad(&xt, &xt, ws, &p)
            .unwrap()
            .to_vec()
            .unwrap();
        let want = cpu::conv2d_weight_grad(&x, xs, &x, ws, &p).unwrap();
        assert_eq!(dw, want, "{who}: conv2d_weight_grad over all 65 images");
        lap("conv2d_weight_grad");
        let db = gpu.bias_grad(&xt).unwrap().to_vec().unwrap();
        assert_eq!(db, cpu::bias_grad(&x, xs).unwrap(), "{who}: bias_grad");

        // Element-wise ops split by element ranges.
        let r = gpu.relu(&xt).unwrap().to_vec().unwrap();
        assert!(r == cpu::relu(&x), "{who}: relu");
        lap("bias_grad, relu");
        drop(r);
        let mut param = gpu.tensor(&xs, &x).unwrap();
        let cfg = Sgd {
            lr: 0.5,
            momentum: 0.5,
            ..Sgd::default()
        };
        gpu.sgd_step(&mut param, &xt, &mut SgdState::default(), &cfg)
            .unwrap();
        let got = param.to_vec().unwrap();
        let mut want = x.clone();
        cpu::sgd_step(&mut want, &x, &mut cpu::CpuSgdState::default(), &cfg).unwrap();
        assert!(got == want, "{who}: sgd_step");
        lap("sgd_step");
    }
}

#[test]
fn what_cannot_be_split_fails_with_the_limit_named() {
    for gpu in gpus() {
        let who = label(gpu);
        let limits = gpu.limits();
        let bind = limits.max_storage_buffer_binding_size as usize;
        // One image larger than a binding: convolutions split by image.
        let side = ((bind / 4) as f64).sqrt() as usize + 16;
        let x = gpu.zeros(&[1, 1, side, side]).unwrap();
        let w = gpu.zeros(&[1, 1, 3, 3]).unwrap();
        let e = gpu
            .conv2d(&x, &w, None, &Conv2dParams::default())
            .unwrap_err();
        match &e {
            Error::LimitExceeded {
                limit,
                requested,
                max,
                ..
            } => {
                assert!(
                    limit.contains("max_storage_buffer_binding_size"),
                    "{who}: {e}"
                );
                assert_eq!(*requested, (side * side * 4) as u64, "{who}: {e}");
                assert_eq!(*max, bind as u64, "{who}: {e}");
            }
            _ => panic!("{who}: {e:?}"),
        }
        drop(x);
        // The MSE gradient does not split: a prediction over one binding.
        let len = bind / 4 + 1;
        let y = gpu.zeros(&[len]).unwrap();
        let e = gpu.mse_loss_backward(&y, &y).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { .. }), "{who}: {e}");
        assert!(
            e.to_string().contains("max_storage_buffer_binding_size"),
            "{who}: {e}"
        );
        // One loss reduction in one workgroup: past its loop budget.
        let e = gpu.mse_loss(&y, &y).unwrap_err();
        assert!(
            e.to_string().contains("65 535 loop iterations"),
            "{who}: {e}"
        );
        drop(y);
        // A reduction of more than 65 535 terms per output cannot run.
        let x = gpu.zeros(&[1, 7300, 3, 3]).unwrap();
        let e = gpu
            .conv2d(&x, &x, None, &Conv2dParams::default())
            .unwrap_err();
        assert!(
            e.to_string().contains("65 535 reduction terms"),
            "{who}: {e}"
        );
        // Past max_buffer_size nothing can be made.
        let e = gpu
            .zeros(&[limits.max_buffer_size as usize / 4 + 1])
            .unwrap_err();
        assert!(e.to_string().contains("max_buffer_size"), "{who}: {e}");
        assert!(gpu.is_usable(), "{who}");
    }
}

/// 5 million elements need 78 125 workgroups of 64, more than the 65 535
/// one grid dimension allows: the grid folds into two dimensions.
#[test]
fn grids_past_the_dimension_limit_fold() {
    let len = 5_000_000;
    let mut rng = Rng::new(78);
    let a = rng.floats(len);
    for gpu in gpus() {
        let max = gpu.limits().max_compute_workgroups_per_dimension as usize;
        assert!(
            len / 64 > max,
            "{}: the test must exceed the grid limit",
            label(gpu)
        );
        let t = gpu.tensor(&[len], &a).unwrap();
        let got = gpu.relu(&t).unwrap().to_vec().unwrap();
        assert!(
            got == cpu::relu(&a),
            "{}: relu over a folded grid",
            label(gpu)
        );
    }
}

/// Long reductions are cut so that no kernel loop runs past 65 535
/// iterations (Mesa's llvmpipe silently stops there): a weight gradient
/// over 90 000 output positions in every variant (exact on integers,
/// except through F(3x3, 4x4), whose transforms hold thirds and
/// fifteenths: within the tolerance there), and a bias gradient over 17
/// million.
#[test]
fn long_reductions_stay_within_the_loop_budget() {
    let mut rng = Rng::new(79);
    let xs = [1, 1, 300, 300];
    let x = rng.ints(90_000);
    let p = Conv2dParams::square(1, 1);
    let want = cpu::conv2d_weight_grad(&x, xs, &x, [1, 1, 3, 3], &p).unwrap();
    let dy_shape = [17, 1, 1000, 1000];
    let dy = rng.ints(17_000_000);
    let db_want = cpu::bias_grad(&dy, dy_shape).unwrap();
    for base in gpus() {
        for variant in wgconv::Policy::ALL {
            let gpu = base.with_policy(variant);
            let xt = gpu.tensor(&xs, &x).unwrap();
            let dw = gpu.conv2d_weight_grad(&xt, &xt, [1, 1, 3, 3], &p).unwrap();
            let plan = gpu
                .explain(ConvOp::WeightGrad, xs, [1, 1, 3, 3], &p)
                .unwrap();
            let exact = plan.algorithm != Algorithm::Winograd4;
            common::assert_close(
                &label(&gpu),
                &[1, 1, 3, 3],
                &dw.to_vec().unwrap(),
                &want,
                exact,
            );
        }
        let dyt = base.tensor(&dy_shape, &dy).unwrap();
        assert_eq!(
            base.bias_grad(&dyt).unwrap().to_vec().unwrap(),
            db_want,
            "{}",
            label(base)
        );
    }
}
