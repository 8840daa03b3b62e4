//! Training built on the ops: layers owning their parameters and
//! gradients ([`Sequential`]), losses, optimizers over all parameters, and
//! safetensors save/load. Everything is generic over a [`Backend`], so the
//! same model runs on a [`crate::Gpu`] or on the CPU reference ([`Cpu`]):
//! that is how GPU training is checked against the CPU step by step, and
//! how the whole network's gradients are checked by finite differences.

mod backend;
pub mod io;
mod loss;
mod model;
mod optim;
pub mod parallel;
pub mod profile;
pub mod schedule;

pub use backend::{Backend, BnGrads, Cpu, CpuTensor, HostAdamState};
pub use loss::{argmax_rows, one_hot, Loss};
pub use model::{Layer, LayerKind, Param, Sequential};
pub use optim::{Optimizer, OptimizerConfig, OptimizerState};
pub use parallel::{Collective, DataParallel, StepReport};
pub use profile::{OpTime, Profiled};
pub use schedule::LrSchedule;
