//! torch's training tools: `clip_grad_norm_` on gradients chosen by hand
//! (2-norm, 1-norm, max norm, no clipping below the limit, NaN, parameters
//! without a gradient) on the CPU reference and every adapter; `nn.init`'s
//! gains, fans, bounds and standard deviations (empirically, on 32 768
//! draws), `dirac_` exactly, every draw reproducible from its seed, and
//! the errors torch raises.

mod common;

use common::{gpus, label};
use wgconv::nn::init::{self, FanMode, Nonlinearity};
use wgconv::nn::{
    clip_grad_norm, Backend, BackendBase, Cpu, Init, Linear, ModuleExt, Param, Sequential,
};
use wgconv::rng::Rng;
use wgconv::Error;

/// `Linear(2, 1)` with gradients `[3, 4]` on the weight and `[12]` on the
/// bias: a 2-norm of 13, a 1-norm of 19, a max norm of 12.
fn model_with_grads<B: Backend>(b: &B) -> Sequential<B> {
    let init = &mut Init::new(b.clone(), 1);
    let m = Sequential::new().push(Linear::new(init, 2, 1, true).unwrap());
    for (name, p) in m.named_parameters() {
        let g = if name.ends_with("weight") {
            b.tensor(&[1, 2], &[3.0, 4.0]).unwrap()
        } else {
            b.tensor(&[1], &[12.0]).unwrap()
        };
        p.set_grad(Some(g));
    }
    m
}

fn grads<B: Backend>(b: &B, m: &Sequential<B>) -> Vec<f32> {
    m.named_parameters()
        .iter()
        .flat_map(|(_, p)| p.grad().map(|g| b.to_vec(&g).unwrap()).unwrap_or_default())
        .collect()
}

fn clip_on<B: Backend>(b: B, who: &str) {
    // 2-norm 13 over a limit of 6.5: every gradient halved (to 1e-6).
    let m = model_with_grads(&b);
    let norm = clip_grad_norm(&b, &m, 6.5, 2.0).unwrap();
    assert_eq!(norm, 13.0, "{who}");
    let coef = (6.5f64 / (13.0 + 1e-6)) as f32;
    let want: Vec<f32> = [3.0f32, 4.0, 12.0].iter().map(|g| g * coef).collect();
    assert_eq!(grads(&b, &m), want, "{who}");
    // Below the limit: the very bits.
    let m = model_with_grads(&b);
    assert_eq!(clip_grad_norm(&b, &m, 100.0, 2.0).unwrap(), 13.0);
    assert_eq!(grads(&b, &m), vec![3.0, 4.0, 12.0], "{who}");
    // Other norms.
    let m = model_with_grads(&b);
    assert_eq!(clip_grad_norm(&b, &m, 100.0, 1.0).unwrap(), 19.0, "{who}");
    assert_eq!(
        clip_grad_norm(&b, &m, 6.0, f32::INFINITY).unwrap(),
        12.0,
        "{who}"
    );
    let coef = (6.0f64 / (12.0 + 1e-6)) as f32;
    assert_eq!(
        grads(&b, &m),
        vec![3.0 * coef, 4.0 * coef, 12.0 * coef],
        "{who}"
    );
    // A parameter without a gradient is left out.
    let m = model_with_grads(&b);
    m.named_parameters()[1].1.set_grad(None);
    assert_eq!(clip_grad_norm(&b, &m, 100.0, 2.0).unwrap(), 5.0, "{who}");
    // A NaN gradient: a NaN norm, every gradient NaN (torch's default).
    let m = model_with_grads(&b);
    m.named_parameters()[1]
        .1
        .set_grad(Some(b.tensor(&[1], &[f32::NAN]).unwrap()));
    assert!(clip_grad_norm(&b, &m, 1.0, 2.0).unwrap().is_nan());
    assert!(grads(&b, &m).iter().all(|g| g.is_nan()), "{who}");
    // Bad arguments.
    for (max, p) in [(-1.0, 2.0), (f32::NAN, 2.0), (1.0, 0.0), (1.0, f32::NAN)] {
        assert!(
            matches!(
                clip_grad_norm(&b, &m, max, p),
                Err(Error::InvalidParam { .. })
            ),
            "{who}: max_norm {max}, norm_type {p}"
        );
    }
}

