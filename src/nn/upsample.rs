//! [`Upsample`]: torch's `nn.Upsample`.

use super::{Backend, Forward, Module, Var, Visit, VisitMut};
use crate::{Error, Upsample2dParams};

/// `nn.Upsample(size | scale_factor, mode, align_corners)` on NCHW:
/// nearest or bilinear ([`Var::interpolate`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Upsample(pub Upsample2dParams);

impl<B: Backend> Module<B> for Upsample {
    fn visit<'a>(&'a self, _: &mut dyn Visit<'a, B>) {}
    fn visit_mut<'a>(&'a mut self, _: &mut dyn VisitMut<'a, B>) {}
    fn kind(&self) -> &'static str {
        "Upsample"
    }
}

impl<B: Backend> Forward<B> for Upsample {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        x.interpolate(&self.0)
    }
}
