//! Optimizers over a model's named parameters, keeping one state per
//! parameter (momentum buffer, Adam moments) on the model's backend, with
//! torch's parameter groups: per-group learning rate and weight decay
//! (e.g. no decay on biases and batch-norm weights, [`no_decay_groups`]).

use super::backend::HostAdamState;
use super::{Backend, Module, ModuleExt};
use crate::{Adam, Error, Sgd};
use std::collections::HashMap;

/// Which update rule, with its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerConfig {
    Sgd(Sgd),
    Adam(Adam),
}

impl OptimizerConfig {
    fn lr(&self) -> f32 {
        match self {
            OptimizerConfig::Sgd(s) => s.lr,
            OptimizerConfig::Adam(a) => a.lr,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        match self {
            OptimizerConfig::Sgd(s) => s.validate(),
            OptimizerConfig::Adam(a) => a.validate(),
        }
    }

    /// This rule with another rate and (where given) weight decay.
    fn with(mut self, lr: f32, weight_decay: Option<f32>) -> OptimizerConfig {
        match &mut self {
            OptimizerConfig::Sgd(s) => {
                s.lr = lr;
                s.weight_decay = weight_decay.unwrap_or(s.weight_decay);
            }
            OptimizerConfig::Adam(a) => {
                a.lr = lr;
                a.weight_decay = weight_decay.unwrap_or(a.weight_decay);
            }
        }
        self
    }
}

/// Parameters that share settings other than the optimizer's (torch's
/// `param_groups` entry): named as `named_parameters` names them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamGroup {
    pub params: Vec<String>,
    /// The group's learning rate; None: the optimizer's. A schedule scales
    /// it as it scales the optimizer's (torch's schedulers scale each
    /// group's initial rate).
    pub lr: Option<f32>,
    /// The group's weight decay; None: the optimizer's.
    pub weight_decay: Option<f32>,
}

/// The usual split of a model into two groups: every parameter of one
/// dimension (biases, batch-norm weights and biases) without weight decay,
/// every other with the optimizer's. torch recipes build the same two
/// `param_groups` by hand.
pub fn no_decay_groups<B: Backend, M: Module<B> + ?Sized>(b: &B, model: &M) -> Vec<ParamGroup> {
    let params = model
        .named_parameters()
        .into_iter()
        .filter(|(_, p)| b.shape(p.value()).len() == 1)
        .map(|(n, _)| n)
        .collect();
    vec![ParamGroup {
        params,
        lr: None,
        weight_decay: Some(0.0),
    }]
}

#[derive(Debug, Clone)]
enum State<B: Backend> {
    Sgd(B::SgdState),
    Adam(B::AdamState),
}

/// An optimizer over one model's parameters (by name).
#[derive(Debug, Clone)]
pub struct Optimizer<B: Backend> {
    config: OptimizerConfig,
    /// The rate the configuration was made with: groups scale from it.
    base_lr: f32,
    groups: Vec<ParamGroup>,
    state: HashMap<String, State<B>>,
}

fn bad_state(message: String) -> Error {
    Error::InvalidParam {
        op: "Optimizer::load_state",
        param: "state",
        message,
    }
}

impl<B: Backend> Optimizer<B> {
    /// One group of every parameter. Validates the hyper-parameters.
    pub fn new(config: OptimizerConfig) -> Result<Self, Error> {
        Self::with_groups(config, Vec::new())
    }

    /// Parameter groups with their own settings; a parameter in no group
    /// takes the optimizer's, one in several the first's. Fails on a
    /// group's rate or decay the rule refuses; a name the model does not
    /// have is refused at the first step.
    pub fn with_groups(config: OptimizerConfig, groups: Vec<ParamGroup>) -> Result<Self, Error> {
        config.validate()?;
        for g in &groups {
            config
                .with(g.lr.unwrap_or(config.lr()), g.weight_decay)
                .validate()?;
        }
        Ok(Optimizer {
            config,
            base_lr: config.lr(),
            groups,
            state: HashMap::new(),
        })
    }

    pub fn config(&self) -> OptimizerConfig {
        self.config
    }

    pub fn groups(&self) -> &[ParamGroup] {
        &self.groups
    }

    /// The learning rate the next step uses (of parameters in no group).
    pub fn lr(&self) -> f32 {
        self.config.lr()
    }

