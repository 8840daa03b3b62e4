//! [`MaxPool2d`]: torch's `nn.MaxPool2d`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::{Error, Pool2dParams};

/// `MaxPool2d(kernel, stride, padding, ceil_mode)`: the largest value of
/// each window, padding counted as −∞ (see [`crate::Gpu::max_pool2d`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxPool2d(pub Pool2dParams);

impl<B: Backend> Module<B> for MaxPool2d {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "MaxPool2d"
    }
}

impl<B: Backend> Forward<B> for MaxPool2d {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.max_pool2d(&self.0)
    }

    fn max_pool2d_params(&self) -> Option<Pool2dParams> {
        Some(self.0)
    }
}
