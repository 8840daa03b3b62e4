//! Data-parallel training (`nn::DataParallel`): replicas on the adapters
//! of this machine against one device on the whole batch, replicas staying
//! bit-identical, runs repeating bit for bit, ranks of a group of
//! processes (threads here, standing in for MPI) giving the same bits as
//! replicas in one process, and the inputs it refuses.
mod common;
use common::gpus;
use std::sync::{Arc, Barrier, Mutex};
use wgconv::nn::parallel::{reduce_in_order, shard_ranges};
use wgconv::nn::{
    one_hot, train_step, Backend, Collective, Cpu, DataParallel, Layer, Loss, ModuleExt, Optimizer,
    OptimizerConfig, Sequential,
};
use wgconv::rng::Rng;
use wgconv::train::{self, ImageSet, Preset, RunOptions, TrainConfig, TEST_IMAGES};
use wgconv::{Adam, Error, Gpu};

const BATCH: usize = 32;
const STEPS: usize = 20;

fn optimizer<B: Backend>() -> Optimizer<B> {
    Optimizer::new(OptimizerConfig::Adam(Adam {
        lr: 2e-3,
        ..Adam::default()
    }))
    .unwrap()
}

/// The first `STEPS` batches of the digits, as the trainer feeds them.
fn batches() -> Vec<(Vec<f32>, Vec<f32>)> {
    let all = train::load_digits(&train::default_data_path()).unwrap();
    let (tr, _) = all.split(1, TEST_IMAGES);
    (0..STEPS)
        .map(|s| {
            let idx: Vec<usize> = (s * BATCH..(s + 1) * BATCH).collect();
            let b = tr.subset(&idx);
            (b.images.clone(), one_hot(&b.labels, 10).unwrap())
        })
        .collect()
}

/// Every parameter and buffer of a replica, flat, in state_dict order.
fn state<B: Backend>((b, m): &(B, Box<dyn Layer<B>>)) -> Vec<f32> {
    let mut out = Vec::new();
    for (_, p) in m.named_parameters() {
        out.extend(b.to_vec(p.value()).unwrap());
    }
    for (_, t) in m.named_buffers() {
        out.extend(b.to_vec(t).unwrap());
    }
    out
}

/// A replica of `preset` on `b`.
fn replica<B: Backend>(preset: Preset, b: B, seed: u64) -> (B, Box<dyn Layer<B>>) {
    (b.clone(), preset.build(b, seed).unwrap())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Per-step losses of plain training on one device, on the whole batches.
fn single_device_losses<B: Backend>(b: B, data: &[(Vec<f32>, Vec<f32>)]) -> (Vec<f32>, Vec<f32>) {
    let mut m = replica(Preset::Digits, b.clone(), 1);
    let mut opt = optimizer::<B>();
    let losses = data
        .iter()
        .map(|(x, t)| {
            let xt = b.tensor(&[BATCH, 1, 8, 8], x).unwrap();
            let tt = b.tensor(&[BATCH, 10], t).unwrap();
            train_step(
                &b,
                &mut m.1,
                &xt,
                &tt,
                Loss::SoftmaxCrossEntropy,
                &mut opt,
                true,
            )
            .unwrap()
            .unwrap()
        })
        .collect();
    (losses, state(&m))
}

/// Per-step losses of data-parallel training, checking after every step
/// that every replica holds the primary's exact bits.
fn data_parallel_losses<B>(backends: Vec<B>, data: &[(Vec<f32>, Vec<f32>)]) -> (Vec<f32>, Vec<f32>)
where
    B: Backend + Send,
{
    let replicas = backends
        .into_iter()
        .map(|b| replica(Preset::Digits, b, 1))
        .collect();
    let mut dp = DataParallel::new(replicas, None).unwrap();
    let mut opt = optimizer::<B>();
    let mut losses = Vec::new();
    for (step, (x, t)) in data.iter().enumerate() {
        let r = dp
            .train_step(
                x,
                &[BATCH, 1, 8, 8],
                t,
                &[BATCH, 10],
                Loss::SoftmaxCrossEntropy,
                &mut opt,
            )
            .unwrap();
        assert!(r.compute_seconds > 0.0, "step {step}: no compute time");
        losses.push(r.loss);
        let primary = bits(&state(&dp.replicas()[0]));
        for (i, rep) in dp.replicas().iter().enumerate().skip(1) {
            assert!(
                bits(&state(rep)) == primary,
                "step {step}: replica {i} ({}) differs from the primary",
                rep.0.describe()
            );
        }
    }
    (losses, state(&dp.replicas()[0]))
}

/// Two devices: the machine's first two adapters, or, on a machine with
/// one, two devices on it.
fn two_gpus() -> Vec<Gpu> {
    let all = gpus();
    assert!(
        !all.is_empty() || std::env::var("WGCONV_REQUIRE_GPU").as_deref() != Ok("1"),
        "no adapter"
    );
    match all {
        [] => Vec::new(),
        [one] => {
            let name = one.info().name;
            vec![
                Gpu::all_matching(&name).unwrap().remove(0),
                Gpu::all_matching(&name).unwrap().remove(0),
            ]
        }
        [a, b, ..] => vec![a.clone(), b.clone()],
    }
}

/// Reduction order aside, two shards of 16 are the batch of 32: the per
/// step losses of 20 Adam steps agree within 1e-5 relative (a wrong
/// shard weight, a lost shard or stale weights on a replica move them by
/// 1e-2 and more within a few steps).
#[test]
fn two_replicas_match_one_device_for_20_steps() {
    let data = batches();
    let gpus = two_gpus();
    if gpus.is_empty() {
        eprintln!("*** SKIPPING: no GPU adapter");
        return;
    }
    let names: Vec<String> = gpus.iter().map(|g| g.describe()).collect();
    let (want, want_state) = single_device_losses(gpus[0].clone(), &data);
    let (got, got_state) = data_parallel_losses(gpus.clone(), &data);
    for (step, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "{names:?} step {step}: 2 replicas loss {g}, one device {w}"
        );
    }
    let worst = got_state
        .iter()
        .zip(&want_state)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-4,
        "{names:?}: weights after 20 steps differ by {worst}"
    );
    // The losses moved: the comparison is of a model that learned.
    assert!(want[STEPS - 1] < 0.9 * want[0], "{want:?}");

    // The same run again gives the same bits.
    let (again, again_state) = data_parallel_losses(gpus, &data);
    assert_eq!(bits(&again), bits(&got));
    assert!(
        bits(&again_state) == bits(&got_state),
        "a repeated run differs"
    );
}

