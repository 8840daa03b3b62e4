//! [`AdaptiveMaxPool2d`]: torch's `nn.AdaptiveMaxPool2d(output_size)`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::Error;

/// `AdaptiveMaxPool2d(output_size)`: `[N, C, H, W]` to `[N, C, Ho, Wo]`,
/// each output the maximum of its window (torch's windows, its
/// first-maximum rule; `return_indices` is not offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveMaxPool2d {
    pub output_size: [usize; 2],
}

impl AdaptiveMaxPool2d {
    /// `nn.AdaptiveMaxPool2d((ho, wo))`.
    pub fn new(output_size: [usize; 2]) -> Self {
        AdaptiveMaxPool2d { output_size }
    }
}

impl<B: Backend> Module<B> for AdaptiveMaxPool2d {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "AdaptiveMaxPool2d"
    }
}

impl<B: Backend> Forward<B> for AdaptiveMaxPool2d {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.adaptive_max_pool2d(self.output_size)
    }
}
