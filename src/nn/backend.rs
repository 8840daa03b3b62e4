//! [`Backend`]: the ops a model needs, implemented twice — by [`Gpu`]
//! (the WGSL kernels) and by [`Cpu`] (the reference in [`crate::cpu`]) —
//! so one model definition trains on either and the two can be compared
//! step by step.

use crate::cpu::{self, CpuAdamState, CpuSgdState, Element};
use crate::shape::{check_4d, check_dims, Pool2dGeometry, Pool2dParams};
use crate::{
    Adam, AdamState, BatchNorm, Conv2dGeometry, Conv2dParams, Error, Gpu, Sgd, SgdState, Tensor,
};

/// An Adam state on the host: the step count and, once a step has run,
/// `(exp_avg, exp_avg_sq)`.
pub type HostAdamState = (u64, Option<(Vec<f32>, Vec<f32>)>);

/// A batch norm's backward results: `(dx, dweight, dbias)`.
pub type BnGrads<T> = (T, T, T);

/// The operations of a training step, on some device.
pub trait Backend: Clone {
    type Tensor: Clone + std::fmt::Debug;
    type SgdState: Default + Clone + std::fmt::Debug;
    type AdamState: Default + Clone + std::fmt::Debug;

    /// Where the work runs, for reports ("lavapipe (Vulkan)", "CPU reference").
    fn describe(&self) -> String;
    fn tensor(&self, shape: &[usize], data: &[f32]) -> Result<Self::Tensor, Error>;
    fn to_vec(&self, t: &Self::Tensor) -> Result<Vec<f32>, Error>;
    fn shape<'a>(&self, t: &'a Self::Tensor) -> &'a [usize];
    fn reshape(&self, t: &Self::Tensor, shape: &[usize]) -> Result<Self::Tensor, Error>;

    fn conv2d(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        p: &Conv2dParams,
    ) -> Result<Self::Tensor, Error>;
    fn conv2d_input_grad(
        &self,
        dy: &Self::Tensor,
        w: &Self::Tensor,
        x_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Self::Tensor, Error>;
    fn conv2d_weight_grad(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Self::Tensor, Error>;
    fn bias_grad(&self, dy: &Self::Tensor) -> Result<Self::Tensor, Error>;

    fn linear(
        &self,
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
    ) -> Result<Self::Tensor, Error>;
    fn linear_input_grad(&self, dy: &Self::Tensor, w: &Self::Tensor)
        -> Result<Self::Tensor, Error>;
    fn linear_weight_grad(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
    ) -> Result<Self::Tensor, Error>;
    fn linear_bias_grad(&self, dy: &Self::Tensor) -> Result<Self::Tensor, Error>;

    fn relu(&self, x: &Self::Tensor) -> Result<Self::Tensor, Error>;
    fn relu_backward(&self, x: &Self::Tensor, dy: &Self::Tensor) -> Result<Self::Tensor, Error>;
    fn sigmoid(&self, x: &Self::Tensor) -> Result<Self::Tensor, Error>;
    fn sigmoid_backward(&self, y: &Self::Tensor, dy: &Self::Tensor) -> Result<Self::Tensor, Error>;
    fn max_pool2d(&self, x: &Self::Tensor, p: &Pool2dParams) -> Result<Self::Tensor, Error>;
    fn max_pool2d_backward(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        p: &Pool2dParams,
    ) -> Result<Self::Tensor, Error>;

    fn avg_pool2d(&self, x: &Self::Tensor, p: &Pool2dParams) -> Result<Self::Tensor, Error>;
    fn avg_pool2d_backward(
        &self,
        dy: &Self::Tensor,
        x_shape: [usize; 4],
        p: &Pool2dParams,
    ) -> Result<Self::Tensor, Error>;
    fn global_avg_pool2d(&self, x: &Self::Tensor) -> Result<Self::Tensor, Error>;
    fn global_avg_pool2d_backward(
        &self,
        dy: &Self::Tensor,
        x_shape: [usize; 4],
    ) -> Result<Self::Tensor, Error>;
    fn dropout(&self, x: &Self::Tensor, p: f32, seed: u64) -> Result<Self::Tensor, Error>;
    fn dropout_backward(&self, dy: &Self::Tensor, p: f32, seed: u64)
        -> Result<Self::Tensor, Error>;
    /// `(y, saved)`: see [`Gpu::batch_norm2d`].
    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d(
        &self,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        running_mean: &mut Self::Tensor,
        running_var: &mut Self::Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(Self::Tensor, Self::Tensor), Error>;
    /// `(dx, dweight, dbias)`: see [`Gpu::batch_norm2d_backward`].
    fn batch_norm2d_backward(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        weight: &Self::Tensor,
        saved: &Self::Tensor,
        training: bool,
    ) -> Result<BnGrads<Self::Tensor>, Error>;
    /// `relu(batch_norm2d(x))` and the statistics: see
    /// [`Gpu::batch_norm2d_relu`]. By default the two ops one after the other.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm2d_relu(
        &self,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        running_mean: &mut Self::Tensor,
        running_var: &mut Self::Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(Self::Tensor, Self::Tensor), Error> {
        let (y, stats) =
            self.batch_norm2d(x, weight, bias, running_mean, running_var, training, cfg)?;
        Ok((self.relu(&y)?, stats))
    }
    /// The backward pass of [`Backend::batch_norm2d_relu`] from its output
    /// `y`: by default ReLU's backward pass (whose mask, `y > 0`, is the
    /// same from the output as from the input) and then batch norm's.
    fn batch_norm2d_relu_backward(
        &self,
        x: &Self::Tensor,
        y: &Self::Tensor,
        dy: &Self::Tensor,
        weight: &Self::Tensor,
        saved: &Self::Tensor,
        training: bool,
    ) -> Result<BnGrads<Self::Tensor>, Error> {
        let g = self.relu_backward(y, dy)?;
        self.batch_norm2d_backward(x, &g, weight, saved, training)
    }

    fn softmax_cross_entropy(
        &self,
        z: &Self::Tensor,
        t: &Self::Tensor,
    ) -> Result<Self::Tensor, Error>;
    fn softmax_cross_entropy_backward(
        &self,
        z: &Self::Tensor,
        t: &Self::Tensor,
    ) -> Result<Self::Tensor, Error>;
    fn mse_loss(&self, y: &Self::Tensor, t: &Self::Tensor) -> Result<Self::Tensor, Error>;
    fn mse_loss_backward(&self, y: &Self::Tensor, t: &Self::Tensor) -> Result<Self::Tensor, Error>;

    fn add_assign(&self, dst: &mut Self::Tensor, src: &Self::Tensor) -> Result<(), Error>;
    fn add(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor, Error>;
    fn sgd_step(
        &self,
        p: &mut Self::Tensor,
        g: &Self::Tensor,
        state: &mut Self::SgdState,
        cfg: &Sgd,
    ) -> Result<(), Error>;
    fn adam_step(
        &self,
        p: &mut Self::Tensor,
        g: &Self::Tensor,
        state: &mut Self::AdamState,
        cfg: &Adam,
    ) -> Result<(), Error>;

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

    /// Tells a profiling backend which part of the step the next ops belong
    /// to: layer `index` of kind `name`, or (index None) the loss or the
    /// optimizer. Others ignore it.
    fn enter(&self, _index: Option<usize>, _name: &'static str) {}

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
}

impl Backend for Gpu {
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
    fn shape<'a>(&self, t: &'a Tensor) -> &'a [usize] {
        t.shape()
    }
    fn reshape(&self, t: &Tensor, shape: &[usize]) -> Result<Tensor, Error> {
        t.reshape(shape)
    }
    fn conv2d(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: Option<&Tensor>,
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        Gpu::conv2d(self, x, w, b, p)
    }
    fn conv2d_input_grad(
        &self,
        dy: &Tensor,
        w: &Tensor,
        x_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        Gpu::conv2d_input_grad(self, dy, w, x_shape, p)
    }
    fn conv2d_weight_grad(
        &self,
        x: &Tensor,
        dy: &Tensor,
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        Gpu::conv2d_weight_grad(self, x, dy, w_shape, p)
    }
    fn bias_grad(&self, dy: &Tensor) -> Result<Tensor, Error> {
        Gpu::bias_grad(self, dy)
    }
    fn linear(&self, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor, Error> {
        Gpu::linear(self, x, w, b)
    }
    fn linear_input_grad(&self, dy: &Tensor, w: &Tensor) -> Result<Tensor, Error> {
        Gpu::linear_input_grad(self, dy, w)
    }
    fn linear_weight_grad(&self, x: &Tensor, dy: &Tensor) -> Result<Tensor, Error> {
        Gpu::linear_weight_grad(self, x, dy)
    }
    fn linear_bias_grad(&self, dy: &Tensor) -> Result<Tensor, Error> {
        Gpu::linear_bias_grad(self, dy)
    }
    fn relu(&self, x: &Tensor) -> Result<Tensor, Error> {
        Gpu::relu(self, x)
    }
    fn relu_backward(&self, x: &Tensor, dy: &Tensor) -> Result<Tensor, Error> {
        Gpu::relu_backward(self, x, dy)
    }
    fn sigmoid(&self, x: &Tensor) -> Result<Tensor, Error> {
        Gpu::sigmoid(self, x)
    }
    fn sigmoid_backward(&self, y: &Tensor, dy: &Tensor) -> Result<Tensor, Error> {
        Gpu::sigmoid_backward(self, y, dy)
    }
    fn max_pool2d(&self, x: &Tensor, p: &Pool2dParams) -> Result<Tensor, Error> {
        Gpu::max_pool2d(self, x, p)
    }
    fn max_pool2d_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        p: &Pool2dParams,
    ) -> Result<Tensor, Error> {
        Gpu::max_pool2d_backward(self, x, dy, p)
    }
    fn avg_pool2d(&self, x: &Tensor, p: &Pool2dParams) -> Result<Tensor, Error> {
        Gpu::avg_pool2d(self, x, p)
    }
    fn avg_pool2d_backward(
        &self,
        dy: &Tensor,
        x_shape: [usize; 4],
        p: &Pool2dParams,
    ) -> Result<Tensor, Error> {
        Gpu::avg_pool2d_backward(self, dy, x_shape, p)
    }
    fn global_avg_pool2d(&self, x: &Tensor) -> Result<Tensor, Error> {
        Gpu::global_avg_pool2d(self, x)
    }
    fn global_avg_pool2d_backward(
        &self,
        dy: &Tensor,
        x_shape: [usize; 4],
    ) -> Result<Tensor, Error> {
        Gpu::global_avg_pool2d_backward(self, dy, x_shape)
    }
    fn dropout(&self, x: &Tensor, p: f32, seed: u64) -> Result<Tensor, Error> {
        Gpu::dropout(self, x, p, seed)
    }
    fn dropout_backward(&self, dy: &Tensor, p: f32, seed: u64) -> Result<Tensor, Error> {
        Gpu::dropout_backward(self, dy, p, seed)
    }
    fn batch_norm2d(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        running_mean: &mut Tensor,
        running_var: &mut Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(Tensor, Tensor), Error> {
        Gpu::batch_norm2d(
            self,
            x,
            weight,
            bias,
            running_mean,
            running_var,
            training,
            cfg,
        )
    }
    fn batch_norm2d_backward(
        &self,
        x: &Tensor,
        dy: &Tensor,
        weight: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<BnGrads<Tensor>, Error> {
        Gpu::batch_norm2d_backward(self, x, dy, weight, saved, training)
    }
    fn batch_norm2d_relu(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        running_mean: &mut Tensor,
        running_var: &mut Tensor,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(Tensor, Tensor), Error> {
        let (rm, rv) = (running_mean, running_var);
        Gpu::batch_norm2d_relu(self, x, weight, bias, rm, rv, training, cfg)
    }
    fn batch_norm2d_relu_backward(
        &self,
        x: &Tensor,
        y: &Tensor,
        dy: &Tensor,
        weight: &Tensor,
        saved: &Tensor,
        training: bool,
    ) -> Result<BnGrads<Tensor>, Error> {
        Gpu::batch_norm2d_relu_backward(self, x, y, dy, weight, saved, training)
    }
    fn softmax_cross_entropy(&self, z: &Tensor, t: &Tensor) -> Result<Tensor, Error> {
        Gpu::softmax_cross_entropy(self, z, t)
    }
    fn softmax_cross_entropy_backward(&self, z: &Tensor, t: &Tensor) -> Result<Tensor, Error> {
        Gpu::softmax_cross_entropy_backward(self, z, t)
    }
    fn mse_loss(&self, y: &Tensor, t: &Tensor) -> Result<Tensor, Error> {
        Gpu::mse_loss(self, y, t)
    }
    fn mse_loss_backward(&self, y: &Tensor, t: &Tensor) -> Result<Tensor, Error> {
        Gpu::mse_loss_backward(self, y, t)
    }
    fn add_assign(&self, dst: &mut Tensor, src: &Tensor) -> Result<(), Error> {
        Gpu::add_assign(self, dst, src)
    }
    fn add(&self, a: &Tensor, b: &Tensor) -> Result<Tensor, Error> {
        Gpu::add(self, a, b)
    }
    fn sgd_step(
        &self,
        p: &mut Tensor,
        g: &Tensor,
        s: &mut SgdState,
        cfg: &Sgd,
    ) -> Result<(), Error> {
        Gpu::sgd_step(self, p, g, s, cfg)
    }
    fn adam_step(
        &self,
        p: &mut Tensor,
        g: &Tensor,
        s: &mut AdamState,
        cfg: &Adam,
    ) -> Result<(), Error> {
        Gpu::adam_step(self, p, g, s, cfg)
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

/// The CPU reference as a backend, in f32 or (for finite-difference
/// checks) f64. Every op is the [`crate::cpu`] function of the same name.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu<E = f32>(std::marker::PhantomData<E>);

impl<E> Cpu<E> {
    pub fn new() -> Self {
        Cpu(std::marker::PhantomData)
    }
}

/// A host array with its shape: the tensor of the [`Cpu`] backend.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuTensor<E = f32> {
    shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<E>,
}

impl<E: Element> CpuTensor<E> {
    /// Fails unless `data` has exactly the elements of a non-empty shape
    /// without zero dimensions.
    pub fn new(shape: &[usize], data: Vec<E>) -> Result<Self, Error> {
        if shape.is_empty() {
            return Err(Error::BadRank {
                op: "cpu tensor",
                tensor: "tensor",
                expected: 1,
                shape: vec![],
            });
        }
        if shape.contains(&0) {
            return Err(Error::ZeroSize {
                op: "cpu tensor",
                tensor: "tensor",
                shape: shape.to_vec(),
            });
        }
        crate::shape::element_count("cpu tensor", shape)?;
        cpu::check_len(shape, &data)?;
        Ok(CpuTensor {
            shape: shape.to_vec(),
            data,
        })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

fn same_shape<E>(op: &'static str, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<(), Error> {
    if a.shape == b.shape {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            tensor: "second operand",
            expected: a.shape.clone(),
            got: b.shape.clone(),
        })
    }
}

impl<E: Element> Backend for Cpu<E> {
    type Tensor = CpuTensor<E>;
    type SgdState = CpuSgdState<E>;
    type AdamState = CpuAdamState<E>;

    fn describe(&self) -> String {
        format!("CPU reference ({})", std::any::type_name::<E>())
    }
    fn tensor(&self, shape: &[usize], data: &[f32]) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(shape, data.iter().map(|&v| E::from_f64(v as f64)).collect())
    }
    fn to_vec(&self, t: &CpuTensor<E>) -> Result<Vec<f32>, Error> {
        Ok(t.data.iter().map(|v| v.to_f64() as f32).collect())
    }
    fn shape<'a>(&self, t: &'a CpuTensor<E>) -> &'a [usize] {
        &t.shape
    }
    fn reshape(&self, t: &CpuTensor<E>, shape: &[usize]) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(shape, t.data.clone()).map_err(|_| Error::ShapeMismatch {
            op: "reshape",
            tensor: "new shape",
            expected: t.shape.clone(),
            got: shape.to_vec(),
        })
    }
    fn conv2d(
        &self,
        x: &CpuTensor<E>,
        w: &CpuTensor<E>,
        b: Option<&CpuTensor<E>>,
        p: &Conv2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        let g = Conv2dGeometry::new("conv2d", &x.shape, &w.shape, p)?;
        let y = cpu::conv2d(
            &x.data,
            g.x_shape(),
            &w.data,
            g.w_shape(),
            b.map(|b| &b.data[..]),
            p,
        )?;
        CpuTensor::new(&g.y_shape(), y)
    }
    fn conv2d_input_grad(
        &self,
        dy: &CpuTensor<E>,
        w: &CpuTensor<E>,
        x_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        let w_shape = check_4d("conv2d_input_grad", "weight", &w.shape)?;
        let dx = cpu::conv2d_input_grad(&dy.data, &w.data, w_shape, x_shape, p)?;
        CpuTensor::new(&x_shape, dx)
    }
    fn conv2d_weight_grad(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        let x_shape = check_4d("conv2d_weight_grad", "input", &x.shape)?;
        let dw = cpu::conv2d_weight_grad(&x.data, x_shape, &dy.data, w_shape, p)?;
        CpuTensor::new(&w_shape, dw)
    }
    fn bias_grad(&self, dy: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        let s = check_4d("bias_grad", "output gradient", &dy.shape)?;
        CpuTensor::new(&[s[1]], cpu::bias_grad(&dy.data, s)?)
    }
    fn linear(
        &self,
        x: &CpuTensor<E>,
        w: &CpuTensor<E>,
        b: Option<&CpuTensor<E>>,
    ) -> Result<CpuTensor<E>, Error> {
        let xs = check_dims::<2>("linear", "input", &x.shape)?;
        let ws = check_dims::<2>("linear", "weight", &w.shape)?;
        let y = cpu::linear(&x.data, xs, &w.data, ws, b.map(|b| &b.data[..]))?;
        CpuTensor::new(&[xs[0], ws[0]], y)
    }
    fn linear_input_grad(
        &self,
        dy: &CpuTensor<E>,
        w: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        let ws = check_dims::<2>("linear_input_grad", "weight", &w.shape)?;
        let n = check_dims::<2>("linear_input_grad", "output gradient", &dy.shape)?[0];
        CpuTensor::new(&[n, ws[1]], cpu::linear_input_grad(&dy.data, &w.data, ws)?)
    }
    fn linear_weight_grad(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        let xs = check_dims::<2>("linear_weight_grad", "input", &x.shape)?;
        let out = check_dims::<2>("linear_weight_grad", "output gradient", &dy.shape)?[1];
        CpuTensor::new(
            &[out, xs[1]],
            cpu::linear_weight_grad(&x.data, xs, &dy.data, out)?,
        )
    }
    fn linear_bias_grad(&self, dy: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        let s = check_dims::<2>("linear_bias_grad", "output gradient", &dy.shape)?;
        CpuTensor::new(&[s[1]], cpu::linear_bias_grad(&dy.data, s)?)
    }
    fn relu(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::relu(&x.data))
    }
    fn relu_backward(&self, x: &CpuTensor<E>, dy: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("relu_backward", x, dy)?;
        CpuTensor::new(&x.shape, cpu::relu_backward(&x.data, &dy.data)?)
    }
    fn sigmoid(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::sigmoid(&x.data))
    }
    fn sigmoid_backward(&self, y: &CpuTensor<E>, dy: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("sigmoid_backward", y, dy)?;
        CpuTensor::new(&y.shape, cpu::sigmoid_backward(&y.data, &dy.data)?)
    }
    fn max_pool2d(&self, x: &CpuTensor<E>, p: &Pool2dParams) -> Result<CpuTensor<E>, Error> {
        let g = Pool2dGeometry::new("max_pool2d", &x.shape, p)?;
        CpuTensor::new(&g.y_shape(), cpu::max_pool2d(&x.data, g.x_shape(), p)?)
    }
    fn max_pool2d_backward(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        p: &Pool2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        let xs = check_4d("max_pool2d_backward", "input", &x.shape)?;
        CpuTensor::new(
            &x.shape,
            cpu::max_pool2d_backward(&x.data, xs, &dy.data, p)?,
        )
    }
    fn avg_pool2d(&self, x: &CpuTensor<E>, p: &Pool2dParams) -> Result<CpuTensor<E>, Error> {
        let g = Pool2dGeometry::new("avg_pool2d", &x.shape, p)?;
        CpuTensor::new(&g.y_shape(), cpu::avg_pool2d(&x.data, g.x_shape(), p)?)
    }
    fn avg_pool2d_backward(
        &self,
        dy: &CpuTensor<E>,
        x_shape: [usize; 4],
        p: &Pool2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x_shape, cpu::avg_pool2d_backward(&dy.data, x_shape, p)?)
    }
    fn global_avg_pool2d(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        let xs = check_4d("global_avg_pool2d", "input", &x.shape)?;
        CpuTensor::new(&[xs[0], xs[1], 1, 1], cpu::global_avg_pool2d(&x.data, xs)?)
    }
    fn global_avg_pool2d_backward(
        &self,
        dy: &CpuTensor<E>,
        x_shape: [usize; 4],
    ) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(
            &x_shape,
            cpu::global_avg_pool2d_backward(&dy.data, x_shape)?,
        )
    }
    fn dropout(&self, x: &CpuTensor<E>, p: f32, seed: u64) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::dropout(&x.data, p, seed)?)
    }
    fn dropout_backward(
        &self,
        dy: &CpuTensor<E>,
        p: f32,
        seed: u64,
    ) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&dy.shape, cpu::dropout_backward(&dy.data, p, seed)?)
    }
    fn batch_norm2d(
        &self,
        x: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        bias: &CpuTensor<E>,
        running_mean: &mut CpuTensor<E>,
        running_var: &mut CpuTensor<E>,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(CpuTensor<E>, CpuTensor<E>), Error> {
        let xs = check_4d("batch_norm2d", "input", &x.shape)?;
        let (y, saved) = cpu::batch_norm2d(
            &x.data,
            xs,
            &weight.data,
            &bias.data,
            &mut running_mean.data,
            &mut running_var.data,
            training,
            cfg,
        )?;
        Ok((
            CpuTensor::new(&x.shape, y)?,
            CpuTensor::new(&[xs[1], 2], saved)?,
        ))
    }
    fn batch_norm2d_backward(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        saved: &CpuTensor<E>,
        training: bool,
    ) -> Result<(CpuTensor<E>, CpuTensor<E>, CpuTensor<E>), Error> {
        let xs = check_4d("batch_norm2d_backward", "input", &x.shape)?;
        let (dx, dw, db) =
            cpu::batch_norm2d_backward(&x.data, xs, &dy.data, &weight.data, &saved.data, training)?;
        Ok((
            CpuTensor::new(&x.shape, dx)?,
            CpuTensor::new(&[xs[1]], dw)?,
            CpuTensor::new(&[xs[1]], db)?,
        ))
    }
    fn softmax_cross_entropy(
        &self,
        z: &CpuTensor<E>,
        t: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("softmax_cross_entropy", z, t)?;
        let s = check_dims::<2>("softmax_cross_entropy", "logits", &z.shape)?;
        let loss = cpu::softmax_cross_entropy(&z.data, &t.data, s)?;
        CpuTensor::new(&[1], vec![loss])
    }
    fn softmax_cross_entropy_backward(
        &self,
        z: &CpuTensor<E>,
        t: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("softmax_cross_entropy_backward", z, t)?;
        let s = check_dims::<2>("softmax_cross_entropy_backward", "logits", &z.shape)?;
        CpuTensor::new(
            &z.shape,
            cpu::softmax_cross_entropy_backward(&z.data, &t.data, s)?,
        )
    }
    fn mse_loss(&self, y: &CpuTensor<E>, t: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("mse_loss", y, t)?;
        CpuTensor::new(&[1], vec![cpu::mse_loss(&y.data, &t.data)?])
    }
    fn mse_loss_backward(&self, y: &CpuTensor<E>, t: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("mse_loss_backward", y, t)?;
        CpuTensor::new(&y.shape, cpu::mse_loss_backward(&y.data, &t.data)?)
    }
    fn add_assign(&self, dst: &mut CpuTensor<E>, src: &CpuTensor<E>) -> Result<(), Error> {
        same_shape("add_assign", dst, src)?;
        cpu::add_assign(&mut dst.data, &src.data)
    }
    fn add(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("add", a, b)?;
        CpuTensor::new(&a.shape, cpu::add(&a.data, &b.data)?)
    }
    fn sgd_step(
        &self,
        p: &mut CpuTensor<E>,
        g: &CpuTensor<E>,
        s: &mut CpuSgdState<E>,
        cfg: &Sgd,
    ) -> Result<(), Error> {
        same_shape("sgd_step", p, g)?;
        cpu::sgd_step(&mut p.data, &g.data, s, cfg)
    }
    fn adam_step(
        &self,
        p: &mut CpuTensor<E>,
        g: &CpuTensor<E>,
        s: &mut CpuAdamState<E>,
        cfg: &Adam,
    ) -> Result<(), Error> {
        same_shape("adam_step", p, g)?;
        cpu::adam_step(&mut p.data, &g.data, s, cfg)
    }
    fn sgd_state_to_host(&self, s: &CpuSgdState<E>) -> Result<Option<Vec<f32>>, Error> {
        Ok(s.momentum_buffer.as_ref().map(|b| to_f32(b)))
    }
    fn sgd_state_from_host(
        &self,
        shape: &[usize],
        momentum_buffer: Option<&[f32]>,
    ) -> Result<CpuSgdState<E>, Error> {
        Ok(CpuSgdState {
            momentum_buffer: momentum_buffer.map(|v| from_f32(shape, v)).transpose()?,
        })
    }
    fn adam_state_to_host(&self, s: &CpuAdamState<E>) -> Result<HostAdamState, Error> {
        // A state that has stepped has both moments; a fresh one, none.
        let moments = (s.step > 0).then(|| (to_f32(&s.exp_avg), to_f32(&s.exp_avg_sq)));
        Ok((s.step, moments))
    }
    fn adam_state_from_host(
        &self,
        shape: &[usize],
        state: HostAdamState,
    ) -> Result<CpuAdamState<E>, Error> {
        let (exp_avg, exp_avg_sq) = match &state.1 {
            Some((m, v)) => (from_f32(shape, m)?, from_f32(shape, v)?),
            None => (Vec::new(), Vec::new()),
        };
        Ok(CpuAdamState {
            exp_avg,
            exp_avg_sq,
            step: state.0,
        })
    }
}

fn to_f32<E: Element>(v: &[E]) -> Vec<f32> {
    v.iter().map(|x| x.to_f64() as f32).collect()
}

fn from_f32<E: Element>(shape: &[usize], v: &[f32]) -> Result<Vec<E>, Error> {
    cpu::check_len(shape, v)?;
    Ok(v.iter().map(|&x| E::from_f64(x as f64)).collect())
}
