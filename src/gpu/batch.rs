//! Batched submission. Each op records its passes into its own command
//! buffer; inside [`Gpu::record`] those buffers are held back and submitted
//! together with one `queue.submit`, so a whole training step costs one
//! submission (and one driver round trip) instead of one per op.
//!
//! Batches are per thread: another thread using the same `Gpu` at the same
//! time submits its own work as usual and never lands in this batch.

use super::Gpu;
use crate::Error;

impl Gpu {
    /// Runs `f` and submits every op it ran on this thread as one command
    /// submission at the end (nested calls join the outer batch). A
    /// readback inside `f` (`Tensor::to_vec`) submits the work batched so
    /// far first, so values read are always up to date. If `f` fails, the
    /// work it recorded is still submitted (results already handed out stay
    /// valid) and `f`'s error is returned.
    pub fn record<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        let id = std::thread::current().id();
        let opened = match self.lock_batches().entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Vec::new());
                true
            }
        };
        if !opened {
            return f();
        }
        let result = f();
        // The batch stays open (its entry present) until its work is
        // submitted: buffers released during it wait in the pool's
        // quarantine until then, and closing it first would let another
        // thread lease one of them before this work that uses it is queued.
        let pending = self.take_pending();
        let flushed = self.submit_batch(pending);
        let mut batches = self.lock_batches();
        batches.remove(&id);
        if batches.is_empty() {
            // The last open batch is submitted: what waited in quarantine
            // can be leased again (a loop of batched steps that leases
            // nothing outside them would otherwise never reuse a buffer).
            self.inner.release_quarantine();
        }
        drop(batches);
        let value = result?;
        flushed?;
        Ok(value)
    }

    fn lock_batches(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<std::thread::ThreadId, Vec<wgpu::CommandBuffer>>,
    > {
        self.inner.batches.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn submit_batch(&self, pending: Vec<wgpu::CommandBuffer>) -> Result<(), Error> {
        if pending.is_empty() {
            return Ok(());
        }
        let _serial = self.serialize();
        self.check_usable()?;
        let scope = self
            .inner
            .device
            .push_error_scope(wgpu::ErrorFilter::Validation);
        self.submit_commands(pending);
        match super::record::settle(scope.pop(), &self.inner.late, "record") {
            Some(e) => Err(Error::Device {
                op: "record",
                message: e.to_string(),
            }),
            None => self.check_usable(),
        }
    }

    /// Holds `commands` back for this thread's open batch; hands them back
    /// when there is none (the caller submits them itself).
    pub(crate) fn defer(&self, commands: wgpu::CommandBuffer) -> Option<wgpu::CommandBuffer> {
        match self.lock_batches().get_mut(&std::thread::current().id()) {
            Some(batch) => {
                batch.push(commands);
                None
            }
            None => Some(commands),
        }
    }

    /// Takes the work this thread's open batch holds so far (nothing
    /// outside a batch), to be submitted in front of what comes next.
    pub(crate) fn take_pending(&self) -> Vec<wgpu::CommandBuffer> {
        self.lock_batches()
            .get_mut(&std::thread::current().id())
            .map(std::mem::take)
            .unwrap_or_default()
    }
}
