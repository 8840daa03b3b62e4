//! [`AveragedModel`]: torch's `optim.swa_utils.AveragedModel` with an
//! exponential moving average (`get_ema_multi_avg_fn(decay)`): a second
//! copy of a model whose weights trail the trained ones, evaluated and
//! saved like any model (`module.` prefixes and `n_averaged`, torch's
//! `state_dict`).

use super::module::{walk, walk_mut, Entry, EntryMut};
use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay),
/// use_buffers)`. `module` is a model of the trained one's architecture
/// (build it a second time: its first update copies the trained weights).
#[derive(Debug)]
pub struct AveragedModel<M> {
    pub module: M,
    /// A Python float in torch: the weight `1 − decay` is taken in f64
    /// and rounded once to f32, as torch passes it to `lerp`.
    pub decay: f64,
    /// Average the float buffers (batch norm's running statistics) too,
    /// and copy the counts; without it they stay as they were built
    /// (torch's default: call `update_bn`, or set it).
    pub use_buffers: bool,
    /// Updates so far (torch's `n_averaged` buffer).
    pub n_averaged: u64,
}

impl<M> AveragedModel<M> {
    /// Fails unless `0 ≤ decay ≤ 1`.
    pub fn new(module: M, decay: f64, use_buffers: bool) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&decay) {
            return Err(Error::InvalidParam {
                op: "AveragedModel",
                param: "decay",
                message: format!("{decay} is not in [0, 1]"),
            });
        }
        Ok(AveragedModel {
            module,
            decay,
            use_buffers,
            n_averaged: 0,
        })
    }
}

/// torch's `lerp(start, end, weight)`: `start + w·(end − start)` below
/// one half, `end − (end − start)·(1 − w)` from it (so the same bits).
fn lerp<B: Backend>(b: &B, start: &B::Tensor, end: &B::Tensor, w: f32) -> Result<B::Tensor, Error> {
    let minus_one = b.tensor(&[1], &[-1.0])?;
    let diff = b.add(end, &b.mul_broadcast(start, &minus_one)?)?;
    if w < 0.5 {
        b.add(start, &b.mul_broadcast(&diff, &b.tensor(&[1], &[w])?)?)
    } else {
        let step = b.mul_broadcast(&diff, &b.tensor(&[1], &[1.0 - w])?)?;
        b.add(end, &b.mul_broadcast(&step, &minus_one)?)
    }
}

impl<M> AveragedModel<M> {
    /// torch's `update_parameters(model)`: the first call copies the
    /// model's parameters (and with `use_buffers` its buffers), each later
    /// one moves every average towards the model's value by `1 − decay`
    /// (`ema = lerp(ema, p, 1 − decay)`). The two models must have the same
    /// names and shapes.
    pub fn update_parameters<B: Backend, T: Module<B> + ?Sized>(
        &mut self,
        b: &B,
        model: &T,
    ) -> Result<(), Error>
    where
        M: Module<B>,
    {
        let mut current: Vec<(String, B::Tensor, bool)> = Vec::new();
        let mut counts: Vec<(String, u64)> = Vec::new();
        walk(model, |name, e| match e {
            Entry::Param(p) => current.push((name, p.value().clone(), true)),
            Entry::Buffer(t) if self.use_buffers => current.push((name, t.clone(), false)),
            Entry::Count(c) if self.use_buffers => counts.push((name, c)),
            _ => {}
        });
        let mut averaged: Vec<(String, EntryMut<'_, B>)> = Vec::new();
        let use_buffers = self.use_buffers;
        walk_mut(&mut self.module, |name, e| match e {
            EntryMut::Param(_) => averaged.push((name, e)),
            EntryMut::Buffer(_) | EntryMut::Count(_) if use_buffers => averaged.push((name, e)),
            _ => {}
        });
        let floats = averaged
            .iter()
            .filter(|(_, e)| !matches!(e, EntryMut::Count(_)))
            .count();
        if floats != current.len() {
            return Err(Error::InvalidParam {
                op: "AveragedModel::update_parameters",
                param: "model",
                message: format!(
                    "{} parameters and buffers against the average's {floats}: another architecture",
                    current.len()
                ),
            });
        }
        let first = self.n_averaged == 0;
        let w = (1.0 - self.decay) as f32;
        let mut values = current.into_iter();
        let mut counts = counts.into_iter();
        for (name, e) in averaged {
            match e {
                EntryMut::Count(c) => {
                    if let Some((_, v)) = counts.next() {
                        *c = v;
                    }
                }
                EntryMut::Param(p) => {
                    let (theirs, value, _) = values.next().expect("counted above");
                    check_same(b, &name, &theirs, p.value(), &value)?;
                    // A copy: a GPU optimizer updates the model's tensor in place.
                    let next = if first {
                        b.copy(&value)?
                    } else {
                        lerp(b, p.value(), &value, w)?
                    };
                    p.set_value(next);
                }
                EntryMut::Buffer(t) => {
                    let (theirs, value, _) = values.next().expect("counted above");
                    check_same(b, &name, &theirs, t, &value)?;
                    *t = if first {
                        b.copy(&value)?
                    } else {
                        lerp(b, t, &value, w)?
                    };
                }
                _ => {}
            }
        }
        self.n_averaged += 1;
        Ok(())
    }
}

fn check_same<B: Backend>(
    b: &B,
    ours: &str,
    theirs: &str,
    a: &B::Tensor,
    v: &B::Tensor,
) -> Result<(), Error> {
    if ours != theirs || b.shape(a) != b.shape(v) {
        return Err(Error::InvalidParam {
            op: "AveragedModel::update_parameters",
            param: "model",
            message: format!(
                "the average's {ours} {:?} against the model's {theirs} {:?}: another architecture",
                b.shape(a),
                b.shape(v)
            ),
        });
    }
    Ok(())
}

impl<B: Backend, M: Module<B>> Module<B> for AveragedModel<M> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        v.child("module", &self.module);
        v.count("n_averaged", self.n_averaged);
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        v.child("module", &mut self.module);
        v.count("n_averaged", &mut self.n_averaged);
    }
    fn kind(&self) -> &'static str {
        "AveragedModel"
    }
}

impl<B: Backend, M: Forward<B>> Forward<B> for AveragedModel<M> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        self.module.forward(x)
    }
}
