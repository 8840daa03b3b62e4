//! Reverse-mode autodiff over a [`Backend`]'s ops: a [`Graph`] records,
//! during a forward pass, what each op's backward pass needs, and
//! [`Var::backward`] walks that record in reverse.
//!
//! 1. A [`Var`] is a tensor with its place in one graph. Ops on `Var`s
//!    ([`super::functional`], and the methods of `Var`) run the backend's
//!    forward op at once (on a GPU: recorded into the open submission) and
//!    push a node holding the tensors its gradient needs and the closure
//!    that computes it. An op none of whose inputs needs a gradient records
//!    nothing, nor does any op of a graph made with [`Graph::no_grad`] or
//!    inside [`Graph::without_grad`].
//! 2. Leaves are the parameters ([`super::Param::var`]), whose gradients go
//!    to the parameter's `grad` (adding to what is there, as PyTorch does
//!    until `zero_grad`), and inputs made with [`Graph::input_with_grad`],
//!    whose gradients [`Var::grad`] reads. Plain inputs ([`Graph::input`])
//!    are constants.
//! 3. `backward` seeds the loss (one element) with 1 and visits the nodes
//!    from the loss down to the first, in reverse order of recording. A
//!    node's closure learns which of its inputs need a gradient, so a
//!    convolution whose input is the image computes no input gradient.
//! 4. A value used by several ops receives their gradients in reverse
//!    order of those ops, each added (out of place) to the sum so far: the
//!    order is fixed by the program, so a step gives the same bits every
//!    run.
//! 5. The record is consumed by the walk: every saved tensor is freed when
//!    `backward` returns, and a second `backward` on the same graph is an
//!    error, as PyTorch's is without `retain_graph`.
//!
//! A graph lives on one thread (it is not `Send`); models and parameters
//! are, so data-parallel replicas each run their own graph.

use super::{Backend, BackendBase};
use crate::Error;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// Where a parameter's gradient accumulates: shared between the parameter
/// and the leaves of the graphs it took part in.
pub(crate) type GradCell<B> = Arc<Mutex<Option<<B as BackendBase>::Tensor>>>;

/// The gradient flowing into a node during the backward pass.
pub struct Upstream<B: Backend> {
    tensor: Rc<B::Tensor>,
    seed: bool,
}

impl<B: Backend> Upstream<B> {
    /// `∂loss/∂output` of the node.
    pub fn tensor(&self) -> &B::Tensor {
        &self.tensor
    }

    /// Whether this is the seed of the backward pass (the loss itself, so
    /// the tensor is all ones): a loss's gradient then needs no scaling.
    pub fn is_seed(&self) -> bool {
        self.seed
    }
}

/// A node's gradient: from the backend, the upstream gradient and which
/// inputs need one, a gradient per input (None where not needed).
pub type BackwardFn<B> = Box<
    dyn FnOnce(&B, &Upstream<B>, &[bool]) -> Result<Vec<Option<<B as BackendBase>::Tensor>>, Error>,
>;

enum Node<B: Backend> {
    /// A parameter: its gradient goes to the parameter.
    Param(GradCell<B>),
    /// An input that asked for its gradient: kept in the graph.
    Input,
    Op {
        op: &'static str,
        inputs: Vec<Option<usize>>,
        backward: BackwardFn<B>,
        /// The profiler's scope of the forward op (see [`BackendBase::scope`]).
        scope: usize,
    },
}

struct Tape<B: Backend> {
    nodes: Vec<Node<B>>,
    /// Set by `backward`: the nodes are gone.
    spent: bool,
    /// Gradients of the inputs that asked for them, by node.
    kept: Vec<(usize, B::Tensor)>,
}

struct Shared<B: Backend> {
    backend: B,
    recording: Cell<bool>,
    tape: RefCell<Tape<B>>,
}

/// The record of one forward pass (see the module doc). Cloning gives
/// another handle to the same record.
pub struct Graph<B: Backend>(Rc<Shared<B>>);

impl<B: Backend> Clone for Graph<B> {
    fn clone(&self) -> Self {
        Graph(self.0.clone())
    }
}

impl<B: Backend> std::fmt::Debug for Graph<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tape = self.0.tape.borrow();
        f.debug_struct("Graph")
            .field("backend", &self.0.backend.describe())
            .field("recording", &self.0.recording.get())
            .field("nodes", &tape.nodes.len())
            .field("spent", &tape.spent)
            .finish()
    }
}

fn graph_error(op: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidParam {
        op,
        param: "graph",
        message: message.into(),
    }
}

impl<B: Backend> Graph<B> {
    /// A graph that records (a training step's forward pass).
    pub fn new(backend: B) -> Self {
        Self::with_recording(backend, true)
    }

    /// A graph that records nothing (torch's `no_grad`: evaluation).
    pub fn no_grad(backend: B) -> Self {
        Self::with_recording(backend, false)
    }

