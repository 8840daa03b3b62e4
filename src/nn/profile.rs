//! [`Profiled`]: a backend that times every op of a training step and
//! files it under the module it belongs to, for `wgconv bench --suite
//! train`'s per-module profile. Each op is submitted on its own and waited
//! for; its time is the GPU's, from timestamps around its passes, where
//! the backend measures that ([`BackendBase::device_time`]), and the wall
//! clock around submit-and-wait otherwise. A profiled step is slower than a
//! real one: the profile gives shares, the unprofiled step gives the speed.
//! Each op also carries the fewest bytes it can move (every input read
//! once, every output written once), so the memory-bound ones can be held
//! against the adapter's copy bandwidth.
//!
//! Modules name their parts with [`BackendBase::push_scope`]
//! ([`super::Sequential`] names every child, and [`super::call`] any
//! other): an op is filed under the path of the scopes open when its
//! forward ran (`"4.conv1"`, as the `state_dict` names the module), and its
//! gradient ops under the same path. The op list itself, and the timed
//! wrapper of each op, come from the list in [`super::backend`].

use super::backend::{BackendBase, HostAdamState};
use super::Backend;
use crate::Error;
use std::cell::RefCell;
use std::rc::Rc;
use web_time::Instant;

/// One timed op: the module it ran in, its name, its time.
#[derive(Debug, Clone, PartialEq)]
pub struct OpTime {
    /// The module's path, as its `state_dict` names it (`"4.conv1"`), or
    /// the part of the step outside every module (`"loss"`,
    /// `"optimizer"`); empty for ops outside every scope.
    pub path: String,
    /// The module's torch class name (`"Conv2d"`), empty for the parts
    /// that are not modules.
    pub kind: &'static str,
    pub op: &'static str,
    /// GPU time where measured, else `wall_ms`.
    pub ms: f64,
    /// Wall clock around the op's submit-and-wait.
    pub wall_ms: f64,
    /// Whether `ms` is GPU time.
    pub device: bool,
    /// The fewest bytes the op reads and writes (0 for the GEMMs, which
    /// are compute-bound).
    pub bytes: f64,
}

impl OpTime {
    /// Whether the op is a convolution or linear layer's GEMM (forward,
    /// input or weight gradient); everything else is the "non-convolution"
    /// work of the profile.
    pub fn is_gemm(&self) -> bool {
        matches!(
            self.op,
            "conv2d"
                | "conv2d_keeping_transform"
                | "conv2d_input_grad"
                | "conv2d_weight_grad"
                | "conv2d_weight_grad_transformed"
                | "linear"
                | "linear_input_grad"
                | "linear_weight_grad"
        )
    }

    /// `"4.conv1 Conv2d"`, `"loss"`: the part of the step, for reports.
    pub fn part(&self) -> String {
        if self.kind.is_empty() {
            self.path.clone()
        } else {
            format!("{} {}", self.path, self.kind)
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Every scope seen, `(path, kind)`; a token is an index (0: none).
    scopes: Vec<(String, &'static str)>,
    /// The open scopes, innermost last.
    stack: Vec<usize>,
    current: usize,
    times: Vec<OpTime>,
}

/// Wraps a backend, timing each op (see the module doc).
#[derive(Debug, Clone)]
pub struct Profiled<B: Backend> {
    inner: B,
    state: Rc<RefCell<State>>,
}

impl<B: Backend> Profiled<B> {
    pub fn new(inner: B) -> Self {
        Profiled {
            inner,
            state: Rc::new(RefCell::new(State {
                scopes: vec![(String::new(), "")],
                ..State::default()
            })),
        }
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The ops timed since the last call, in order.
    pub fn take(&self) -> Vec<OpTime> {
        std::mem::take(&mut self.state.borrow_mut().times)
    }

    /// Elements of `t`.
    pub(crate) fn elements(&self, t: &B::Tensor) -> usize {
        self.inner.shape(t).iter().product()
    }

    /// Times `f`, an op that moves at least `elems(result)` f32 values.
    pub(crate) fn time<R>(
        &self,
        op: &'static str,
        elems: impl FnOnce(&R) -> usize,
        f: impl FnOnce() -> Result<R, Error>,
    ) -> Result<R, Error> {
        self.inner.sync()?;
        let start = Instant::now();
        let (r, device) = self.inner.device_time(|| {
            let r = f()?;
            self.inner.sync()?;
            Ok(r)
        })?;
        let wall_ms = start.elapsed().as_secs_f64() * 1e3;
        let bytes = 4.0 * elems(&r) as f64;
        let mut s = self.state.borrow_mut();
        let (path, kind) = s.scopes[s.current].clone();
        s.times.push(OpTime {
            path,
            kind,
            op,
            ms: device.unwrap_or(wall_ms),
            wall_ms,
            device: device.is_some(),
            bytes,
        });
        Ok(r)
    }
}

impl<B: Backend> BackendBase for Profiled<B> {
    type Tensor = B::Tensor;
    type SgdState = B::SgdState;
    type AdamState = B::AdamState;

    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn tensor(&self, shape: &[usize], data: &[f32]) -> Result<B::Tensor, Error> {
        self.inner.tensor(shape, data)
    }
    fn to_vec(&self, t: &B::Tensor) -> Result<Vec<f32>, Error> {
        self.inner.to_vec(t)
    }
    async fn to_vec_async(&self, t: &B::Tensor) -> Result<Vec<f32>, Error> {
        self.inner.to_vec_async(t).await
    }
    fn shape<'a>(&self, t: &'a B::Tensor) -> &'a [usize] {
        self.inner.shape(t)
    }
    fn reshape(&self, t: &B::Tensor, shape: &[usize]) -> Result<B::Tensor, Error> {
        self.inner.reshape(t, shape)
    }
    fn sgd_state_to_host(&self, s: &B::SgdState) -> Result<Option<Vec<f32>>, Error> {
        self.inner.sgd_state_to_host(s)
    }
    fn sgd_state_from_host(
        &self,
        shape: &[usize],
        m: Option<&[f32]>,
    ) -> Result<B::SgdState, Error> {
        self.inner.sgd_state_from_host(shape, m)
    }
    fn adam_state_to_host(&self, s: &B::AdamState) -> Result<HostAdamState, Error> {
        self.inner.adam_state_to_host(s)
    }
    fn adam_state_from_host(
        &self,
        shape: &[usize],
        s: HostAdamState,
    ) -> Result<B::AdamState, Error> {
        self.inner.adam_state_from_host(shape, s)
    }
    fn sync(&self) -> Result<(), Error> {
        self.inner.sync()
    }
    /// Not batched: every op is its own submission, to be timed alone.
    fn record<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        f()
    }
    fn push_scope(&self, name: &str, kind: &'static str) {
        let mut s = self.state.borrow_mut();
        let parent = &s.scopes[s.current].0;
        let path = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        };
        let token = match s.scopes.iter().position(|(p, k)| *p == path && *k == kind) {
            Some(t) => t,
            None => {
                s.scopes.push((path, kind));
                s.scopes.len() - 1
            }
        };
        let current = s.current;
        s.stack.push(current);
        s.current = token;
    }
    fn pop_scope(&self) {
        let mut s = self.state.borrow_mut();
        s.current = s.stack.pop().unwrap_or(0);
    }
    fn scope(&self) -> usize {
        self.state.borrow().current
    }
    fn set_scope(&self, scope: usize) {
        let mut s = self.state.borrow_mut();
        if scope < s.scopes.len() {
            s.current = scope;
        }
    }
}
