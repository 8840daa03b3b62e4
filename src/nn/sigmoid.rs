//! [`Sigmoid`]: torch's `nn.Sigmoid`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// The logistic sigmoid `1 / (1 + e^−x)` element-wise.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigmoid;

impl<B: Backend> Module<B> for Sigmoid {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "Sigmoid"
    }
}

impl<B: Backend> Forward<B> for Sigmoid {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.sigmoid()
    }
}
