//! [`Profiled`]: a [`Backend`] that times every op of a training step and
//! files it under the layer it belongs to, for `wgconv bench --suite
//! train`'s per-layer profile. Each op is submitted on its own and waited
//! for; its time is the GPU's, from timestamps around its passes, where
//! the backend measures that ([`Backend::device_time`]), and the wall clock
//! around submit-and-wait otherwise. A profiled step is slower than a real
//! one: the profile gives shares, the unprofiled step gives the speed.
//! Each op also carries the fewest bytes it can move (every input read
//! once, every output written once), so the memory-bound ones can be held
//! against the adapter's copy bandwidth.

use super::backend::{BnGrads, HostAdamState};
use super::Backend;
use crate::{Adam, BatchNorm, Conv2dParams, Error, Pool2dParams, Sgd};
use std::cell::RefCell;
use std::rc::Rc;
use web_time::Instant;

/// One timed op: the part of the step it ran in, its name, its time.
#[derive(Debug, Clone, PartialEq)]
pub struct OpTime {
    /// The layer's index in the model (None: the loss or the optimizer).
    pub layer: Option<usize>,
    /// The layer's torch class name, or "loss" / "optimizer".
    pub part: &'static str,
    pub op: &'static str,
    /// GPU time where measured, else `wall_ms`.
    pub ms: f64,
    /// Wall clock around the op's submit-and-wait.
    pub wall_ms: f64,
    /// Whether `ms` is GPU time.
    pub device: bool,
    /// The fewest bytes the op reads and writes (0 for the GEMMs, which
    /// are compute-bound).
    pub bytes: f64,
}

impl OpTime {
    /// Whether the op is a convolution or linear layer's GEMM (forward,
    /// input or weight gradient); everything else is the "non-convolution"
    /// work of the profile.
    pub fn is_gemm(&self) -> bool {
        matches!(
            self.op,
            "conv2d"
                | "conv2d_input_grad"
                | "conv2d_weight_grad"
                | "linear"
                | "linear_input_grad"
                | "linear_weight_grad"
        )
    }
}

