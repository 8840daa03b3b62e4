//! Reverse-mode autodiff (`nn::graph`, `nn::functional`) on composed
//! graphs: finite differences in f64 on the CPU reference for every op
//! behind the autodiff and for graphs the old chain of layers could not
//! express (a tensor used twice, a diamond, a residual add, the
//! squeeze-and-excitation block of examples/custom_model), a user's model
//! trained on every adapter against its CPU twin and twice to the same
//! bits, PyTorch's own gradients for the same model, and the errors the
//! graph and the state_dict loader give instead of panicking.
mod common;
#[path = "../examples/custom_model/model.rs"]
mod model;

use common::{gpus, label, Rng};
use model::SeNet;
use std::path::Path;
use wgconv::nn::{
    self, functional as F, io, Backend, BackendBase, Cpu, CpuTensor, Forward, Graph, Init, Loss,
    ModuleExt, Optimizer, OptimizerConfig, Var,
};
use wgconv::train::{self, ImageSet, TEST_IMAGES};
use wgconv::{Adam, BatchNorm, Conv2dParams, Error, Pool2dParams};

type C = Cpu<f64>;

/// Central differences of `f` (a scalar of the inputs) against the
/// gradients `backward` gives every input, element by element: within
/// `1e-6 · (1 + |numeric|)` in f64 (a wrong index or a missing term is off
/// by O(1)). `f` builds its graph from `Var`s of the inputs.
fn check_graph(what: &str, inputs: Vec<(Vec<usize>, Vec<f32>)>, f: impl Fn(&[Var<C>]) -> Var<C>) {
    const H: f64 = 1e-6;
    let b = C::new();
    let tensors: Vec<CpuTensor<f64>> = inputs
        .iter()
        .map(|(s, v)| b.tensor(s, v).unwrap())
        .collect();
    let value = |ts: &[CpuTensor<f64>]| -> f64 {
        let g = Graph::no_grad(b);
        let vars: Vec<Var<C>> = ts.iter().map(|t| g.input(t.clone())).collect();
        f(&vars).value().data[0]
    };
    let g = Graph::new(b);
    let vars: Vec<Var<C>> = tensors
        .iter()
        .map(|t| g.input_with_grad(t.clone()))
        .collect();
    f(&vars).backward().unwrap();
    let mut checked = 0;
    for (k, v) in vars.iter().enumerate() {
        let analytic = v.grad().unwrap().data;
        for (i, &a) in analytic.iter().enumerate() {
            let mut shifted = tensors.clone();
            shifted[k].data[i] += H;
            let plus = value(&shifted);
            shifted[k].data[i] -= 2.0 * H;
            let minus = value(&shifted);
            let numeric = (plus - minus) / (2.0 * H);
            assert!(
                (a - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                "{what}: input {k}[{i}]: backward {a} vs finite difference {numeric}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "{what}: nothing checked");
}

fn random(rng: &mut Rng, shape: &[usize]) -> (Vec<usize>, Vec<f32>) {
    (shape.to_vec(), rng.floats(shape.iter().product()))
}

/// `Σ x·w` for a fixed random `w`: a scalar of any tensor, whose gradient
/// is `w` (so every element of the tested op's output is weighted).
fn weigh(x: &Var<C>, seed: u64) -> Var<C> {
    let shape = x.shape().to_vec();
    let len: usize = shape.iter().product();
    let w = x.graph().input(
        C::new()
            .tensor(&shape, &Rng::new(seed).floats(len))
            .unwrap(),
    );
    let flat = x.mul(&w).unwrap().reshape(&[1, len]).unwrap();
    // A linear layer of one output sums the row.
    let ones = x
        .graph()
        .input(C::new().tensor(&[1, len], &vec![1.0; len]).unwrap());
    F::linear(&flat, &ones, None)
        .unwrap()
        .reshape(&[1])
        .unwrap()
}

#[test]
fn every_op_matches_finite_differences() {
    let mut rng = Rng::new(1);
    let x4 = random(&mut rng, &[2, 4, 5, 5]);
    let conv = Conv2dParams {
        stride: [2, 1],
        padding: [1, 2],
        dilation: [1, 2],
        groups: 2,
    };
    check_graph(
        "conv2d (stride, padding, dilation, groups, bias)",
        vec![
            x4.clone(),
            random(&mut rng, &[6, 2, 3, 3]),
            random(&mut rng, &[6]),
        ],
        |v| weigh(&F::conv2d(&v[0], &v[1], Some(&v[2]), &conv).unwrap(), 2),
    );
    check_graph(
        "linear",
        vec![
            random(&mut rng, &[3, 7]),
            random(&mut rng, &[4, 7]),
            random(&mut rng, &[4]),
        ],
        |v| weigh(&F::linear(&v[0], &v[1], Some(&v[2])).unwrap(), 3),
    );
    check_graph("relu", vec![x4.clone()], |v| {
        weigh(&v[0].relu().unwrap(), 4)
    });
    check_graph("sigmoid", vec![x4.clone()], |v| {
        weigh(&v[0].sigmoid().unwrap(), 5)
    });
    let pool = Pool2dParams::square(3, 2, 1);
    check_graph("max_pool2d 3x3/2/1", vec![x4.clone()], |v| {
        weigh(&v[0].max_pool2d(&pool).unwrap(), 6)
    });
    check_graph("avg_pool2d 3x3/2/1", vec![x4.clone()], |v| {
        weigh(&v[0].avg_pool2d(&pool).unwrap(), 7)
    });
    check_graph("global_avg_pool2d", vec![x4.clone()], |v| {
        weigh(&v[0].global_avg_pool2d().unwrap(), 8)
    });
    check_graph("dropout", vec![x4.clone()], |v| {
        weigh(&v[0].dropout(0.4, 99).unwrap(), 9)
    });
    check_graph(
        "add, mul",
        vec![x4.clone(), random(&mut rng, &[2, 4, 5, 5])],
        |v| weigh(&v[0].mul(&v[1]).unwrap().add(&v[0]).unwrap(), 10),
    );
    check_graph(
        "mul by a [N, C, 1, 1] gate",
        vec![x4.clone(), random(&mut rng, &[2, 4, 1, 1])],
        |v| weigh(&v[0].mul(&v[1]).unwrap(), 11),
    );
    check_graph(
        "mul by a scalar",
        vec![x4.clone(), random(&mut rng, &[1])],
        |v| weigh(&v[0].mul(&v[1]).unwrap(), 12),
    );
    check_graph("reshape, flatten", vec![x4.clone()], |v| {
        let r = v[0].reshape(&[4, 2, 25]).unwrap().flatten().unwrap();
        weigh(&r, 13)
    });
    let bn = |v: &[Var<C>], training: bool, relu: bool| {
        let b = C::new();
        let mut rm = b.tensor(&[4], &[0.1, -0.2, 0.3, 0.0]).unwrap();
        let mut rv = b.tensor(&[4], &[1.5, 0.5, 2.0, 1.0]).unwrap();
        let cfg = BatchNorm::default();
        let y = F::batch_norm2d(&v[0], &v[1], &v[2], &mut rm, &mut rv, training, &cfg, relu);
        weigh(&y.unwrap(), 14)
    };
    let bn_inputs = vec![x4.clone(), random(&mut rng, &[4]), random(&mut rng, &[4])];
    check_graph("batch_norm2d (training)", bn_inputs.clone(), |v| {
        bn(v, true, false)
    });
    check_graph("batch_norm2d (eval)", bn_inputs.clone(), |v| {
        bn(v, false, false)
    });
    check_graph("batch_norm2d + relu (training)", bn_inputs.clone(), |v| {
        bn(v, true, true)
    });
    check_graph("batch_norm2d + relu (eval)", bn_inputs.clone(), |v| {
        bn(v, false, true)
    });
    let logits = random(&mut rng, &[3, 5]);
    let targets = (vec![3, 5], nn::one_hot(&[1, 4, 0], 5).unwrap());
    check_graph("cross_entropy", vec![logits.clone()], |v| {
        let t = v[0]
            .graph()
            .input(C::new().tensor(&[3, 5], &targets.1).unwrap());
        F::cross_entropy(&v[0], &t).unwrap()
    });
    check_graph(
        "mse_loss (both arguments)",
        vec![logits.clone(), random(&mut rng, &[3, 5])],
        |v| F::mse_loss(&v[0], &v[1]).unwrap(),
    );
    // Losses below the root: their gradients scaled by the upstream one.
    check_graph(
        "0.5 · cross_entropy + mse_loss",
        vec![logits.clone(), random(&mut rng, &[3, 5])],
        |v| {
            let g = v[0].graph();
            let t = g.input(C::new().tensor(&[3, 5], &targets.1).unwrap());
            let half = g.input(C::new().tensor(&[1], &[0.5]).unwrap());
            let ce = F::cross_entropy(&v[0], &t).unwrap().mul(&half).unwrap();
            ce.add(&F::mse_loss(&v[0], &v[1]).unwrap()).unwrap()
        },
    );
}

#[test]
fn composed_graphs_match_finite_differences() {
    let mut rng = Rng::new(2);
    let x = random(&mut rng, &[2, 3, 6, 6]);
    check_graph(
        "a tensor used twice: x · relu(x) + x",
        vec![x.clone()],
        |v| {
            let y = v[0].mul(&v[0].relu().unwrap()).unwrap();
            weigh(&y.add(&v[0]).unwrap(), 20)
        },
    );
    let same = Conv2dParams::square(1, 1);
    check_graph(
        "a diamond: relu(conv(x)) + sigmoid(conv(x))",
        vec![x.clone(), random(&mut rng, &[3, 3, 3, 3])],
        |v| {
            let a = F::conv2d(&v[0], &v[1], None, &same).unwrap();
            let d = a.relu().unwrap().add(&a.sigmoid().unwrap()).unwrap();
            weigh(&d, 21)
        },
    );
    check_graph(
        "a residual add around two convolutions sharing a weight",
        vec![x.clone(), random(&mut rng, &[3, 3, 3, 3])],
        |v| {
            let h = F::conv2d(&v[0], &v[1], None, &same)
                .unwrap()
                .relu()
                .unwrap();
            let h = F::conv2d(&h, &v[1], None, &same).unwrap();
            weigh(&h.add(&v[0]).unwrap().relu().unwrap(), 22)
        },
    );
}

/// Every parameter of the example's squeeze-and-excitation model (a
/// residual block whose input is used on two branches, gated per channel)
/// against central differences of the loss, in training mode.
#[test]
fn the_examples_model_matches_finite_differences() {
    const H: f64 = 1e-6;
    let b = C::new();
    let mut m = SeNet::new(&mut Init::new(b, 3), 4, 16, 3).unwrap();
    let mut rng = Rng::new(4);
    let x = b.tensor(&[3, 1, 4, 4], &rng.floats(48)).unwrap();
    let t = b
        .tensor(&[3, 3], &nn::one_hot(&[0, 2, 1], 3).unwrap())
        .unwrap();
    let loss_of = |m: &mut SeNet<C>| -> f64 {
        let g = Graph::no_grad(b);
        let y = m.forward(&g.input(x.clone())).unwrap();
        let l = Loss::SoftmaxCrossEntropy.forward(&y, &g.input(t.clone()));
        l.unwrap().value().data[0]
    };
    let g = Graph::new(b);
    let y = m.forward(&g.input(x.clone())).unwrap();
    let l = Loss::SoftmaxCrossEntropy.forward(&y, &g.input(t.clone()));
    l.unwrap().backward().unwrap();
    let grads: Vec<(String, Vec<f64>)> = m
        .named_parameters()
        .iter()
        .map(|(n, p)| (n.clone(), p.grad().unwrap().data))
        .collect();
    let mut checked = 0;
    for (pi, (name, grad)) in grads.iter().enumerate() {
        for (i, &analytic) in grad.iter().enumerate() {
            let mut shifted = |delta: f64| {
                m.named_parameters_mut()[pi].1.value_mut().data[i] += delta;
                let l = loss_of(&mut m);
                m.named_parameters_mut()[pi].1.value_mut().data[i] -= delta;
                l
            };
            let numeric = (shifted(H) - shifted(-H)) / (2.0 * H);
            assert!(
                (analytic - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                "{name}[{i}]: backward {analytic} vs finite difference {numeric}"
            );
            checked += 1;
        }
    }
    // stem 36 + bn 8, block: 2 × (144 + 8), fc1 4 + 1, fc2 4 + 4, head 192 + 3.
    assert_eq!(checked, 44 + 304 + 5 + 8 + 195);
}

fn digits() -> ImageSet {
    let data = train::load_digits(&train::default_data_path()).unwrap();
    data.split(7, TEST_IMAGES).0
}

/// 20 Adam steps of the example's model on the digits: the losses and the
/// final parameters, read back.
fn se_steps<B: Backend>(b: B, data: &ImageSet) -> (Vec<f32>, Vec<f32>) {
    let mut m = SeNet::new(&mut Init::new(b.clone(), 9), 8, 64, 10).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam {
        lr: 2e-3,
        ..Adam::default()
    }))
    .unwrap();
    let losses = (0..20)
        .map(|step| {
            let idx: Vec<usize> = (step * 16..step * 16 + 16).collect();
            let (x, t) = train::batch_tensors(&b, &data.subset(&idx)).unwrap();
            nn::train_step(
                &b,
                &mut m,
                &x,
                &t,
                Loss::SoftmaxCrossEntropy,
                &mut opt,
                true,
            )
            .unwrap()
            .unwrap()
        })
        .collect();
    let mut params = Vec::new();
    for (_, p) in m.named_parameters() {
        params.extend(b.to_vec(p.value()).unwrap());
    }
    (losses, params)
}

/// The user's model trains on every adapter as on the CPU reference (the
/// losses of 20 steps within 1e-5 relative, as tests/training.rs holds
/// the presets: rounding of different summation orders only), and the same
/// run twice on one adapter gives the same bits.
#[test]
fn a_users_model_trains_on_every_adapter_as_on_the_cpu() {
    let data = digits();
    let (cpu_losses, _) = se_steps(Cpu::<f32>::new(), &data);
    assert!(cpu_losses[19] < 0.7 * cpu_losses[0], "{cpu_losses:?}");
    for gpu in gpus() {
        let (losses, params) = se_steps(gpu.clone(), &data);
        for (step, (g, c)) in losses.iter().zip(&cpu_losses).enumerate() {
            assert!(
                (g - c).abs() <= 1e-5 * c.abs().max(1.0),
                "step {step} on {}: gpu {g} vs cpu {c}\ngpu {losses:?}\ncpu {cpu_losses:?}",
                label(gpu)
            );
        }
        let (again, params_again) = se_steps(gpu.clone(), &data);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert!(
            bits(&again) == bits(&losses) && bits(&params_again) == bits(&params),
            "{}: two runs differ",
            label(gpu)
        );
    }
}

/// The example's model in PyTorch (scripts/make_autograd_fixture.py, its
/// output committed): wgconv loads torch's state_dict strictly into the
/// same structs and reproduces the train-mode output, the loss, every
/// parameter's gradient and the running statistics after the step, and
/// the eval-mode output, within 1e-5 · max(1, |torch|), on the CPU
/// reference and every adapter.
#[test]
fn pytorch_gradients_of_a_users_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (io_tensors, _) = io::read_tensors(&dir.join("torch_senet_io.safetensors")).unwrap();
    let get = |name: &str| match &io_tensors[name] {
        io::HostTensor::F32(shape, data) => (shape.clone(), data.clone()),
        other => panic!("{name}: {other:?}"),
    };
    fn run<B: Backend>(b: B, dir: &Path, get: &Fixture) -> Vec<(String, Vec<f32>, Vec<f32>)> {
        let mut m = SeNet::new(&mut Init::new(b.clone(), 0), 8, 64, 10).unwrap();
        io::load(&b, &mut m, &dir.join("torch_senet.safetensors")).unwrap();
        let (xs, x) = get("fixture.input");
        let (ts, t) = get("fixture.target");
        let (x, t) = (b.tensor(&xs, &x).unwrap(), b.tensor(&ts, &t).unwrap());
        let mut out = Vec::new();
        m.eval();
        let eval = b.to_vec(&nn::predict(&b, &mut m, &x).unwrap()).unwrap();
        out.push(("eval output".into(), eval, get("fixture.eval_output").1));
        m.train();
        let g = Graph::new(b.clone());
        let y = m.forward(&g.input(x)).unwrap();
        let loss = F::cross_entropy(&y, &g.input(t)).unwrap();
        loss.backward().unwrap();
        out.push((
            "train output".into(),
            y.to_vec().unwrap(),
            get("fixture.train_output").1,
        ));
        out.push(("loss".into(), loss.to_vec().unwrap(), get("fixture.loss").1));
        for (name, p) in m.named_parameters() {
            let got = b.to_vec(&p.grad().unwrap()).unwrap();
            out.push((format!("grad {name}"), got, get(&format!("grad.{name}")).1));
        }
        for (name, t) in m.named_buffers() {
            let got = b.to_vec(t).unwrap();
            out.push((name.clone(), got, get(&format!("after.{name}")).1));
        }
        out
    }
    let mut results = vec![("cpu".to_string(), run(Cpu::<f32>::new(), &dir, &get))];
    for gpu in gpus() {
        results.push((label(gpu), run(gpu.clone(), &dir, &get)));
    }
    for (who, rows) in &results {
        assert_eq!(
            rows.len(),
            3 + 15 + 6,
            "{who}: every gradient and buffer compared"
        );
        for (what, got, want) in rows {
            assert_eq!(got.len(), want.len(), "{who} {what}");
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-5 * scale,
                    "{who} {what}[{i}]: wgconv {g} vs torch {w}"
                );
            }
        }
    }
}

