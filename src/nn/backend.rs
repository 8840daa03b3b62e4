//! [`Backend`]: the ops a model needs, implemented three times — by
//! [`Gpu`] (the WGSL kernels), by [`Cpu`] (the reference in
//! [`crate::cpu`]) and by [`Profiled`] (any backend, each op timed) — so
//! one model definition trains on either device and the two can be
//! compared step by step.
//!
//! The op contract is written once, in the list at the end of this file:
//! [`backend_ops!`] turns each entry into a method of [`Backend`], the
//! forwarding to `Gpu`'s and `Cpu`'s inherent method of the same name,
//! and `Profiled`'s timed wrapper (the entry's `moves` is the fewest f32
//! values the op can read and write, for the memory-bound share of the
//! train bench). A new op is its two inherent methods, one entry here, and
//! its backward in [`super::functional`].
//!
//! [`BackendBase`] holds what is not an op: tensors to and from the host,
//! optimizer states for checkpoints, synchronisation, batching into one
//! submission, timing, and the profiler's module scopes.

use super::cpu_backend::Cpu;
use super::profile::Profiled;
use crate::cpu::Element;
use crate::{
    Activation, Adam, AdamState, BatchNorm, Conv2dParams, Error, Gpu, NllOptions, NormGrads,
    Normalization, PointwiseLoss, Pool2dParams, Sgd, SgdState, Tensor, Upsample2dParams,
};

/// An Adam state on the host: the step count and, once a step has run,
/// `(exp_avg, exp_avg_sq)`.
pub type HostAdamState = (u64, Option<(Vec<f32>, Vec<f32>)>);

/// A batch norm's backward results: `(dx, dweight, dbias)`.
pub type BnGrads<T> = (T, T, T);

/// `Send` where threads exist: tensors, parameters and models move to a
/// data-parallel replica's thread natively, while in a browser nothing is
/// `Send` (wgpu's handles are JavaScript objects) and there is one thread.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSend for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// What every backend has besides its ops: its tensor and optimizer-state
/// types, host transfers, and the hooks a profiler or a GPU uses.
pub trait BackendBase: Clone + 'static {
    type Tensor: Clone + std::fmt::Debug + MaybeSend + 'static;
    type SgdState: Default + Clone + std::fmt::Debug + 'static;
    type AdamState: Default + Clone + std::fmt::Debug + 'static;

    /// Where the work runs, for reports ("lavapipe (Vulkan)", "CPU reference").
    fn describe(&self) -> String;
    fn tensor(&self, shape: &[usize], data: &[f32]) -> Result<Self::Tensor, Error>;
    fn to_vec(&self, t: &Self::Tensor) -> Result<Vec<f32>, Error>;
    /// [`BackendBase::to_vec`] awaiting the device instead of blocking on
    /// it (a browser's GPU answers with a promise).
    #[allow(async_fn_in_trait)]
    async fn to_vec_async(&self, t: &Self::Tensor) -> Result<Vec<f32>, Error> {
        self.to_vec(t)
    }
    fn shape<'a>(&self, t: &'a Self::Tensor) -> &'a [usize];
    /// The same values with another shape of as many elements.
    fn reshape(&self, t: &Self::Tensor, shape: &[usize]) -> Result<Self::Tensor, Error>;

    /// An SGD state's momentum buffer as host values (None before a step
    /// with momentum), for checkpoints.
    fn sgd_state_to_host(&self, s: &Self::SgdState) -> Result<Option<Vec<f32>>, Error>;
    /// The SGD state of a parameter of `shape` from a checkpoint's values.
    fn sgd_state_from_host(
        &self,
        shape: &[usize],
        momentum_buffer: Option<&[f32]>,
    ) -> Result<Self::SgdState, Error>;
    /// An Adam state as (step, first and second moments), for checkpoints.
    fn adam_state_to_host(&self, s: &Self::AdamState) -> Result<HostAdamState, Error>;
    /// The Adam state of a parameter of `shape` from a checkpoint's values.
    fn adam_state_from_host(
        &self,
        shape: &[usize],
        state: HostAdamState,
    ) -> Result<Self::AdamState, Error>;

    /// Waits until all work handed to the device so far has finished (for
    /// timing; the CPU is always done).
    fn sync(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Runs `f` as one batch of work (one GPU submission); the CPU runs it as is.
    fn record<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        f()
    }

    /// Runs `f` and returns the device time of the work it ran in ms where
    /// the backend measures it ([`Gpu::device_time`]: GPU timestamps), or
    /// None (then a profile falls back to the wall clock).
    fn device_time<R>(
        &self,
        f: impl FnOnce() -> Result<R, Error>,
    ) -> Result<(R, Option<f64>), Error> {
        Ok((f()?, None))
    }

    /// A profiler's hooks: the ops from here to the matching
    /// [`BackendBase::pop_scope`] belong to the child module `name` (of
    /// torch class `kind`) of the current scope. Others ignore them.
    fn push_scope(&self, _name: &str, _kind: &'static str) {}
    fn pop_scope(&self) {}
    /// The current scope as a token, which [`BackendBase::set_scope`]
    /// restores: the backward pass runs each op's gradient in the scope
    /// its forward ran in.
    fn scope(&self) -> usize {
        0
    }
    fn set_scope(&self, _scope: usize) {}
}