/// The same comparison on the CPU reference, where nothing but the order
/// of the sum over the batch differs.
#[test]
fn cpu_replicas_match_one_cpu_for_20_steps() {
    let data = batches();
    let (want, _) = single_device_losses(Cpu::<f32>::new(), &data);
    let (got, _) = data_parallel_losses(vec![Cpu::<f32>::new(); 3], &data);
    for (step, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "step {step}: 3 replicas {g}, one {w}"
        );
    }
}

/// One replica is plain training: the same ops on the same values, the
/// gradient multiplied by a weight of exactly 1.
#[test]
fn one_replica_is_bit_identical_to_plain_training() {
    let data = &batches()[..5];
    let mut backends: Vec<Gpu> = gpus().to_vec();
    backends.truncate(2);
    for gpu in backends {
        let (want, want_state) = single_device_losses(gpu.clone(), data);
        let (got, got_state) = data_parallel_losses(vec![gpu.clone()], data);
        assert_eq!(bits(&got), bits(&want), "{}", gpu.describe());
        assert!(bits(&got_state) == bits(&want_state), "{}", gpu.describe());
    }
    let (want, want_state) = single_device_losses(Cpu::<f32>::new(), data);
    let (got, got_state) = data_parallel_losses(vec![Cpu::<f32>::new()], data);
    assert_eq!(bits(&got), bits(&want));
    assert!(bits(&got_state) == bits(&want_state));
}

#[test]
fn shards_split_evenly_larger_first() {
    let lens = |n, s| -> Vec<usize> { shard_ranges(n, s).iter().map(|r| r.len()).collect() };
    assert_eq!(lens(10, 4), vec![3, 3, 2, 2]);
    assert_eq!(lens(32, 2), vec![16, 16]);
    assert_eq!(lens(3, 5), vec![1, 1, 1, 0, 0]);
    let r = shard_ranges(10, 4);
    assert_eq!(
        (r[0].start, r[1].start, r[2].start, r[3].start, r[3].end),
        (0, 3, 6, 8, 10)
    );
}

