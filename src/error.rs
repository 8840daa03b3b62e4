//! The one error type of the crate. Every variant names the operation and the
//! offending numbers, so a message is enough to fix the call without reading
//! wgconv's source.

use std::fmt;

/// Everything that can go wrong in wgconv. Bad input is always reported as
/// one of these before any GPU work is recorded; errors the GPU driver
/// reports afterwards arrive as [`Error::Device`] or [`Error::DeviceLost`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// No adapter matched the request (none at all, or none whose name
    /// contains the requested substring).
    NoAdapter { wanted: String },
    /// The adapter exists but refused to create a device.
    RequestDevice { adapter: String, message: String },
    /// A tensor shape has the wrong number of dimensions.
    BadRank {
        op: &'static str,
        tensor: &'static str,
        expected: usize,
        shape: Vec<usize>,
    },
    /// A dimension is zero: wgconv has no empty tensors.
    ZeroSize {
        op: &'static str,
        tensor: &'static str,
        shape: Vec<usize>,
    },
    /// `data.len()` does not equal the product of the shape.
    DataLength {
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    /// A convolution or optimizer parameter is out of its domain
    /// (stride 0, dilation 0, groups 0, negative learning rate, ...).
    InvalidParam {
        op: &'static str,
        param: &'static str,
        message: String,
    },
    /// The weight's input-channel dimension does not match `C / groups`.
    ChannelMismatch {
        op: &'static str,
        input_channels: usize,
        groups: usize,
        weight_channels: usize,
    },
    /// `groups` does not divide the input (`C`) or output (`K`) channels.
    GroupsDoNotDivide {
        op: &'static str,
        what: &'static str,
        channels: usize,
        groups: usize,
    },
    /// The dilated kernel is larger than the zero-padded input along an axis.
    KernelTooLarge {
        op: &'static str,
        axis: &'static str,
        dilated_kernel: usize,
        padded_input: usize,
    },
    /// A tensor's shape differs from the one the operation needs.
    ShapeMismatch {
        op: &'static str,
        tensor: &'static str,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    /// A tensor was created on another [`crate::Gpu`] than the one running the op.
    DeviceMismatch {
        op: &'static str,
        tensor: &'static str,
    },
    /// A size computation overflowed or exceeds what the kernels index (u32).
    TooLarge { op: &'static str, what: String },
    /// A request exceeds one of the adapter's limits.
    LimitExceeded {
        op: &'static str,
        limit: &'static str,
        requested: u64,
        max: u64,
    },
    /// The driver reported a validation error or ran out of memory.
    Device { op: &'static str, message: String },
    /// The device was lost; this `Gpu` can no longer be used.
    DeviceLost { message: String },
    /// Mapping a buffer for reading failed.
    Readback { message: String },
    /// A model or data file could not be read, written or understood.
    ModelFile { path: String, message: String },
    /// A data set file is missing, unreadable or malformed (bad magic,
    /// truncated, a label out of range, ...); the message says which and,
    /// for a missing file, where it comes from.
    DataFile { path: String, message: String },
    /// Data-parallel training could not go on: replicas or ranks that do
    /// not match, or a collective (MPI) that failed.
    Distributed { message: String },
    /// A blocking call where nothing may block (a browser's main thread);
    /// `call` has an `_async` form to await instead.
    Blocking { call: &'static str },
    /// A training step's loss was not finite (NaN or infinite): the run
    /// stopped there, before writing anything of that epoch.
    Diverged {
        epoch: usize,
        step: usize,
        loss: f32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAdapter { wanted } if wanted.is_empty() => write!(
                f,
                "no GPU adapter found (on a machine without a GPU install Mesa's \
                 software Vulkan driver: apt-get install mesa-vulkan-drivers)"
            ),
            Error::NoAdapter { wanted } => write!(
                f,
                "no GPU adapter whose name contains {wanted:?} (run `wgconv devices` to list them)"
            ),
            Error::RequestDevice { adapter, message } => {
                write!(f, "adapter {adapter:?} could not create a device: {message}")
            }
            Error::BadRank {
                op,
                tensor,
                expected,
                shape,
            } => write!(
                f,
                "{op}: {tensor} must have {expected} dimensions, got shape {shape:?}"
            ),
            Error::ZeroSize { op, tensor, shape } => write!(
                f,
                "{op}: {tensor} has a zero-size dimension (shape {shape:?}); every dimension must be at least 1"
            ),
            Error::DataLength {
                shape,
                expected,
                got,
            } => write!(
                f,
                "tensor: shape {shape:?} holds {expected} elements but {got} values were given"
            ),
            Error::InvalidParam { op, param, message } => write!(f, "{op}: {param} {message}"),
            Error::ChannelMismatch {
                op,
                input_channels,
                groups,
                weight_channels,
            } => write!(
                f,
                "{op}: input has {input_channels} channels in {groups} group(s), so the weight's \
                 dimension 1 must be {}, got {weight_channels}",
                input_channels / groups.max(&1)
            ),
            Error::GroupsDoNotDivide {
                op,
                what,
                channels,
                groups,
            } => write!(
                f,
                "{op}: groups = {groups} does not divide the {what} ({channels})"
            ),
            Error::KernelTooLarge {
                op,
                axis,
                dilated_kernel,
                padded_input,
            } => write!(
                f,
                "{op}: the {} {axis} ({dilated_kernel}) is larger than the padded input {axis} ({padded_input})",
                if op.contains("pool") { "window" } else { "dilated kernel" }
            ),
            Error::ShapeMismatch {
                op,
                tensor,
                expected,
                got,
            } => write!(f, "{op}: {tensor} must have shape {expected:?}, got {got:?}"),
            Error::DeviceMismatch { op, tensor } => write!(
                f,
                "{op}: {tensor} lives on another Gpu; copy it with to_vec() and Gpu::tensor() first"
            ),
            Error::TooLarge { op, what } => write!(f, "{op}: {what}"),
            Error::LimitExceeded {
                op,
                limit,
                requested,
                max,
            } => write!(
                f,
                "{op}: needs {requested} but the adapter's {limit} is {max} (over by {})",
                requested.saturating_sub(*max)
            ),
            Error::Device { op, message } => write!(f, "{op}: the GPU driver reported: {message}"),
            Error::DeviceLost { message } => write!(f, "the GPU device was lost: {message}"),
            Error::Readback { message } => write!(f, "reading a tensor back failed: {message}"),
            Error::ModelFile { path, message } => write!(f, "{path}: {message}"),
            Error::DataFile { path, message } => write!(f, "{path}: {message}"),
            Error::Distributed { message } => write!(f, "data-parallel training: {message}"),
            Error::Blocking { call } => write!(
                f,
                "{call} waits for the GPU, which a browser cannot do: await {call}_async instead"
            ),
            Error::Diverged { epoch, step, loss } => write!(
                f,
                "training diverged: the loss of epoch {epoch}, step {step} is {loss}; the run \
                 stopped there and wrote nothing of that epoch (a checkpoint of an earlier \
                 epoch stays valid): lower the learning rate, or let the run go on with \
                 --on-nan continue"
            ),
        }
    }
}

impl std::error::Error for Error {}
