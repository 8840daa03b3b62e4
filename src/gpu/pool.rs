//! The buffer pool: storage buffers of tensors and scratch space go back to
//! their device's pool when the last handle drops, and the next request of
//! the same byte size reuses them. A training loop then allocates nothing
//! after its first step, and the live buffer count stays flat however long
//! it runs.
//!
//! Reuse is safe because one queue executes everything in submission
//! order: work recorded after a buffer is handed out again runs after all
//! work submitted before it was released. The one exception is a batch
//! ([`Gpu::record`]) whose command buffers are recorded but not yet
//! submitted: a buffer released while any batch is open waits in
//! quarantine until no batch is open.

use super::{Gpu, Inner};
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// Pooled bytes kept at most; a release beyond it frees the buffer.
const MAX_POOLED_BYTES: u64 = 512 << 20;

#[derive(Default)]
pub(crate) struct Pool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    quarantine: Vec<wgpu::Buffer>,
    pooled_bytes: u64,
    leased: usize,
}

/// A pooled buffer on loan: returned to the pool when dropped.
pub(crate) struct Lease {
    pub(crate) buffer: wgpu::Buffer,
    inner: Weak<Inner>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lease({} bytes)", self.buffer.size())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.release(self.buffer.clone());
        }
    }
}

/// Buffer counts for leak checks (see [`Gpu::memory_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryStats {
    /// Buffers the backend holds right now, of every kind (wgpu's internal
    /// counter): tensors, pooled buffers, uniforms, staging, tap tables.
    pub live_buffers: u64,
    /// Bytes the backend holds in buffers.
    pub buffer_bytes: u64,
    /// Pooled buffers handed out (tensors and scratch alive now).
    pub leased: usize,
    /// Buffers waiting in the pool, and their bytes.
    pub pooled: usize,
    pub pooled_bytes: u64,
}

impl Inner {
    fn lock_pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn any_batch_open(&self) -> bool {
        !self
            .batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Moves the buffers released during batches into the pool; called
    /// with the batches locked, once none is open.
    pub(crate) fn release_quarantine(&self) {
        let mut pool = self.lock_pool();
        for b in std::mem::take(&mut pool.quarantine) {
            pool.put(b);
        }
    }

    fn release(&self, buffer: wgpu::Buffer) {
        let batch_open = self.any_batch_open();
        let mut pool = self.lock_pool();
        pool.leased = pool.leased.saturating_sub(1);
        if batch_open {
            pool.quarantine.push(buffer);
        } else {
            pool.put(buffer);
        }
    }
}

impl Pool {
    fn put(&mut self, buffer: wgpu::Buffer) {
        let size = buffer.size();
        if self.pooled_bytes + size <= MAX_POOLED_BYTES {
            self.pooled_bytes += size;
            self.free.entry(size).or_default().push(buffer);
        }
    }
}

impl Gpu {
    /// A storage buffer of exactly `bytes` from the pool, or a new one.
    /// Its contents are whatever its last user left.
    pub(crate) fn lease(
        &self,
        label: &'static str,
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> Arc<Lease> {
        let batch_open = self.inner.any_batch_open();
        let reused = {
            let mut pool = self.inner.lock_pool();
            if !batch_open && !pool.quarantine.is_empty() {
                for b in std::mem::take(&mut pool.quarantine) {
                    pool.put(b);
                }
            }
            let found = pool.free.get_mut(&bytes).and_then(Vec::pop);
            if found.is_some() {
                pool.pooled_bytes -= bytes;
            }
            pool.leased += 1;
            found
        };
        let buffer = reused.unwrap_or_else(|| {
            self.inner.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        });
        Arc::new(Lease {
            buffer,
            inner: Arc::downgrade(&self.inner),
        })
    }

    /// Buffer counts of this device, to check that long runs do not grow.
    pub fn memory_stats(&self) -> MemoryStats {
        let counters = self.inner.device.get_internal_counters();
        let pool = self.inner.lock_pool();
        MemoryStats {
            live_buffers: counters.hal.buffers.read() as u64,
            buffer_bytes: counters.hal.buffer_memory.read() as u64,
            leased: pool.leased,
            pooled: pool.free.values().map(Vec::len).sum::<usize>() + pool.quarantine.len(),
            pooled_bytes: pool.pooled_bytes,
        }
    }

    /// Frees every buffer waiting in the pool (tensors alive are untouched).
    pub fn trim_pool(&self) {
        let mut pool = self.inner.lock_pool();
        pool.free.clear();
        pool.quarantine.clear();
        pool.pooled_bytes = 0;
    }
}
