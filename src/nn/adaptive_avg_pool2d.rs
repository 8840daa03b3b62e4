//! [`AdaptiveAvgPool2d`]: torch's `nn.AdaptiveAvgPool2d(output_size)`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// `AdaptiveAvgPool2d(output_size)`: `[N, C, H, W]` to `[N, C, Ho, Wo]`,
/// each output the mean of its window (torch's windows). `default()` is
/// `AdaptiveAvgPool2d(1)`, global average pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d {
    pub output_size: [usize; 2],
}

impl AdaptiveAvgPool2d {
    /// `nn.AdaptiveAvgPool2d((ho, wo))`.
    pub fn new(output_size: [usize; 2]) -> Self {
        AdaptiveAvgPool2d { output_size }
    }
}

impl Default for AdaptiveAvgPool2d {
    fn default() -> Self {
        AdaptiveAvgPool2d::new([1, 1])
    }
}

impl<B: Backend> Module<B> for AdaptiveAvgPool2d {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "AdaptiveAvgPool2d"
    }
}

impl<B: Backend> Forward<B> for AdaptiveAvgPool2d {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.adaptive_avg_pool2d(self.output_size)
    }
}
