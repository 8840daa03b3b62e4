//! Optimizers over all of a model's parameters, keeping one state per
//! parameter (momentum buffer, Adam moments) on the model's backend.

use super::backend::HostAdamState;
use super::{Backend, Sequential};
use crate::{Adam, Error, Sgd};

/// Which update rule, with its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerConfig {
    Sgd(Sgd),
    Adam(Adam),
}

/// An optimizer bound to one model's parameter list.
#[derive(Debug, Clone)]
pub struct Optimizer<B: Backend> {
    config: OptimizerConfig,
    sgd: Vec<B::SgdState>,
    adam: Vec<B::AdamState>,
}

impl<B: Backend> Optimizer<B> {
    /// Validates the hyper-parameters.
    pub fn new(config: OptimizerConfig) -> Result<Self, Error> {
        match &config {
            OptimizerConfig::Sgd(s) => s.validate()?,
            OptimizerConfig::Adam(a) => a.validate()?,
        }
        Ok(Optimizer {
            config,
            sgd: Vec::new(),
            adam: Vec::new(),
        })
    }

    pub fn config(&self) -> OptimizerConfig {
        self.config
    }

    /// The learning rate the next step uses.
    pub fn lr(&self) -> f32 {
        match &self.config {
            OptimizerConfig::Sgd(s) => s.lr,
            OptimizerConfig::Adam(a) => a.lr,
        }
    }

    /// Sets the learning rate of the next steps (what a schedule drives:
    /// [`super::LrSchedule::lr`]); the optimizer's state is kept. Fails on
    /// a rate the optimizer refuses (negative, not finite).
    pub fn set_lr(&mut self, lr: f32) -> Result<(), Error> {
        let mut config = self.config;
        match &mut config {
            OptimizerConfig::Sgd(s) => {
                s.lr = lr;
                s.validate()?
            }
            OptimizerConfig::Adam(a) => {
                a.lr = lr;
                a.validate()?
            }
        }
        self.config = config;
        Ok(())
    }

    /// Updates every parameter that has a gradient (others are skipped, as
    /// in PyTorch).
    pub fn step(&mut self, model: &mut Sequential<B>) -> Result<(), Error> {
        let b = model.backend().clone();
        let mut params = model.parameters_mut();
        self.sgd.resize_with(params.len(), Default::default);
        self.adam.resize_with(params.len(), Default::default);
        for (i, (_, p)) in params.iter_mut().enumerate() {
            let Some(grad) = &p.grad else { continue };
            match &self.config {
                OptimizerConfig::Sgd(cfg) => {
                    b.sgd_step(&mut p.value, grad, &mut self.sgd[i], cfg)?
                }
                OptimizerConfig::Adam(cfg) => {
                    b.adam_step(&mut p.value, grad, &mut self.adam[i], cfg)?
                }
            }
        }
        Ok(())
    }

    /// Every parameter's state on the host, named as torch names it in
    /// an optimizer's `state_dict` but keyed by the parameter's name:
    /// `"{param}.momentum_buffer"` (SGD), `"{param}.exp_avg"` and
    /// `"{param}.exp_avg_sq"` (Adam), with Adam's `"{param}.step"` counts.
    /// What [`Optimizer::load_state`] restores, bit for bit.
    pub fn state(&self, model: &Sequential<B>) -> Result<OptimizerState, Error> {
        let b = model.backend();
        let mut out = OptimizerState::default();
        for (i, (name, p)) in model.parameters().into_iter().enumerate() {
            let shape = b.shape(&p.value).to_vec();
            match &self.config {
                OptimizerConfig::Sgd(_) => {
                    let Some(s) = self.sgd.get(i) else { continue };
                    if let Some(buf) = b.sgd_state_to_host(s)? {
                        out.tensors
                            .push((format!("{name}.momentum_buffer"), shape, buf));
                    }
                }
                OptimizerConfig::Adam(_) => {
                    let Some(s) = self.adam.get(i) else { continue };
                    let (step, moments) = b.adam_state_to_host(s)?;
                    out.steps.push((format!("{name}.step"), step));
                    if let Some((m, v)) = moments {
                        out.tensors
                            .push((format!("{name}.exp_avg"), shape.clone(), m));
                        out.tensors.push((format!("{name}.exp_avg_sq"), shape, v));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Restores what [`Optimizer::state`] gave for the same model. Fails,
    /// naming the entry, on a tensor of the wrong shape, a missing moment,
    /// or an entry that no parameter of `model` owns.
    pub fn load_state(
        &mut self,
        model: &Sequential<B>,
        state: &OptimizerState,
    ) -> Result<(), Error> {
        let b = model.backend();
        let bad = |message: String| Error::InvalidParam {
            op: "Optimizer::load_state",
            param: "state",
            message,
        };
        let tensor = |key: &str, shape: &[usize]| -> Result<Option<&[f32]>, Error> {
            match state.tensors.iter().find(|(k, _, _)| k == key) {
                None => Ok(None),
                Some((_, s, v)) if s.as_slice() == shape => Ok(Some(v.as_slice())),
                Some((_, s, _)) => Err(bad(format!("{key} is {s:?}, its parameter is {shape:?}"))),
            }
        };
        let params = model.parameters();
        let names: Vec<&String> = params.iter().map(|(n, _)| n).collect();
        for key in state
            .tensors
            .iter()
            .map(|(k, _, _)| k)
            .chain(state.steps.iter().map(|(k, _)| k))
        {
            let owner = key.rsplit_once('.').map(|(p, _)| p);
            if !names.iter().any(|n| Some(n.as_str()) == owner) {
                return Err(bad(format!("{key} belongs to no parameter of this model")));
            }
        }
        let (mut sgd, mut adam) = (Vec::new(), Vec::new());
        for (name, p) in &params {
            let shape = b.shape(&p.value);
            match &self.config {
                OptimizerConfig::Sgd(_) => {
                    let buf = tensor(&format!("{name}.momentum_buffer"), shape)?;
                    sgd.push(b.sgd_state_from_host(shape, buf)?);
                }
                OptimizerConfig::Adam(_) => {
                    let step = state
                        .steps
                        .iter()
                        .find(|(k, _)| *k == format!("{name}.step"))
                        .map_or(0, |(_, s)| *s);
                    let m = tensor(&format!("{name}.exp_avg"), shape)?;
                    let v = tensor(&format!("{name}.exp_avg_sq"), shape)?;
                    let moments: HostAdamState = match (m, v) {
                        (Some(m), Some(v)) => (step, Some((m.to_vec(), v.to_vec()))),
                        (None, None) if step == 0 => (0, None),
                        _ => {
                            return Err(bad(format!(
                                "{name}: step {step} needs both exp_avg and exp_avg_sq"
                            )))
                        }
                    };
                    adam.push(b.adam_state_from_host(shape, moments)?);
                }
            }
        }
        self.sgd = sgd;
        self.adam = adam;
        Ok(())
    }
}

/// An optimizer's state on the host: `(name, shape, values)` tensors and
/// `(name, count)` step counts (see [`Optimizer::state`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptimizerState {
    pub tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    pub steps: Vec<(String, u64)>,
}
