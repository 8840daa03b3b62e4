//! Whole-network training: the CPU path's gradients against finite
//! differences, GPU training against CPU training step by step, the digits
//! reaching 95 % on every adapter, safetensors round trips, and batched
//! submission.
mod common;
use common::{gpus, label, Rng};
use wgconv::nn::{
    self, Backend, BackendBase, Conv2d, Cpu, Flatten, Forward, Graph, Init, Linear, Loss,
    MaxPool2d, ModuleExt, Optimizer, OptimizerConfig, Relu, Sequential, Sigmoid,
};
use wgconv::train::{self, ImageSet, RunOptions, TrainConfig, TEST_IMAGES};
use wgconv::{Adam, Pool2dParams, Sgd};

/// conv 3×3 (1→3, pad 1) → ReLU → max-pool 2 → conv 3×3 stride 2 (3→4,
/// pad 1) → sigmoid → flatten → linear (16→5): every layer kind.
fn small_cnn<B: Backend>(b: B, seed: u64) -> Sequential<B> {
    let init = &mut Init::new(b, seed);
    Sequential::new()
        .push(Conv2d::square(init, 1, 3, 3, 1, 1, true).unwrap())
        .push(Relu)
        .push(MaxPool2d(Pool2dParams::window(2)))
        .push(Conv2d::square(init, 3, 4, 3, 2, 1, true).unwrap())
        .push(Sigmoid)
        .push(Flatten)
        .push(Linear::new(init, 16, 5, true).unwrap())
}

const X_SHAPE: [usize; 4] = [3, 1, 8, 8];

fn inputs(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x = rng.floats(X_SHAPE.iter().product());
    let labels: Vec<usize> = (0..X_SHAPE[0]).map(|_| rng.range(0, 4)).collect();
    (x, nn::one_hot(&labels, 5).unwrap())
}

