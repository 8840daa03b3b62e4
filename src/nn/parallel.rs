//! Data-parallel training: replicas of one model, each on its own device
//! (and, through a [`Collective`], in other processes), each taking the
//! gradient of its shard of every batch. wgpu cannot hand GPU memory to
//! another device or to NCCL, so gradients cross through host memory.
//!
//! One step, [`DataParallel::train_step`]:
//!
//! 1. the batch of `N` rows is split into `S` contiguous shards
//!    ([`shard_ranges`]; `S` = ranks × local replicas, shard `g` belongs to
//!    replica `g mod L` of rank `g div L`);
//! 2. every replica runs forward, loss and backward on its shard (local
//!    replicas on threads of their own) and reads its gradients back as one
//!    flat buffer in `named_parameters` order;
//! 3. rank 0 gathers every shard's buffer and sums them **in shard order**,
//!    each weighted by its share of the batch, `n_g / N`
//!    ([`reduce_in_order`]), so the result is the gradient of the batch's
//!    mean loss and the same bits every run;
//! 4. the primary replica (replica 0 of rank 0) alone applies the optimizer
//!    step and its parameters and batch-norm buffers are copied to every
//!    other replica, which therefore stay bit-identical to it whatever
//!    their adapters round differently.
//!
//! Batch norm normalises with each shard's own statistics, as PyTorch's
//! DistributedDataParallel does without SyncBatchNorm, and the running
//! statistics every replica starts a step with are the primary's (DDP's
//! `broadcast_buffers`). Dropout draws its masks per replica.
//!
//! The same shards give the same bits whether they run as replicas in one
//! process or as ranks of an MPI job: the reduction is the same function
//! over the same buffers in the same order.

use super::{walk, walk_mut, Backend, Entry, EntryMut, Forward, Graph, Loss, ModuleExt, Optimizer};
use crate::Error;
use std::ops::Range;
use web_time::Instant;

/// What data-parallel training needs from a group of processes (an MPI
/// communicator; implemented by the `wgconv` command line's `mpi`
/// feature). Every rank calls each method in the same order.
pub trait Collective {
    /// This process's index, 0 for the one that steps and reports.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// Every rank's `local` (all of the same length), concatenated in rank
    /// order, on rank 0; an empty vector on the others.
    fn gather(&self, local: &[f32]) -> Result<Vec<f32>, Error>;
    /// Rank 0's `buf` into every rank's.
    fn broadcast(&self, buf: &mut [f32]) -> Result<(), Error>;
    /// Rank 0's `buf` into every rank's.
    fn broadcast_u64(&self, buf: &mut [u64]) -> Result<(), Error>;
    /// Every rank's `value`, in rank order, on every rank.
    fn all_gather_u64(&self, value: u64) -> Result<Vec<u64>, Error>;
}

/// One data-parallel step's loss and where its time went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// The batch's mean loss before the update (the shards' losses
    /// weighted by their share of the batch).
    pub loss: f32,
    /// Forward and backward passes (the slowest replica's) and the
    /// optimizer step, each waited for on its device.
    pub compute_seconds: f64,
    /// Everything else: reading gradients back, gathering and reducing
    /// them, sending the updated weights to every replica.
    pub communication_seconds: f64,
}

