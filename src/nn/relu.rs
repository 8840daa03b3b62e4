//! [`Relu`]: torch's `nn.ReLU`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// `max(x, 0)` element-wise (NaN passes through, as in torch).
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu;

impl<B: Backend> Module<B> for Relu {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "ReLU"
    }
}

impl<B: Backend> Forward<B> for Relu {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.relu()
    }
}