#[test]
fn clip_grad_norm_scales_by_hand_computed_factors() {
    clip_on(Cpu::<f32>::new(), "cpu");
    for gpu in gpus() {
        clip_on(gpu.clone(), &label(gpu));
    }
}

#[test]
fn gains_and_fans_are_torchs() {
    assert_eq!(init::calculate_gain(Nonlinearity::Linear), 1.0);
    assert_eq!(init::calculate_gain(Nonlinearity::Sigmoid), 1.0);
    assert_eq!(init::calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
    assert_eq!(init::calculate_gain(Nonlinearity::Relu), 2f32.sqrt());
    assert_eq!(init::calculate_gain(Nonlinearity::Selu), 0.75);
    let leaky = init::calculate_gain(Nonlinearity::LeakyRelu(0.2));
    assert!((leaky - (2.0f32 / 1.04).sqrt()).abs() < 1e-7);
    assert_eq!(init::fans(&[10, 20]).unwrap(), (20, 10));
    assert_eq!(init::fans(&[8, 3, 5, 5]).unwrap(), (75, 200));
    assert_eq!(init::fans(&[4, 2, 3]).unwrap(), (6, 12));
    let e = init::fans(&[7]);
    assert!(
        matches!(&e, Err(Error::InvalidParam { message, .. }) if message.contains("1 dimension")),
        "{e:?}"
    );
}

fn param(b: &Cpu<f32>, shape: &[usize]) -> Param<Cpu<f32>> {
    Param::new(b.tensor(shape, &vec![0.5; shape.iter().product()]).unwrap())
}

fn values(b: &Cpu<f32>, p: &Param<Cpu<f32>>) -> Vec<f32> {
    b.to_vec(p.value()).unwrap()
}

/// Mean and variance in f64.
fn moments(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

#[test]
fn initialisers_draw_torchs_distributions_from_their_seed() {
    let b = Cpu::<f32>::new();
    let shape = [256, 32, 2, 2]; // fan_in 128, fan_out 1024, 32 768 values
                                 // kaiming_uniform_ (torch's defaults): ±√2·√(3/128).
    let mut p = param(&b, &shape);
    let mut rng = Rng::new(1);
    init::kaiming_uniform(
        &b,
        &mut p,
        &mut rng,
        FanMode::FanIn,
        Nonlinearity::LeakyRelu(0.0),
    )
    .unwrap();
    let v = values(&b, &p);
    let bound = (2.0f64 * 3.0 / 128.0).sqrt();
    assert!(v.iter().all(|&x| (x as f64).abs() <= bound));
    let (mean, var) = moments(&v);
    assert!(mean.abs() < 0.01 * bound, "mean {mean}");
    assert!(
        (var / (bound * bound / 3.0) - 1.0).abs() < 0.03,
        "var {var}"
    );
    // The same seed, the same bits; another seed, other values.
    let mut again = param(&b, &shape);
    init::kaiming_uniform(
        &b,
        &mut again,
        &mut Rng::new(1),
        FanMode::FanIn,
        Nonlinearity::LeakyRelu(0.0),
    )
    .unwrap();
    assert_eq!(values(&b, &again), v);
    init::kaiming_uniform(
        &b,
        &mut again,
        &mut Rng::new(2),
        FanMode::FanIn,
        Nonlinearity::LeakyRelu(0.0),
    )
    .unwrap();
    assert_ne!(values(&b, &again), v);
    // kaiming_normal_, fan_out, ReLU: std √2/√1024.
    init::kaiming_normal(&b, &mut p, &mut rng, FanMode::FanOut, Nonlinearity::Relu).unwrap();
    let (mean, var) = moments(&values(&b, &p));
    let std = 2f64.sqrt() / 1024f64.sqrt();
    assert!(mean.abs() < 0.02 * std, "mean {mean}");
    assert!((var.sqrt() / std - 1.0).abs() < 0.02, "std {}", var.sqrt());
    // xavier_uniform_(gain 2): ±2·√(6/1152); xavier_normal_: std 2·√(2/1152).
    init::xavier_uniform(&b, &mut p, &mut rng, 2.0).unwrap();
    let a = 2.0 * (6.0f64 / 1152.0).sqrt();
    let v = values(&b, &p);
    assert!(v.iter().all(|&x| (x as f64).abs() <= a));
    assert!((moments(&v).1 / (a * a / 3.0) - 1.0).abs() < 0.03);
    init::xavier_normal(&b, &mut p, &mut rng, 2.0).unwrap();
    let std = 2.0 * (2.0f64 / 1152.0).sqrt();
    assert!((moments(&values(&b, &p)).1.sqrt() / std - 1.0).abs() < 0.02);
    // uniform_, normal_, constant_, zeros_, ones_.
    init::uniform(&b, &mut p, &mut rng, 2.0, 3.0).unwrap();
    let v = values(&b, &p);
    assert!(v.iter().all(|&x| (2.0..3.0).contains(&x)));
    assert!((moments(&v).0 - 2.5).abs() < 0.01);
    init::normal(&b, &mut p, &mut rng, -1.0, 0.5).unwrap();
    let (mean, var) = moments(&values(&b, &p));
    assert!(
        (mean + 1.0).abs() < 0.01 && (var.sqrt() - 0.5).abs() < 0.01,
        "{mean} {var}"
    );
    init::constant(&b, &mut p, 0.25).unwrap();
    assert!(values(&b, &p).iter().all(|&x| x == 0.25));
    init::zeros(&b, &mut p).unwrap();
    assert!(values(&b, &p).iter().all(|&x| x == 0.0));
    init::ones(&b, &mut p).unwrap();
    assert!(values(&b, &p).iter().all(|&x| x == 1.0));
    assert_eq!(b.shape(p.value()), &shape);
    // Errors torch raises.
    let mut flat = param(&b, &[5]);
    assert!(init::xavier_uniform(&b, &mut flat, &mut rng, 1.0).is_err());
    assert!(init::uniform(&b, &mut p, &mut rng, 3.0, 2.0).is_err());
    assert!(init::normal(&b, &mut p, &mut rng, 0.0, -1.0).is_err());
}

#[test]
fn dirac_passes_each_channel_through() {
    let b = Cpu::<f32>::new();
    let mut p = param(&b, &[6, 3, 3, 3]);
    init::dirac(&b, &mut p, 2).unwrap();
    let v = values(&b, &p);
    let mut want = vec![0.0f32; 6 * 3 * 9];
    // Groups of 3 outputs; output g·3 + d takes input d at the centre (1, 1).
    for g in 0..2 {
        for d in 0..3 {
            want[((g * 3 + d) * 3 + d) * 9 + 4] = 1.0;
        }
    }
    assert_eq!(v, want);
    // More outputs than inputs: the first `in` of each group.
    let mut p = param(&b, &[4, 2, 1, 3]);
    init::dirac(&b, &mut p, 1).unwrap();
    let v = values(&b, &p);
    let ones: Vec<usize> = (0..v.len()).filter(|&i| v[i] == 1.0).collect();
    assert_eq!(ones, vec![1, 3 * 3 + 1]); // [0,0,0,1] and [1,1,0,1]
    assert!(init::dirac(&b, &mut param(&b, &[4, 4]), 1).is_err());
    assert!(init::dirac(&b, &mut param(&b, &[5, 4, 3, 3]), 2).is_err());
}

/// `AveragedModel` with an EMA of decay 0.9 over 4 training steps: the
/// first update copies the weights, each later one is torch's
/// `lerp(ema, p, 0.1)` (computed here on the host in f32, in torch's
/// order: the same bits on the reference and every adapter); buffers
/// stay put without `use_buffers` and are averaged with it; the
/// `state_dict` has torch's `module.` names and `n_averaged`, and saves
/// and loads; the average evaluates.
fn ema_on<B: Backend>(b: B, who: &str) {
    use wgconv::nn::{
        io, one_hot, predict, train_step, AveragedModel, BatchNorm2d, Conv2d, Flatten, Loss,
        Optimizer, OptimizerConfig,
    };
    let build = |seed: u64| {
        let init = &mut Init::new(b.clone(), seed);
        Sequential::new()
            .push(Conv2d::square(init, 1, 4, 3, 1, 1, false).unwrap())
            .push(BatchNorm2d::new(init, 4).unwrap())
            .push(Flatten)
            .push(Linear::new(init, 4 * 4 * 4, 3, true).unwrap())
    };
    let mut model = build(1);
    let mut avg = AveragedModel::new(build(2), 0.9, false).unwrap();
    let mut with_buffers = AveragedModel::new(build(3), 0.9, true).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::Adam(wgconv::Adam {
        lr: 0.05,
        ..wgconv::Adam::default()
    }))
    .unwrap();
    let mut rng = Rng::new(5);
    let x = b.tensor(&[6, 1, 4, 4], &rng.floats(96)).unwrap();
    let t = b
        .tensor(&[6, 3], &one_hot(&[0, 1, 2, 0, 1, 2], 3).unwrap())
        .unwrap();
    let host = |m: &dyn Fn() -> Vec<(String, Vec<f32>)>| m();
    let values = |m: &Sequential<B>| -> Vec<(String, Vec<f32>)> {
        m.named_parameters()
            .into_iter()
            .map(|(n, p)| (n, b.to_vec(p.value()).unwrap()))
            .collect()
    };
    let built_buffers: Vec<Vec<f32>> = avg
        .module
        .named_buffers()
        .iter()
        .map(|(_, t)| b.to_vec(t).unwrap())
        .collect();
    let mut want: Vec<(String, Vec<f32>)> = Vec::new();
    let mut want_buffers: Vec<Vec<f32>> = Vec::new();
    for step in 0..4 {
        train_step(
            &b,
            &mut model,
            &x,
            &t,
            Loss::SoftmaxCrossEntropy,
            &mut opt,
            false,
        )
        .unwrap();
        avg.update_parameters(&b, &model).unwrap();
        with_buffers.update_parameters(&b, &model).unwrap();
        let now = host(&|| values(&model));
        let now_buffers: Vec<Vec<f32>> = model
            .named_buffers()
            .iter()
            .map(|(_, t)| b.to_vec(t).unwrap())
            .collect();
        let lerp = |e: &[f32], p: &[f32]| -> Vec<f32> {
            e.iter()
                .zip(p)
                .map(|(&e, &p)| e + 0.1f32 * (p + -e))
                .collect()
        };
        if step == 0 {
            want = now;
            want_buffers = now_buffers;
        } else {
            want = want
                .iter()
                .zip(&now)
                .map(|((n, e), (_, p))| (n.clone(), lerp(e, p)))
                .collect();
            want_buffers = want_buffers
                .iter()
                .zip(&now_buffers)
                .map(|(e, p)| lerp(e, p))
                .collect();
        }
        assert_eq!(values(&avg.module), want, "{who}: step {step}");
        assert_eq!(values(&with_buffers.module), want, "{who}: step {step}");
    }
    assert_eq!(avg.n_averaged, 4);
    let buffers = |m: &Sequential<B>| -> Vec<Vec<f32>> {
        m.named_buffers()
            .iter()
            .map(|(_, t)| b.to_vec(t).unwrap())
            .collect()
    };
    assert_eq!(buffers(&avg.module), built_buffers, "{who}: buffers moved");
    assert_eq!(
        buffers(&with_buffers.module),
        want_buffers,
        "{who}: buffers not averaged"
    );
    // torch's names, a save and a load, and an evaluation.
    let names: Vec<String> = io::state_dict(&b, &avg)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(names.contains(&"module.0.weight".to_string()), "{names:?}");
    assert!(
        names.contains(&"module.1.running_mean".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"n_averaged".to_string()), "{names:?}");
    let path = std::env::temp_dir().join(format!(
        "wgconv-ema-{}-{}.safetensors",
        std::process::id(),
        who.len()
    ));
    io::save(&b, &avg, &path, &[]).unwrap();
    let mut loaded = AveragedModel::new(build(9), 0.9, false).unwrap();
    io::load(&b, &mut loaded, &path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(loaded.n_averaged, 4);
    assert_eq!(values(&loaded.module), want);
    avg.eval();
    let y = predict(&b, &mut avg, &x).unwrap();
    assert_eq!(b.shape(&y), &[6, 3]);
    // Another architecture is refused.
    let other =
        Sequential::new().push(Linear::new(&mut Init::new(b.clone(), 1), 2, 2, true).unwrap());
    assert!(avg.update_parameters(&b, &other).is_err());
    assert!(AveragedModel::new(build(1), 1.5, false).is_err());
}

#[test]
fn an_exponential_moving_average_is_torchs_lerp() {
    ema_on(Cpu::<f32>::new(), "cpu");
    for gpu in gpus() {
        ema_on(gpu.clone(), &label(gpu));
    }
}
