//! [`Module`]: a model or a part of one, as `torch.nn.Module` — a struct
//! that names its own parameters, buffers and child modules, and (through
//! [`Forward`]) a forward pass written in Rust.
//!
//! Everything that works on a whole model reads it through `visit`: the
//! `state_dict` names (each entry's path of child names, so a
//! torchvision-shaped tree of structs gives torchvision's keys), the
//! optimizer's parameter list, checkpoints, data-parallel replicas,
//! `train()` / `eval()` and `zero_grad()` ([`ModuleExt`]). A layer declares
//! its tensors at the site (`v.param("weight", &self.weight)`); a model
//! made of layers lists its children, which [`children!`](crate::children)
//! writes for it.

use super::graph::Var;
use super::{Backend, Param};
use crate::rng::Rng;
use crate::{Error, Pool2dParams};

/// What a module shows to a read-only walk: each call names one entry
/// relative to the module (the walk prefixes the path).
pub trait Visit<'a, B: Backend> {
    /// A trainable tensor (`weight`, `bias`).
    fn param(&mut self, name: &str, p: &'a Param<B>);
    /// A float buffer of the `state_dict` (`running_mean`).
    fn buffer(&mut self, name: &str, t: &'a B::Tensor);
    /// A count of the `state_dict`, saved as torch's 0-d int64
    /// (`num_batches_tracked`).
    fn count(&mut self, name: &str, c: u64);
    /// State that is not torch's but fixes what the module computes next
    /// (a dropout layer's seed and call count): kept in checkpoints, not in
    /// model files.
    fn extra(&mut self, name: &str, v: u64);
    /// The module's train / eval flag (modules whose forward depends on it).
    fn training(&mut self, training: bool);
    /// A child module, under `name`.
    fn child(&mut self, name: &str, m: &'a dyn Module<B>);
}

/// [`Visit`] with every entry mutable.
pub trait VisitMut<'a, B: Backend> {
    fn param(&mut self, name: &str, p: &'a mut Param<B>);
    fn buffer(&mut self, name: &str, t: &'a mut B::Tensor);
    fn count(&mut self, name: &str, c: &'a mut u64);
    fn extra(&mut self, name: &str, v: &'a mut u64);
    fn training(&mut self, training: &'a mut bool);
    fn child(&mut self, name: &str, m: &'a mut dyn Module<B>);
}

/// A model or a part of one (see the module doc).
pub trait Module<B: Backend> {
    /// Shows every parameter, buffer, count and child, in the order of
    /// torch's `state_dict` (a layer: weight, then bias, then buffers).
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>);
    /// [`Module::visit`] with mutable entries, in the same order.
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>);
    /// The torch class name (`"Conv2d"`), for profiles and messages; by
    /// default the Rust type's name.
    fn kind(&self) -> &'static str {
        short_type_name(std::any::type_name::<Self>())
    }
}

/// A module with one input and one output: what [`super::Sequential`]
/// chains and the trainer drives.
pub trait Forward<B: Backend>: Module<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error>;

    /// `relu(forward(x))`. [`super::BatchNorm2d`] runs both in one pass
    /// over the activations; the others run the two ops.
    fn forward_relu(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        self.forward(x)?.relu()
    }

    /// Whether [`Forward::forward_relu`] fuses the ReLU (then a
    /// `Sequential` hands it the ReLU that follows, and the max pooling
    /// after that: [`Forward::forward_relu_max_pool2d`]).
    fn fuses_relu(&self) -> bool {
        false
    }

    /// `max_pool2d(relu(forward(x)), p)`. [`super::BatchNorm2d`] runs the
    /// three in batch norm's passes where `p` and `x`'s shape allow it
    /// ([`Pool2dParams::fuses_after_batch_norm`]); the others run the ops.
    fn forward_relu_max_pool2d(&mut self, x: &Var<B>, p: &Pool2dParams) -> Result<Var<B>, Error> {
        self.forward_relu(x)?.max_pool2d(p)
    }

    /// A [`super::MaxPool2d`]'s windows, so that a `Sequential` can hand
    /// them to the layer before the ReLU before it; `None` for the others.
    fn max_pool2d_params(&self) -> Option<Pool2dParams> {
        None
    }
}

/// `"wgconv::nn::conv2d::Conv2d<wgconv::gpu::Gpu>"` → `"Conv2d"`.
fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Runs `m` on `x` as the child `name` of the module that calls it: the
/// profiler files its ops under `name` (torch's hooks give the same
/// names). [`super::Sequential`] does this for every child.
pub fn call<B: Backend, M: Forward<B> + ?Sized>(
    m: &mut M,
    name: &str,
    x: &Var<B>,
) -> Result<Var<B>, Error> {
    within(x, name, m.kind(), |x| m.forward(x))
}

/// [`call`] of [`Forward::forward_relu`].
pub fn call_relu<B: Backend, M: Forward<B> + ?Sized>(
    m: &mut M,
    name: &str,
    x: &Var<B>,
) -> Result<Var<B>, Error> {
    within(x, name, m.kind(), |x| m.forward_relu(x))
}

/// [`call`] of [`Forward::forward_relu_max_pool2d`].
pub fn call_relu_max_pool2d<B: Backend, M: Forward<B> + ?Sized>(
    m: &mut M,
    name: &str,
    x: &Var<B>,
    p: &Pool2dParams,
) -> Result<Var<B>, Error> {
    within(x, name, m.kind(), |x| m.forward_relu_max_pool2d(x, p))
}

/// Runs `f` inside the profiler's scope `name` (of class `kind`).
pub fn within<B: Backend, R>(
    x: &Var<B>,
    name: &str,
    kind: &'static str,
    f: impl FnOnce(&Var<B>) -> Result<R, Error>,
) -> Result<R, Error> {
    let b = x.backend();
    b.push_scope(name, kind);
    let r = f(x);
    b.pop_scope();
    r
}

/// One entry of a model, with its full `state_dict` path.
pub enum Entry<'a, B: Backend> {
    Param(&'a Param<B>),
    Buffer(&'a B::Tensor),
    Count(u64),
    Extra(u64),
    Training(bool),
}

/// [`Entry`], mutable.
pub enum EntryMut<'a, B: Backend> {
    Param(&'a mut Param<B>),
    Buffer(&'a mut B::Tensor),
    Count(&'a mut u64),
    Extra(&'a mut u64),
    Training(&'a mut bool),
}

fn join(prefix: &str, name: &str) -> String {
    match (prefix.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{name}"),
    }
}

struct Walk<'f, 'a, B: Backend> {
    prefix: String,
    f: &'f mut dyn FnMut(String, Entry<'a, B>),
}

impl<'a, B: Backend> Visit<'a, B> for Walk<'_, 'a, B> {
    fn param(&mut self, name: &str, p: &'a Param<B>) {
        (self.f)(join(&self.prefix, name), Entry::Param(p));
    }
    fn buffer(&mut self, name: &str, t: &'a B::Tensor) {
        (self.f)(join(&self.prefix, name), Entry::Buffer(t));
    }
    fn count(&mut self, name: &str, c: u64) {
        (self.f)(join(&self.prefix, name), Entry::Count(c));
    }
    fn extra(&mut self, name: &str, v: u64) {
        (self.f)(join(&self.prefix, name), Entry::Extra(v));
    }
    fn training(&mut self, training: bool) {
        (self.f)(self.prefix.clone(), Entry::Training(training));
    }
    fn child(&mut self, name: &str, m: &'a dyn Module<B>) {
        let outer = std::mem::take(&mut self.prefix);
        self.prefix = join(&outer, name);
        m.visit(self);
        self.prefix = outer;
    }
}

struct WalkMut<'f, 'a, B: Backend> {
    prefix: String,
    f: &'f mut dyn FnMut(String, EntryMut<'a, B>),
}

impl<'a, B: Backend> VisitMut<'a, B> for WalkMut<'_, 'a, B> {
    fn param(&mut self, name: &str, p: &'a mut Param<B>) {
        (self.f)(join(&self.prefix, name), EntryMut::Param(p));
    }
    fn buffer(&mut self, name: &str, t: &'a mut B::Tensor) {
        (self.f)(join(&self.prefix, name), EntryMut::Buffer(t));
    }
    fn count(&mut self, name: &str, c: &'a mut u64) {
        (self.f)(join(&self.prefix, name), EntryMut::Count(c));
    }
    fn extra(&mut self, name: &str, v: &'a mut u64) {
        (self.f)(join(&self.prefix, name), EntryMut::Extra(v));
    }
    fn training(&mut self, training: &'a mut bool) {
        (self.f)(self.prefix.clone(), EntryMut::Training(training));
    }
    fn child(&mut self, name: &str, m: &'a mut dyn Module<B>) {
        let outer = std::mem::take(&mut self.prefix);
        self.prefix = join(&outer, name);
        m.visit_mut(self);
        self.prefix = outer;
    }
}

/// Calls `f` with every entry of `m` and its full path, in `state_dict`
/// order.
pub fn walk<'a, B: Backend, M: Module<B> + ?Sized>(
    m: &'a M,
    mut f: impl FnMut(String, Entry<'a, B>),
) {
    let mut w = Walk {
        prefix: String::new(),
        f: &mut f,
    };
    m.visit(&mut w);
}

/// [`walk`] with every entry mutable.
pub fn walk_mut<'a, B: Backend, M: Module<B> + ?Sized>(
    m: &'a mut M,
    mut f: impl FnMut(String, EntryMut<'a, B>),
) {
    let mut w = WalkMut {
        prefix: String::new(),
        f: &mut f,
    };
    m.visit_mut(&mut w);
}

/// torch's `Module` methods, for every module.
pub trait ModuleExt<B: Backend>: Module<B> {
    /// Every parameter with its `state_dict` name, in torch's order
    /// (`named_parameters()`).
    fn named_parameters(&self) -> Vec<(String, &Param<B>)> {
        let mut out = Vec::new();
        walk(self, |name, e| {
            if let Entry::Param(p) = e {
                out.push((name, p));
            }
        });
        out
    }

    /// [`ModuleExt::named_parameters`], mutable.
    fn named_parameters_mut(&mut self) -> Vec<(String, &mut Param<B>)> {
        let mut out = Vec::new();
        walk_mut(self, |name, e| {
            if let EntryMut::Param(p) = e {
                out.push((name, p));
            }
        });
        out
    }

    /// Every float buffer with its `state_dict` name (`named_buffers()`,
    /// without the counts).
    fn named_buffers(&self) -> Vec<(String, &B::Tensor)> {
        let mut out = Vec::new();
        walk(self, |name, e| {
            if let Entry::Buffer(t) = e {
                out.push((name, t));
            }
        });
        out
    }

    /// Every count (`num_batches_tracked`) with its `state_dict` name.
    fn named_counts(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        walk(self, |name, e| {
            if let Entry::Count(c) = e {
                out.push((name, c));
            }
        });
        out
    }

    /// Every extra value (dropout seeds and call counts) with its path.
    fn named_extras(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        walk(self, |name, e| {
            if let Entry::Extra(v) = e {
                out.push((name, v));
            }
        });
        out
    }

    /// The number of trainable values.
    fn parameter_count(&self, b: &B) -> usize {
        self.named_parameters()
            .iter()
            .map(|(_, p)| b.shape(p.value()).iter().product::<usize>())
            .sum()
    }

    /// Clears every parameter's gradient (torch's `zero_grad()`, which sets
    /// `grad` to None).
    fn zero_grad(&self) {
        walk(self, |_, e| {
            if let Entry::Param(p) = e {
                p.zero_grad();
            }
        });
    }

    /// torch's `train()`: batch norm normalises with the batch's
    /// statistics and updates its running ones, dropout is active. A new
    /// module starts in this mode.
    fn train(&mut self) {
        self.set_training(true);
    }

    /// torch's `eval()`: batch norm uses its running statistics, dropout
    /// is the identity.
    fn eval(&mut self) {
        self.set_training(false);
    }

    fn set_training(&mut self, training: bool) {
        walk_mut(self, |_, e| {
            if let EntryMut::Training(t) = e {
                *t = training;
            }
        });
    }

    /// Whether the module is in training mode (true for a module whose
    /// forward has no mode).
    fn is_training(&self) -> bool {
        let mut any = None;
        walk(self, |_, e| {
            if let Entry::Training(t) = e {
                any = Some(any.unwrap_or(false) || t);
            }
        });
        any.unwrap_or(true)
    }
}

impl<B: Backend, M: Module<B> + ?Sized> ModuleExt<B> for M {}

/// A parameter is a module of one entry with an empty name, so a
/// struct can list its parameters and its child modules alike
/// ([`children!`](crate::children)).
impl<B: Backend> Module<B> for Param<B> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        v.param("", self);
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        v.param("", self);
    }
    fn kind(&self) -> &'static str {
        "Parameter"
    }
}

/// An optional child (torch's `None` submodule, e.g. a block without a
/// projection shortcut): nothing when absent.
impl<B: Backend, M: Module<B>> Module<B> for Option<M> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        if let Some(m) = self {
            m.visit(v);
        }
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        if let Some(m) = self {
            m.visit_mut(v);
        }
    }
    fn kind(&self) -> &'static str {
        self.as_ref().map_or("None", |m| m.kind())
    }
}

