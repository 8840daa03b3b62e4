//! [`Flatten`]: torch's `nn.Flatten()`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// `[N, ...]` to `[N, product of the rest]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl<B: Backend> Module<B> for Flatten {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "Flatten"
    }
}

impl<B: Backend> Forward<B> for Flatten {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.flatten()
    }
}