/// A fixture tensor by name: its shape and values.
type Fixture<'a> = dyn Fn(&str) -> (Vec<usize>, Vec<f32>) + 'a;

fn graph_error(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(e @ Error::InvalidParam { .. }) => e.to_string(),
        other => panic!("expected an InvalidParam error, got {other:?}"),
    }
}

/// What the graph refuses, with a message that says why: a second
/// backward on a freed record, a gradient asked of a tensor that did not
/// take part (or needs none, or before backward), a loss of more than one
/// element or computed without recording, tensors of two graphs, and
/// shapes that do not meet (on every backend).
#[test]
fn graph_misuse_is_an_error() {
    let b = C::new();
    let g = Graph::new(b);
    let x = g.input_with_grad(
        b.tensor(&[2, 3], &[1.0, -2.0, 3.0, 0.5, 1.5, -1.0])
            .unwrap(),
    );
    let unused = g.input_with_grad(b.tensor(&[3], &[1.0; 3]).unwrap());
    let constant = g.input(b.tensor(&[2, 3], &[1.0; 6]).unwrap());
    let y = x.relu().unwrap().mul(&constant).unwrap();
    let loss = F::mse_loss(&y, &constant).unwrap();
    assert!(graph_error(x.grad()).contains("before backward"));
    assert!(graph_error(y.backward()).contains("one element"));
    assert!(!g.is_empty(), "the forward pass recorded nothing");
    loss.backward().unwrap();
    assert_eq!(g.len(), 0, "backward kept its record");
    assert!(x.grad().is_ok());
    assert!(graph_error(loss.backward()).contains("ran on this graph already"));
    assert!(graph_error(unused.grad()).contains("did not take part"));
    assert!(graph_error(constant.grad()).contains("needs no gradient"));
    assert!(graph_error(y.relu()).contains("consumed"));
    let other = Graph::new(b);
    let z = other.input(b.tensor(&[2, 3], &[0.0; 6]).unwrap());
    assert!(graph_error(x.add(&z)).contains("another graph"));
    // Nothing recorded without a gradient to take.
    let quiet = Graph::no_grad(b);
    let q = quiet.input_with_grad(b.tensor(&[1], &[2.0]).unwrap());
    let l = q.mul(&q).unwrap();
    assert_eq!(quiet.len(), 0);
    assert!(graph_error(l.backward()).contains("does not depend"));
    let live = Graph::new(b);
    let w = live.input_with_grad(b.tensor(&[1], &[2.0]).unwrap());
    let l = live.without_grad(|| w.mul(&w).unwrap());
    assert!(graph_error(l.backward()).contains("does not depend"));
    // Shapes that do not meet, on the reference and every adapter.
    fn mismatch<B: Backend>(b: B) -> Error {
        let g = Graph::new(b.clone());
        let a = g.input_with_grad(b.tensor(&[2, 3], &[1.0; 6]).unwrap());
        let c = g.input(b.tensor(&[3, 2], &[1.0; 6]).unwrap());
        a.add(&c).unwrap_err()
    }
    let mut errors = vec![mismatch(Cpu::<f32>::new())];
    errors.extend(gpus().iter().map(|gpu| mismatch(gpu.clone())));
    for e in errors {
        assert!(matches!(e, Error::ShapeMismatch { op: "add", .. }), "{e}");
    }
}