/// ∂L/∂θ of the CPU path (f64) against central differences of the loss
/// for every parameter element and every input element.
#[test]
fn network_gradients_match_finite_differences() {
    const H: f64 = 1e-6;
    let b = Cpu::<f64>::new();
    let mut model = small_cnn(b, 3);
    let (x, t) = inputs(4);
    let x = b.tensor(&X_SHAPE, &x).unwrap();
    let t = b.tensor(&[3, 5], &t).unwrap();
    let loss_of = |m: &mut Sequential<Cpu<f64>>, x: &nn::CpuTensor<f64>| -> f64 {
        let g = Graph::no_grad(b);
        let y = m.forward(&g.input(x.clone())).unwrap();
        let l = Loss::SoftmaxCrossEntropy
            .forward(&y, &g.input(t.clone()))
            .unwrap();
        l.value().data[0]
    };
    let g = Graph::new(b);
    let xv = g.input_with_grad(x.clone());
    let y = model.forward(&xv).unwrap();
    Loss::SoftmaxCrossEntropy
        .forward(&y, &g.input(t.clone()))
        .unwrap()
        .backward()
        .unwrap();
    let dx = xv.grad().unwrap();
    let check = |what: &str, analytic: f64, numeric: f64| {
        assert!(
            (analytic - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
            "{what}: backward {analytic} vs finite difference {numeric}"
        );
    };
    let grads: Vec<(String, Vec<f64>)> = model
        .named_parameters()
        .iter()
        .map(|(name, p)| (name.clone(), p.grad().unwrap().data))
        .collect();
    assert_eq!(grads.len(), 6, "three layers with weight and bias");
    let mut checked = 0;
    for (pi, (name, grad)) in grads.iter().enumerate() {
        for (i, &analytic) in grad.iter().enumerate() {
            let mut shifted = |delta: f64| {
                model.named_parameters_mut()[pi].1.value_mut().data[i] += delta;
                let l = loss_of(&mut model, &x);
                model.named_parameters_mut()[pi].1.value_mut().data[i] -= delta;
                l
            };
            let numeric = (shifted(H) - shifted(-H)) / (2.0 * H);
            check(&format!("{name}[{i}]"), analytic, numeric);
            checked += 1;
        }
    }
    assert_eq!(checked, 27 + 3 + 108 + 4 + 80 + 5);
    for i in 0..x.data.len() {
        let mut plus = x.clone();
        plus.data[i] += H;
        let mut minus = x.clone();
        minus.data[i] -= H;
        let numeric = (loss_of(&mut model, &plus) - loss_of(&mut model, &minus)) / (2.0 * H);
        check(&format!("input[{i}]"), dx.data[i], numeric);
    }
}

/// Gradients accumulate across backward passes until zero_grad.
#[test]
fn gradients_accumulate_until_zero_grad() {
    let b = Cpu::<f64>::new();
    let mut model = small_cnn(b, 5);
    let (x, t) = inputs(6);
    let x = b.tensor(&X_SHAPE, &x).unwrap();
    let t = b.tensor(&[3, 5], &t).unwrap();
    let mut once = Vec::new();
    for pass in 0..2 {
        let g = Graph::new(b);
        let y = model.forward(&g.input(x.clone())).unwrap();
        let l = Loss::SoftmaxCrossEntropy
            .forward(&y, &g.input(t.clone()))
            .unwrap();
        l.backward().unwrap();
        if pass == 0 {
            once = model
                .named_parameters()
                .iter()
                .map(|(_, p)| p.grad().unwrap().data)
                .collect();
        }
    }
    for ((name, p), g1) in model.named_parameters().iter().zip(&once) {
        let g2 = p.grad().unwrap().data;
        for (a, b) in g2.iter().zip(g1) {
            assert!(
                (a - 2.0 * b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{name}: {a} != 2 x {b}"
            );
        }
    }
    model.zero_grad();
    assert!(model
        .named_parameters()
        .iter()
        .all(|(_, p)| p.grad().is_none()));
}

/// The same model, data and seed trained for 20 steps on a GPU and on the
/// CPU reference (f32) give the same loss at every step. They differ only
/// by f32 rounding in different summation orders and in exp/log: measured
/// under 2e-7 relative on lavapipe and llvmpipe over all 20 steps. The
/// bound, 1e-5, leaves room for other adapters' transcendental functions
/// while a wrong gradient (which moves the loss by percents within a few
/// steps) still fails.
#[test]
fn gpu_and_cpu_training_agree_step_by_step() {
    let data = train::load_digits(&train::default_data_path()).unwrap();
    let (train_set, _) = data.split(7, TEST_IMAGES);
    let optimizers = [
        OptimizerConfig::Adam(Adam {
            lr: 2e-3,
            ..Adam::default()
        }),
        OptimizerConfig::Sgd(Sgd {
            lr: 0.05,
            momentum: 0.9,
            ..Sgd::default()
        }),
    ];
    for cfg in optimizers {
        let cpu_losses = run_steps(Cpu::<f32>::new(), &train_set, cfg);
        for gpu in gpus() {
            let gpu_losses = run_steps(gpu.clone(), &train_set, cfg);
            for (step, (g, c)) in gpu_losses.iter().zip(&cpu_losses).enumerate() {
                assert!(
                    (g - c).abs() <= 1e-5 * c.abs().max(1.0),
                    "step {step} with {cfg:?} on {}: gpu loss {g} vs cpu loss {c}\ngpu {gpu_losses:?}\ncpu {cpu_losses:?}",
                    label(gpu)
                );
            }
        }
        // The losses fall: training is doing something.
        assert!(cpu_losses[19] < 0.9 * cpu_losses[0], "{cpu_losses:?}");
    }
}

fn run_steps<B: Backend>(b: B, data: &ImageSet, cfg: OptimizerConfig) -> Vec<f32> {
    let mut model = train::digits_model(b.clone(), 9).unwrap();
    let mut opt = Optimizer::new(cfg).unwrap();
    (0..20)
        .map(|step| {
            let idx: Vec<usize> = (step * 16..step * 16 + 16).collect();
            let (x, t) = train::batch_tensors(&b, &data.subset(&idx)).unwrap();
            nn::train_step(
                &b,
                &mut model,
                &x,
                &t,
                Loss::SoftmaxCrossEntropy,
                &mut opt,
                true,
            )
            .unwrap()
            .unwrap()
        })
        .collect()
}

/// `wgconv train`'s default settings reach 95 % test accuracy on the
/// digits, on every adapter; each epoch reports its steps, then its
/// evaluation batch by batch, then its end.
#[test]
fn digits_training_reaches_95_percent() {
    let data = train::load_digits(&train::default_data_path()).unwrap();
    let cfg = TrainConfig::default();
    let (train_set, test_set) = data.split(cfg.seed, TEST_IMAGES);
    assert_eq!((train_set.len(), test_set.len()), (1437, 360));
    for gpu in gpus() {
        let start = std::time::Instant::now();
        let model = train::digits_model(gpu.clone(), cfg.seed).unwrap();
        let mut events = Vec::new();
        let reports = train::train(
            &mut (gpu.clone(), model),
            &train_set,
            &test_set,
            &cfg,
            &RunOptions::default(),
            |p| events.push(p),
        )
        .unwrap();
        check_progress_order(&events, reports.len(), train_set.len(), test_set.len());
        let last = reports.last().unwrap();
        eprintln!(
            "digits on {}: {:.2} % after {} epochs, {:.1} s",
            label(gpu),
            100.0 * last.test_accuracy,
            reports.len(),
            start.elapsed().as_secs_f64()
        );
        assert!(
            last.test_accuracy >= 0.95,
            "{} on {}: {reports:?}",
            last.test_accuracy,
            label(gpu)
        );
        assert!(last.train_loss < reports[0].train_loss / 4.0, "{reports:?}");
    }
}

/// `events` are, per epoch in order: its start, steps covering `train`
/// images, evaluation batches covering `test` images, its end.
fn check_progress_order(events: &[train::Progress], epochs: usize, train: usize, test: usize) {
    use train::Progress;
    let mut i = 0;
    for epoch in 1..=epochs {
        assert!(
            matches!(events[i], Progress::EpochStart { epoch: e, .. } if e == epoch),
            "{:?}",
            events[i]
        );
        i += 1;
        let (mut trained, mut evaluated) = (0, 0);
        while let Progress::Step { images, .. } = events[i] {
            trained += images;
            i += 1;
        }
        while let Progress::Evaluation {
            epoch: e,
            images,
            total,
        } = events[i]
        {
            assert_eq!((e, total), (epoch, test));
            evaluated += images;
            i += 1;
        }
        assert_eq!((trained, evaluated), (train, test), "epoch {epoch}");
        assert!(
            matches!(events[i], Progress::EpochEnd(r) if r.epoch == epoch),
            "{:?}",
            events[i]
        );
        i += 1;
    }
    assert_eq!(i, events.len());
}

#[test]
fn safetensors_round_trip_is_exact() {
    let dir = std::env::temp_dir().join(format!("wgconv-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, gpu) in gpus().iter().enumerate() {
        let mut model = small_cnn(gpu.clone(), 21);
        // A few Adam steps so the values are not just the initialiser's.
        let (x, t) = inputs(22);
        let x = gpu.tensor(&X_SHAPE, &x).unwrap();
        let t = gpu.tensor(&[3, 5], &t).unwrap();
        let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam::default())).unwrap();
        for _ in 0..3 {
            nn::train_step(
                gpu,
                &mut model,
                &x,
                &t,
                Loss::SoftmaxCrossEntropy,
                &mut opt,
                false,
            )
            .unwrap();
        }
        let path = dir.join(format!("model{i}.safetensors"));
        nn::io::save(gpu, &model, &path, &[("note", "test".to_string())]).unwrap();
        let mut loaded = small_cnn(gpu.clone(), 99);
        let meta = nn::io::load(gpu, &mut loaded, &path).unwrap();
        assert_eq!(meta.get("note").map(String::as_str), Some("test"));
        for ((name, a), (_, b)) in model
            .named_parameters()
            .iter()
            .zip(loaded.named_parameters())
        {
            let (a, b) = (a.value().to_vec().unwrap(), b.value().to_vec().unwrap());
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{name} on {}", label(gpu));
        }
        // The CPU backend reads the same file to the same bits.
        let cpu = Cpu::<f32>::new();
        let mut on_cpu = small_cnn(cpu, 98);
        nn::io::load(&cpu, &mut on_cpu, &path).unwrap();
        for ((name, a), (_, b)) in model
            .named_parameters()
            .iter()
            .zip(on_cpu.named_parameters())
        {
            assert_eq!(a.value().to_vec().unwrap(), b.value().data, "{name} on cpu");
        }
        // A file of another architecture is refused with the tensor named.
        let mut other = train::digits_model(gpu.clone(), 1).unwrap();
        let err = nn::io::load(gpu, &mut other, &path).unwrap_err();
        assert!(matches!(err, wgconv::Error::ModelFile { .. }), "{err}");
    }
    let cpu = Cpu::<f32>::new();
    let missing = nn::io::load(&cpu, &mut small_cnn(cpu, 1), &dir.join("absent"));
    assert!(matches!(missing, Err(wgconv::Error::ModelFile { .. })));
    std::fs::remove_dir_all(&dir).ok();
}

/// The same model and metadata saved twice give the same bytes (the
/// metadata's order in the header is sorted, not a hash map's), and the
/// file still loads.
#[test]
fn saving_twice_writes_the_same_bytes() {
    let dir = std::env::temp_dir().join(format!("wgconv-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = small_cnn(Cpu::<f32>::new(), 4);
    let meta: Vec<(&str, String)> = ["seed", "architecture", "data", "test_accuracy", "b", "a"]
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, i.to_string()))
        .collect();
    let files: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            let path = dir.join(format!("m{i}.safetensors"));
            nn::io::save(&Cpu::<f32>::new(), &model, &path, &meta).unwrap();
            std::fs::read(&path).unwrap()
        })
        .collect();
    for (i, f) in files.iter().enumerate() {
        assert!(f == &files[0], "save {i} differs from save 0");
    }
    let len = u64::from_le_bytes(files[0][..8].try_into().unwrap()) as usize;
    assert_eq!(len % 8, 0, "header not padded to 8 bytes");
    let header = std::str::from_utf8(&files[0][8..8 + len]).unwrap();
    let keys = ["\"a\"", "\"architecture\"", "\"b\"", "\"data\"", "\"seed\""];
    let at: Vec<usize> = keys.iter().map(|k| header.find(k).unwrap()).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "metadata not sorted: {header}"
    );
    let mut loaded = small_cnn(Cpu::<f32>::new(), 5);
    let got = nn::io::load(&Cpu::<f32>::new(), &mut loaded, &dir.join("m0.safetensors")).unwrap();
    assert_eq!(got.get("b").map(String::as_str), Some("4"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Work inside Gpu::record is held back and submitted once; reading a
/// tensor inside the batch still sees every op recorded before it, and the
/// results equal those of unbatched calls.
#[test]
fn batched_submission_gives_the_same_results() {
    for gpu in gpus() {
        let mut rng = Rng::new(31);
        let a = rng.floats(1000);
        let b = rng.floats(1000);
        let ta = gpu.tensor(&[1000], &a).unwrap();
        let tb = gpu.tensor(&[1000], &b).unwrap();
        let plain = gpu
            .relu(&gpu.sigmoid(&ta).unwrap())
            .unwrap()
            .to_vec()
            .unwrap();
        let (inside, after) = gpu
            .record(|| {
                let mut acc = gpu.sigmoid(&ta)?;
                let inside = acc.to_vec()?;
                gpu.add_assign(&mut acc, &tb)?;
                let r = gpu.relu(&acc)?;
                Ok((inside, r))
            })
            .unwrap();
        let after = after.to_vec().unwrap();
        let sig = wgconv::cpu::sigmoid(&a);
        assert_eq!(
            inside,
            gpu.sigmoid(&ta).unwrap().to_vec().unwrap(),
            "on {}",
            label(gpu)
        );
        for i in 0..1000 {
            let want = (sig[i] + b[i]).max(0.0);
            assert!(
                (after[i] - want).abs() <= 1e-6,
                "{i}: {} vs {want} on {}",
                after[i],
                label(gpu)
            );
        }
        assert_eq!(plain, wgconv::cpu::relu(&inside), "on {}", label(gpu));
        // An error inside the batch comes back, and the device stays usable.
        let err = gpu.record(|| gpu.add_assign(&mut ta.clone(), &gpu.zeros(&[3])?));
        assert!(matches!(err, Err(wgconv::Error::ShapeMismatch { .. })));
        assert!(gpu.check_usable().is_ok());
    }
}

/// `bench --suite train`'s measurement on the digits model: every op of
/// the profiled step is filed once under a module and once under its op
/// kind (the two tables add up to the same time), the GEMM rows are the
/// convolution and linear layers', the profile is GPU-timed where the
/// adapter has timestamps, the copy yardstick moved bytes, and each
/// profiled step has a timed step beside it.
#[test]
fn train_bench_profile_accounts_for_every_op() {
    use wgconv::bench::{bench_training, TrainBenchOptions};
    use wgconv::train::Preset;
    let opts = TrainBenchOptions {
        warmup: 1,
        steps: 2,
        profiled: 3,
    };
    for gpu in gpus() {
        let r = bench_training(gpu, Preset::Digits, &Preset::Digits.defaults(), &opts).unwrap();
        let who = label(gpu);
        let layers: f64 = r.by_layer.iter().map(|row| row.ms).sum();
        let ops: f64 = r.by_op.iter().map(|row| row.ms).sum();
        assert!(
            (layers - ops).abs() <= 1e-9 * ops.max(1.0),
            "{who}: {layers} vs {ops}"
        );
        let names: Vec<&str> = r.by_layer.iter().map(|row| row.name.as_str()).collect();
        for want in [
            "0 Conv2d",
            "1 ReLU",
            "2 Conv2d",
            "5 Linear",
            "loss",
            "optimizer",
        ] {
            assert!(names.contains(&want), "{who}: no {want} in {names:?}");
        }
        for row in &r.by_layer {
            let gemm = row.name.ends_with("Conv2d") || row.name.ends_with("Linear");
            assert_eq!(row.gemm_ms > 0.0, gemm, "{who}: {row:?}");
        }
        let gemm: f64 = r.by_layer.iter().map(|row| row.gemm_ms).sum();
        assert!((gemm - r.gemm_ms).abs() <= 1e-9 * gemm, "{who}");
        assert_eq!(
            r.profile_timer == "gpu timestamps",
            gpu.has_timestamps(),
            "{who}"
        );
        assert!(
            r.copy_gbps > 0.0 && r.images_per_second > 0.0,
            "{who}: {r:?}"
        );
        // Three profiled steps, so three timed ones beside them (more
        // than the two asked for).
        assert_eq!((r.profiled_steps, r.steps), (3, 3), "{who}");
        assert!(r.memory_bound_vs_copy > 0.0, "{who}: {r:?}");
        assert!(r.non_gemm_share < 1.0, "{who}: {r:?}");
        assert_eq!(r.parameters, 9930, "{who}");
    }
}

#[cfg(target_os = "linux")]
/// A write leaves no temporary file, and removes the ones killed writers
/// left in the folder (`.NAME.tmpPID-N` of a process that is gone), but not
/// those of a process still running.
#[test]
fn writes_remove_stale_temporary_files() {
    let dir = std::env::temp_dir().join(format!("wgconv-tmp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Process ids past Linux's limit (2^22) never run.
    let stale = dir.join(".model.safetensors.tmp4999999");
    let other = dir.join(".metrics.json.tmp4999998");
    for f in [&stale, &other] {
        std::fs::write(f, b"torn").unwrap();
    }
    let parent = std::os::unix::process::parent_id();
    let running = dir.join(format!(".y.tmp{parent}"));
    std::fs::write(&running, b"in flight").unwrap();
    let cpu = Cpu::<f32>::new();
    nn::io::save(
        &cpu,
        &small_cnn(cpu, 1),
        &dir.join("model.safetensors"),
        &[],
    )
    .unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [format!(".y.tmp{parent}"), "model.safetensors".to_string()],
        "stale temporaries left, or a running writer's removed"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Threads saving the same path at once all succeed and leave one whole
/// file, one of theirs, and no temporary (CI once saw the second rename
/// fail when both threads shared one temporary file).
#[test]
fn concurrent_writes_of_one_path_each_land_whole() {
    let dir = std::env::temp_dir().join(format!("wgconv-race-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("same.bin");
    let writes: Vec<Vec<u8>> = (0..8u8).map(|t| vec![t; 1 << 16]).collect();
    std::thread::scope(|s| {
        for bytes in &writes {
            let path = &path;
            s.spawn(move || {
                for _ in 0..20 {
                    nn::io::write_atomically(path, bytes).unwrap();
                }
            });
        }
    });
    let got = std::fs::read(&path).unwrap();
    assert!(writes.contains(&got), "the file is no one write");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "temporaries left: {left:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Files carry a CRC-32 of every tensor and of the metadata: a flipped bit
/// in a tensor's bytes or an edited metadata value is refused, naming
/// what failed; a file without checksums (PyTorch's) still loads. Loaded
/// values are checked as torch needs them: a NaN parameter, a negative
/// running variance, a negative Adam second moment are refused by name.
#[test]
fn damaged_or_impossible_files_are_refused() {
    use nn::io::{self, HostTensor};
    let dir = std::env::temp_dir().join(format!("wgconv-crc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cpu = Cpu::<f32>::new();
    let model = small_cnn(cpu, 1);
    let path = dir.join("m.safetensors");
    io::save(&cpu, &model, &path, &[("seed", "1".into())]).unwrap();
    let good = std::fs::read(&path).unwrap();
    let load = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        let mut m = small_cnn(cpu, 2);
        io::load(&cpu, &mut m, &path)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert!(load(&good).is_ok());
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x80; // the sign of the last value: still a valid f32
    let e = load(&flipped).unwrap_err();
    assert!(
        e.contains("tensor") && e.contains("fails its checksum"),
        "{e}"
    );
    let needle = b"\"seed\":\"1\"";
    let at = good
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the header holds the seed");
    let mut edited = good.clone();
    edited[at + needle.len() - 2] = b'7';
    let e = load(&edited).unwrap_err();
    assert!(e.contains("metadata fails its checksum"), "{e}");
    // Values torch could not hold, in files whose checksums are right.
    let mut entries = io::state_dict(&cpu, &model).unwrap();
    if let HostTensor::F32(_, v) = &mut entries[0].1 {
        v[3] = f32::NAN;
    }
    io::save_tensors(&path, &entries, &[]).unwrap();
    let mut m = small_cnn(cpu, 2);
    let e = io::load(&cpu, &mut m, &path).unwrap_err().to_string();
    assert!(e.contains("0.weight[3] is NaN"), "{e}");
    // A batch norm's running variance below 0.
    let init = &mut Init::new(cpu, 1);
    let mut bn = Sequential::new().push(wgconv::nn::BatchNorm2d::new(init, 3).unwrap());
    let mut entries = io::state_dict(&cpu, &bn).unwrap();
    for (name, t) in &mut entries {
        if let (true, HostTensor::F32(_, v)) = (name.ends_with("running_var"), t) {
            v[1] = -0.5;
        }
    }
    io::save_tensors(&path, &entries, &[]).unwrap();
    let e = io::load(&cpu, &mut bn, &path).unwrap_err().to_string();
    assert!(e.contains("0.running_var[1] is -0.5"), "{e}");
    // A checkpoint whose Adam second moment went negative.
    let mut model = small_cnn(cpu, 3);
    let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam::default())).unwrap();
    let (x, t) = inputs(5);
    let (x, t) = (
        cpu.tensor(&X_SHAPE, &x).unwrap(),
        cpu.tensor(&[3, 5], &t).unwrap(),
    );
    nn::train_step(
        &cpu,
        &mut model,
        &x,
        &t,
        Loss::SoftmaxCrossEntropy,
        &mut opt,
        false,
    )
    .unwrap();
    let ck = dir.join("checkpoint.safetensors");
    io::save_checkpoint(&cpu, &ck, &model, &opt, &[]).unwrap();
    let (tensors, meta) = io::read_tensors(&ck).unwrap();
    let mut entries: Vec<(String, HostTensor)> = tensors.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in &mut entries {
        if let (true, HostTensor::F32(_, v)) = (name == "optimizer.6.bias.exp_avg_sq", t) {
            v[0] = -1.0;
        }
    }
    let meta: Vec<(&str, String)> = meta
        .iter()
        .filter(|(k, _)| !k.starts_with("wgconv.checksum"))
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    io::save_tensors(&ck, &entries, &meta).unwrap();
    let e = io::load_checkpoint(&cpu, &ck, &mut model, &mut opt)
        .unwrap_err()
        .to_string();
    assert!(e.contains("optimizer.6.bias.exp_avg_sq[0] is -1"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
