//! GroupNorm, LayerNorm and InstanceNorm2d (one op, `norm`): outputs and
//! the input, weight and bias gradients against PyTorch's
//! (tests/fixtures/torch_norm.json, from scripts/make_norm_fixture.py:
//! with and without affine parameters, rows longer than a workgroup) on
//! the CPU reference and every adapter, through the modules and the
//! autodiff; InstanceNorm2d's running statistics (training passes, then
//! eval mode) against torch's; random layouts against the reference;
//! finite differences of
//! the f64 reference; the same bits every run; torch's errors.

mod common;

use common::{assert_close, backward_from, fixture, floats, gpus, ints, label, Rng};
use wgconv::nn::{
    Backend, BackendBase, Cpu, Forward, Graph, GroupNorm, Init, InstanceNorm2d, LayerNorm,
    ModuleExt,
};
use wgconv::{cpu, Error, Normalization};

struct Case {
    kind: String,
    shape: Vec<usize>,
    eps: f32,
    groups: usize,
    normalized_shape: Vec<usize>,
    x: Vec<f32>,
    y: Vec<f32>,
    dy: Vec<f32>,
    dx: Vec<f32>,
    weight: Option<(Vec<f32>, Vec<f32>)>,
    bias: Option<(Vec<f32>, Vec<f32>)>,
}

fn cases() -> Vec<Case> {
    let v = fixture("torch_norm.json");
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let param = |name: &str| {
                c.get(name)
                    .map(|p| (floats(p), floats(&c[format!("d{name}")])))
            };
            Case {
                kind: c["kind"].as_str().unwrap().to_string(),
                shape: ints(&c["shape"]),
                eps: c["eps"].as_f64().unwrap() as f32,
                groups: c.get("groups").map_or(0, |g| g.as_u64().unwrap() as usize),
                normalized_shape: c.get("normalized_shape").map_or(vec![], ints),
                x: floats(&c["x"]),
                y: floats(&c["y"]),
                dy: floats(&c["dy"]),
                dx: floats(&c["dx"]),
                weight: param("weight"),
                bias: param("bias"),
            }
        })
        .collect()
}

/// The case's module, its parameters set to the fixture's.
fn module<B: Backend>(b: &B, c: &Case) -> Box<dyn Forward<B>> {
    let mut init = Init::new(b.clone(), 0);
    let (affine, bias) = (c.weight.is_some(), c.bias.is_some());
    let mut m: Box<dyn Forward<B>> = match c.kind.as_str() {
        "group" => Box::new(
            GroupNorm::with_options(&mut init, c.groups, c.shape[1], c.eps, affine).unwrap(),
        ),
        "layer" => Box::new(
            LayerNorm::with_options(&mut init, &c.normalized_shape, c.eps, affine, bias).unwrap(),
        ),
        "instance" => {
            Box::new(InstanceNorm2d::with_options(&mut init, c.shape[1], c.eps, affine).unwrap())
        }
        k => panic!("unknown kind {k}"),
    };
    let mut params = m.named_parameters_mut();
    assert_eq!(
        params.len(),
        usize::from(affine) + usize::from(bias),
        "{}",
        c.kind
    );
    for (name, p) in params.iter_mut() {
        let (v, _) = if name == "weight" { &c.weight } else { &c.bias }
            .as_ref()
            .unwrap();
        let shape = b.shape(p.value()).to_vec();
        p.set_value(b.tensor(&shape, v).unwrap());
    }
    drop(params);
    m
}

fn check<B: Backend>(b: B, who: &str, i: usize, c: &Case) {
    let ctx = format!("{who} case {i} {} {:?}", c.kind, c.shape);
    let mut m = module(&b, c);
    let g = Graph::new(b.clone());
    let x = g.input_with_grad(b.tensor(&c.shape, &c.x).unwrap());
    let y = m.forward(&x).unwrap();
    assert_close(
        &format!("{ctx} y"),
        &c.shape,
        &b.to_vec(y.value()).unwrap(),
        &c.y,
        false,
    );
    backward_from(&y, &c.dy);
    let dx = b.to_vec(&x.grad().unwrap()).unwrap();
    assert_close(&format!("{ctx} dx"), &c.shape, &dx, &c.dx, false);
    for (name, p) in m.named_parameters() {
        let (_, want) = if name == "weight" { &c.weight } else { &c.bias }
            .as_ref()
            .unwrap();
        let got = b.to_vec(&p.grad().unwrap()).unwrap();
        assert_close(&format!("{ctx} d{name}"), &[want.len()], &got, want, false);
    }
}

