//! wgconv: convolution training kernels (forward, input gradient, weight
//! gradient, bias gradient, SGD) as WGSL compute shaders on any GPU wgpu
//! reaches, each held to a plain CPU reference in [`cpu`].
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

pub mod bench;
pub mod check;
pub mod cpu;
mod error;
mod gpu;
pub mod nn;
mod ops;
pub mod rng;
pub mod shape;
mod tensor;
pub mod train;

pub use error::Error;
pub use gpu::{AdapterInfo, Gpu, MemoryStats, Variant};
pub use ops::{Adam, AdamState, ConvUniform, Sgd, SgdState};
pub use shape::{Conv2dGeometry, Conv2dParams};
pub use tensor::Tensor;
