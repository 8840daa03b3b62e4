//! Optimizers over all of a model's parameters, keeping one state per
//! parameter (momentum buffer, Adam moments) on the model's backend.

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
}
