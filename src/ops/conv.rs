//! The three convolutions' public entry points (`Gpu::conv2d`,
//! `conv2d_input_grad`, `conv2d_weight_grad`) and `Gpu::explain`: validate,
//! make the [`ConvProblem`], get its plan (crate::plan, or the tuner),
//! record it. [`record_conv`] records any plan of any problem; the
//! benchmark and the tuner call it too. Each op's module records its own
//! plans (conv2d_forward.rs, conv2d_input_grad.rs, conv2d_weight_grad.rs).

use super::{
    check_owned, check_shape, conv2d_forward, conv2d_input_grad, conv2d_weight_grad, im2col,
    winograd,
};
use crate::gpu::Recorder;
use crate::plan::{self, Algorithm, ConvOp, ConvPlan, ConvProblem};
use crate::{Conv2dGeometry, Conv2dParams, Error, Gpu, Tensor};

/// The buffers of one convolution, in the order of
/// [`ConvProblem::operand_shapes`]: forward `(x, w) → y` with an optional
/// bias, input grad `(dy, w) → dx`, weight grad `(x, dy) → dw`.
pub(crate) struct ConvBuffers<'a> {
    pub a: &'a wgpu::Buffer,
    pub b: &'a wgpu::Buffer,
    /// Forward only.
    pub bias: Option<&'a wgpu::Buffer>,
    pub out: &'a wgpu::Buffer,
}

/// Records `plan` for `problem` into `rec`, on validated whole-tensor
/// buffers (split over the batch where a tensor exceeds one binding).
pub(crate) fn record_conv(
    rec: &mut Recorder,
    problem: &ConvProblem,
    plan: &ConvPlan,
    b: ConvBuffers,
) -> Result<(), Error> {
    if plan.algorithm.winograd_tile().is_some() {
        return winograd::record(rec, problem, plan, b.a, b.b, b.bias, b.out);
    }
    if plan.algorithm == Algorithm::Im2col {
        return im2col::record(rec, problem, plan, b.a, b.b, b.bias, b.out);
    }
    match problem.op {
        ConvOp::Forward => conv2d_forward::record(rec, problem, plan, b.a, b.b, b.bias, b.out),
        ConvOp::InputGrad => conv2d_input_grad::record(rec, problem, plan, b.a, b.b, b.out),
        ConvOp::WeightGrad => conv2d_weight_grad::record(rec, problem, plan, b.a, b.b, b.out),
    }
}

impl Gpu {
    /// `y = conv2d(x, w) + bias` with PyTorch's semantics (cross-correlation,
    /// zero padding, stride, dilation, groups).
    ///
    /// `x` is `[N, C, H, W]`, `w` is `[K, C/groups, R, S]`, `bias` is `[K]`;
    /// returns `y` of shape `[N, K, Ho, Wo]`. Fails, before any GPU work,
    /// on invalid geometry (see [`Conv2dGeometry::new`]), a bias that is not
    /// `[K]`, tensors from another `Gpu`, or an output over the adapter's
    /// buffer limits.
    pub fn conv2d(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        const OP: &str = "conv2d";
        let problem = self.forward_problem(OP, x, w, bias, p)?;
        self.run_conv(OP, &problem, &problem.geometry.y_shape(), (x, w, bias))
    }

    /// [`Gpu::conv2d`], keeping what its weight gradient can reuse: where
    /// the forward's plan and the weight gradient's share Winograd's input
    /// transform ([`plan::shares_input_transform`]: the same Winograd
    /// algorithm on a CPU adapter), the transformed input `V` `[P·C, T]`
    /// (P products per tile, T tiles) beside `y`, for
    /// [`Gpu::conv2d_weight_grad_transformed`]; `None` elsewhere. The
    /// autodiff (`nn::functional::conv2d`) keeps `V` instead of `x` for the
    /// backward pass, which then skips one pass over the activations.
    pub fn conv2d_keeping_transform(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        p: &Conv2dParams,
    ) -> Result<(Tensor, Option<Tensor>), Error> {
        const OP: &str = "conv2d";
        let problem = self.forward_problem(OP, x, w, bias, p)?;
        let _serial = self.serialize();
        let ([plan, _], shared) = self.transform_plans(&problem.geometry)?;
        let mut rec = Recorder::new(self, OP)?;
        let out = self.output_unlocked(OP, &problem.geometry.y_shape())?;
        let v = match shared {
            Some(shape) => Some(self.output_unlocked(OP, &shape)?),
            None => None,
        };
        let bias = bias.map(|t| &t.buffer);
        match &v {
            Some(v) => winograd::record_keeping_transform(
                &mut rec,
                &problem,
                &plan,
                (&x.buffer, &w.buffer, bias),
                &v.buffer,
                &out.buffer,
            )?,
            None => {
                let buffers = ConvBuffers {
                    a: &x.buffer,
                    b: &w.buffer,
                    bias,
                    out: &out.buffer,
                };
                record_conv(&mut rec, &problem, &plan, buffers)?
            }
        }
        rec.submit()?;
        Ok((out, v))
    }

