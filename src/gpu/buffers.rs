//! Buffer creation against the adapter's limits, and readback (async at
//! the core: `map_async` + a futures-intrusive oneshot; blocking on top).

use super::{Gpu, Lease};
use crate::Error;
use std::sync::Arc;
use wgpu::util::DeviceExt;

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl Gpu {
    /// Checks that a storage buffer of `bytes` can be created. Binding it
    /// whole may still be refused: ops that read tensors larger than
    /// `max_storage_buffer_binding_size` split their work into sub-ranges
    /// (see [`crate::ops`]), and the others report `LimitExceeded`.
    pub(crate) fn check_storage_size(&self, op: &'static str, bytes: u64) -> Result<(), Error> {
        let max = self.inner.limits.max_buffer_size;
        if bytes > max {
            return Err(Error::LimitExceeded {
                op,
                limit: "max_buffer_size (bytes)",
                requested: bytes,
                max,
            });
        }
        Ok(())
    }

    fn byte_size(op: &'static str, len: usize) -> Result<u64, Error> {
        (len as u64).checked_mul(4).ok_or_else(|| Error::TooLarge {
            op,
            what: format!("{len} f32 values do not fit in a buffer"),
        })
    }

    /// A pooled storage buffer of `len` f32 values with undefined contents,
    /// for outputs a kernel overwrites entirely.
    pub(crate) fn storage_uninit(&self, op: &'static str, len: usize) -> Result<Arc<Lease>, Error> {
        let bytes = Self::byte_size(op, len)?;
        self.check_storage_size(op, bytes)?;
        self.check_usable()?;
        Ok(self.lease(op, bytes, STORAGE))
    }

    /// A pooled storage buffer of `len` f32 values set to zero (the clear
    /// is ordered before any work recorded afterwards, batches included).
    pub(crate) fn storage_zeroed(&self, op: &'static str, len: usize) -> Result<Arc<Lease>, Error> {
        let lease = self.storage_uninit(op, len)?;
        let mut encoder =
            self.inner
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("clear"),
                });
        encoder.clear_buffer(&lease.buffer, 0, None);
        if let Some(commands) = self.defer(encoder.finish()) {
            self.submit_commands([commands]);
        }
        Ok(lease)
    }

    /// A pooled storage buffer holding `data`.
    pub(crate) fn storage_from(&self, op: &'static str, data: &[f32]) -> Result<Arc<Lease>, Error> {
        let lease = self.storage_uninit(op, data.len())?;
        self.inner
            .queue
            .write_buffer(&lease.buffer, 0, bytemuck::cast_slice(data));
        Ok(lease)
    }

    /// A uniform buffer holding `bytes` (one kernel's parameters).
    pub(crate) fn uniform(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        self.inner
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// Copies `len` f32 values from the start of `buffer` back to the host.
    pub(crate) fn read_buffer(&self, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>, Error> {
        let bytes = self.read_raw(buffer, (len * 4) as u64)?;
        Ok(bytemuck::cast_slice::<u8, f32>(&bytes).to_vec())
    }

    /// Copies the first `bytes` bytes of `buffer` back to the host.
    pub(crate) fn read_raw(&self, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>, Error> {
        super::block("Tensor::to_vec", self.read_raw_async(buffer, bytes))
    }

    /// [`Gpu::read_buffer`] without blocking.
    pub(crate) async fn read_buffer_async(
        &self,
        buffer: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<f32>, Error> {
        let bytes = self.read_raw_async(buffer, (len * 4) as u64).await?;
        Ok(bytemuck::cast_slice::<u8, f32>(&bytes).to_vec())
    }

    /// [`Gpu::read_raw`] without blocking: natively the device is polled
    /// to the copy's end first (so the map is ready at once); in a browser
    /// the map's promise is awaited.
    pub(crate) async fn read_raw_async(
        &self,
        buffer: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<u8>, Error> {
        self.check_usable()?;
        let staging = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder =
            self.inner
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("readback"),
                });
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        // Work batched by this thread (Gpu::record) goes first, in the same
        // submission as the copy.
        let mut commands = self.take_pending();
        commands.push(encoder.finish());
        let index = self.submit_commands(commands);
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            // The receiver only disappears if the caller is gone; nothing to do then.
            let _ = tx.send(r);
        });
        self.wait_for(index)?;
        let mapped = rx.receive().await;
        self.check_usable()?;
        match mapped {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(Error::Readback {
                    message: e.to_string(),
                })
            }
            None => {
                return Err(Error::Readback {
                    message: "the map callback was dropped without running".into(),
                })
            }
        }
        let view = staging.get_mapped_range(..).map_err(|e| Error::Readback {
            message: e.to_string(),
        })?;
        let out = view.to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }
}
