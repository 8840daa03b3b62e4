//! `Gpu::pointwise_loss` and its backward pass
//! (shaders/pointwise_loss.wgsl): torch's `L1Loss`, `SmoothL1Loss` and
//! `BCEWithLogitsLoss` with `reduction='mean'`.

use super::elementwise::{dispatch_items_extra, dispatch_single_extra};
use super::{check_loop, check_owned, check_shape};
use crate::gpu::{Bindable, Shader};
use crate::{Error, Gpu, Tensor};

/// An element-wise loss, averaged over every element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointwiseLoss {
    /// `nn.L1Loss()`: `|y − t|`.
    L1,
    /// `nn.SmoothL1Loss(beta)`: `d²/(2β)` below `β`, `|d| − β/2` above
    /// (`beta: 0` is L1, as torch).
    SmoothL1 { beta: f32 },
    /// `nn.BCEWithLogitsLoss(pos_weight)`: binary cross-entropy of the
    /// sigmoid of logits `y` against targets `t` in [0, 1], the positive
    /// term weighted per class of the last axis (the `pos_weight` tensor,
    /// `[C]`, or 1).
    BceWithLogits,
}

impl PointwiseLoss {
    /// torch's class name.
    pub fn torch_name(self) -> &'static str {
        match self {
            PointwiseLoss::L1 => "L1Loss",
            PointwiseLoss::SmoothL1 { .. } => "SmoothL1Loss",
            PointwiseLoss::BceWithLogits => "BCEWithLogitsLoss",
        }
    }

    /// The kernel's kind code and parameter: SmoothL1 with `beta = 0` is L1.
    pub(crate) fn code(self) -> Result<(usize, f32), Error> {
        Ok(match self {
            PointwiseLoss::L1 | PointwiseLoss::SmoothL1 { beta: 0.0 } => (0, 0.0),
            PointwiseLoss::SmoothL1 { beta } if beta.is_finite() && beta > 0.0 => (1, beta),
            PointwiseLoss::SmoothL1 { beta } => {
                return Err(Error::InvalidParam {
                    op: "SmoothL1Loss",
                    param: "beta",
                    message: format!("{beta} must be finite and at least 0"),
                })
            }
            PointwiseLoss::BceWithLogits => (2, 0.0),
        })
    }

    /// The classes `pos_weight` covers (0 without one), after checking it
    /// is `[C]` for targets of last axis C and only given to BCE.
    pub(crate) fn classes(
        self,
        y_shape: &[usize],
        pos_weight: Option<&[usize]>,
    ) -> Result<usize, Error> {
        match (self, pos_weight) {
            (_, None) => Ok(0),
            (PointwiseLoss::BceWithLogits, Some(w))
                if w.len() == 1 && Some(&w[0]) == y_shape.last() =>
            {
                Ok(w[0])
            }
            (PointwiseLoss::BceWithLogits, Some(w)) => Err(Error::InvalidParam {
                op: "BCEWithLogitsLoss",
                param: "pos_weight",
                message: format!(
                    "{w:?} for targets of {y_shape:?}: one weight per class of the last axis"
                ),
            }),
            (other, Some(_)) => Err(Error::InvalidParam {
                op: other.torch_name(),
                param: "pos_weight",
                message: "only BCEWithLogitsLoss takes a pos_weight".into(),
            }),
        }
    }
}

impl Gpu {
    /// The mean of `kind` over every element of prediction `y` against
    /// target `t` (of `y`'s shape), as a 1-element tensor, summed in a
    /// fixed order.
    pub fn pointwise_loss(
        &self,
        y: &Tensor,
        t: &Tensor,
        kind: PointwiseLoss,
        pos_weight: Option<&Tensor>,
    ) -> Result<Tensor, Error> {
        self.pointwise_pass(kind, "forward", y, t, pos_weight)
    }

    /// The gradient of [`Gpu::pointwise_loss`] with respect to `y`.
    pub fn pointwise_loss_backward(
        &self,
        y: &Tensor,
        t: &Tensor,
        kind: PointwiseLoss,
        pos_weight: Option<&Tensor>,
    ) -> Result<Tensor, Error> {
        self.pointwise_pass(kind, "backward", y, t, pos_weight)
    }

    fn pointwise_pass(
        &self,
        kind: PointwiseLoss,
        entry: &'static str,
        y: &Tensor,
        t: &Tensor,
        pos_weight: Option<&Tensor>,
    ) -> Result<Tensor, Error> {
        let op = kind.torch_name();
        check_owned(self, op, &[("prediction", y), ("target", t)])?;
        check_shape(op, "target", t, y.shape())?;
        let (code, beta) = kind.code()?;
        let classes = kind.classes(y.shape(), pos_weight.map(Tensor::shape))?;
        if let Some(w) = pos_weight {
            check_owned(self, op, &[("pos_weight", w)])?;
        }
        check_loop(
            op,
            "65 535 loop iterations per invocation (256 x 65 535 elements in one loss)",
            y.len().div_ceil(256),
        )?;
        let param = match pos_weight {
            Some(w) => w.clone(),
            None => self.tensor(&[1], &[beta])?,
        };
        self.run(op, |rec| {
            let forward = entry == "forward";
            let out = if forward {
                self.output_unlocked(op, &[1])?
            } else {
                self.output_unlocked(op, y.shape())?
            };
            let bound: [(u32, &dyn Bindable); 4] = [
                (1, &y.buffer),
                (2, &t.buffer),
                (3, &out.buffer),
                (4, &param.buffer),
            ];
            let kernel = (Shader::PointwiseLoss, entry);
            if forward {
                dispatch_single_extra(rec, kernel, y.len(), [classes, code], &bound);
            } else {
                dispatch_items_extra(rec, op, kernel, y.len(), [classes, code], &bound)?;
            }
            Ok(out)
        })
    }
}