    fn with_recording(backend: B, recording: bool) -> Self {
        Graph(Rc::new(Shared {
            backend,
            recording: Cell::new(recording),
            tape: RefCell::new(Tape {
                nodes: Vec::new(),
                spent: false,
                kept: Vec::new(),
            }),
        }))
    }

    pub fn backend(&self) -> &B {
        &self.0.backend
    }

    /// Whether ops record their backward pass now.
    pub fn is_recording(&self) -> bool {
        self.0.recording.get()
    }

    /// The nodes recorded so far (0 after `backward`).
    pub fn len(&self) -> usize {
        self.0.tape.borrow().nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` without recording (torch's `with torch.no_grad():`).
    pub fn without_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let was = self.0.recording.replace(false);
        let r = f();
        self.0.recording.set(was);
        r
    }

    /// A constant of this graph (an image batch, targets): no gradient.
    pub fn input(&self, t: B::Tensor) -> Var<B> {
        Var {
            value: Rc::new(t),
            graph: self.clone(),
            node: None,
        }
    }

    /// An input whose gradient [`Var::grad`] reads after `backward`
    /// (torch's `requires_grad=True` on an input). Recorded only while the
    /// graph records.
    pub fn input_with_grad(&self, t: B::Tensor) -> Var<B> {
        let node = self.push_leaf(Node::Input);
        Var {
            value: Rc::new(t),
            graph: self.clone(),
            node,
        }
    }

    /// A parameter's value as a leaf whose gradient goes to `grad`.
    pub(crate) fn param_leaf(&self, value: B::Tensor, grad: &GradCell<B>) -> Var<B> {
        let node = self.push_leaf(Node::Param(grad.clone()));
        Var {
            value: Rc::new(value),
            graph: self.clone(),
            node,
        }
    }

    fn push_leaf(&self, leaf: Node<B>) -> Option<usize> {
        let mut tape = self.0.tape.borrow_mut();
        if !self.is_recording() || tape.spent {
            return None;
        }
        tape.nodes.push(leaf);
        Some(tape.nodes.len() - 1)
    }

    /// The output `value` of op `op` on `inputs`, recorded with its
    /// gradient `backward` when the graph records and some input needs a
    /// gradient. Fails when an input belongs to another graph, or when an
    /// input that needs a gradient belongs to a spent record.
    pub fn record(
        &self,
        op: &'static str,
        inputs: &[&Var<B>],
        value: Rc<B::Tensor>,
        backward: impl FnOnce(&B, &Upstream<B>, &[bool]) -> Result<Vec<Option<B::Tensor>>, Error>
            + 'static,
    ) -> Result<Var<B>, Error> {
        if let Some(other) = inputs.iter().find(|v| !Rc::ptr_eq(&v.graph.0, &self.0)) {
            return Err(graph_error(
                op,
                format!(
                    "an input of shape {:?} belongs to another graph: every tensor of one \
                     forward pass must come from the same Graph",
                    other.shape()
                ),
            ));
        }
        let ids: Vec<Option<usize>> = inputs.iter().map(|v| v.node).collect();
        let mut tape = self.0.tape.borrow_mut();
        if tape.spent && ids.iter().any(Option::is_some) {
            return Err(graph_error(
                op,
                "takes a tensor of a record that backward has already consumed: run the \
                 forward pass again in a new Graph",
            ));
        }
        let node = if self.is_recording() && ids.iter().any(Option::is_some) {
            tape.nodes.push(Node::Op {
                op,
                inputs: ids,
                backward: Box::new(backward),
                scope: self.0.backend.scope(),
            });
            Some(tape.nodes.len() - 1)
        } else {
            None
        };
        Ok(Var {
            value,
            graph: self.clone(),
            node,
        })
    }

    fn backward_from(&self, root: &Var<B>) -> Result<(), Error> {
        const OP: &str = "backward";
        let b = &self.0.backend;
        let Some(id) = root.node else {
            return Err(graph_error(
                OP,
                "the loss does not depend on anything that needs a gradient: it was computed \
                 without recording (Graph::no_grad, without_grad) or from constants only",
            ));
        };
        let len: usize = root.shape().iter().product();
        if len != 1 {
            return Err(graph_error(
                OP,
                format!(
                    "needs a loss of one element (torch's implicit gradient), got shape {:?}",
                    root.shape()
                ),
            ));
        }
        let nodes = {
            let mut tape = self.0.tape.borrow_mut();
            if tape.spent {
                return Err(graph_error(
                    OP,
                    "ran on this graph already and freed its saved tensors: run the forward \
                     pass again (in a new Graph) before another backward",
                ));
            }
            tape.spent = true;
            std::mem::take(&mut tape.nodes)
        };
        let outer_scope = b.scope();
        let seed = b.tensor(root.shape(), &[1.0])?;
        let mut grads: Vec<Option<Rc<B::Tensor>>> = vec![None; id + 1];
        grads[id] = Some(Rc::new(seed));
        let mut kept = Vec::new();
        let result = (|| {
            for (i, node) in nodes.into_iter().enumerate().take(id + 1).rev() {
                let Some(g) = grads[i].take() else { continue };
                match node {
                    Node::Param(cell) => {
                        let g = Rc::try_unwrap(g).unwrap_or_else(|g| (*g).clone());
                        let mut slot = cell.lock().unwrap_or_else(|e| e.into_inner());
                        *slot = Some(match slot.take() {
                            None => g,
                            Some(sum) => b.add(&sum, &g)?,
                        });
                    }
                    Node::Input => {
                        kept.push((i, Rc::try_unwrap(g).unwrap_or_else(|g| (*g).clone())));
                    }
                    Node::Op {
                        op,
                        inputs,
                        backward,
                        scope,
                    } => {
                        b.set_scope(scope);
                        let needs: Vec<bool> = inputs.iter().map(Option::is_some).collect();
                        let upstream = Upstream {
                            tensor: g,
                            seed: i == id,
                        };
                        let outs = backward(b, &upstream, &needs)?;
                        if outs.len() != inputs.len() {
                            return Err(graph_error(
                                op,
                                format!(
                                    "its backward gave {} gradients for {} inputs",
                                    outs.len(),
                                    inputs.len()
                                ),
                            ));
                        }
                        for (input, out) in inputs.into_iter().zip(outs) {
                            let (Some(j), Some(out)) = (input, out) else {
                                continue;
                            };
                            grads[j] = Some(Rc::new(match grads[j].take() {
                                None => out,
                                Some(sum) => b.add(&sum, &out)?,
                            }));
                        }
                    }
                }
            }
            Ok(())
        })();
        b.set_scope(outer_scope);
        self.0.tape.borrow_mut().kept = kept;
        result
    }
}

/// A tensor in a [`Graph`]: its value, and (when it needs a gradient) the
/// node that made it. Cloning is cheap: the value is shared.
pub struct Var<B: Backend> {
    value: Rc<B::Tensor>,
    graph: Graph<B>,
    node: Option<usize>,
}

impl<B: Backend> Clone for Var<B> {
    fn clone(&self) -> Self {
        Var {
            value: self.value.clone(),
            graph: self.graph.clone(),
            node: self.node,
        }
    }
}

impl<B: Backend> std::fmt::Debug for Var<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Var")
            .field("shape", &self.shape())
            .field("requires_grad", &self.requires_grad())
            .finish()
    }
}

impl<B: Backend> Var<B> {
    pub fn value(&self) -> &B::Tensor {
        &self.value
    }

    /// The value, shared: what an op saves for its backward pass.
    pub fn shared(&self) -> Rc<B::Tensor> {
        self.value.clone()
    }

    pub fn shape(&self) -> &[usize] {
        self.graph.backend().shape(&self.value)
    }

    pub fn graph(&self) -> &Graph<B> {
        &self.graph
    }

    pub fn backend(&self) -> &B {
        self.graph.backend()
    }

    /// Whether a gradient flows back through this value.
    pub fn requires_grad(&self) -> bool {
        self.node.is_some()
    }

    /// The same value as a constant (torch's `detach()`).
    pub fn detach(&self) -> Var<B> {
        Var {
            value: self.value.clone(),
            graph: self.graph.clone(),
            node: None,
        }
    }

    /// Reads the values back to the host.
    pub fn to_vec(&self) -> Result<Vec<f32>, Error> {
        self.backend().to_vec(&self.value)
    }

    /// The backward pass from this loss (one element): every parameter
    /// it depends on gets its gradient added to its `grad`, and every
    /// input made with [`Graph::input_with_grad`] keeps its gradient for
    /// [`Var::grad`]. Frees the record; see the module doc.
    pub fn backward(&self) -> Result<(), Error> {
        self.graph.backward_from(self)
    }

    /// The gradient the last `backward` of its graph gave this input.
    /// Fails for a value that is not an input made with
    /// [`Graph::input_with_grad`], before `backward`, and for an input the
    /// loss did not depend on.
    pub fn grad(&self) -> Result<B::Tensor, Error> {
        const OP: &str = "Var::grad";
        let tape = self.graph.0.tape.borrow();
        let Some(id) = self.node else {
            return Err(graph_error(
                OP,
                "asked of a value that needs no gradient: make the input with \
                 Graph::input_with_grad (parameters keep theirs in Param::grad)",
            ));
        };
        if !tape.spent {
            return Err(graph_error(OP, "asked before backward ran"));
        }
        match tape.kept.iter().find(|(i, _)| *i == id) {
            Some((_, g)) => Ok(g.clone()),
            None => Err(graph_error(
                OP,
                format!(
                    "of shape {:?}: this tensor did not take part in the loss (or is not an \
                     input made with Graph::input_with_grad)",
                    self.shape()
                ),
            )),
        }
    }
}