    /// The checked forward problem of `conv2d(x, w, bias)`.
    fn forward_problem(
        &self,
        op: &'static str,
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        p: &Conv2dParams,
    ) -> Result<ConvProblem, Error> {
        check_owned(self, op, &[("input", x), ("weight", w)])?;
        let geometry = Conv2dGeometry::new(op, x.shape(), w.shape(), p)?;
        if let Some(b) = bias {
            check_owned(self, op, &[("bias", b)])?;
            check_shape(op, "bias", b, &[geometry.k])?;
        }
        Ok(ConvProblem {
            op: ConvOp::Forward,
            geometry,
        })
    }

    /// The plans of the forward and weight gradient of `geometry` on this
    /// handle, and the shape of the transformed input they share, if they
    /// do ([`plan::shares_input_transform`]).
    fn transform_plans(
        &self,
        geometry: &Conv2dGeometry,
    ) -> Result<([ConvPlan; 2], Option<[usize; 2]>), Error> {
        let [forward, weight_grad] = [ConvOp::Forward, ConvOp::WeightGrad].map(|op| ConvProblem {
            op,
            geometry: *geometry,
        });
        let plans = [&forward, &weight_grad].map(|p| super::tune::resolve(self, p));
        if !plan::shares_input_transform(&plans[0], &plans[1], &self.facts()) {
            return Ok((plans, None));
        }
        let shape = winograd::transform_shape(&forward, &plans[0])?;
        Ok((plans, Some(shape)))
    }

    /// `dx = ∂L/∂x` from the output gradient `dy = ∂L/∂y` of
    /// `y = conv2d(x, w)`.
    ///
    /// `dy` is `[N, K, Ho, Wo]`, `w` is `[K, C/groups, R, S]`, `x_shape` is
    /// the forward input's `[N, C, H, W]`; returns `dx` of shape `x_shape`.
    /// Fails on invalid geometry, a `dy` whose shape is not the forward
    /// output's, or tensors from another `Gpu`.
    pub fn conv2d_input_grad(
        &self,
        dy: &Tensor,
        w: &Tensor,
        x_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        const OP: &str = "conv2d_input_grad";
        check_owned(self, OP, &[("output gradient", dy), ("weight", w)])?;
        let geometry = Conv2dGeometry::new(OP, &x_shape, w.shape(), p)?;
        check_shape(OP, "output gradient", dy, &geometry.y_shape())?;
        let problem = ConvProblem {
            op: ConvOp::InputGrad,
            geometry,
        };
        self.run_conv(OP, &problem, &x_shape, (dy, w, None))
    }

    /// `dw = ∂L/∂w` from the forward input `x` and the output gradient
    /// `dy = ∂L/∂y` of `y = conv2d(x, w)`.
    ///
    /// `x` is `[N, C, H, W]`, `dy` is `[N, K, Ho, Wo]`, `w_shape` is the
    /// weight's `[K, C/groups, R, S]`; returns `dw` of shape `w_shape`. The
    /// sum over `N·Ho·Wo` runs in a fixed order (split into ranges summed
    /// in order, no atomics), so results are bit-identical run to run.
    /// Fails on invalid geometry, a `dy` that is not the forward output's
    /// shape, or tensors from another `Gpu`.
    pub fn conv2d_weight_grad(
        &self,
        x: &Tensor,
        dy: &Tensor,
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        const OP: &str = "conv2d_weight_grad";
        check_owned(self, OP, &[("input", x), ("output gradient", dy)])?;
        let geometry = Conv2dGeometry::new(OP, x.shape(), &w_shape, p)?;
        check_shape(OP, "output gradient", dy, &geometry.y_shape())?;
        let problem = ConvProblem {
            op: ConvOp::WeightGrad,
            geometry,
        };
        self.run_conv(OP, &problem, &w_shape, (x, dy, None))
    }

