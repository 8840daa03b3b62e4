//! [`Softmax`] and [`LogSoftmax`]: torch's `nn.Softmax(dim)` and
//! `nn.LogSoftmax(dim)` (one op with two forms: one file).

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// `nn.Softmax(dim)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Softmax {
    pub dim: usize,
}

/// `nn.LogSoftmax(dim)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSoftmax {
    pub dim: usize,
}

impl<B: Backend> Module<B> for Softmax {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "Softmax"
    }
}

impl<B: Backend> Forward<B> for Softmax {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.softmax(self.dim)
    }
}

impl<B: Backend> Module<B> for LogSoftmax {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "LogSoftmax"
    }
}

impl<B: Backend> Forward<B> for LogSoftmax {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.log_softmax(self.dim)
    }
}