#[derive(Debug, Default)]
struct State {
    part: (Option<usize>, &'static str),
    times: Vec<OpTime>,
}

/// Wraps a backend, timing each op (see the module doc).
#[derive(Debug, Clone)]
pub struct Profiled<B: Backend> {
    inner: B,
    state: Rc<RefCell<State>>,
}

impl<B: Backend> Profiled<B> {
    pub fn new(inner: B) -> Self {
        Profiled {
            inner,
            state: Rc::new(RefCell::new(State {
                part: (None, "setup"),
                times: Vec::new(),
            })),
        }
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The ops timed since the last call, in order.
    pub fn take(&self) -> Vec<OpTime> {
        std::mem::take(&mut self.state.borrow_mut().times)
    }

    /// Elements of `t`.
    fn n(&self, t: &B::Tensor) -> usize {
        self.inner.shape(t).iter().product()
    }

    /// Times `f`, an op that moves at least `elems(result)` f32 values.
    fn time<R>(
        &self,
        op: &'static str,
        elems: impl FnOnce(&R) -> usize,
        f: impl FnOnce() -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.inner.sync()?;
        let start = Instant::now();
        let (r, device) = self.inner.device_time(|| {
            let r = f()?;
            self.inner.sync()?;
            Ok(r)
        })?;
        let wall_ms = start.elapsed().as_secs_f64() * 1e3;
        let bytes = 4.0 * elems(&r) as f64;
        let mut s = self.state.borrow_mut();
        let (layer, part) = s.part;
        s.times.push(OpTime {
            layer,
            part,
            op,
            ms: device.unwrap_or(wall_ms),
            wall_ms,
            device: device.is_some(),
            bytes,
        });
        Ok(r)
    }
}

impl<B: Backend> Backend for Profiled<B> {
    type Tensor = B::Tensor;
    type SgdState = B::SgdState;
    type AdamState = B::AdamState;

    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn tensor(&self, shape: &[usize], data: &[f32]) -> Result<B::Tensor, Error> {
        self.inner.tensor(shape, data)
    }
    fn to_vec(&self, t: &B::Tensor) -> Result<Vec<f32>, Error> {
        self.inner.to_vec(t)
    }
    fn shape<'a>(&self, t: &'a B::Tensor) -> &'a [usize] {
        self.inner.shape(t)
    }
    fn reshape(&self, t: &B::Tensor, shape: &[usize]) -> Result<B::Tensor, Error> {
        self.inner.reshape(t, shape)
    }
    fn sgd_state_to_host(&self, s: &B::SgdState) -> Result<Option<Vec<f32>>, Error> {
        self.inner.sgd_state_to_host(s)
    }
    fn sgd_state_from_host(
        &self,
        shape: &[usize],
        m: Option<&[f32]>,
    ) -> Result<B::SgdState, Error> {
        self.inner.sgd_state_from_host(shape, m)
    }
    fn adam_state_to_host(&self, s: &B::AdamState) -> Result<HostAdamState, Error> {
        self.inner.adam_state_to_host(s)
    }
    fn adam_state_from_host(
        &self,
        shape: &[usize],
        s: HostAdamState,
    ) -> Result<B::AdamState, Error> {
        self.inner.adam_state_from_host(shape, s)
    }
    fn sync(&self) -> Result<(), Error> {
        self.inner.sync()
    }
    fn enter(&self, index: Option<usize>, name: &'static str) {
        self.state.borrow_mut().part = (index, name);
    }
    /// Not batched: every op is its own submission, to be timed alone.
    fn record<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        f()
    }
    fn conv2d(
        &self,
        x: &B::Tensor,
        w: &B::Tensor,
        b: Option<&B::Tensor>,
        p: &Conv2dParams,
    ) -> Result<B::Tensor, Error> {
        self.time("conv2d", |_| 0, || self.inner.conv2d(x, w, b, p))
    }
    fn conv2d_input_grad(
        &self,
        dy: &B::Tensor,
        w: &B::Tensor,
        x_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<B::Tensor, Error> {
        self.time(
            "conv2d_input_grad",
            |_| 0,
            || self.inner.conv2d_input_grad(dy, w, x_shape, p),
        )
    }
    fn conv2d_weight_grad(
        &self,
        x: &B::Tensor,
        dy: &B::Tensor,
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<B::Tensor, Error> {
        self.time(
            "conv2d_weight_grad",
            |_| 0,
            || self.inner.conv2d_weight_grad(x, dy, w_shape, p),
        )
    }
    fn bias_grad(&self, dy: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "bias_grad",
            |g| self.n(dy) + self.n(g),
            || self.inner.bias_grad(dy),
        )
    }
    fn linear(
        &self,
        x: &B::Tensor,
        w: &B::Tensor,
        b: Option<&B::Tensor>,
    ) -> Result<B::Tensor, Error> {
        self.time("linear", |_| 0, || self.inner.linear(x, w, b))
    }
    fn linear_input_grad(&self, dy: &B::Tensor, w: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "linear_input_grad",
            |_| 0,
            || self.inner.linear_input_grad(dy, w),
        )
    }
    fn linear_weight_grad(&self, x: &B::Tensor, dy: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "linear_weight_grad",
            |_| 0,
            || self.inner.linear_weight_grad(x, dy),
        )
    }
    fn linear_bias_grad(&self, dy: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "linear_bias_grad",
            |g| self.n(dy) + self.n(g),
            || self.inner.linear_bias_grad(dy),
        )
    }
    fn relu(&self, x: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time("relu", |_| 2 * self.n(x), || self.inner.relu(x))
    }
    fn relu_backward(&self, x: &B::Tensor, dy: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "relu_backward",
            |_| 3 * self.n(x),
            || self.inner.relu_backward(x, dy),
        )
    }
    fn sigmoid(&self, x: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time("sigmoid", |_| 2 * self.n(x), || self.inner.sigmoid(x))
    }
    fn sigmoid_backward(&self, y: &B::Tensor, dy: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "sigmoid_backward",
            |_| 3 * self.n(y),
            || self.inner.sigmoid_backward(y, dy),
        )
    }
    fn max_pool2d(&self, x: &B::Tensor, p: &Pool2dParams) -> Result<B::Tensor, Error> {
        self.time(
            "max_pool2d",
            |y| self.n(x) + self.n(y),
            || self.inner.max_pool2d(x, p),
        )
    }
    fn max_pool2d_backward(
        &self,
        x: &B::Tensor,
        dy: &B::Tensor,
        p: &Pool2dParams,
    ) -> Result<B::Tensor, Error> {
        self.time(
            "max_pool2d_backward",
            |dx| self.n(x) + self.n(dy) + self.n(dx),
            || self.inner.max_pool2d_backward(x, dy, p),
        )
    }
    fn avg_pool2d(&self, x: &B::Tensor, p: &Pool2dParams) -> Result<B::Tensor, Error> {
        self.time(
            "avg_pool2d",
            |y| self.n(x) + self.n(y),
            || self.inner.avg_pool2d(x, p),
        )
    }
    fn avg_pool2d_backward(
        &self,
        dy: &B::Tensor,
        x_shape: [usize; 4],
        p: &Pool2dParams,
    ) -> Result<B::Tensor, Error> {
        self.time(
            "avg_pool2d_backward",
            |dx| self.n(dy) + self.n(dx),
            || self.inner.avg_pool2d_backward(dy, x_shape, p),
        )
    }
    fn global_avg_pool2d(&self, x: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "global_avg_pool2d",
            |y| self.n(x) + self.n(y),
            || self.inner.global_avg_pool2d(x),
        )
    }
    fn global_avg_pool2d_backward(
        &self,
        dy: &B::Tensor,
        x_shape: [usize; 4],
    ) -> Result<B::Tensor, Error> {
        self.time(
            "global_avg_pool2d_backward",
            |dx| self.n(dy) + self.n(dx),
            || self.inner.global_avg_pool2d_backward(dy, x_shape),
        )
    }
    fn dropout(&self, x: &B::Tensor, p: f32, seed: u64) -> Result<B::Tensor, Error> {
        self.time(
            "dropout",
            |_| 2 * self.n(x),
            || self.inner.dropout(x, p, seed),
        )
    }
    fn dropout_backward(&self, dy: &B::Tensor, p: f32, seed: u64) -> Result<B::Tensor, Error> {
        self.time(
            "dropout_backward",
            |_| 2 * self.n(dy),
            || self.inner.dropout_backward(dy, p, seed),
        )
    }
    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d(
        &self,
        x: &B::Tensor,
        weight: &B::Tensor,
        bias: &B::Tensor,
        running_mean: &mut B::Tensor,
        running_var: &mut B::Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(B::Tensor, B::Tensor), Error> {
        self.time(
            "batch_norm2d",
            |(y, _)| self.n(x) + self.n(y),
            || {
                self.inner
                    .batch_norm2d(x, weight, bias, running_mean, running_var, training, cfg)
            },
        )
    }
    fn batch_norm2d_backward(
        &self,
        x: &B::Tensor,
        dy: &B::Tensor,
        weight: &B::Tensor,
        saved: &B::Tensor,
        training: bool,
    ) -> Result<BnGrads<B::Tensor>, Error> {
        self.time(
            "batch_norm2d_backward",
            |_| 3 * self.n(x),
            || {
                self.inner
                    .batch_norm2d_backward(x, dy, weight, saved, training)
            },
        )
    }
    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d_relu(
        &self,
        x: &B::Tensor,
        weight: &B::Tensor,
        bias: &B::Tensor,
        running_mean: &mut B::Tensor,
        running_var: &mut B::Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(B::Tensor, B::Tensor), Error> {
        let (rm, rv) = (running_mean, running_var);
        self.time(
            "batch_norm2d_relu",
            |(y, _)| self.n(x) + self.n(y),
            || {
                self.inner
                    .batch_norm2d_relu(x, weight, bias, rm, rv, training, cfg)
            },
        )
    }
    fn batch_norm2d_relu_backward(
        &self,
        x: &B::Tensor,
        y: &B::Tensor,
        dy: &B::Tensor,
        weight: &B::Tensor,
        saved: &B::Tensor,
        training: bool,
    ) -> Result<BnGrads<B::Tensor>, Error> {
        self.time(
            "batch_norm2d_relu_backward",
            |_| 4 * self.n(x),
            || {
                self.inner
                    .batch_norm2d_relu_backward(x, y, dy, weight, saved, training)
            },
        )
    }
    fn softmax_cross_entropy(&self, z: &B::Tensor, t: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "softmax_cross_entropy",
            |_| 2 * self.n(z),
            || self.inner.softmax_cross_entropy(z, t),
        )
    }
    fn softmax_cross_entropy_backward(
        &self,
        z: &B::Tensor,
        t: &B::Tensor,
    ) -> Result<B::Tensor, Error> {
        self.time(
            "softmax_cross_entropy_backward",
            |_| 3 * self.n(z),
            || self.inner.softmax_cross_entropy_backward(z, t),
        )
    }
    fn mse_loss(&self, y: &B::Tensor, t: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time("mse_loss", |_| 2 * self.n(y), || self.inner.mse_loss(y, t))
    }
    fn mse_loss_backward(&self, y: &B::Tensor, t: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time(
            "mse_loss_backward",
            |_| 3 * self.n(y),
            || self.inner.mse_loss_backward(y, t),
        )
    }
    fn add_assign(&self, dst: &mut B::Tensor, src: &B::Tensor) -> Result<(), Error> {
        self.time(
            "add_assign",
            |_| 3 * self.n(src),
            || self.inner.add_assign(dst, src),
        )
    }
    fn add(&self, a: &B::Tensor, b: &B::Tensor) -> Result<B::Tensor, Error> {
        self.time("add", |_| 3 * self.n(a), || self.inner.add(a, b))
    }
    fn sgd_step(
        &self,
        p: &mut B::Tensor,
        g: &B::Tensor,
        state: &mut B::SgdState,
        cfg: &Sgd,
    ) -> Result<(), Error> {
        self.time(
            "sgd_step",
            |_| if cfg.momentum == 0.0 { 3 } else { 5 } * self.n(g),
            || self.inner.sgd_step(p, g, state, cfg),
        )
    }
    fn adam_step(
        &self,
        p: &mut B::Tensor,
        g: &B::Tensor,
        state: &mut B::AdamState,
        cfg: &Adam,
    ) -> Result<(), Error> {
        self.time(
            "adam_step",
            |_| 7 * self.n(g),
            || self.inner.adam_step(p, g, state, cfg),
        )
    }
}
