//! Training built on the ops, as `torch.nn` is: modules that name their
//! parameters and buffers ([`Module`]; one file per layer, and
//! [`Sequential`] among them), a forward pass written as Rust code over
//! [`Var`]s, and reverse-mode autodiff ([`graph`]) that derives the
//! backward pass from it; losses, optimizers over named parameters with
//! parameter groups, schedules, safetensors files with torch's
//! `state_dict` names, and data-parallel replicas.
//!
//! Everything is generic over a [`Backend`], so the same model runs on a
//! [`crate::Gpu`] or on the CPU reference ([`Cpu`], in f32 or f64): that
//! is how GPU training is checked against the CPU step by step, and how
//! any graph's gradients are checked by finite differences.
//!
//! A training step ([`train_step`]):
//!
//! 1. a [`Graph`] records the forward pass: the model's `forward`, then
//!    the loss;
//! 2. `loss.backward()` walks the record in reverse and adds each
//!    parameter's gradient to its `grad`;
//! 3. the optimizer updates every parameter with a gradient.
//!
//! On a GPU the three run as one command submission.

mod activations;
mod adaptive_avg_pool2d;
mod adaptive_max_pool2d;
mod averaged;
mod avg_pool2d;
mod backend;
mod basic_block;
mod batch_norm2d;
mod bottleneck;
mod clip_grad;
mod conv2d;
mod conv_transpose2d;
mod cpu_backend;
mod dropout;
mod flatten;
pub mod functional;
pub mod graph;
mod group_norm;
pub mod init;
mod instance_norm;
pub mod io;
mod layer_norm;
mod linear;
mod loss;
mod max_pool2d;
mod module;
mod optim;
pub mod parallel;
mod param;
pub mod profile;
mod relu;
pub mod schedule;
mod sequential;
mod sigmoid;
mod softmax;
mod step;
mod upsample;
pub mod zoo;

pub use activations::{Elu, Gelu, Hardsigmoid, Hardswish, LeakyRelu, Relu6, Silu, Tanh};
pub use adaptive_avg_pool2d::AdaptiveAvgPool2d;
pub use adaptive_max_pool2d::AdaptiveMaxPool2d;
pub use averaged::AveragedModel;
pub use avg_pool2d::AvgPool2d;
pub use backend::{Backend, BackendBase, BnGrads, HostAdamState, MaybeSend};
pub use basic_block::BasicBlock;
pub use batch_norm2d::BatchNorm2d;
pub use bottleneck::Bottleneck;
pub use clip_grad::clip_grad_norm;
pub use conv2d::Conv2d;
pub use conv_transpose2d::ConvTranspose2d;
pub use cpu_backend::{Cpu, CpuTensor};
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use graph::{Graph, Upstream, Var};
pub use group_norm::GroupNorm;
pub use instance_norm::InstanceNorm2d;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use loss::{argmax_rows, one_hot, Loss};
pub use max_pool2d::MaxPool2d;
pub use module::{
    call, call_relu, walk, walk_mut, within, Entry, EntryMut, Forward, Init, Module, ModuleExt,
    Visit, VisitMut,
};
pub use optim::{no_decay_groups, Optimizer, OptimizerConfig, OptimizerState, ParamGroup};
pub use parallel::{Collective, DataParallel, StepReport};
pub use param::Param;
pub use profile::{OpTime, Profiled};
pub use relu::Relu;
pub use schedule::LrSchedule;
pub use sequential::{Layer, Sequential};
pub use sigmoid::Sigmoid;
pub use softmax::{LogSoftmax, Softmax};
pub use step::{predict, train_step, train_step_deferred};
pub use upsample::Upsample;