#[test]
fn norms_match_pytorch_everywhere() {
    let cases = cases();
    assert_eq!(cases.len(), 13);
    for (i, c) in cases.iter().enumerate() {
        check(Cpu::<f32>::new(), "cpu", i, c);
        for gpu in gpus() {
            check(gpu.clone(), &label(gpu), i, c);
        }
    }
}

/// `InstanceNorm2d(track_running_stats=True)` against torch
/// (the fixture's `tracking` cases): two training passes give torch's
/// outputs and move the running statistics as torch's do; eval mode then
/// normalises with them, with torch's output and gradients; the
/// `state_dict` has torch's keys, in order.
fn check_tracking<B: Backend>(b: B, who: &str, i: usize, c: &serde_json::Value) {
    let shape = ints(&c["shape"]);
    let ctx = format!("{who} tracking case {i} {shape:?}");
    let config = wgconv::BatchNorm {
        eps: c["eps"].as_f64().unwrap() as f32,
        momentum: c["momentum"].as_f64().unwrap() as f32,
    };
    let affine = c.get("weight").is_some();
    let mut init = Init::new(b.clone(), 0);
    let mut m =
        InstanceNorm2d::with_running_stats(&mut init, shape[1], config, affine, true).unwrap();
    for (name, p) in m.named_parameters_mut() {
        p.set_value(b.tensor(&[shape[1]], &floats(&c[name.as_str()])).unwrap());
    }
    let keys: Vec<String> = wgconv::nn::io::state_dict(&b, &m)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let want_keys: Vec<String> = c["state_dict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, want_keys, "{ctx}");
    let xs = c["x"].as_array().unwrap();
    for (pass, want) in c["y_train"].as_array().unwrap().iter().enumerate() {
        let g = Graph::new(b.clone());
        let x = g.input(b.tensor(&shape, &floats(&xs[pass])).unwrap());
        let y = m.forward(&x).unwrap();
        let ctx = format!("{ctx} training pass {pass}");
        assert_close(
            &ctx,
            &shape,
            &b.to_vec(y.value()).unwrap(),
            &floats(want),
            false,
        );
    }
    for (name, got) in [
        ("running_mean", m.running_mean.as_ref().unwrap()),
        ("running_var", m.running_var.as_ref().unwrap()),
    ] {
        let want = floats(&c[name]);
        assert_close(
            &format!("{ctx} {name}"),
            &[want.len()],
            &b.to_vec(got).unwrap(),
            &want,
            false,
        );
    }
    assert_eq!(
        m.num_batches_tracked,
        c["num_batches_tracked"].as_u64().unwrap(),
        "{ctx}"
    );
    m.eval();
    let g = Graph::new(b.clone());
    let x = g.input_with_grad(b.tensor(&shape, &floats(&xs[2])).unwrap());
    let y = m.forward(&x).unwrap();
    assert_close(
        &format!("{ctx} eval y"),
        &shape,
        &b.to_vec(y.value()).unwrap(),
        &floats(&c["y"]),
        false,
    );
    backward_from(&y, &floats(&c["dy"]));
    let dx = b.to_vec(&x.grad().unwrap()).unwrap();
    assert_close(
        &format!("{ctx} eval dx"),
        &shape,
        &dx,
        &floats(&c["dx"]),
        false,
    );
    let grads = m.named_parameters();
    assert_eq!(grads.len(), 2 * usize::from(affine), "{ctx}");
    for (name, p) in grads {
        let want = floats(&c[format!("d{name}")]);
        let got = b.to_vec(&p.grad().unwrap()).unwrap();
        assert_close(
            &format!("{ctx} eval d{name}"),
            &[want.len()],
            &got,
            &want,
            false,
        );
    }
}

#[test]
fn instance_norm_running_statistics_match_pytorch_everywhere() {
    let f = fixture("torch_norm.json");
    let cases = f["tracking"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for (i, c) in cases.iter().enumerate() {
        check_tracking(Cpu::<f32>::new(), "cpu", i, c);
        for gpu in gpus() {
            check_tracking(gpu.clone(), &label(gpu), i, c);
        }
    }
}

/// A random normalisation of a random shape, with random parameters.
fn random_case(rng: &mut Rng) -> (Vec<usize>, Normalization, Vec<usize>) {
    let n = rng.range(1, 3);
    let c = rng.range(1, 6);
    let spatial: Vec<usize> = (0..rng.range(1, 2)).map(|_| rng.range(1, 40)).collect();
    let mut shape = vec![n, c];
    shape.extend(&spatial);
    match rng.range(0, 2) {
        0 => {
            let divisors: Vec<usize> = (1..=c).filter(|g| c.is_multiple_of(*g)).collect();
            let groups = divisors[rng.range(0, divisors.len() - 1)];
            (shape, Normalization::Group { groups }, vec![c])
        }
        1 => {
            let dims = rng.range(1, shape.len());
            let p = shape[shape.len() - dims..].to_vec();
            (shape, Normalization::Layer { dims }, p)
        }
        _ => {
            if spatial.iter().product::<usize>() == 1 {
                shape.push(2);
            }
            (shape, Normalization::Instance, vec![c])
        }
    }
}

#[test]
fn every_adapter_matches_the_reference() {
    let mut rng = Rng::new(21);
    for gpu in gpus() {
        for trial in 0..24 {
            let (shape, kind, p_shape) = random_case(&mut rng);
            let ctx = format!("{} trial {trial} {kind:?} {shape:?}", label(gpu));
            let numel: usize = shape.iter().product();
            let x: Vec<f32> = rng.floats(numel).iter().map(|v| 2.0 * v + 0.5).collect();
            let (w, bias) = (
                rng.floats(p_shape.iter().product()),
                rng.floats(p_shape.iter().product()),
            );
            let dy = rng.floats(numel);
            let affine = trial % 3 != 0;
            let t = |s: &[usize], v: &[f32]| gpu.tensor(s, v).unwrap();
            let (wt, bt) = (t(&p_shape, &w), t(&p_shape, &bias));
            let (y, saved) = gpu
                .norm(
                    &t(&shape, &x),
                    kind,
                    affine.then_some(&wt),
                    affine.then_some(&bt),
                    1e-5,
                )
                .unwrap();
            let (want_y, want_saved) = cpu::norm(
                &x,
                &shape,
                kind,
                affine.then_some(&w[..]),
                affine.then_some(&bias[..]),
                1e-5,
            )
            .unwrap();
            assert_close(&ctx, &shape, &y.to_vec().unwrap(), &want_y, false);
            let (dx, dw, db) = gpu
                .norm_backward(
                    &t(&shape, &x),
                    &t(&shape, &dy),
                    kind,
                    affine.then_some(&wt),
                    affine,
                    &saved,
                )
                .unwrap();
            let (want_dx, want_dw, want_db) = cpu::norm_backward(
                &x,
                &dy,
                &shape,
                kind,
                affine.then_some(&w[..]),
                affine,
                &want_saved,
            )
            .unwrap();
            assert_close(
                &format!("{ctx} dx"),
                &shape,
                &dx.to_vec().unwrap(),
                &want_dx,
                false,
            );
            assert_eq!(dw.is_some(), affine, "{ctx}");
            if let (Some(dw), Some(want)) = (dw, want_dw) {
                assert_close(
                    &format!("{ctx} dw"),
                    &p_shape,
                    &dw.to_vec().unwrap(),
                    &want,
                    false,
                );
            }
            if let (Some(db), Some(want)) = (db, want_db) {
                assert_close(
                    &format!("{ctx} db"),
                    &p_shape,
                    &db.to_vec().unwrap(),
                    &want,
                    false,
                );
            }
        }
    }
}

#[test]
fn long_rows_and_many_rows_match_the_reference() {
    // Rows of thousands of values (each lane walks dozens), and thousands
    // of rows (a two-dimensional grid of workgroups).
    let mut rng = Rng::new(22);
    for gpu in gpus() {
        for (shape, kind) in [
            (vec![2, 4, 50, 50], Normalization::Group { groups: 2 }),
            (vec![2500, 16], Normalization::Layer { dims: 1 }),
            (vec![1, 3, 1, 7001], Normalization::Instance),
        ] {
            let ctx = format!("{} {kind:?} {shape:?}", label(gpu));
            let numel: usize = shape.iter().product();
            let x = rng.floats(numel);
            let dy = rng.floats(numel);
            let (y, saved) = gpu
                .norm(&gpu.tensor(&shape, &x).unwrap(), kind, None, None, 1e-5)
                .unwrap();
            let (want, want_saved) = cpu::norm(&x, &shape, kind, None, None, 1e-5).unwrap();
            assert_close(&ctx, &shape, &y.to_vec().unwrap(), &want, false);
            let (dx, _, _) = gpu
                .norm_backward(
                    &gpu.tensor(&shape, &x).unwrap(),
                    &gpu.tensor(&shape, &dy).unwrap(),
                    kind,
                    None,
                    false,
                    &saved,
                )
                .unwrap();
            let (want_dx, _, _) =
                cpu::norm_backward(&x, &dy, &shape, kind, None, false, &want_saved).unwrap();
            assert_close(
                &format!("{ctx} dx"),
                &shape,
                &dx.to_vec().unwrap(),
                &want_dx,
                false,
            );
        }
    }
}

#[test]
fn the_reference_gradients_are_finite_differences() {
    let mut rng = Rng::new(23);
    for (shape, kind, p_shape) in [
        (vec![2, 4, 3], Normalization::Group { groups: 2 }, vec![4]),
        (vec![3, 2, 2], Normalization::Layer { dims: 2 }, vec![2, 2]),
        (vec![2, 2, 2, 3], Normalization::Instance, vec![2]),
    ] {
        let numel: usize = shape.iter().product();
        let pn: usize = p_shape.iter().product();
        let f64s = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        let x = f64s(rng.floats(numel));
        let w = f64s(rng.floats(pn));
        let b = f64s(rng.floats(pn));
        let r = f64s(rng.floats(numel));
        let loss = |x: &[f64], w: &[f64], b: &[f64]| -> f64 {
            let (y, _) = cpu::norm(x, &shape, kind, Some(w), Some(b), 1e-5).unwrap();
            y.iter().zip(&r).map(|(y, r)| y * r).sum()
        };
        let (_, saved) = cpu::norm(&x, &shape, kind, Some(&w), Some(&b), 1e-5).unwrap();
        let (dx, dw, db) =
            cpu::norm_backward(&x, &r, &shape, kind, Some(&w), true, &saved).unwrap();
        let h = 1e-6;
        let numeric = |which: usize, i: usize| {
            let mut args = [x.clone(), w.clone(), b.clone()];
            args[which][i] += h;
            let up = loss(&args[0], &args[1], &args[2]);
            args[which][i] -= 2.0 * h;
            let down = loss(&args[0], &args[1], &args[2]);
            (up - down) / (2.0 * h)
        };
        for (which, grad) in [(0, &dx), (1, &dw.unwrap()), (2, &db.unwrap())] {
            for (i, &g) in grad.iter().enumerate() {
                let n = numeric(which, i);
                assert!(
                    (g - n).abs() < 1e-6 * (1.0 + n.abs()),
                    "{kind:?} input {which} index {i}: analytic {g} numeric {n}"
                );
            }
        }
    }
}

#[test]
fn every_run_gives_the_same_bits() {
    let mut rng = Rng::new(24);
    let shape = [2, 6, 17, 19];
    let x = rng.floats(shape.iter().product());
    let dy = rng.floats(shape.iter().product());
    let w = rng.floats(6);
    for gpu in gpus() {
        let kind = Normalization::Group { groups: 3 };
        let run = || {
            let t = |s: &[usize], v: &[f32]| gpu.tensor(s, v).unwrap();
            let wt = t(&[6], &w);
            let (y, saved) = gpu
                .norm(&t(&shape, &x), kind, Some(&wt), None, 1e-5)
                .unwrap();
            let (dx, dw, _) = gpu
                .norm_backward(
                    &t(&shape, &x),
                    &t(&shape, &dy),
                    kind,
                    Some(&wt),
                    false,
                    &saved,
                )
                .unwrap();
            [
                y.to_vec().unwrap(),
                dx.to_vec().unwrap(),
                dw.unwrap().to_vec().unwrap(),
            ]
        };
        assert_eq!(run(), run(), "{}", label(gpu));
    }
}

#[test]
fn modules_have_torchs_names_defaults_and_errors() {
    let b = Cpu::<f32>::new();
    let mut init = Init::new(b, 0);
    let gn = GroupNorm::new(&mut init, 2, 6).unwrap();
    let names: Vec<_> = gn.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
    assert_eq!(
        b.to_vec(gn.weight.as_ref().unwrap().value()).unwrap(),
        vec![1.0; 6]
    );
    assert_eq!(
        b.to_vec(gn.bias.as_ref().unwrap().value()).unwrap(),
        vec![0.0; 6]
    );
    assert!(InstanceNorm2d::new(&mut init, 3)
        .unwrap()
        .named_parameters()
        .is_empty());
    let ln = LayerNorm::with_options(&mut init, &[4, 2], 1e-5, true, false).unwrap();
    let names: Vec<_> = ln.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight"]);
    assert_eq!(b.shape(ln.weight.as_ref().unwrap().value()), &[4, 2]);

    // torch's ValueError: channels not divisible by the groups.
    let e = GroupNorm::new(&mut init, 4, 6).unwrap_err();
    assert!(e.to_string().contains("divisible"), "{e}");
    assert!(LayerNorm::new(&mut init, &[]).is_err());
    let run = |m: &mut dyn Forward<Cpu>, shape: &[usize]| {
        let g = Graph::new(b);
        let x = g.input(b.tensor(shape, &vec![0.5; shape.iter().product()]).unwrap());
        m.forward(&x).map(|_| ())
    };
    // The input's channels must match the weight's.
    let e = run(&mut GroupNorm::new(&mut init, 2, 6).unwrap(), &[1, 4, 3, 3]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    // The normalised shape must be the input's trailing dimensions.
    let e = run(&mut LayerNorm::new(&mut init, &[3]).unwrap(), &[2, 4]).unwrap_err();
    assert!(e.to_string().contains("trailing"), "{e}");
    // torch's "Expected more than 1 spatial element when training".
    let e = run(
        &mut InstanceNorm2d::new(&mut init, 2).unwrap(),
        &[3, 2, 1, 1],
    )
    .unwrap_err();
    assert!(e.to_string().contains("more than 1 spatial element"), "{e}");
    let e = run(&mut InstanceNorm2d::new(&mut init, 2).unwrap(), &[2, 4]).unwrap_err();
    assert!(matches!(e, Error::BadRank { .. }), "{e}");
    // Running statistics of 3 channels for an input of 2.
    let cfg = wgconv::BatchNorm::default();
    let mut tracked = InstanceNorm2d::with_running_stats(&mut init, 3, cfg, false, true).unwrap();
    let e = run(&mut tracked, &[2, 2, 3, 3]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert_eq!(
        tracked.num_batches_tracked, 0,
        "a refused pass moved nothing"
    );
    let bad = wgconv::BatchNorm {
        momentum: 1.5,
        ..cfg
    };
    let e = InstanceNorm2d::with_running_stats(&mut init, 3, bad, false, true).unwrap_err();
    assert!(e.to_string().contains("momentum"), "{e}");
    let e = GroupNorm::with_options(&mut init, 1, 2, -1.0, true).unwrap_err();
    assert!(e.to_string().contains("eps"), "{e}");
    // The same errors from every adapter's op.
    for gpu in gpus() {
        let x = gpu.tensor(&[1, 6, 2, 2], &[0.0; 24]).unwrap();
        let e = gpu
            .norm(&x, Normalization::Group { groups: 4 }, None, None, 1e-5)
            .unwrap_err();
        assert!(e.to_string().contains("divisible"), "{e}");
        let w = gpu.tensor(&[5], &[1.0; 5]).unwrap();
        let e = gpu
            .norm(&x, Normalization::Instance, Some(&w), None, 1e-5)
            .unwrap_err();
        assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    }
}

/// Group norm and layer norm over every dimension of a sample, as modules
/// after a convolution: the GPU's output and parameter gradients are the
/// reference's.
#[test]
fn a_model_with_group_norm_steps_like_the_reference() {
    use wgconv::nn::{Conv2d, Sequential};
    let x_shape = [2, 3, 6, 6];
    let mut rng = Rng::new(25);
    let x = rng.floats(x_shape.iter().product());
    fn run<B: Backend>(b: B, x: &[f32], x_shape: &[usize]) -> Vec<f32> {
        let mut init = Init::new(b.clone(), 7);
        let mut m = Sequential::new()
            .push(Conv2d::square(&mut init, 3, 4, 3, 1, 1, true).unwrap())
            .push(GroupNorm::new(&mut init, 2, 4).unwrap())
            .push(LayerNorm::new(&mut init, &[4, 6, 6]).unwrap());
        let g = Graph::new(b.clone());
        let xv = g.input(b.tensor(x_shape, x).unwrap());
        let y = m.forward(&xv).unwrap();
        let dy: Vec<f32> = (0..y.shape().iter().product())
            .map(|i| (i % 7) as f32 - 3.0)
            .collect();
        backward_from(&y, &dy);
        let mut out = b.to_vec(y.value()).unwrap();
        for (_, p) in m.named_parameters() {
            out.extend(b.to_vec(&p.grad().unwrap()).unwrap());
        }
        out
    }
    let want = run(Cpu::<f32>::new(), &x, &x_shape);
    for gpu in gpus() {
        let got = run(gpu.clone(), &x, &x_shape);
        assert_close(&label(gpu), &[want.len()], &got, &want, false);
    }
}