    /// Sets the learning rate of the next steps (what a schedule drives:
    /// [`super::LrSchedule::lr`]); each group's rate moves in proportion.
    /// The optimizer's state is kept. Fails on a rate the optimizer
    /// refuses (negative, not finite).
    pub fn set_lr(&mut self, lr: f32) -> Result<(), Error> {
        let config = self.config.with(lr, None);
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Sets SGD's momentum or Adam's β1 for the next steps (what a
    /// one-cycle schedule with momentum cycling drives:
    /// [`super::LrSchedule::momentum`]), for every group. The state is
    /// kept. Fails on a value the optimizer refuses.
    pub fn set_momentum(&mut self, momentum: f32) -> Result<(), Error> {
        let mut config = self.config;
        match &mut config {
            OptimizerConfig::Sgd(s) => s.momentum = momentum,
            OptimizerConfig::Adam(a) => a.betas.0 = momentum,
        }
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// The settings of parameter `name` now.
    fn config_for(&self, name: &str) -> OptimizerConfig {
        match self
            .groups
            .iter()
            .find(|g| g.params.iter().any(|p| p == name))
        {
            None => self.config,
            Some(g) => {
                let lr = match g.lr {
                    Some(own) if self.base_lr > 0.0 => own * (self.config.lr() / self.base_lr),
                    Some(own) => own,
                    None => self.config.lr(),
                };
                self.config.with(lr, g.weight_decay)
            }
        }
    }

    /// Fails unless every grouped name is a parameter of `model`.
    fn check_groups<M: Module<B> + ?Sized>(&self, model: &M) -> Result<(), Error> {
        if self.groups.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = model
            .named_parameters()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        for g in &self.groups {
            if let Some(missing) = g.params.iter().find(|p| !names.contains(p)) {
                return Err(Error::InvalidParam {
                    op: "Optimizer::step",
                    param: "param_groups",
                    message: format!("name {missing:?}, which is no parameter of the model"),
                });
            }
        }
        Ok(())
    }

    /// Updates every parameter that has a gradient (others are skipped, as
    /// in PyTorch), in `named_parameters` order.
    pub fn step<M: Module<B> + ?Sized>(&mut self, b: &B, model: &mut M) -> Result<(), Error> {
        self.check_groups(model)?;
        for (name, p) in model.named_parameters_mut() {
            let Some(grad) = p.grad() else { continue };
            let config = self.config_for(&name);
            let state = self.state.entry(name).or_insert_with(|| match config {
                OptimizerConfig::Sgd(_) => State::Sgd(Default::default()),
                OptimizerConfig::Adam(_) => State::Adam(Default::default()),
            });
            match (&config, state) {
                (OptimizerConfig::Sgd(cfg), State::Sgd(s)) => {
                    b.sgd_step(p.value_mut(), &grad, s, cfg)?
                }
                (OptimizerConfig::Adam(cfg), State::Adam(s)) => {
                    b.adam_step(p.value_mut(), &grad, s, cfg)?
                }
                _ => {
                    return Err(Error::InvalidParam {
                        op: "Optimizer::step",
                        param: "state",
                        message: "holds another update rule's state".into(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Every parameter's state on the host, named as torch names it in
    /// an optimizer's `state_dict` but keyed by the parameter's name:
    /// `"{param}.momentum_buffer"` (SGD), `"{param}.exp_avg"` and
    /// `"{param}.exp_avg_sq"` (Adam), with Adam's `"{param}.step"` counts,
    /// in `named_parameters` order. What [`Optimizer::load_state`]
    /// restores, bit for bit.
    pub fn state<M: Module<B> + ?Sized>(&self, b: &B, model: &M) -> Result<OptimizerState, Error> {
        let mut out = OptimizerState::default();
        for (name, p) in model.named_parameters() {
            let shape = b.shape(p.value()).to_vec();
            match self.state.get(&name) {
                None => {}
                Some(State::Sgd(s)) => {
                    if let Some(buf) = b.sgd_state_to_host(s)? {
                        out.tensors
                            .push((format!("{name}.momentum_buffer"), shape, buf));
                    }
                }
                Some(State::Adam(s)) => {
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
    /// or an entry that no parameter of `model` owns; the optimizer is
    /// unchanged then.
    pub fn load_state<M: Module<B> + ?Sized>(
        &mut self,
        b: &B,
        model: &M,
        state: &OptimizerState,
    ) -> Result<(), Error> {
        let tensor = |key: &str, shape: &[usize]| -> Result<Option<&[f32]>, Error> {
            match state.tensors.iter().find(|(k, _, _)| k == key) {
                None => Ok(None),
                Some((_, s, v)) if s.as_slice() == shape => Ok(Some(v.as_slice())),
                Some((_, s, _)) => Err(bad_state(format!(
                    "{key} is {s:?}, its parameter is {shape:?}"
                ))),
            }
        };
        let params = model.named_parameters();
        for key in state
            .tensors
            .iter()
            .map(|(k, _, _)| k)
            .chain(state.steps.iter().map(|(k, _)| k))
        {
            let owner = key.rsplit_once('.').map(|(p, _)| p);
            if !params.iter().any(|(n, _)| Some(n.as_str()) == owner) {
                return Err(bad_state(format!(
                    "{key} belongs to no parameter of this model"
                )));
            }
        }
        let mut restored = HashMap::new();
        for (name, p) in &params {
            let shape = b.shape(p.value());
            match self.config {
                OptimizerConfig::Sgd(_) => {
                    if let Some(buf) = tensor(&format!("{name}.momentum_buffer"), shape)? {
                        let s = b.sgd_state_from_host(shape, Some(buf))?;
                        restored.insert(name.clone(), State::Sgd(s));
                    }
                }
                OptimizerConfig::Adam(_) => {
                    let step = state
                        .steps
                        .iter()
                        .find(|(k, _)| *k == format!("{name}.step"))
                        .map(|(_, s)| *s);
                    let m = tensor(&format!("{name}.exp_avg"), shape)?;
                    let v = tensor(&format!("{name}.exp_avg_sq"), shape)?;
                    let host: HostAdamState = match (step, m, v) {
                        (None, None, None) => continue,
                        (Some(step), Some(m), Some(v)) => (step, Some((m.to_vec(), v.to_vec()))),
                        (Some(0), None, None) => (0, None),
                        (step, _, _) => {
                            return Err(bad_state(format!(
                                "{name}: step {} needs both exp_avg and exp_avg_sq",
                                step.unwrap_or(0)
                            )))
                        }
                    };
                    restored.insert(
                        name.clone(),
                        State::Adam(b.adam_state_from_host(shape, host)?),
                    );
                }
            }
        }
        self.state = restored;
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
