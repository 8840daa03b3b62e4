//! [`AvgPool2d`]: torch's `nn.AvgPool2d`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::{Error, Pool2dParams};

/// `AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad)`:
/// each window's sum over torch's count (see [`crate::Gpu::avg_pool2d`];
/// `Pool2dParams::square(k, s, p).ceil().exclude_pad()` for the
/// non-default modes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AvgPool2d(pub Pool2dParams);

impl<B: Backend> Module<B> for AvgPool2d {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "AvgPool2d"
    }
}

impl<B: Backend> Forward<B> for AvgPool2d {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.avg_pool2d(&self.0)
    }
}
