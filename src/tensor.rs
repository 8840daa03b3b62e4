//! [`Tensor`]: an f32 storage buffer on one [`Gpu`], with its shape.

use crate::gpu::Lease;
use crate::shape::element_count;
use crate::{Error, Gpu};
use std::sync::Arc;

/// A dense, contiguous, row-major f32 array living in a GPU storage buffer.
/// `clone()` copies the handle, not the data: both handles see the same buffer.
/// It belongs to the [`Gpu`] that made it; ops given a tensor from another
/// `Gpu` fail with [`Error::DeviceMismatch`].
#[derive(Clone)]
pub struct Tensor {
    pub(crate) buffer: wgpu::Buffer,
    /// Returns the buffer to the device's pool when the last handle drops.
    lease: Arc<Lease>,
    shape: Vec<usize>,
    pub(crate) gpu: Gpu,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?} on {:?})", self.shape, self.gpu)
    }
}

/// Checks a tensor shape: at least one dimension, none zero, and a product
/// that fits in memory arithmetic.
fn check_shape(op: &'static str, shape: &[usize]) -> Result<usize, Error> {
    if shape.is_empty() {
        return Err(Error::BadRank {
            op,
            tensor: "tensor",
            expected: 1,
            shape: vec![],
        });
    }
    if shape.contains(&0) {
        return Err(Error::ZeroSize {
            op,
            tensor: "tensor",
            shape: shape.to_vec(),
        });
    }
    element_count(op, shape)
}

impl Gpu {
    /// Uploads `data` (row-major) as a tensor of `shape`.
    ///
    /// Fails if the shape is empty or has a zero dimension, if `data.len()`
    /// is not the product of the shape, or if the buffer would exceed the
    /// adapter's `max_storage_buffer_binding_size` / `max_buffer_size`.
    pub fn tensor(&self, shape: &[usize], data: &[f32]) -> Result<Tensor, Error> {
        let _serial = self.serialize();
        let len = check_shape("tensor", shape)?;
        if len != data.len() {
            return Err(Error::DataLength {
                shape: shape.to_vec(),
                expected: len,
                got: data.len(),
            });
        }
        Ok(Tensor::from_lease(
            self.storage_from("tensor", data)?,
            shape,
            self,
        ))
    }

    /// A tensor of `shape` filled with zeros (same failure cases as [`Gpu::tensor`]).
    pub fn zeros(&self, shape: &[usize]) -> Result<Tensor, Error> {
        let _serial = self.serialize();
        self.zeros_unlocked("zeros", shape)
    }

    /// [`Gpu::zeros`] for callers that already hold [`Gpu::serialize`].
    pub(crate) fn zeros_unlocked(
        &self,
        op: &'static str,
        shape: &[usize],
    ) -> Result<Tensor, Error> {
        let len = check_shape(op, shape)?;
        Ok(Tensor::from_lease(
            self.storage_zeroed(op, len)?,
            shape,
            self,
        ))
    }

    /// A tensor of `shape` with undefined contents, for op outputs that a
    /// kernel overwrites entirely. Caller holds [`Gpu::serialize`].
    pub(crate) fn output_unlocked(
        &self,
        op: &'static str,
        shape: &[usize],
    ) -> Result<Tensor, Error> {
        let len = check_shape(op, shape)?;
        Ok(Tensor::from_lease(
            self.storage_uninit(op, len)?,
            shape,
            self,
        ))
    }

    /// `Err(DeviceMismatch)` unless `t` was made on this device.
    pub(crate) fn check_owns(
        &self,
        op: &'static str,
        tensor: &'static str,
        t: &Tensor,
    ) -> Result<(), Error> {
        if self.same_device(&t.gpu) {
            Ok(())
        } else {
            Err(Error::DeviceMismatch { op, tensor })
        }
    }
}

impl Tensor {
    fn from_lease(lease: Arc<Lease>, shape: &[usize], gpu: &Gpu) -> Tensor {
        Tensor {
            buffer: lease.buffer.clone(),
            lease,
            shape: shape.to_vec(),
            gpu: gpu.clone(),
        }
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Always false: wgconv has no empty tensors.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `Gpu` this tensor lives on.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Waits for pending work on the tensor's device and copies the values
    /// back, row-major.
    pub fn to_vec(&self) -> Result<Vec<f32>, Error> {
        let _serial = self.gpu.serialize();
        self.gpu.read_buffer(&self.buffer, self.len())
    }

    /// [`Tensor::to_vec`] without blocking: what a browser awaits.
    pub async fn to_vec_async(&self) -> Result<Vec<f32>, Error> {
        let _serial = self.gpu.serialize();
        self.gpu.read_buffer_async(&self.buffer, self.len()).await
    }

    /// The same data viewed with another shape of equal element count.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor, Error> {
        let len = check_shape("reshape", shape)?;
        if len != self.len() {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                tensor: "new shape",
                expected: self.shape.clone(),
                got: shape.to_vec(),
            });
        }
        Ok(Tensor {
            buffer: self.buffer.clone(),
            lease: self.lease.clone(),
            shape: shape.to_vec(),
            gpu: self.gpu.clone(),
        })
    }
}
