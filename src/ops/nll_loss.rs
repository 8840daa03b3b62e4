//! `Gpu::nll_loss` and its backward pass (shaders/nll_loss.wgsl): torch's
//! `nll_loss` with class-index targets, class weights, `ignore_index` and
//! label smoothing (reduction 'mean'); after `log_softmax` it is
//! `CrossEntropyLoss(weight, ignore_index, label_smoothing)`.

use super::elementwise::{dispatch_items_extra, dispatch_single_extra};
use super::{check_loop, check_owned, check_shape};
use crate::gpu::{Bindable, Shader};
use crate::{Error, Gpu, Tensor};

/// The options of torch's `NLLLoss` / `CrossEntropyLoss` with class-index
/// targets (reduction 'mean').
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NllOptions {
    /// Rows whose target is this class are left out (torch's default
    /// −100).
    pub ignore_index: i64,
    /// ε in [0, 1]: the target mixes `1 − ε` of the class with `ε/C` of
    /// every class (`CrossEntropyLoss(label_smoothing)`).
    pub label_smoothing: f32,
}

impl Default for NllOptions {
    fn default() -> Self {
        NllOptions {
            ignore_index: -100,
            label_smoothing: 0.0,
        }
    }
}

/// The checks of both passes: `logp` `[N, C]`, targets `[N]` of whole
/// classes below C (or the ignore index), weights `[C]`, ε in [0, 1].
pub(crate) fn check_nll(
    op: &'static str,
    logp: &[usize],
    targets: &[f32],
    weight: Option<&[usize]>,
    o: &NllOptions,
) -> Result<(usize, usize), Error> {
    let bad = |param: &'static str, message: String| Error::InvalidParam { op, param, message };
    let [n, c] = match logp {
        [n, c] => [*n, *c],
        _ => {
            return Err(bad(
                "input",
                format!("{logp:?}: it takes [N, C] log-probabilities"),
            ))
        }
    };
    if targets.len() != n {
        return Err(bad(
            "target",
            format!("{} targets for {n} rows", targets.len()),
        ));
    }
    for (row, &t) in targets.iter().enumerate() {
        let whole = t.fract() == 0.0 && t.is_finite();
        if !whole || (t as i64 != o.ignore_index && (t < 0.0 || t as usize >= c)) {
            return Err(bad(
                "target",
                format!(
                    "{t} at row {row} is not a class below {c} (nor the ignore index {})",
                    o.ignore_index
                ),
            ));
        }
    }
    if let Some(w) = weight {
        if w != [c] {
            return Err(bad("weight", format!("{w:?} for {c} classes")));
        }
    }
    if !(0.0..=1.0).contains(&o.label_smoothing) {
        return Err(bad(
            "label_smoothing",
            format!("{} is not in [0, 1]", o.label_smoothing),
        ));
    }
    Ok((n, c))
}

impl Gpu {
    /// torch's `nll_loss(logp, targets, weight, ignore_index)` with label
    /// smoothing, mean over the kept rows (weighted by their class's
    /// weight), as a 1-element tensor. `targets` are the class indices as
    /// host values (they decide the checks and the ignored rows).
    pub fn nll_loss(
        &self,
        logp: &Tensor,
        targets: &[f32],
        weight: Option<&Tensor>,
        o: &NllOptions,
    ) -> Result<Tensor, Error> {
        self.nll_pass("nll_loss", true, logp, targets, weight, o)
    }

    /// The gradient of [`Gpu::nll_loss`] with respect to `logp`.
    pub fn nll_loss_backward(
        &self,
        logp: &Tensor,
        targets: &[f32],
        weight: Option<&Tensor>,
        o: &NllOptions,
    ) -> Result<Tensor, Error> {
        self.nll_pass("nll_loss_backward", false, logp, targets, weight, o)
    }

    fn nll_pass(
        &self,
        op: &'static str,
        forward: bool,
        logp: &Tensor,
        targets: &[f32],
        weight: Option<&Tensor>,
        o: &NllOptions,
    ) -> Result<Tensor, Error> {
        check_owned(self, op, &[("input", logp)])?;
        let (n, c) = check_nll(op, logp.shape(), targets, weight.map(Tensor::shape), o)?;
        if let Some(w) = weight {
            check_owned(self, op, &[("weight", w)])?;
            check_shape(op, "weight", w, &[c])?;
        }
        check_loop(
            op,
            "65 535 loop iterations per invocation (256 x 65 535 rows, or classes)",
            n.div_ceil(256).max(c),
        )?;
        let labels = self.tensor(&[n], targets)?;
        let params = self.tensor(&[2], &[o.label_smoothing, o.ignore_index as f32])?;
        let weights = match weight {
            Some(w) => w.clone(),
            None => self.tensor(&[1], &[1.0])?,
        };
        let extra = usize::from(weight.is_some());
        self.run(op, |rec| {
            let stats = self.output_unlocked(op, &[2])?;
            let out = if forward {
                self.output_unlocked(op, &[1])?
            } else {
                self.output_unlocked(op, &[n, c])?
            };
            // Each entry point binds what it uses (the layouts are its own).
            let (l, w, p, st) = (
                &labels.buffer,
                &weights.buffer,
                &params.buffer,
                &stats.buffer,
            );
            let common: [(u32, &dyn Bindable); 4] = [(2, l), (3, w), (4, p), (5, st)];
            dispatch_single_extra(rec, (Shader::NllLoss, "statistics"), n, [c, extra], &common);
            let mut bound: Vec<(u32, &dyn Bindable)> = common.to_vec();
            bound.push((6, &out.buffer));
            if forward {
                bound.push((1, &logp.buffer));
                dispatch_single_extra(rec, (Shader::NllLoss, "forward"), n, [c, extra], &bound);
            } else {
                dispatch_items_extra(
                    rec,
                    op,
                    (Shader::NllLoss, "backward"),
                    n * c,
                    [c, extra],
                    &bound,
                )?;
            }
            Ok(out)
        })
    }
}