/// The rows of each of `shards` contiguous shards of `n` rows: sizes
/// differ by at most one, the larger first (`n = 10, shards = 4` gives
/// 3, 3, 2, 2). A shard is empty only when `n < shards`.
pub fn shard_ranges(n: usize, shards: usize) -> Vec<Range<usize>> {
    let shards = shards.max(1);
    let (base, extra) = (n / shards, n % shards);
    let mut start = 0;
    (0..shards)
        .map(|g| {
            let len = base + usize::from(g < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .collect()
}

/// `Σ_g w_g · grads[g]` element by element, summed in the order of `grads`
/// starting from shard 0, where `w_g = rows[g] / Σ rows` (shards with no
/// rows add nothing). The order is fixed, so the result depends only on
/// the inputs, never on timing or on how many processes held them.
pub fn reduce_in_order(grads: &[&[f32]], rows: &[usize]) -> Vec<f32> {
    let total: usize = rows.iter().sum();
    let len = grads.first().map_or(0, |g| g.len());
    let mut acc = vec![0.0f32; len];
    for (g, &n) in grads.iter().zip(rows) {
        if n == 0 {
            continue;
        }
        let w = (n as f64 / total as f64) as f32;
        for (a, v) in acc.iter_mut().zip(g.iter()) {
            *a += w * v;
        }
    }
    acc
}

/// Replicas of one model trained data-parallel (see the module docs),
/// each with the backend it runs on. Replica 0 of rank 0 is the primary:
/// it owns the optimizer state, and it is the model to evaluate and
/// checkpoint.
pub struct DataParallel<B: Backend, M> {
    replicas: Vec<(B, M)>,
    comm: Option<Box<dyn Collective>>,
}

impl<B: Backend, M: Forward<B>> std::fmt::Debug for DataParallel<B, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataParallel")
            .field("replicas", &self.describe())
            .field("rank", &self.rank())
            .field("ranks", &self.ranks())
            .finish()
    }
}

impl<B: Backend, M> DataParallel<B, M> {
    /// The local replicas' devices, e.g. "llvmpipe (Vulkan), llvmpipe (Gl)".
    pub fn describe(&self) -> String {
        let d: Vec<String> = self.replicas.iter().map(|(b, _)| b.describe()).collect();
        d.join(", ")
    }
}

fn distributed(message: String) -> Error {
    Error::Distributed { message }
}

/// Names and shapes of a model's parameters and buffers, in order: what
/// must agree between replicas for their flat buffers to line up.
fn layout<B: Backend, M: Forward<B>>(b: &B, m: &M) -> Vec<(String, Vec<usize>)> {
    let mut params = Vec::new();
    let mut buffers = Vec::new();
    walk(m, |name, e| match e {
        Entry::Param(p) => params.push((name, b.shape(p.value()).to_vec())),
        Entry::Buffer(t) => buffers.push((name, b.shape(t).to_vec())),
        _ => {}
    });
    params.extend(buffers);
    params
}

/// FNV-1a over the layout: ranks compare it before they train.
fn layout_hash(layout: &[(String, Vec<usize>)]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for &x in bytes {
            h = (h ^ x as u64).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (name, shape) in layout {
        eat(name.as_bytes());
        eat(&[0xff]);
        for d in shape {
            eat(&(*d as u64).to_le_bytes());
        }
    }
    h
}

/// The primary's weights after a step: parameters then buffers, flat.
fn read_state<B: Backend, M: Forward<B>>(b: &B, m: &M, out: &mut Vec<f32>) -> Result<(), Error> {
    for (_, p) in m.named_parameters() {
        out.extend(b.to_vec(p.value())?);
    }
    for (_, t) in m.named_buffers() {
        out.extend(b.to_vec(t)?);
    }
    Ok(())
}

/// Counters a replica must share with the primary: every batch norm's
/// `num_batches_tracked` and every extra value (dropout seeds and calls,
/// which draw the masks).
fn counters<B: Backend, M: Forward<B>>(m: &M) -> Vec<u64> {
    let mut out = Vec::new();
    walk(m, |_, e| match e {
        Entry::Count(c) | Entry::Extra(c) => out.push(c),
        _ => {}
    });
    out
}

/// Loads a flat state of [`read_state`]'s layout and [`counters`].
fn write_state<B: Backend, M: Forward<B>>(
    b: &B,
    m: &mut M,
    state: &[f32],
    counts: &[u64],
) -> Result<(), Error> {
    let mut at = 0;
    let mut take = |t: &B::Tensor| -> Result<B::Tensor, Error> {
        let shape = b.shape(t).to_vec();
        let len: usize = shape.iter().product();
        let new = b.tensor(&shape, &state[at..at + len])?;
        at += len;
        Ok(new)
    };
    let mut params = Vec::new();
    for (_, p) in m.named_parameters() {
        params.push(take(p.value())?);
    }
    let mut buffers = Vec::new();
    for (_, t) in m.named_buffers() {
        buffers.push(take(t)?);
    }
    let (mut params, mut buffers, mut counts) =
        (params.into_iter(), buffers.into_iter(), counts.iter());
    walk_mut(m, |_, e| match e {
        EntryMut::Param(p) => {
            if let Some(v) = params.next() {
                p.set_value(v);
            }
        }
        EntryMut::Buffer(t) => {
            if let Some(v) = buffers.next() {
                *t = v;
            }
        }
        EntryMut::Count(c) | EntryMut::Extra(c) => {
            if let Some(v) = counts.next() {
                *c = *v;
            }
        }
        EntryMut::Training(_) => {}
    });
    Ok(())
}

/// One replica's part of a step.
struct ShardGradient {
    /// In `named_parameters` order, flat.
    grad: Vec<f32>,
    loss: f32,
    /// Seconds the device took for forward and backward.
    seconds: f64,
}

/// Forward, loss and backward of one replica on its rows.
fn shard_gradient<B: Backend, M: Forward<B>>(
    b: &B,
    m: &mut M,
    x: (&[f32], &[usize]),
    t: (&[f32], &[usize]),
    loss: Loss,
    params: usize,
) -> Result<ShardGradient, Error> {
    if x.1[0] == 0 {
        return Ok(ShardGradient {
            grad: vec![0.0; params],
            loss: 0.0,
            seconds: 0.0,
        });
    }
    let start = Instant::now();
    let xt = b.tensor(x.1, x.0)?;
    let tt = b.tensor(t.1, t.0)?;
    let value = b.record(|| {
        m.zero_grad();
        let g = Graph::new(b.clone());
        let y = m.forward(&g.input(xt))?;
        let l = loss.forward(&y, &g.input(tt))?;
        l.backward()?;
        Ok(l.value().clone())
    })?;
    b.sync()?;
    let compute = start.elapsed().as_secs_f64();
    let mut flat = Vec::with_capacity(params);
    for (_, p) in m.named_parameters() {
        match p.grad() {
            Some(g) => flat.extend(b.to_vec(&g)?),
            None => flat.extend(std::iter::repeat_n(
                0.0,
                b.shape(p.value()).iter().product(),
            )),
        }
    }
    let loss = b.to_vec(&value)?.first().copied().unwrap_or(f32::NAN);
    Ok(ShardGradient {
        grad: flat,
        loss,
        seconds: compute,
    })
}

impl<B: Backend, M: Forward<B>> DataParallel<B, M> {
    /// This process's rank (0 without a group of processes).
    pub fn rank(&self) -> usize {
        self.comm.as_ref().map_or(0, |c| c.rank())
    }

    /// The number of processes (1 without a group).
    pub fn ranks(&self) -> usize {
        self.comm.as_ref().map_or(1, |c| c.size())
    }

    /// Whether this process holds the primary replica (rank 0), the one
    /// that reports, evaluates and writes checkpoints.
    pub fn is_primary(&self) -> bool {
        self.rank() == 0
    }

    /// How many shards each batch is split into: ranks × local replicas.
    pub fn shards(&self) -> usize {
        self.ranks() * self.replicas.len()
    }

    /// The local replicas with their backends; the first is the primary
    /// on rank 0.
    pub fn replicas(&self) -> &[(B, M)] {
        &self.replicas
    }

    /// Replica 0 and its backend: the model to evaluate, save and
    /// checkpoint. Changes made to it reach the others with
    /// [`DataParallel::sync_from_primary`].
    pub fn primary(&mut self) -> (&B, &mut M) {
        let (b, m) = &mut self.replicas[0];
        (b, m)
    }

    /// Fails unless a batch of `rows` gives every shard at least one row.
    pub fn check_batch(&self, rows: usize) -> Result<(), Error> {
        if rows < self.shards() {
            return Err(Error::InvalidParam {
                op: "DataParallel",
                param: "batch",
                message: format!(
                    "of {rows} images cannot be split into {} shards ({} rank(s) × {} replica(s)): \
                     give a batch of at least {0} or fewer devices",
                    self.shards(),
                    self.ranks(),
                    self.replicas.len()
                ),
            });
        }
        Ok(())
    }

    /// Rank 0's `values` into every rank's (a resumed run's data-order
    /// state and epoch count).
    pub fn broadcast_u64(&self, values: &mut [u64]) -> Result<(), Error> {
        match &self.comm {
            Some(c) => c.broadcast_u64(values),
            None => Ok(()),
        }
    }

    fn state_len(&self) -> usize {
        layout(&self.replicas[0].0, &self.replicas[0].1)
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }

    fn share(&self, state: &mut [f32], counts: &mut [u64]) -> Result<(), Error> {
        if let Some(c) = &self.comm {
            c.broadcast(state)?;
            c.broadcast_u64(counts)?;
        }
        Ok(())
    }
}

impl<B, M> DataParallel<B, M>
where
    B: Backend + Send,
    M: Forward<B> + Send,
{
    /// Replicas of one model in this process (one per device; replica 0 is
    /// the primary), optionally as one rank of a group of processes. The
    /// replicas must have the same parameters and buffers (names and
    /// shapes), and so must every rank's; all then take the primary's
    /// weights (rank 0's, broadcast), so they start identical.
    pub fn new(replicas: Vec<(B, M)>, comm: Option<Box<dyn Collective>>) -> Result<Self, Error> {
        let Some((first_b, first)) = replicas.first() else {
            return Err(distributed("no replicas: give at least one device".into()));
        };
        let ours = layout(first_b, first);
        for (i, (b, r)) in replicas.iter().enumerate().skip(1) {
            if layout(b, r) != ours {
                return Err(distributed(format!(
                    "replica {i} ({}) has other parameters than replica 0 ({})",
                    b.describe(),
                    first_b.describe()
                )));
            }
        }
        if let Some(c) = &comm {
            let hashes = c.all_gather_u64(layout_hash(&ours))?;
            let odd: Vec<usize> = (0..hashes.len())
                .filter(|&r| hashes[r] != hashes[0])
                .collect();
            if !odd.is_empty() {
                return Err(distributed(format!(
                    "rank(s) {odd:?} built another model than rank 0 (their parameter names \
                     and shapes differ): start every rank with the same model and settings"
                )));
            }
        }
        let mut dp = DataParallel { replicas, comm };
        dp.sync_from_primary()?;
        Ok(dp)
    }

    /// Copies the primary's parameters, buffers and counters (rank 0's) to
    /// every other replica, local and remote: after building, and after
    /// loading a checkpoint into the primary.
    pub fn sync_from_primary(&mut self) -> Result<(), Error> {
        let mut state = Vec::new();
        let mut counts = counters(&self.replicas[0].1);
        if self.is_primary() {
            let (b, m) = &self.replicas[0];
            read_state(b, m, &mut state)?;
        } else {
            state = vec![0.0; self.state_len()];
        }
        self.share(&mut state, &mut counts)?;
        let start = usize::from(self.is_primary());
        for (b, r) in &mut self.replicas[start..] {
            write_state(b, r, &state, &counts)?;
        }
        Ok(())
    }

    /// One training step on a batch held on the host: `x` of shape
    /// `x_shape` (`[N, ...]`) and targets `t` of shape `t_shape`
    /// (`[N, ...]`); see the module docs for what happens. Every rank
    /// passes the same whole batch and takes its own shards of it. The
    /// returned loss is the same on every rank.
    pub fn train_step(
        &mut self,
        x: &[f32],
        x_shape: &[usize],
        t: &[f32],
        t_shape: &[usize],
        loss: Loss,
        optimizer: &mut Optimizer<B>,
    ) -> Result<StepReport, Error> {
        let start = Instant::now();
        let n = x_shape.first().copied().unwrap_or(0);
        if n == 0 || t_shape.first() != Some(&n) {
            return Err(Error::InvalidParam {
                op: "DataParallel::train_step",
                param: "batch",
                message: format!(
                    "needs at least one row, with as many targets: x {x_shape:?}, targets {t_shape:?}"
                ),
            });
        }
        for (shape, data) in [(x_shape, x), (t_shape, t)] {
            let expected: usize = shape.iter().product();
            if data.len() != expected {
                return Err(Error::DataLength {
                    shape: shape.to_vec(),
                    expected,
                    got: data.len(),
                });
            }
        }
        let (x_row, t_row) = (x.len() / n, t.len() / n);
        let local = self.replicas.len();
        let ranges = shard_ranges(n, self.shards());
        let mine = &ranges[self.rank() * local..(self.rank() + 1) * local];
        let params = self.replicas[0].1.parameter_count(&self.replicas[0].0);

        // 2: every local replica on its shard, concurrently.
        let work = |(b, m): &mut (B, M), r: &Range<usize>| {
            let mut xs = x_shape.to_vec();
            let mut ts = t_shape.to_vec();
            xs[0] = r.len();
            ts[0] = r.len();
            shard_gradient(
                b,
                m,
                (&x[r.start * x_row..r.end * x_row], &xs),
                (&t[r.start * t_row..r.end * t_row], &ts),
                loss,
                params,
            )
        };
        // One replica, or a browser (no threads): in turn.
        let results: Vec<Result<ShardGradient, Error>> =
            if local == 1 || cfg!(target_arch = "wasm32") {
                self.replicas
                    .iter_mut()
                    .zip(mine)
                    .map(|(m, r)| work(m, r))
                    .collect()
            } else {
                std::thread::scope(|s| {
                    let handles: Vec<_> = self
                        .replicas
                        .iter_mut()
                        .zip(mine)
                        .map(|(m, r)| s.spawn(move || work(m, r)))
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| {
                            h.join().unwrap_or_else(|_| {
                                Err(distributed("a replica's thread panicked".into()))
                            })
                        })
                        .collect()
                })
            };
        let mut sent = Vec::with_capacity(local * (params + 1));
        let mut compute = 0.0f64;
        for r in results {
            let r = r?;
            sent.extend(r.grad);
            sent.push(r.loss);
            compute = compute.max(r.seconds);
        }

        // 3: every shard's gradient on rank 0, reduced in shard order.
        let all = match &self.comm {
            Some(c) => c.gather(&sent)?,
            None => sent,
        };
        let counts_len = counters(&self.replicas[0].1).len();
        let mut state = vec![0.0f32; self.state_len() + 1];
        let mut counts = vec![0u64; counts_len];
        if self.is_primary() {
            let rows: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
            let chunks: Vec<&[f32]> = all.chunks_exact(params + 1).map(|c| &c[..params]).collect();
            let grad = reduce_in_order(&chunks, &rows);
            let batch_loss = all
                .chunks_exact(params + 1)
                .zip(&rows)
                .fold(0.0f64, |acc, (c, &n_g)| acc + c[params] as f64 * n_g as f64)
                / n as f64;
            // 4: the optimizer step on the primary alone.
            let step_start = Instant::now();
            let (b, primary) = &mut self.replicas[0];
            let mut at = 0;
            for (_, p) in primary.named_parameters() {
                let shape = b.shape(p.value()).to_vec();
                let len: usize = shape.iter().product();
                p.set_grad(Some(b.tensor(&shape, &grad[at..at + len])?));
                at += len;
            }
            b.record(|| optimizer.step(b, primary))?;
            b.sync()?;
            compute += step_start.elapsed().as_secs_f64();
            state.clear();
            read_state(b, primary, &mut state)?;
            state.push(batch_loss as f32);
            counts = counters(primary);
        }
        self.share(&mut state, &mut counts)?;
        let batch_loss = state.pop().unwrap_or(f32::NAN);
        let first = usize::from(self.is_primary());
        for (b, r) in &mut self.replicas[first..] {
            write_state(b, r, &state, &counts)?;
        }
        let total = start.elapsed().as_secs_f64();
        Ok(StepReport {
            loss: batch_loss,
            compute_seconds: compute,
            communication_seconds: (total - compute).max(0.0),
        })
    }
}
