//! [`AdaptiveAvgPool2d`]: torch's `nn.AdaptiveAvgPool2d(1)`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// `AdaptiveAvgPool2d(1)`: `[N, C, H, W]` to `[N, C, 1, 1]`, the mean of
/// each plane (global average pooling).
#[derive(Debug, Clone, Copy, Default)]
pub struct AdaptiveAvgPool2d;

impl<B: Backend> Module<B> for AdaptiveAvgPool2d {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "AdaptiveAvgPool2d"
    }
}

impl<B: Backend> Forward<B> for AdaptiveAvgPool2d {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.global_avg_pool2d()
    }
}