impl BackendBase for Gpu {
    type Tensor = Tensor;
    type SgdState = SgdState;
    type AdamState = AdamState;

    fn describe(&self) -> String {
        Gpu::describe(self)
    }
    fn tensor(&self, shape: &[usize], data: &[f32]) -> Result<Tensor, Error> {
        Gpu::tensor(self, shape, data)
    }
    fn to_vec(&self, t: &Tensor) -> Result<Vec<f32>, Error> {
        t.to_vec()
    }
    async fn to_vec_async(&self, t: &Tensor) -> Result<Vec<f32>, Error> {
        t.to_vec_async().await
    }
    fn shape<'a>(&self, t: &'a Tensor) -> &'a [usize] {
        t.shape()
    }
    fn reshape(&self, t: &Tensor, shape: &[usize]) -> Result<Tensor, Error> {
        t.reshape(shape)
    }
    fn sgd_state_to_host(&self, s: &SgdState) -> Result<Option<Vec<f32>>, Error> {
        s.momentum_buffer.as_ref().map(Tensor::to_vec).transpose()
    }
    fn sgd_state_from_host(
        &self,
        shape: &[usize],
        momentum_buffer: Option<&[f32]>,
    ) -> Result<SgdState, Error> {
        Ok(SgdState {
            momentum_buffer: momentum_buffer
                .map(|v| Gpu::tensor(self, shape, v))
                .transpose()?,
        })
    }
    fn adam_state_to_host(&self, s: &AdamState) -> Result<HostAdamState, Error> {
        let moments = match &s.moments {
            Some((m, v)) => Some((m.to_vec()?, v.to_vec()?)),
            None => None,
        };
        Ok((s.step, moments))
    }
    fn adam_state_from_host(
        &self,
        shape: &[usize],
        state: HostAdamState,
    ) -> Result<AdamState, Error> {
        let moments = match state.1 {
            Some((m, v)) => Some((Gpu::tensor(self, shape, &m)?, Gpu::tensor(self, shape, &v)?)),
            None => None,
        };
        Ok(AdamState {
            moments,
            step: state.0,
        })
    }
    fn sync(&self) -> Result<(), Error> {
        self.wait_idle()
    }
    fn record<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        Gpu::record(self, f)
    }
    fn device_time<R>(
        &self,
        f: impl FnOnce() -> Result<R, Error>,
    ) -> Result<(R, Option<f64>), Error> {
        Gpu::device_time(self, f)
    }
}

/// Generates, from one list of op signatures, the [`Backend`] trait, its
/// implementations for [`Gpu`] and [`Cpu`] (each forwarding to the
/// inherent method of the same name) and for [`Profiled`] (the inner
/// backend's op, timed and filed under the current module scope).
///
/// An entry reads `fn name(arg: Type, ...) -> Output, moves |n, out| values;`
/// where `values` is the fewest f32 values the op reads and writes, from
/// `n(t)` (the elements of a tensor `t`) and its output `out` (0 for the
/// GEMMs, which are compute-bound).
macro_rules! backend_ops {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty,
            moves |$n:ident, $out:pat_param| $bytes:expr;
    )*) => {
        /// The operations of a training step, on some device (see the
        /// module doc for the list they are generated from).
        pub trait Backend: BackendBase {
            $(
                $(#[$doc])*
                #[allow(clippy::too_many_arguments)]
                fn $name(&self, $($arg: $ty),*) -> Result<$ret, Error>;
            )*
        }

        impl Backend for Gpu {
            $(
                #[allow(clippy::too_many_arguments)]
                fn $name(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                    Gpu::$name(self, $($arg),*)
                }
            )*
        }

        impl<E: Element + 'static> Backend for Cpu<E> {
            $(
                #[allow(clippy::too_many_arguments)]
                fn $name(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                    Cpu::<E>::$name(self, $($arg),*)
                }
            )*
        }

        impl<I: Backend> Backend for Profiled<I> {
            $(
                #[allow(clippy::too_many_arguments, unused_variables)]
                fn $name(&self, $($arg: $ty),*) -> Result<$ret, Error> {
                    self.time(
                        stringify!($name),
                        |out: &$ret| {
                            let $n = |t: &Self::Tensor| self.elements(t);
                            let $out = out;
                            $bytes
                        },
                        || self.inner().$name($($arg),*),
                    )
                }
            )*
        }
    };
}