#[test]
fn reduction_weights_each_shard_by_its_rows_in_shard_order() {
    let a = [1.0f32, -2.0];
    let b = [3.0f32, 4.0];
    let c = [100.0f32, 100.0];
    let g = reduce_in_order(&[&a, &b, &c], &[1, 3, 0]);
    assert_eq!(g, vec![0.25 * 1.0 + 0.75 * 3.0, 0.25 * -2.0 + 0.75 * 4.0]);
    // Fixed order: (1e8·w0 + 1·w1) + (−1e8·w2) rounds away the 1, the
    // reverse order would not: the result is the in-order sum's.
    let (x, y, z) = ([1e8f32], [1.0f32], [-1e8f32]);
    let third = (1.0f64 / 3.0) as f32;
    let want = (third * 1e8 + third * 1.0) + third * -1e8;
    assert_eq!(reduce_in_order(&[&x, &y, &z], &[1, 1, 1]), vec![want]);
}

/// A group of ranks as threads, exchanging through shared slots: the
/// protocol an MPI communicator carries, without MPI.
struct ThreadGroup {
    rank: usize,
    size: usize,
    barrier: Arc<Barrier>,
    f32s: Arc<Mutex<Vec<Vec<f32>>>>,
    u64s: Arc<Mutex<Vec<Vec<u64>>>>,
}

impl ThreadGroup {
    fn new(size: usize) -> Vec<ThreadGroup> {
        let barrier = Arc::new(Barrier::new(size));
        let f32s = Arc::new(Mutex::new(vec![Vec::new(); size]));
        let u64s = Arc::new(Mutex::new(vec![Vec::new(); size]));
        (0..size)
            .map(|rank| ThreadGroup {
                rank,
                size,
                barrier: barrier.clone(),
                f32s: f32s.clone(),
                u64s: u64s.clone(),
            })
            .collect()
    }
}

impl ThreadGroup {
    /// Rank 0's `buf` into every rank's, through slot 0.
    fn share<T: Copy>(&self, slots: &Mutex<Vec<Vec<T>>>, buf: &mut [T]) {
        if self.rank == 0 {
            slots.lock().unwrap()[0] = buf.to_vec();
        }
        self.barrier.wait();
        if self.rank != 0 {
            buf.copy_from_slice(&slots.lock().unwrap()[0]);
        }
        self.barrier.wait();
    }
}

impl Collective for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn gather(&self, local: &[f32]) -> Result<Vec<f32>, Error> {
        self.f32s.lock().unwrap()[self.rank] = local.to_vec();
        self.barrier.wait();
        let out = if self.rank == 0 {
            self.f32s.lock().unwrap().concat()
        } else {
            Vec::new()
        };
        self.barrier.wait();
        Ok(out)
    }
    fn broadcast(&self, buf: &mut [f32]) -> Result<(), Error> {
        self.share(&self.f32s, buf);
        Ok(())
    }
    fn broadcast_u64(&self, buf: &mut [u64]) -> Result<(), Error> {
        self.share(&self.u64s, buf);
        Ok(())
    }
    fn all_gather_u64(&self, value: u64) -> Result<Vec<u64>, Error> {
        self.u64s.lock().unwrap()[self.rank] = vec![value];
        self.barrier.wait();
        let out = self.u64s.lock().unwrap().concat();
        self.barrier.wait();
        Ok(out)
    }
}