/// A state_dict with a missing, extra or wrongly shaped key is refused
/// with the key named, and the model is left as it was; `strict: false`
/// loads what fits and lists the rest.
#[test]
fn state_dict_mismatches_name_the_key_and_change_nothing() {
    let b = Cpu::<f32>::new();
    let dir = std::env::temp_dir().join(format!("wgconv-autograd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let donor = SeNet::new(&mut Init::new(b, 1), 8, 64, 10).unwrap();
    let good = io::state_dict(&b, &donor).unwrap();
    let write = |name: &str, entries: Vec<(String, io::HostTensor)>| {
        let path = dir.join(name);
        io::save_tensors(&path, &entries, &[]).unwrap();
        path
    };
    let missing: Vec<_> = good
        .iter()
        .filter(|(n, _)| n != "block.fc1.bias")
        .cloned()
        .collect();
    let mut extra = good.clone();
    extra.push((
        "block.fc3.weight".into(),
        io::HostTensor::F32(vec![2], vec![0.0, 1.0]),
    ));
    let reshaped: Vec<_> = good
        .iter()
        .map(|(n, t)| match (n.as_str(), t) {
            ("head.weight", io::HostTensor::F32(_, v)) => {
                (n.clone(), io::HostTensor::F32(vec![512, 10], v.clone()))
            }
            _ => (n.clone(), t.clone()),
        })
        .collect();
    let cases = [
        (
            "missing",
            write("missing.safetensors", missing),
            "block.fc1.bias is missing",
        ),
        (
            "extra",
            write("extra.safetensors", extra),
            "block.fc3.weight",
        ),
        (
            "reshaped",
            write("reshaped.safetensors", reshaped),
            "head.weight is F32 [512, 10]",
        ),
    ];
    for (what, path, says) in &cases {
        let mut m = SeNet::new(&mut Init::new(b, 2), 8, 64, 10).unwrap();
        let before = io::state_dict(&b, &m).unwrap();
        let e = io::load(&b, &mut m, path).unwrap_err().to_string();
        assert!(e.contains(says), "{what}: {e}");
        assert!(
            io::state_dict(&b, &m).unwrap() == before,
            "{what}: the model changed"
        );
    }
    let mut m = SeNet::new(&mut Init::new(b, 2), 8, 64, 10).unwrap();
    let (_, report) = io::load_with(&b, &mut m, &cases[0].1, false).unwrap();
    assert_eq!(report.missing, ["block.fc1.bias"]);
    assert!(report.unexpected.is_empty());
    let (_, report) = io::load_with(&b, &mut m, &cases[1].1, false).unwrap();
    assert_eq!(report.unexpected, ["block.fc3.weight"]);
    assert!(
        io::state_dict(&b, &m).unwrap() == good,
        "a non-strict load of every key"
    );
    let e = io::load_with(&b, &mut m, &cases[2].1, false).unwrap_err();
    assert!(e.to_string().contains("head.weight"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The autodiff's convolution keeps Winograd's transformed input instead
/// of x where the backend shares it (Auto on a CPU adapter, for a 3x3
/// stride-1 layer of 32 channels), and its gradients are still bit for
/// bit the plain ops' on every adapter: the weight gradient
/// `conv2d_weight_grad(x, dy)`, the input gradient `conv2d_input_grad`;
/// under `no_grad` nothing is kept and the output is `conv2d`'s.
#[test]
fn conv2d_gradients_through_the_kept_transform_are_the_plain_ops() {
    let (xs, ws) = ([2usize, 32, 10, 10], [32usize, 32, 3, 3]);
    let p = Conv2dParams::square(1, 1);
    let mut rng = Rng::new(91);
    let (xv, wv) = (
        rng.floats(xs.iter().product()),
        rng.floats(ws.iter().product()),
    );
    let dyv = rng.floats(2 * 32 * 10 * 10);
    for gpu in gpus() {
        let who = label(gpu);
        let g = Graph::new(gpu.clone());
        let x = g.input_with_grad(gpu.tensor(&xs, &xv).unwrap());
        let w = g.input_with_grad(gpu.tensor(&ws, &wv).unwrap());
        let y = F::conv2d(&x, &w, None, &p).unwrap();
        common::backward_from(&y, &dyv);
        let (xt, wt) = (gpu.tensor(&xs, &xv).unwrap(), gpu.tensor(&ws, &wv).unwrap());
        let dy = gpu.tensor(&[2, 32, 10, 10], &dyv).unwrap();
        let want_y = gpu.conv2d(&xt, &wt, None, &p).unwrap().to_vec().unwrap();
        let want_dw = gpu.conv2d_weight_grad(&xt, &dy, ws, &p).unwrap();
        let want_dx = gpu.conv2d_input_grad(&dy, &wt, xs, &p).unwrap();
        // The path under test: CPU adapters keep V for this layer.
        let (_, kept) = gpu.conv2d_keeping_transform(&xt, &wt, None, &p).unwrap();
        assert_eq!(kept.is_some(), gpu.facts().cpu, "{who}");
        assert_eq!(y.to_vec().unwrap(), want_y, "{who}");
        assert_eq!(
            w.grad().unwrap().to_vec().unwrap(),
            want_dw.to_vec().unwrap(),
            "{who}"
        );
        assert_eq!(
            x.grad().unwrap().to_vec().unwrap(),
            want_dx.to_vec().unwrap(),
            "{who}"
        );
        let quiet = Graph::no_grad(gpu.clone());
        let (xq, wq) = (quiet.input(xt.clone()), quiet.input(wt.clone()));
        let yq = F::conv2d(&xq, &wq, None, &p).unwrap();
        assert_eq!(yq.to_vec().unwrap(), want_y, "{who}");
    }
}
