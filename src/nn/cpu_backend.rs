//! [`Cpu`]: the CPU reference ([`crate::cpu`]) as a [`super::Backend`],
//! in f32 (to train beside a GPU and compare step by step) or f64 (for
//! finite-difference checks of any graph). Each op is an inherent method
//! that wraps the reference function of the same name in shape checks.

use super::backend::{BackendBase, BnGrads, HostAdamState};
use crate::cpu::{self, CpuAdamState, CpuSgdState, Element};
use crate::ops::norm_layout;
use crate::shape::{check_4d, check_dims, check_fused_pool, Pool2dGeometry, Pool2dParams};
use crate::{
    Activation, Adam, BatchNorm, Conv2dGeometry, Conv2dParams, Error, NllOptions, NormGrads,
    Normalization, PointwiseLoss, Sgd, Upsample2dParams,
};

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

impl<E: Element + 'static> BackendBase for Cpu<E> {
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

/// The ops, each the [`crate::cpu`] function of the same name on host arrays.
impl<E: Element> Cpu<E> {
    pub fn conv2d(
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
    pub fn conv2d_input_grad(
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
    pub fn conv2d_weight_grad(
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
    /// The reference keeps no transform: `conv2d` and `None`, so the
    /// autodiff keeps the input as without Winograd.
    pub fn conv2d_keeping_transform(
        &self,
        x: &CpuTensor<E>,
        w: &CpuTensor<E>,
        b: Option<&CpuTensor<E>>,
        p: &Conv2dParams,
    ) -> Result<(CpuTensor<E>, Option<CpuTensor<E>>), Error> {
        Ok((self.conv2d(x, w, b, p)?, None))
    }
    /// Refused: `conv2d_keeping_transform` never returns a transform here.
    pub fn conv2d_weight_grad_transformed(
        &self,
        _v: &CpuTensor<E>,
        _dy: &CpuTensor<E>,
        _x_shape: [usize; 4],
        _w_shape: [usize; 4],
        _p: &Conv2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        Err(Error::InvalidParam {
            op: "conv2d_weight_grad",
            param: "transformed input",
            message: "the CPU reference keeps no Winograd transform: pass the input to \
                      conv2d_weight_grad"
                .into(),
        })
    }
    pub fn bias_grad(&self, dy: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        let s = check_4d("bias_grad", "output gradient", &dy.shape)?;
        CpuTensor::new(&[s[1]], cpu::bias_grad(&dy.data, s)?)
    }
    pub fn linear(
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
    pub fn linear_input_grad(
        &self,
        dy: &CpuTensor<E>,
        w: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        let ws = check_dims::<2>("linear_input_grad", "weight", &w.shape)?;
        let n = check_dims::<2>("linear_input_grad", "output gradient", &dy.shape)?[0];
        CpuTensor::new(&[n, ws[1]], cpu::linear_input_grad(&dy.data, &w.data, ws)?)
    }
    pub fn linear_weight_grad(
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
    pub fn linear_bias_grad(&self, dy: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        let s = check_dims::<2>("linear_bias_grad", "output gradient", &dy.shape)?;
        CpuTensor::new(&[s[1]], cpu::linear_bias_grad(&dy.data, s)?)
    }
    pub fn relu(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::relu(&x.data))
    }
    pub fn relu_backward(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("relu_backward", x, dy)?;
        CpuTensor::new(&x.shape, cpu::relu_backward(&x.data, &dy.data)?)
    }
    pub fn sigmoid(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::sigmoid(&x.data))
    }
    pub fn sigmoid_backward(
        &self,
        y: &CpuTensor<E>,
        dy: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("sigmoid_backward", y, dy)?;
        CpuTensor::new(&y.shape, cpu::sigmoid_backward(&y.data, &dy.data)?)
    }
    pub fn nll_loss(
        &self,
        logp: &CpuTensor<E>,
        targets: &[f32],
        weight: Option<&CpuTensor<E>>,
        o: &NllOptions,
    ) -> Result<CpuTensor<E>, Error> {
        let w = weight.map(|w| &w.data[..]);
        let (loss, _) = cpu::nll_loss(&logp.data, &logp.shape, targets, w, o)?;
        CpuTensor::new(&[1], vec![loss])
    }
    pub fn nll_loss_backward(
        &self,
        logp: &CpuTensor<E>,
        targets: &[f32],
        weight: Option<&CpuTensor<E>>,
        o: &NllOptions,
    ) -> Result<CpuTensor<E>, Error> {
        let w = weight.map(|w| &w.data[..]);
        let (_, grad) = cpu::nll_loss(&logp.data, &logp.shape, targets, w, o)?;
        CpuTensor::new(&logp.shape, grad)
    }
    pub fn pointwise_loss(
        &self,
        y: &CpuTensor<E>,
        t: &CpuTensor<E>,
        kind: PointwiseLoss,
        pos_weight: Option<&CpuTensor<E>>,
    ) -> Result<CpuTensor<E>, Error> {
        let (loss, _) = self.pointwise(y, t, kind, pos_weight)?;
        CpuTensor::new(&[1], vec![loss])
    }
    pub fn pointwise_loss_backward(
        &self,
        y: &CpuTensor<E>,
        t: &CpuTensor<E>,
        kind: PointwiseLoss,
        pos_weight: Option<&CpuTensor<E>>,
    ) -> Result<CpuTensor<E>, Error> {
        let (_, dy) = self.pointwise(y, t, kind, pos_weight)?;
        CpuTensor::new(&y.shape, dy)
    }
    fn pointwise(
        &self,
        y: &CpuTensor<E>,
        t: &CpuTensor<E>,
        kind: PointwiseLoss,
        pos_weight: Option<&CpuTensor<E>>,
    ) -> Result<(E, Vec<E>), Error> {
        same_shape(kind.torch_name(), y, t)?;
        kind.classes(&y.shape, pos_weight.map(|w| &w.shape[..]))?;
        cpu::pointwise_loss(&y.data, &t.data, kind, pos_weight.map(|w| &w.data[..]))
    }
    pub fn norm(
        &self,
        x: &CpuTensor<E>,
        kind: Normalization,
        weight: Option<&CpuTensor<E>>,
        bias: Option<&CpuTensor<E>>,
        eps: f32,
    ) -> Result<(CpuTensor<E>, CpuTensor<E>), Error> {
        const OP: &str = "norm";
        let l = norm_layout(
            OP,
            &x.shape,
            kind,
            [weight.map(|w| &w.shape[..]), bias.map(|b| &b.shape[..])],
        )?;
        let (y, saved) = cpu::norm(
            &x.data,
            &x.shape,
            kind,
            weight.map(|w| &w.data[..]),
            bias.map(|b| &b.data[..]),
            eps as f64,
        )?;
        Ok((
            CpuTensor::new(&x.shape, y)?,
            CpuTensor::new(&[l.rows, 2], saved)?,
        ))
    }
    pub fn norm_backward(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        kind: Normalization,
        weight: Option<&CpuTensor<E>>,
        bias: bool,
        saved: &CpuTensor<E>,
    ) -> Result<NormGrads<CpuTensor<E>>, Error> {
        const OP: &str = "norm_backward";
        same_shape(OP, x, dy)?;
        let l = norm_layout(OP, &x.shape, kind, [weight.map(|w| &w.shape[..]), None])?;
        let (dx, dw, db) = cpu::norm_backward(
            &x.data,
            &dy.data,
            &x.shape,
            kind,
            weight.map(|w| &w.data[..]),
            bias,
            &saved.data,
        )?;
        let param_shape = match kind {
            Normalization::Layer { dims } => x.shape[x.shape.len() - dims..].to_vec(),
            _ => vec![l.count],
        };
        let param = |v: Option<Vec<E>>| v.map(|v| CpuTensor::new(&param_shape, v)).transpose();
        Ok((CpuTensor::new(&x.shape, dx)?, param(dw)?, param(db)?))
    }
    pub fn softmax(&self, x: &CpuTensor<E>, dim: usize) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::softmax(&x.data, &x.shape, dim, false)?)
    }
    pub fn log_softmax(&self, x: &CpuTensor<E>, dim: usize) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::softmax(&x.data, &x.shape, dim, true)?)
    }
    pub fn softmax_backward(
        &self,
        y: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        dim: usize,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("softmax_backward", y, dy)?;
        CpuTensor::new(
            &y.shape,
            cpu::softmax_backward(&y.data, &dy.data, &y.shape, dim, false)?,
        )
    }
    pub fn log_softmax_backward(
        &self,
        y: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        dim: usize,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("log_softmax_backward", y, dy)?;
        CpuTensor::new(
            &y.shape,
            cpu::softmax_backward(&y.data, &dy.data, &y.shape, dim, true)?,
        )
    }
    pub fn copy(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        Ok(x.clone())
    }
    pub fn adaptive_avg_pool2d(
        &self,
        x: &CpuTensor<E>,
        output_size: [usize; 2],
    ) -> Result<CpuTensor<E>, Error> {
        let xs = check_4d("adaptive_avg_pool2d", "input", &x.shape)?;
        let [n, c, _, _] = xs;
        let data = cpu::adaptive_avg_pool2d(&x.data, xs, output_size)?;
        CpuTensor::new(&[n, c, output_size[0], output_size[1]], data)
    }
    pub fn adaptive_avg_pool2d_backward(
        &self,
        dy: &CpuTensor<E>,
        x_shape: [usize; 4],
        output_size: [usize; 2],
    ) -> Result<CpuTensor<E>, Error> {
        let want = [x_shape[0], x_shape[1], output_size[0], output_size[1]];
        if dy.shape != want {
            return Err(Error::ShapeMismatch {
                op: "adaptive_avg_pool2d_backward",
                tensor: "output gradient",
                expected: want.to_vec(),
                got: dy.shape.clone(),
            });
        }
        CpuTensor::new(
            &x_shape,
            cpu::adaptive_avg_pool2d_backward(&dy.data, x_shape, output_size)?,
        )
    }
    pub fn adaptive_max_pool2d(
        &self,
        x: &CpuTensor<E>,
        output_size: [usize; 2],
    ) -> Result<CpuTensor<E>, Error> {
        let xs = check_4d("adaptive_max_pool2d", "input", &x.shape)?;
        let [n, c, _, _] = xs;
        let data = cpu::adaptive_max_pool2d(&x.data, xs, output_size)?;
        CpuTensor::new(&[n, c, output_size[0], output_size[1]], data)
    }
    pub fn adaptive_max_pool2d_backward(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        output_size: [usize; 2],
    ) -> Result<CpuTensor<E>, Error> {
        const OP: &str = "adaptive_max_pool2d_backward";
        let xs = check_4d(OP, "input", &x.shape)?;
        let want = [xs[0], xs[1], output_size[0], output_size[1]];
        if dy.shape != want {
            return Err(Error::ShapeMismatch {
                op: OP,
                tensor: "output gradient",
                expected: want.to_vec(),
                got: dy.shape.clone(),
            });
        }
        CpuTensor::new(
            &x.shape,
            cpu::adaptive_max_pool2d_backward(&x.data, &dy.data, xs, output_size)?,
        )
    }
    pub fn upsample2d(
        &self,
        x: &CpuTensor<E>,
        p: &Upsample2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        let xs = check_4d("upsample2d", "input", &x.shape)?;
        let (ys, _) = p.geometry("upsample2d", &xs)?;
        CpuTensor::new(&ys, cpu::upsample2d(&x.data, xs, p)?)
    }
    pub fn upsample2d_backward(
        &self,
        dy: &CpuTensor<E>,
        x_shape: [usize; 4],
        p: &Upsample2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        let (ys, _) = p.geometry("upsample2d_backward", &x_shape)?;
        if dy.shape != ys {
            return Err(Error::ShapeMismatch {
                op: "upsample2d_backward",
                tensor: "output gradient",
                expected: ys.to_vec(),
                got: dy.shape.clone(),
            });
        }
        CpuTensor::new(&x_shape, cpu::upsample2d_backward(&dy.data, x_shape, p)?)
    }
    pub fn add_channel_bias(
        &self,
        x: &CpuTensor<E>,
        bias: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        if bias.shape.len() != 1 {
            return Err(Error::InvalidParam {
                op: "add_channel_bias",
                param: "bias",
                message: format!("a bias of {:?}: it takes [C]", bias.shape),
            });
        }
        CpuTensor::new(
            &x.shape,
            cpu::add_channel_bias(&x.data, &x.shape, &bias.data)?,
        )
    }
    pub fn cat_channels(&self, parts: &[&CpuTensor<E>]) -> Result<CpuTensor<E>, Error> {
        let shapes = parts
            .iter()
            .map(|p| check_4d("cat_channels", "part", &p.shape))
            .collect::<Result<Vec<_>, _>>()?;
        let data: Vec<(&[E], [usize; 4])> = parts
            .iter()
            .zip(&shapes)
            .map(|(p, s)| (&p.data[..], *s))
            .collect();
        let out = cpu::cat_channels(&data)?;
        let [n, _, h, w] = shapes[0];
        CpuTensor::new(&[n, shapes.iter().map(|s| s[1]).sum(), h, w], out)
    }
    pub fn split_channels(
        &self,
        x: &CpuTensor<E>,
        sizes: &[usize],
    ) -> Result<Vec<CpuTensor<E>>, Error> {
        let [n, _, h, w] = check_4d("split_channels", "input", &x.shape)?;
        let xs = [n, x.shape[1], h, w];
        cpu::split_channels(&x.data, xs, sizes)?
            .into_iter()
            .zip(sizes)
            .map(|(d, &c)| CpuTensor::new(&[n, c, h, w], d))
            .collect()
    }
    pub fn activate(&self, x: &CpuTensor<E>, act: Activation) -> Result<CpuTensor<E>, Error> {
        act.validate()?;
        CpuTensor::new(&x.shape, cpu::activate(&x.data, act))
    }
    pub fn activate_backward(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        act: Activation,
    ) -> Result<CpuTensor<E>, Error> {
        act.validate()?;
        same_shape(act.torch_name(), x, dy)?;
        CpuTensor::new(&x.shape, cpu::activate_backward(&x.data, &dy.data, act)?)
    }
    pub fn max_pool2d(&self, x: &CpuTensor<E>, p: &Pool2dParams) -> Result<CpuTensor<E>, Error> {
        let g = Pool2dGeometry::new("max_pool2d", &x.shape, p)?;
        CpuTensor::new(&g.y_shape(), cpu::max_pool2d(&x.data, g.x_shape(), p)?)
    }
    pub fn max_pool2d_backward(
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
    pub fn avg_pool2d(&self, x: &CpuTensor<E>, p: &Pool2dParams) -> Result<CpuTensor<E>, Error> {
        let g = Pool2dGeometry::new("avg_pool2d", &x.shape, p)?;
        CpuTensor::new(&g.y_shape(), cpu::avg_pool2d(&x.data, g.x_shape(), p)?)
    }
    pub fn avg_pool2d_backward(
        &self,
        dy: &CpuTensor<E>,
        x_shape: [usize; 4],
        p: &Pool2dParams,
    ) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x_shape, cpu::avg_pool2d_backward(&dy.data, x_shape, p)?)
    }
    pub fn global_avg_pool2d(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        let xs = check_4d("global_avg_pool2d", "input", &x.shape)?;
        CpuTensor::new(&[xs[0], xs[1], 1, 1], cpu::global_avg_pool2d(&x.data, xs)?)
    }
    pub fn global_avg_pool2d_backward(
        &self,
        dy: &CpuTensor<E>,
        x_shape: [usize; 4],
    ) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(
            &x_shape,
            cpu::global_avg_pool2d_backward(&dy.data, x_shape)?,
        )
    }
    pub fn dropout(&self, x: &CpuTensor<E>, p: f32, seed: u64) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&x.shape, cpu::dropout(&x.data, p, seed)?)
    }
    pub fn dropout_backward(
        &self,
        dy: &CpuTensor<E>,
        p: f32,
        seed: u64,
    ) -> Result<CpuTensor<E>, Error> {
        CpuTensor::new(&dy.shape, cpu::dropout_backward(&dy.data, p, seed)?)
    }
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d(
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
    pub fn batch_norm2d_backward(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        saved: &CpuTensor<E>,
        training: bool,
    ) -> Result<BnGrads<CpuTensor<E>>, Error> {
        let xs = check_4d("batch_norm2d_backward", "input", &x.shape)?;
        let (dx, dw, db) =
            cpu::batch_norm2d_backward(&x.data, xs, &dy.data, &weight.data, &saved.data, training)?;
        Ok((
            CpuTensor::new(&x.shape, dx)?,
            CpuTensor::new(&[xs[1]], dw)?,
            CpuTensor::new(&[xs[1]], db)?,
        ))
    }
    /// `relu(batch_norm2d(x))`: the two reference ops one after the other.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d_relu(
        &self,
        x: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        bias: &CpuTensor<E>,
        running_mean: &mut CpuTensor<E>,
        running_var: &mut CpuTensor<E>,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(CpuTensor<E>, CpuTensor<E>), Error> {
        let (y, stats) =
            self.batch_norm2d(x, weight, bias, running_mean, running_var, training, cfg)?;
        Ok((self.relu(&y)?, stats))
    }
    /// ReLU's backward pass from the fused op's output `y`, then batch
    /// norm's (`bias` is the GPU's way to the same mask; checked here).
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d_relu_backward(
        &self,
        x: &CpuTensor<E>,
        y: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        bias: &CpuTensor<E>,
        saved: &CpuTensor<E>,
        training: bool,
    ) -> Result<BnGrads<CpuTensor<E>>, Error> {
        same_shape("batch_norm2d_relu_backward", weight, bias)?;
        let g = self.relu_backward(y, dy)?;
        self.batch_norm2d_backward(x, &g, weight, saved, training)
    }
    /// `max_pool2d(relu(batch_norm2d(x)), 2)`: the reference ops one after
    /// the other.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm2d_relu_max_pool2d(
        &self,
        x: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        bias: &CpuTensor<E>,
        running_mean: &mut CpuTensor<E>,
        running_var: &mut CpuTensor<E>,
        training: bool,
        cfg: &BatchNorm,
    ) -> Result<(CpuTensor<E>, CpuTensor<E>), Error> {
        let op = "batch_norm2d_relu_max_pool2d";
        let xs = check_4d(op, "input", &x.shape)?;
        check_fused_pool(op, xs)?;
        let (p, saved) = cpu::batch_norm2d_relu_max_pool2d(
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
            CpuTensor::new(&[xs[0], xs[1], xs[2] / 2, xs[3] / 2], p)?,
            CpuTensor::new(&[xs[1], 2], saved)?,
        ))
    }
    /// Its backward pass: `y` found again from `x` and `saved`, then the
    /// reference backward passes.
    pub fn batch_norm2d_relu_max_pool2d_backward(
        &self,
        x: &CpuTensor<E>,
        dpooled: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        bias: &CpuTensor<E>,
        saved: &CpuTensor<E>,
        training: bool,
    ) -> Result<BnGrads<CpuTensor<E>>, Error> {
        let op = "batch_norm2d_relu_max_pool2d_backward";
        let xs = check_4d(op, "input", &x.shape)?;
        check_fused_pool(op, xs)?;
        let (dx, dw, db) = cpu::batch_norm2d_relu_max_pool2d_backward(
            &x.data,
            xs,
            &dpooled.data,
            &weight.data,
            &bias.data,
            &saved.data,
            training,
        )?;
        Ok((
            CpuTensor::new(&x.shape, dx)?,
            CpuTensor::new(&[xs[1]], dw)?,
            CpuTensor::new(&[xs[1]], db)?,
        ))
    }
    pub fn softmax_cross_entropy(
        &self,
        z: &CpuTensor<E>,
        t: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("softmax_cross_entropy", z, t)?;
        let s = check_dims::<2>("softmax_cross_entropy", "logits", &z.shape)?;
        let loss = cpu::softmax_cross_entropy(&z.data, &t.data, s)?;
        CpuTensor::new(&[1], vec![loss])
    }
    pub fn softmax_cross_entropy_backward(
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
    pub fn mse_loss(&self, y: &CpuTensor<E>, t: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("mse_loss", y, t)?;
        CpuTensor::new(&[1], vec![cpu::mse_loss(&y.data, &t.data)?])
    }
    pub fn mse_loss_backward(
        &self,
        y: &CpuTensor<E>,
        t: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("mse_loss_backward", y, t)?;
        CpuTensor::new(&y.shape, cpu::mse_loss_backward(&y.data, &t.data)?)
    }
    pub fn add_assign(&self, dst: &mut CpuTensor<E>, src: &CpuTensor<E>) -> Result<(), Error> {
        same_shape("add_assign", dst, src)?;
        cpu::add_assign(&mut dst.data, &src.data)
    }
    pub fn add(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("add", a, b)?;
        CpuTensor::new(&a.shape, cpu::add(&a.data, &b.data)?)
    }
    pub fn mul(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        same_shape("mul", a, b)?;
        CpuTensor::new(&a.shape, cpu::mul(&a.data, &b.data)?)
    }
    pub fn mul_broadcast(&self, x: &CpuTensor<E>, s: &CpuTensor<E>) -> Result<CpuTensor<E>, Error> {
        let g = crate::shape::BroadcastGeometry::new("mul_broadcast", &x.shape, &s.shape)?;
        CpuTensor::new(&x.shape, cpu::mul_broadcast(&x.data, &s.data, g.block)?)
    }
    pub fn mul_broadcast_grad(
        &self,
        x: &CpuTensor<E>,
        dy: &CpuTensor<E>,
        s_shape: &[usize],
    ) -> Result<CpuTensor<E>, Error> {
        same_shape("mul_broadcast_grad", x, dy)?;
        let g = crate::shape::BroadcastGeometry::new("mul_broadcast_grad", &x.shape, s_shape)?;
        CpuTensor::new(
            s_shape,
            cpu::mul_broadcast_grad(&x.data, &dy.data, g.block)?,
        )
    }
    pub fn sgd_step(
        &self,
        p: &mut CpuTensor<E>,
        g: &CpuTensor<E>,
        s: &mut CpuSgdState<E>,
        cfg: &Sgd,
    ) -> Result<(), Error> {
        same_shape("sgd_step", p, g)?;
        cpu::sgd_step(&mut p.data, &g.data, s, cfg)
    }
    pub fn adam_step(
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

fn to_f32<E: Element>(v: &[E]) -> Vec<f32> {
    v.iter().map(|x| x.to_f64() as f32).collect()
}

fn from_f32<E: Element>(shape: &[usize], v: &[f32]) -> Result<Vec<E>, Error> {
    cpu::check_len(shape, v)?;
    Ok(v.iter().map(|&x| E::from_f64(x as f64)).collect())
}