/// A boxed module is the module (a model chosen at run time, such as a
/// zoo classifier, is a `Box<dyn Layer<B>>`).
impl<B: Backend, M: Module<B> + ?Sized> Module<B> for Box<M> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        (**self).visit(v)
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        (**self).visit_mut(v)
    }
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
}

impl<B: Backend, M: Forward<B> + ?Sized> Forward<B> for Box<M> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        (**self).forward(x)
    }
    fn forward_relu(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        (**self).forward_relu(x)
    }
    fn fuses_relu(&self) -> bool {
        (**self).fuses_relu()
    }
    fn forward_relu_max_pool2d(&mut self, x: &Var<B>, p: &Pool2dParams) -> Result<Var<B>, Error> {
        (**self).forward_relu_max_pool2d(x, p)
    }
    fn max_pool2d_params(&self) -> Option<Pool2dParams> {
        (**self).max_pool2d_params()
    }
}

/// A list of children named `0`, `1`, ... (torch's `ModuleList`).
impl<B: Backend, M: Module<B>> Module<B> for Vec<M> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        for (i, m) in self.iter().enumerate() {
            v.child(&i.to_string(), m);
        }
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        for (i, m) in self.iter_mut().enumerate() {
            v.child(&i.to_string(), m);
        }
    }
    fn kind(&self) -> &'static str {
        "ModuleList"
    }
}

