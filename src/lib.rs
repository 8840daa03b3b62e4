//! wgconv: train convolutional networks on any GPU wgpu reaches. The
//! convolutions (forward, input gradient, weight gradient), the bias
//! gradient, linear layers, activations, max pooling, the losses and the
//! SGD and Adam updates run as WGSL compute shaders, each held to a plain
//! CPU reference in [`cpu`]; [`nn`] builds models and training on them.
//! How each convolution runs (kernel, algorithm) is decided in [`plan`]
//! and shown by [`Gpu::explain`].
//!
//! ```no_run
//! use wgconv::{Conv2dParams, Gpu};
//! let gpu = Gpu::new()?;
//! let x = gpu.tensor(&[1, 1, 5, 5], &[1.0; 25])?;
//! let w = gpu.tensor(&[1, 1, 3, 3], &[1.0; 9])?;
//! let y = gpu.conv2d(&x, &w, None, &Conv2dParams::square(2, 0))?;
//! assert_eq!(y.shape(), &[1, 1, 2, 2]);
//! assert_eq!(y.to_vec()?, vec![9.0; 4]);
//! # Ok::<(), wgconv::Error>(())
//! ```

// In a browser wgpu's handles are JavaScript objects, neither Send nor
// Sync, and there is one thread: the Arcs that share them natively are
// only reference counts there.
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

pub mod bench;
pub mod check;
pub mod cpu;
pub mod data;
pub mod datasets;
mod error;
mod gpu;
pub mod nn;
mod ops;
pub mod plan;
pub mod rng;
pub mod shape;
mod tensor;
pub mod train;

pub use error::Error;
pub use gpu::{AdapterInfo, DeviceLimits, Gpu, MemoryStats};
pub use ops::{
    Activation, Adam, AdamState, BatchNorm, NllOptions, NormGrads, PointwiseLoss, Sgd, SgdState,
};
pub use plan::{ConvKernel, ConvOp, ConvPlan, Policy};
pub use shape::{
    Conv2dGeometry, Conv2dParams, NormLayout, Normalization, Pool2dGeometry, Pool2dParams,
    Upsample2dParams, UpsampleMode,
};
pub use tensor::Tensor;

/// Mesa's Vulkan device-select layer (an implicit layer that comes with
/// `mesa-vulkan-drivers`) looks for a Wayland display whenever a Vulkan
/// instance is created, and on a headless machine libwayland then prints
/// `error: XDG_RUNTIME_DIR is invalid or not set in the environment.`
/// twice: driver noise that reads as a failure. The layer only reorders
/// adapters for a desktop session, and wgconv ranks adapters itself, so
/// without a session (no `XDG_RUNTIME_DIR`) this turns the layer off,
/// unless the user chose otherwise. Call it first in `main`, before any
/// thread starts (it sets an environment variable): the CLI and the
/// examples do.
pub fn quiet_headless_driver_probes() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("NODEVICE_SELECT").is_none()
    {
        // The caller is still single-threaded (see above).
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}
