//! [`Param`]: a trainable tensor and the gradient the backward passes
//! leave on it, as a `torch.nn.Parameter` with its `.grad`.

use super::graph::{GradCell, Graph, Var};
use super::Backend;
use std::sync::{Arc, Mutex};

/// A trainable tensor and its accumulated gradient (None after
/// `zero_grad` until the next backward pass). Cloning copies the value's
/// handle and the gradient into a parameter of its own.
pub struct Param<B: Backend> {
    value: B::Tensor,
    grad: GradCell<B>,
    requires_grad: bool,
}

impl<B: Backend> Clone for Param<B> {
    fn clone(&self) -> Self {
        Param {
            value: self.value.clone(),
            grad: Arc::new(Mutex::new(self.grad())),
            requires_grad: self.requires_grad,
        }
    }
}

impl<B: Backend> std::fmt::Debug for Param<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Param")
            .field("value", &self.value)
            .field("grad", &self.grad())
            .field("requires_grad", &self.requires_grad)
            .finish()
    }
}

impl<B: Backend> Param<B> {
    /// A parameter holding `value`, with no gradient yet.
    pub fn new(value: B::Tensor) -> Self {
        Param {
            value,
            grad: Arc::new(Mutex::new(None)),
            requires_grad: true,
        }
    }

    pub fn value(&self) -> &B::Tensor {
        &self.value
    }

    /// The value, for an in-place update (the optimizer's step).
    pub fn value_mut(&mut self) -> &mut B::Tensor {
        &mut self.value
    }

    /// Replaces the value (a loaded `state_dict`); the gradient is cleared.
    pub fn set_value(&mut self, value: B::Tensor) {
        self.value = value;
        self.set_grad(None);
    }

    /// The gradient summed over the backward passes since the last
    /// `zero_grad` (a handle to it: on a GPU, the same buffer).
    pub fn grad(&self) -> Option<B::Tensor> {
        self.grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_grad(&self, grad: Option<B::Tensor>) {
        *self.grad.lock().unwrap_or_else(|e| e.into_inner()) = grad;
    }

    /// torch's `p.grad = None`.
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// Whether the backward pass gives this parameter a gradient (torch's
    /// `requires_grad`; false freezes it).
    pub fn requires_grad(&self) -> bool {
        self.requires_grad
    }

    pub fn set_requires_grad(&mut self, requires_grad: bool) {
        self.requires_grad = requires_grad;
    }

    /// The value as a leaf of `graph`, whose gradient the backward pass
    /// adds to this parameter's (a constant when the graph does not record
    /// or the parameter is frozen).
    pub fn var(&self, graph: &Graph<B>) -> Var<B> {
        if self.requires_grad {
            graph.param_leaf(self.value.clone(), &self.grad)
        } else {
            graph.input(self.value.clone())
        }
    }
}