/// Implements [`Module::visit`] and [`Module::visit_mut`] for a struct
/// whose fields are its children (modules, parameters, `Option`s and
/// `Vec`s of them), named as the fields are, in the order given: inside
/// `impl<B: Backend> Module<B> for MyBlock<B> { wgconv::children!(conv1,
/// bn1, fc); }`.
#[macro_export]
macro_rules! children {
    ($($field:ident),* $(,)?) => {
        fn visit<'a>(&'a self, v: &mut dyn $crate::nn::Visit<'a, B>) {
            $( v.child(stringify!($field), &self.$field); )*
        }
        fn visit_mut<'a>(&'a mut self, v: &mut dyn $crate::nn::VisitMut<'a, B>) {
            $( v.child(stringify!($field), &mut self.$field); )*
        }
    };
}

/// What layers draw their initial values from: the backend the tensors
/// live on and a seeded generator, drawn in the order the layers are made
/// (so a model built twice from one seed has the same weights).
#[derive(Debug)]
pub struct Init<B: Backend> {
    backend: B,
    rng: Rng,
}

impl<B: Backend> Init<B> {
    pub fn new(backend: B, seed: u64) -> Self {
        Init {
            backend,
            rng: Rng::new(seed),
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// A parameter of `shape` uniform in `±bound` (PyTorch's default for
    /// convolutions and linear layers, with `bound = 1/√fan_in`).
    pub fn uniform(&mut self, shape: &[usize], bound: f32) -> Result<Param<B>, Error> {
        let len = crate::shape::element_count("nn::Init", shape)?;
        let data: Vec<f32> = (0..len).map(|_| self.rng.unit() * bound).collect();
        Ok(Param::new(self.backend.tensor(shape, &data)?))
    }

    /// A tensor of `shape` filled with `value`.
    pub fn filled(&self, shape: &[usize], value: f32) -> Result<B::Tensor, Error> {
        let len = crate::shape::element_count("nn::Init", shape)?;
        self.backend.tensor(shape, &vec![value; len])
    }
}