/// Two ranks of one replica each give the bits of two replicas in one
/// process: same shards, same reduction, same primary step. Run on the
/// CPU reference and on the first adapter.
#[test]
fn two_ranks_give_the_bits_of_two_replicas_in_one_process() {
    let data = &batches()[..6];
    fn ranks<B>(backends: Vec<B>, data: &[(Vec<f32>, Vec<f32>)]) -> Vec<Vec<f32>>
    where
        B: Backend + Send + 'static,
    {
        let groups = ThreadGroup::new(backends.len());
        std::thread::scope(|s| {
            let handles: Vec<_> = backends
                .into_iter()
                .zip(groups)
                .map(|(b, g)| {
                    s.spawn(move || {
                        let m = replica(Preset::Digits, b, 1);
                        let mut dp = DataParallel::new(vec![m], Some(Box::new(g))).unwrap();
                        let mut opt = optimizer::<B>();
                        let mut losses: Vec<f32> = data
                            .iter()
                            .map(|(x, t)| {
                                dp.train_step(
                                    x,
                                    &[BATCH, 1, 8, 8],
                                    t,
                                    &[BATCH, 10],
                                    Loss::SoftmaxCrossEntropy,
                                    &mut opt,
                                )
                                .unwrap()
                                .loss
                            })
                            .collect();
                        losses.extend(state(&dp.replicas()[0]));
                        losses
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }
    let cpu = vec![Cpu::<f32>::new(); 2];
    let in_process = {
        let (mut l, s) = data_parallel_losses(cpu.clone(), data);
        l.extend(s);
        l
    };
    let by_rank = ranks(cpu, data);
    for (r, got) in by_rank.iter().enumerate() {
        assert!(
            bits(got) == bits(&in_process),
            "CPU rank {r} differs from in-process replicas"
        );
    }
    if let Some(gpu) = gpus().first() {
        let two = vec![gpu.clone(), gpu.clone()];
        let (mut want, s) = data_parallel_losses(two.clone(), data);
        want.extend(s);
        for (r, got) in ranks(two, data).iter().enumerate() {
            assert!(
                bits(got) == bits(&want),
                "{} rank {r} differs",
                gpu.describe()
            );
        }
    }
}

/// With batch norm (the Fashion preset) the replicas still end every step
/// with the primary's running statistics and batch counts.
#[test]
fn batch_norm_replicas_take_the_primarys_running_statistics() {
    let mut rng = Rng::new(5);
    let n = 8;
    let x = rng.floats(n * 28 * 28);
    let labels: Vec<usize> = (0..n).map(|_| rng.range(0, 9)).collect();
    let t = one_hot(&labels, 10).unwrap();
    let replicas = (0..2)
        .map(|_| replica(Preset::Fashion, Cpu::<f32>::new(), 3))
        .collect();
    let mut dp = DataParallel::new(replicas, None).unwrap();
    let mut opt = optimizer::<Cpu>();
    let before = state(&dp.replicas()[1]);
    for _ in 0..2 {
        dp.train_step(
            &x,
            &[n, 1, 28, 28],
            &t,
            &[n, 10],
            Loss::SoftmaxCrossEntropy,
            &mut opt,
        )
        .unwrap();
    }
    let (p, r) = (&dp.replicas()[0], &dp.replicas()[1]);
    assert!(bits(&state(p)) == bits(&state(r)));
    assert_ne!(bits(&state(r)), bits(&before), "nothing was trained");
    assert_eq!(p.1.named_counts(), r.1.named_counts());
    assert_eq!(p.1.named_counts()[0].1, 2);
    assert_eq!(p.1.named_extras(), r.1.named_extras());
}

#[test]
fn a_batch_smaller_than_the_shards_is_refused() {
    let replicas = (0..3)
        .map(|_| replica(Preset::Digits, Cpu::<f32>::new(), 1))
        .collect();
    let mut dp = DataParallel::new(replicas, None).unwrap();
    let e = dp.check_batch(2).unwrap_err().to_string();
    assert!(e.contains("cannot be split into 3 shards"), "{e}");
    assert!(dp.check_batch(3).is_ok());
    let data = train::load_digits(&train::default_data_path()).unwrap();
    let (tr, te) = data.split(1, TEST_IMAGES);
    let cfg = TrainConfig {
        batch: 2,
        epochs: 1,
        ..TrainConfig::default()
    };
    let small: ImageSet = tr.first(40);
    let e = train::train(&mut dp, &small, &te, &cfg, &RunOptions::default(), |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("batch") && e.contains("3 shards"), "{e}");
}

#[test]
fn replicas_of_different_models_are_refused() {
    let replicas = vec![
        replica(Preset::Digits, Cpu::<f32>::new(), 1),
        replica(Preset::Fashion, Cpu::<f32>::new(), 1),
    ];
    let e = DataParallel::new(replicas, None).unwrap_err().to_string();
    assert!(
        e.contains("replica 1") && e.contains("other parameters"),
        "{e}"
    );
    let e = DataParallel::<Cpu, Sequential<Cpu>>::new(Vec::new(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no replicas"), "{e}");
}

/// Ranks that built different models find out before the first step, on
/// every rank, with the ranks named.
#[test]
fn ranks_with_different_models_are_refused_on_every_rank() {
    let groups = ThreadGroup::new(2);
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|g| {
                s.spawn(move || {
                    let preset = if g.rank == 0 {
                        Preset::Digits
                    } else {
                        Preset::Fashion
                    };
                    let m = replica(preset, Cpu::<f32>::new(), 1);
                    DataParallel::new(vec![m], Some(Box::new(g)))
                        .unwrap_err()
                        .to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for e in errors {
        assert!(
            e.contains("rank(s) [1]") && e.contains("another model"),
            "{e}"
        );
    }
}

#[test]
fn more_devices_than_adapters_is_refused() {
    let count = gpus().len();
    if count == 0 {
        eprintln!("*** SKIPPING: no GPU adapter");
        return;
    }
    let e = Gpu::devices(&(count + 1).to_string())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{} device(s) asked for", count + 1))
            && e.contains(&format!("has {count} adapter(s)")),
        "{e}"
    );
    assert_eq!(Gpu::devices("all").unwrap().len(), count);
    assert_eq!(Gpu::devices("1").unwrap().len(), 1);
    let e = Gpu::devices("no-such-adapter").unwrap_err().to_string();
    assert!(e.contains("no-such-adapter"), "{e}");
}

/// `train` on replicas: the test accuracy of one device's run within a
/// point (the runs differ by rounding only), and a run resumed from a checkpoint ends with the bits of a run
/// never stopped.
#[test]
fn data_parallel_train_resumes_bit_identically() {
    let data = train::load_digits(&train::default_data_path()).unwrap();
    let (tr, te) = data.split(1, TEST_IMAGES);
    let tr = tr.first(320);
    let cfg = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    };
    let make = || {
        let replicas = (0..2)
            .map(|_| replica(Preset::Digits, Cpu::<f32>::new(), cfg.seed))
            .collect();
        DataParallel::new(replicas, None).unwrap()
    };
    let tag = Preset::Digits.tag().to_string();
    let mut straight = make();
    let reports = train::train(
        &mut straight,
        &tr,
        &te,
        &cfg,
        &RunOptions {
            model_tag: tag.clone(),
            ..RunOptions::default()
        },
        |_| {},
    )
    .unwrap();
    let mut one = replica(Preset::Digits, Cpu::<f32>::new(), cfg.seed);
    let single = train::train(&mut one, &tr, &te, &cfg, &RunOptions::default(), |_| {}).unwrap();
    assert!(
        (reports[1].test_accuracy - single[1].test_accuracy).abs() <= 0.01,
        "2 replicas {reports:?}, one device {single:?}"
    );
    assert!(
        reports[1].test_accuracy > 0.3,
        "nothing learned: {reports:?}"
    );
    assert!(reports[1].communication_seconds > 0.0);
    let dir = std::env::temp_dir().join(format!("wgconv-dp-{}", std::process::id()));
    let mut first = make();
    let opts = RunOptions {
        checkpoint: Some(dir.clone()),
        stop_after: Some(1),
        model_tag: tag.clone(),
        ..RunOptions::default()
    };
    train::train(&mut first, &tr, &te, &cfg, &opts, |_| {}).unwrap();
    let mut resumed = make();
    let opts = RunOptions {
        resume: Some(dir.clone()),
        model_tag: tag,
        ..RunOptions::default()
    };
    train::train(&mut resumed, &tr, &te, &cfg, &opts, |_| {}).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    for i in 0..2 {
        assert!(
            bits(&state(&resumed.replicas()[i])) == bits(&state(&straight.replicas()[0])),
            "replica {i} of the resumed run differs from the straight run"
        );
    }
}

/// A host batch whose data does not fill its shape is refused, naming the
/// shape that does not match (images or targets).
#[test]
fn host_batches_of_the_wrong_length_are_refused() {
    let replicas = (0..2)
        .map(|_| replica(Preset::Digits, Cpu::<f32>::new(), 1))
        .collect();
    let mut dp = DataParallel::new(replicas, None).unwrap();
    let mut opt = optimizer::<Cpu>();
    let x = vec![0.0; 4 * 64];
    let t = one_hot(&[1, 2, 3, 4], 10).unwrap();
    let loss = Loss::SoftmaxCrossEntropy;
    let e = dp
        .train_step(
            &x[..4 * 64 - 1],
            &[4, 1, 8, 8],
            &t,
            &[4, 10],
            loss,
            &mut opt,
        )
        .unwrap_err();
    assert!(
        matches!(&e, Error::DataLength { shape, expected: 256, got: 255 } if shape == &[4, 1, 8, 8]),
        "{e}"
    );
    let e = dp
        .train_step(&x, &[4, 1, 8, 8], &t[..39], &[4, 10], loss, &mut opt)
        .unwrap_err();
    assert!(
        matches!(&e, Error::DataLength { shape, expected: 40, got: 39 } if shape == &[4, 10]),
        "{e}"
    );
    assert!(dp
        .train_step(&x, &[4, 1, 8, 8], &t, &[4, 10], loss, &mut opt)
        .is_ok());
}
