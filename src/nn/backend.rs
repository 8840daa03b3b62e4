//! [`Backend`]: the ops a model needs, implemented twice — by [`Gpu`]
//! (the WGSL kernels) and by [`Cpu`] (the reference in [`crate::cpu`]) —
//! so one model definition trains on either and the two can be compared
//! step by step.

use crate::cpu::{self, CpuAdamState, CpuSgdState, Element};
use crate::shape::{check_4d, check_dims, Pool2dGeometry, Pool2dParams};
use crate::{Adam, AdamState, Conv2dGeometry, Conv2dParams, Error, Gpu, Sgd, SgdState, Tensor};

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

    /// Runs `f` as one batch of work (one GPU submission); the CPU runs it as is.
    fn record<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        f()
    }
}

impl Backend for Gpu {
    type Tensor = Tensor;
    type SgdState = SgdState;
    type AdamState = AdamState;

    fn describe(&self) -> String {
        let i = self.info();
        format!("{} ({:?})", i.name, i.backend)
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
    fn record<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        Gpu::record(self, f)
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
}