backend_ops! {
    fn conv2d(
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        p: &Conv2dParams,
    ) -> Self::Tensor, moves |n, _| 0;
    fn conv2d_input_grad(
        dy: &Self::Tensor,
        w: &Self::Tensor,
        x_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Self::Tensor, moves |n, _| 0;
    fn conv2d_weight_grad(
        x: &Self::Tensor,
        dy: &Self::Tensor,
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Self::Tensor, moves |n, _| 0;
    fn conv2d_keeping_transform(
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        p: &Conv2dParams,
    ) -> (Self::Tensor, Option<Self::Tensor>), moves |n, _| 0;
    fn conv2d_weight_grad_transformed(
        v: &Self::Tensor,
        dy: &Self::Tensor,
        x_shape: [usize; 4],
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Self::Tensor, moves |n, _| 0;
    fn bias_grad(dy: &Self::Tensor) -> Self::Tensor, moves |n, g| n(dy) + n(g);

    fn linear(x: &Self::Tensor, w: &Self::Tensor, b: Option<&Self::Tensor>) -> Self::Tensor,
        moves |n, _| 0;
    fn linear_input_grad(dy: &Self::Tensor, w: &Self::Tensor) -> Self::Tensor, moves |n, _| 0;
    fn linear_weight_grad(x: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor, moves |n, _| 0;
    fn linear_bias_grad(dy: &Self::Tensor) -> Self::Tensor, moves |n, g| n(dy) + n(g);

    fn relu(x: &Self::Tensor) -> Self::Tensor, moves |n, _| 2 * n(x);
    fn relu_backward(x: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor, moves |n, _| 3 * n(x);
    fn sigmoid(x: &Self::Tensor) -> Self::Tensor, moves |n, _| 2 * n(x);
    fn sigmoid_backward(y: &Self::Tensor, dy: &Self::Tensor) -> Self::Tensor,
        moves |n, _| 3 * n(y);
    fn activate(x: &Self::Tensor, act: Activation) -> Self::Tensor, moves |n, _| 2 * n(x);
    fn activate_backward(x: &Self::Tensor, dy: &Self::Tensor, act: Activation) -> Self::Tensor,
        moves |n, _| 3 * n(x);

    fn max_pool2d(x: &Self::Tensor, p: &Pool2dParams) -> Self::Tensor,
        moves |n, y| n(x) + n(y);
    fn max_pool2d_backward(x: &Self::Tensor, dy: &Self::Tensor, p: &Pool2dParams)
        -> Self::Tensor, moves |n, dx| n(x) + n(dy) + n(dx);
    fn avg_pool2d(x: &Self::Tensor, p: &Pool2dParams) -> Self::Tensor,
        moves |n, y| n(x) + n(y);
    fn avg_pool2d_backward(dy: &Self::Tensor, x_shape: [usize; 4], p: &Pool2dParams)
        -> Self::Tensor, moves |n, dx| n(dy) + n(dx);
    fn global_avg_pool2d(x: &Self::Tensor) -> Self::Tensor, moves |n, y| n(x) + n(y);
    fn global_avg_pool2d_backward(dy: &Self::Tensor, x_shape: [usize; 4]) -> Self::Tensor,
        moves |n, dx| n(dy) + n(dx);

    fn dropout(x: &Self::Tensor, p: f32, seed: u64) -> Self::Tensor, moves |n, _| 2 * n(x);
    fn dropout_backward(dy: &Self::Tensor, p: f32, seed: u64) -> Self::Tensor,
        moves |n, _| 2 * n(dy);

    /// `(y, saved)`: see [`Gpu::batch_norm2d`].
    fn batch_norm2d(
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        running_mean: &mut Self::Tensor,
        running_var: &mut Self::Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> (Self::Tensor, Self::Tensor), moves |n, (y, _)| n(x) + n(y);
    /// `(dx, dweight, dbias)`: see [`Gpu::batch_norm2d_backward`].
    fn batch_norm2d_backward(
        x: &Self::Tensor,
        dy: &Self::Tensor,
        weight: &Self::Tensor,
        saved: &Self::Tensor,
        training: bool,
    ) -> BnGrads<Self::Tensor>, moves |n, _| 3 * n(x);
    /// `relu(batch_norm2d(x))` and the statistics, in one pass: see
    /// [`Gpu::batch_norm2d_relu`].
    fn batch_norm2d_relu(
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        running_mean: &mut Self::Tensor,
        running_var: &mut Self::Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> (Self::Tensor, Self::Tensor), moves |n, (y, _)| n(x) + n(y);
    /// The backward pass of [`Backend::batch_norm2d_relu`]: ReLU's mask is
    /// `y > 0` for its output `y`, which the GPU finds again from `x`,
    /// `saved`, `weight` and `bias` with the forward's expression instead
    /// of reading `y` (so it moves x, dy and dx only); the CPU reads `y`.
    fn batch_norm2d_relu_backward(
        x: &Self::Tensor,
        y: &Self::Tensor,
        dy: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        saved: &Self::Tensor,
        training: bool,
    ) -> BnGrads<Self::Tensor>, moves |n, _| 3 * n(x);
    /// `max_pool2d(relu(batch_norm2d(x)), 2)` and the statistics, in batch
    /// norm's passes: see [`Gpu::batch_norm2d_relu_max_pool2d`].
    fn batch_norm2d_relu_max_pool2d(
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        running_mean: &mut Self::Tensor,
        running_var: &mut Self::Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> (Self::Tensor, Self::Tensor), moves |n, (p, _)| n(x) + n(p);
    /// The backward pass of [`Backend::batch_norm2d_relu_max_pool2d`] from
    /// the pooled gradient: the windows' maxima and the ReLU's mask found
    /// again from `x` (both backends).
    fn batch_norm2d_relu_max_pool2d_backward(
        x: &Self::Tensor,
        dpooled: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        saved: &Self::Tensor,
        training: bool,
    ) -> BnGrads<Self::Tensor>, moves |n, _| 2 * n(x) + n(dpooled);

    fn softmax_cross_entropy(z: &Self::Tensor, t: &Self::Tensor) -> Self::Tensor,
        moves |n, _| 2 * n(z);
    fn softmax_cross_entropy_backward(z: &Self::Tensor, t: &Self::Tensor) -> Self::Tensor,
        moves |n, _| 3 * n(z);
    fn mse_loss(y: &Self::Tensor, t: &Self::Tensor) -> Self::Tensor, moves |n, _| 2 * n(y);
    fn mse_loss_backward(y: &Self::Tensor, t: &Self::Tensor) -> Self::Tensor,
        moves |n, _| 3 * n(y);

    fn add(a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor, moves |n, _| 3 * n(a);
    /// `a · b` element-wise, both of one shape.
    fn mul(a: &Self::Tensor, b: &Self::Tensor) -> Self::Tensor, moves |n, _| 3 * n(a);
    /// `x · s` with `s` broadcast over `x`'s trailing dimensions: see
    /// [`Gpu::mul_broadcast`].
    fn mul_broadcast(x: &Self::Tensor, s: &Self::Tensor) -> Self::Tensor,
        moves |n, _| 2 * n(x) + n(s);
    /// The gradient of [`Backend::mul_broadcast`] with respect to `s`:
    /// see [`Gpu::mul_broadcast_grad`].
    fn mul_broadcast_grad(x: &Self::Tensor, dy: &Self::Tensor, s_shape: &[usize])
        -> Self::Tensor, moves |n, ds| 2 * n(x) + n(ds);

    /// torch's `nll_loss` with weights, `ignore_index` and label smoothing:
    /// see [`Gpu::nll_loss`].
    fn nll_loss(
        logp: &Self::Tensor,
        targets: &[f32],
        weight: Option<&Self::Tensor>,
        o: &NllOptions,
    ) -> Self::Tensor, moves |n, _| n(logp);
    fn nll_loss_backward(
        logp: &Self::Tensor,
        targets: &[f32],
        weight: Option<&Self::Tensor>,
        o: &NllOptions,
    ) -> Self::Tensor, moves |n, dx| n(dx);
    /// torch's `L1Loss`, `SmoothL1Loss`, `BCEWithLogitsLoss` (mean): see
    /// [`Gpu::pointwise_loss`].
    fn pointwise_loss(
        y: &Self::Tensor,
        t: &Self::Tensor,
        kind: PointwiseLoss,
        pos_weight: Option<&Self::Tensor>,
    ) -> Self::Tensor, moves |n, _| 2 * n(y);
    fn pointwise_loss_backward(
        y: &Self::Tensor,
        t: &Self::Tensor,
        kind: PointwiseLoss,
        pos_weight: Option<&Self::Tensor>,
    ) -> Self::Tensor, moves |n, _| 3 * n(y);
    /// torch's `softmax(x, dim)` / `log_softmax(x, dim)`, and their backward
    /// passes from the output: see [`Gpu::softmax`].
    fn softmax(x: &Self::Tensor, dim: usize) -> Self::Tensor, moves |n, y| n(x) + n(y);
    fn log_softmax(x: &Self::Tensor, dim: usize) -> Self::Tensor, moves |n, y| n(x) + n(y);
    fn softmax_backward(y: &Self::Tensor, dy: &Self::Tensor, dim: usize) -> Self::Tensor,
        moves |n, dx| n(y) + n(dy) + n(dx);
    fn log_softmax_backward(y: &Self::Tensor, dy: &Self::Tensor, dim: usize) -> Self::Tensor,
        moves |n, dx| n(y) + n(dy) + n(dx);
    /// torch's group, layer or instance norm: see [`Gpu::norm`].
    fn norm(
        x: &Self::Tensor,
        kind: Normalization,
        weight: Option<&Self::Tensor>,
        bias: Option<&Self::Tensor>,
        eps: f32,
    ) -> (Self::Tensor, Self::Tensor), moves |n, (y, _)| 2 * n(x) + n(y);
    fn norm_backward(
        x: &Self::Tensor,
        dy: &Self::Tensor,
        kind: Normalization,
        weight: Option<&Self::Tensor>,
        bias: bool,
        saved: &Self::Tensor,
    ) -> NormGrads<Self::Tensor>, moves |n, (dx, _, _)| 4 * n(x) + n(dx);
    /// A copy in a buffer of its own (torch's `clone`): see [`Gpu::copy`].
    fn copy(x: &Self::Tensor) -> Self::Tensor, moves |n, y| 2 * n(y);
    /// torch's `F.adaptive_avg_pool2d` to any size: see
    /// [`Gpu::adaptive_avg_pool2d`].
    fn adaptive_avg_pool2d(x: &Self::Tensor, output_size: [usize; 2]) -> Self::Tensor,
        moves |n, y| n(x) + n(y);
    fn adaptive_avg_pool2d_backward(dy: &Self::Tensor, x_shape: [usize; 4], output_size: [usize; 2])
        -> Self::Tensor, moves |n, dx| n(dy) + n(dx);
    /// torch's `F.adaptive_max_pool2d` to any size: see
    /// [`Gpu::adaptive_max_pool2d`].
    fn adaptive_max_pool2d(x: &Self::Tensor, output_size: [usize; 2]) -> Self::Tensor,
        moves |n, y| n(x) + n(y);
    fn adaptive_max_pool2d_backward(x: &Self::Tensor, dy: &Self::Tensor, output_size: [usize; 2])
        -> Self::Tensor, moves |n, dx| n(x) + n(dy) + n(dx);
    /// torch's `F.interpolate`: see [`Gpu::upsample2d`].
    fn upsample2d(x: &Self::Tensor, p: &Upsample2dParams) -> Self::Tensor,
        moves |n, y| n(x) + n(y);
    fn upsample2d_backward(dy: &Self::Tensor, x_shape: [usize; 4], p: &Upsample2dParams)
        -> Self::Tensor, moves |n, dx| n(dy) + n(dx);
    /// `x + bias` per channel: see [`Gpu::add_channel_bias`].
    fn add_channel_bias(x: &Self::Tensor, bias: &Self::Tensor) -> Self::Tensor,
        moves |n, _| 2 * n(x) + n(bias);
    /// `torch.cat(parts, dim=1)`: see [`Gpu::cat_channels`].
    fn cat_channels(parts: &[&Self::Tensor]) -> Self::Tensor, moves |n, y| 2 * n(y);
    /// `torch.split(x, sizes, dim=1)`: see [`Gpu::split_channels`].
    fn split_channels(x: &Self::Tensor, sizes: &[usize]) -> Vec<Self::Tensor>,
        moves |n, _| 2 * n(x);

    fn add_assign(dst: &mut Self::Tensor, src: &Self::Tensor) -> (), moves |n, _| 3 * n(src);
    fn sgd_step(
        p: &mut Self::Tensor,
        g: &Self::Tensor,
        state: &mut Self::SgdState,
        cfg: &Sgd,
    ) -> (), moves |n, _| if cfg.momentum == 0.0 { 3 } else { 5 } * n(g);
    fn adam_step(
        p: &mut Self::Tensor,
        g: &Self::Tensor,
        state: &mut Self::AdamState,
        cfg: &Adam,
    ) -> (), moves |n, _| 7 * n(g);
}
