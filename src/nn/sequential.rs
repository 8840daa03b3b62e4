//! [`Sequential`]: torch's `nn.Sequential`, one module among others.

use super::module::{call, call_relu, call_relu_max_pool2d};
use super::{Backend, Forward, MaybeSend, Module, Var, Visit, VisitMut};
use crate::Error;

/// A layer of a [`Sequential`]: any single-input module.
pub trait Layer<B: Backend>: Forward<B> + MaybeSend {}
impl<B: Backend, M: Forward<B> + MaybeSend> Layer<B> for M {}

/// Modules applied in order, named `0`, `1`, ... as in torch, so a model's
/// `state_dict` keys are `"{index}.weight"`, `"{index}.running_mean"`, a
/// block's `"{index}.conv1.weight"`, ...
///
/// A layer that fuses a ReLU ([`Forward::fuses_relu`]: batch norm)
/// followed by a [`super::Relu`] runs both in one pass, and with a
/// [`super::MaxPool2d`] after them all three
/// ([`Forward::forward_relu_max_pool2d`]); the values are those of the
/// layers one after the other.
pub struct Sequential<B: Backend> {
    layers: Vec<Box<dyn Layer<B>>>,
}

impl<B: Backend> std::fmt::Debug for Sequential<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<&str> = self.layers.iter().map(|l| l.kind()).collect();
        f.debug_struct("Sequential")
            .field("layers", &kinds)
            .finish()
    }
}

impl<B: Backend> Default for Sequential<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: Backend> Sequential<B> {
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// Appends a layer: `Sequential::new().push(conv).push(Relu)`.
    pub fn push(mut self, layer: impl Layer<B> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The torch class name of each layer, in order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.layers.iter().map(|l| l.kind()).collect()
    }
}

impl<B: Backend> Module<B> for Sequential<B> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        for (i, layer) in self.layers.iter().enumerate() {
            v.child(&i.to_string(), layer.as_ref());
        }
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            v.child(&i.to_string(), layer.as_mut());
        }
    }
    fn kind(&self) -> &'static str {
        "Sequential"
    }
}

impl<B: Backend> Forward<B> for Sequential<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        let mut h = x.clone();
        let mut i = 0;
        while i < self.layers.len() {
            let fuse = self.layers[i].fuses_relu()
                && self.layers.get(i + 1).map(|l| l.kind()) == Some("ReLU");
            let pool = fuse
                .then(|| self.layers.get(i + 2).and_then(|l| l.max_pool2d_params()))
                .flatten();
            let name = i.to_string();
            let layer = self.layers[i].as_mut();
            (h, i) = match (fuse, pool) {
                (true, Some(p)) => (call_relu_max_pool2d(layer, &name, &h, &p)?, i + 3),
                (true, None) => (call_relu(layer, &name, &h)?, i + 2),
                _ => (call(layer, &name, &h)?, i + 1),
            };
        }
        Ok(h)
    }
}