    /// [`Gpu::conv2d_weight_grad`] from the transformed input `v` that
    /// [`Gpu::conv2d_keeping_transform`] returned for the forward input of
    /// shape `x_shape` (instead of that input): the same dispatches from
    /// the input transform on, so the same bits. Fails where this handle's
    /// plans do not share the transform (see there) or `v` is not its
    /// `[P·C, T]`.
    pub fn conv2d_weight_grad_transformed(
        &self,
        v: &Tensor,
        dy: &Tensor,
        x_shape: [usize; 4],
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<Tensor, Error> {
        const OP: &str = "conv2d_weight_grad";
        check_owned(
            self,
            OP,
            &[("transformed input", v), ("output gradient", dy)],
        )?;
        let geometry = Conv2dGeometry::new(OP, &x_shape, &w_shape, p)?;
        check_shape(OP, "output gradient", dy, &geometry.y_shape())?;
        let _serial = self.serialize();
        let ([_, plan], Some(shape)) = self.transform_plans(&geometry)? else {
            return Err(Error::InvalidParam {
                op: OP,
                param: "transformed input",
                message: "this adapter's plans for the forward and the weight gradient do not \
                          share Winograd's input transform: pass the input to conv2d_weight_grad"
                    .into(),
            });
        };
        check_shape(OP, "transformed input", v, &shape)?;
        let problem = ConvProblem {
            op: ConvOp::WeightGrad,
            geometry,
        };
        let mut rec = Recorder::new(self, OP)?;
        let out = self.output_unlocked(OP, &w_shape)?;
        winograd::record_from_transform(
            &mut rec,
            &problem,
            &plan,
            &v.buffer,
            &dy.buffer,
            &out.buffer,
        )?;
        rec.submit()?;
        Ok(out)
    }

    /// The plan this handle runs `op` with for input shape `x_shape` (the
    /// forward input, for every op), weight shape `w_shape` and `p`: the
    /// kernel, the algorithm and the reduction's split (weight gradients,
    /// and forward GEMMs whose output has few tiles). Under
    /// `Policy::Tuned` this measures the problem if it has not been yet
    /// (as its first run would). Fails on invalid geometry.
    pub fn explain(
        &self,
        op: ConvOp,
        x_shape: [usize; 4],
        w_shape: [usize; 4],
        p: &Conv2dParams,
    ) -> Result<ConvPlan, Error> {
        let _serial = self.serialize();
        let problem = ConvProblem::new(op, &x_shape, &w_shape, p)?;
        Ok(super::tune::resolve(self, &problem))
    }

    /// The plans of a transposed convolution (`nn::ConvTranspose2d`) of
    /// input `x_shape` and weight `w_shape` `[C_in, C_out/groups, kh, kw]`:
    /// its forward pass (the input gradient of the convolution it
    /// transposes), its input gradient (that convolution's forward pass)
    /// and its weight gradient, in that order.
    pub fn explain_conv_transpose2d(
        &self,
        x_shape: [usize; 4],
        w_shape: [usize; 4],
        p: &Conv2dParams,
        output_padding: [u32; 2],
    ) -> Result<[ConvPlan; 3], Error> {
        let y_shape = crate::shape::conv_transpose2d_shape(
            "conv_transpose2d",
            &x_shape,
            &w_shape,
            p,
            output_padding,
        )?;
        Ok([
            self.explain(ConvOp::InputGrad, y_shape, w_shape, p)?,
            self.explain(ConvOp::Forward, y_shape, w_shape, p)?,
            self.explain(ConvOp::WeightGrad, y_shape, w_shape, p)?,
        ])
    }

    /// The output of `problem` (shaped `out_shape`, which holds as many
    /// values as the op's result) from its two operands (and bias),
    /// planned and recorded as one submission: [`Gpu::run`] with the plan
    /// resolved first, since measuring it (`Tuned`) records and submits
    /// work of its own.
    pub(crate) fn run_conv(
        &self,
        op: &'static str,
        problem: &ConvProblem,
        out_shape: &[usize],
        (a, b, bias): (&Tensor, &Tensor, Option<&Tensor>),
    ) -> Result<Tensor, Error> {
        let _serial = self.serialize();
        let plan = super::tune::resolve(self, problem);
        let mut rec = Recorder::new(self, op)?;
        let out = self.output_unlocked(op, out_shape)?;
        let buffers = ConvBuffers {
            a: &a.buffer,
            b: &b.buffer,
            bias: bias.map(|t| &t.buffer),
            out: &out.buffer,
        };
        record_conv(&mut rec, problem, &plan, buffers)?;
        rec.submit()?;
        Ok(out)
    }
}
