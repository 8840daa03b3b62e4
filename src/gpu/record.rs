//! Recording kernels into one command submission. A [`Recorder`] opens
//! wgpu error scopes before anything is created, so a validation error or
//! an out-of-memory in any dispatch comes back from [`Recorder::submit`] as
//! an [`Error`] naming the op, never as wgpu's default panic.

use super::{Gpu, Lease, Shader};
use crate::Error;
use std::sync::Arc;

pub(crate) struct Recorder<'g> {
    gpu: &'g Gpu,
    op: &'static str,
    encoder: wgpu::CommandEncoder,
    scopes: Scopes,
    timing: Option<PassTimer>,
    /// A binding past the adapter's limit: nothing more is recorded and
    /// `submit` returns this instead of letting wgpu's validation abort.
    refused: Option<Error>,
    /// Scratch buffers the recorded work uses (see [`Recorder::scratch`]).
    scratch: Vec<Arc<Lease>>,
}

/// The recorder's error scopes. wgpu requires them popped in reverse order
/// of pushing; a recorder dropped early (an op failing between
/// `Recorder::new` and `submit`) pops what is left here, newest first,
/// instead of letting the vector drop them oldest first (a wgpu panic).
struct Scopes {
    guards: Vec<wgpu::ErrorScopeGuard>,
    /// Where a browser's late answers go (`Inner::late`).
    late: Arc<std::sync::Mutex<Option<String>>>,
    op: &'static str,
}

impl Scopes {
    /// Pops every scope, newest first; the first error any held.
    fn pop_all(&mut self) -> Option<wgpu::Error> {
        let mut first = None;
        while let Some(scope) = self.guards.pop() {
            // The scope leaves the device's stack here, in order; only
            // its answer may come later.
            let answer = scope.pop();
            if let Some(e) = settle(answer, &self.late, self.op) {
                first.get_or_insert(e);
            }
        }
        first
    }
}

/// An error scope's answer. Natively wgpu-core has it at once. A browser
/// answers with a promise that cannot be waited for, so there the answer
/// is awaited in the background and an error kept for the next call that
/// checks the device ([`Gpu::check_usable`]): late, but never lost.
pub(crate) fn settle(
    answer: impl std::future::Future<Output = Option<wgpu::Error>> + 'static,
    late: &Arc<std::sync::Mutex<Option<String>>>,
    op: &'static str,
) -> Option<wgpu::Error> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (late, op);
        pollster::block_on(answer)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let late = late.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(e) = answer.await {
                late.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(format!("{op}: {e}"));
            }
        });
        None
    }
}

impl Drop for Scopes {
    fn drop(&mut self) {
        let _ = self.pop_all();
    }
}

/// Something a kernel binding can point at: a whole buffer, or a [`Slice`].
pub(crate) trait Bindable {
    fn binding(&self) -> wgpu::BufferBinding<'_>;
    fn bytes(&self) -> u64;
}

impl Bindable for wgpu::Buffer {
    fn binding(&self) -> wgpu::BufferBinding<'_> {
        self.as_entire_buffer_binding()
    }
    fn bytes(&self) -> u64 {
        self.size()
    }
}

/// `size` bytes of `buffer` from `offset`: how work on tensors larger than
/// one binding is split. `offset` must be a multiple of the adapter's
/// `min_storage_buffer_offset_alignment` (the split plans guarantee it).
#[derive(Clone, Copy)]
pub(crate) struct Slice<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub size: u64,
}

impl Bindable for Slice<'_> {
    fn binding(&self) -> wgpu::BufferBinding<'_> {
        wgpu::BufferBinding {
            buffer: self.buffer,
            offset: self.offset,
            size: wgpu::BufferSize::new(self.size),
        }
    }
    fn bytes(&self) -> u64 {
        self.size
    }
}

/// Timestamp queries around every compute pass of one recording: pass i
/// writes its begin and end at queries 2i and 2i+1, so the GPU time of the
/// whole recording is the last end minus the first begin, and each pass's
/// its own end minus begin.
pub(crate) struct PassTimer {
    queries: wgpu::QuerySet,
    capacity: u32,
    used: u32,
    /// Each timed pass's `shader:entry`, in recording order.
    labels: Vec<String>,
    /// Passes recorded past `capacity`, which no query timed.
    untimed: u32,
}

impl PassTimer {
    fn next_pass(&mut self, label: &str) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        if self.used + 2 > self.capacity {
            self.untimed += 1;
            return None;
        }
        let i = self.used;
        self.used += 2;
        self.labels.push(label.to_string());
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(i),
            end_of_pass_write_index: Some(i + 1),
        })
    }
}

/// What [`Recorder::submit_timed`] read back: the recording's GPU time
/// and each pass's, in milliseconds.
pub(crate) struct Timing {
    pub(crate) ms: f64,
    /// (`shader:entry`, milliseconds) per pass, in recording order.
    pub(crate) passes: Vec<(String, f64)>,
}

/// Passes timed per op under [`Gpu::device_time`].
const OP_TIMING_PASSES: u32 = 256;

impl Gpu {
    fn op_timing_on(&self) -> bool {
        self.inner
            .op_timing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// The skeleton of every public op, after its inputs are validated:
    /// take the device's serial lock (GL backend), open a [`Recorder`] for
    /// `op`, let `record` allocate the outputs and record the kernels, and
    /// submit. An error from `record` or the driver comes back before
    /// anything of the op is submitted.
    pub(crate) fn run<R>(
        &self,
        op: &'static str,
        record: impl FnOnce(&mut Recorder<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let _serial = self.serialize();
        let mut rec = Recorder::new(self, op)?;
        let out = record(&mut rec)?;
        rec.submit()?;
        Ok(out)
    }
}

impl<'g> Recorder<'g> {
    pub(crate) fn new(gpu: &'g Gpu, op: &'static str) -> Result<Self, Error> {
        gpu.check_usable()?;
        let device = &gpu.inner.device;
        let scopes = Scopes {
            guards: vec![
                device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
                device.push_error_scope(wgpu::ErrorFilter::Validation),
                device.push_error_scope(wgpu::ErrorFilter::Internal),
            ],
            late: gpu.inner.late.clone(),
            op,
        };
        let encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(op) });
        let mut rec = Recorder {
            gpu,
            op,
            encoder,
            scopes,
            timing: None,
            refused: None,
            scratch: Vec::new(),
        };
        if gpu.op_timing_on() {
            // Enough for the most passes one op records (a split
            // reduction's pieces); passes past it are not timed.
            rec.time_passes(OP_TIMING_PASSES);
        }
        Ok(rec)
    }

    /// The device this recording is for.
    pub(crate) fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// A pooled buffer of `len` f32 values (undefined contents) for this
    /// recording's intermediate results, leased until the recorded work is
    /// submitted. Returned to the pool any earlier, another thread could
    /// lease it and queue an upload into it; uploads run before the next
    /// submission's commands, so this recording's kernels would then
    /// overwrite that thread's data.
    pub(crate) fn scratch(&mut self, len: usize) -> Result<Arc<Lease>, Error> {
        let lease = self.gpu.storage_uninit(self.op, len)?;
        self.scratch.push(lease.clone());
        Ok(lease)
    }

    /// Records one dispatch of `kernel`'s `entry` point over `grid`
    /// workgroups with `uniform` at binding 0 and `buffers` at the listed
    /// binding numbers.
    pub(crate) fn dispatch(
        &mut self,
        kernel: Shader,
        entry: &'static str,
        uniform: &[u8],
        buffers: &[(u32, &dyn Bindable)],
        grid: (u32, u32),
    ) {
        self.dispatch_specialized(kernel, entry, &[], uniform, buffers, grid);
    }

    /// [`Recorder::dispatch`] of the pipeline with `constants` set
    /// ([`Gpu::pipeline`]).
    pub(crate) fn dispatch_specialized(
        &mut self,
        kernel: Shader,
        entry: &'static str,
        constants: &[(&'static str, u32)],
        uniform: &[u8],
        buffers: &[(u32, &dyn Bindable)],
        grid: (u32, u32),
    ) {
        if self.refused.is_some() {
            return;
        }
        let max = self.gpu.inner.limits.max_storage_buffer_binding_size;
        if let Some((_, b)) = buffers.iter().find(|(_, b)| b.bytes() > max) {
            self.refused = Some(Error::LimitExceeded {
                op: self.op,
                limit: "max_storage_buffer_binding_size (bytes in one binding; this op does not split its work)",
                requested: b.bytes(),
                max,
            });
            return;
        }
        let pipeline = self.gpu.pipeline(kernel, entry, constants);
        let label = format!("{}:{entry}", kernel.name());
        let params = self.gpu.uniform(&label, uniform);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        entries.extend(buffers.iter().map(|&(binding, b)| wgpu::BindGroupEntry {
            binding,
            resource: wgpu::BindingResource::Buffer(b.binding()),
        }));
        let bind_group = self
            .gpu
            .inner
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&label),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
        let mut pass = self
            .encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(&label),
                timestamp_writes: self.timing.as_mut().and_then(|t| t.next_pass(&label)),
            });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(grid.0, grid.1, 1);
    }

    /// Times the passes recorded from now on with GPU timestamps (the
    /// adapter must have `TIMESTAMP_QUERY`); read the time with
    /// [`Recorder::submit_timed`].
    pub(crate) fn time_passes(&mut self, max_passes: u32) {
        let capacity = 2 * max_passes;
        let queries = self
            .gpu
            .inner
            .device
            .create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("wgconv timer"),
                ty: wgpu::QueryType::Timestamp,
                count: capacity,
            });
        self.timing = Some(PassTimer {
            queries,
            capacity,
            used: 0,
            labels: Vec::new(),
            untimed: 0,
        });
    }

    /// Submits, waits, and returns the GPU time from the first timed
    /// pass's start to the last one's end, with each pass's (None without
    /// timing). A recording of more passes than [`Recorder::time_passes`]
    /// made room for is an error rather than a time that leaves some out.
    pub(crate) fn submit_timed(mut self) -> Result<Option<Timing>, Error> {
        let Some(timer) = self.timing.take() else {
            self.submit()?;
            return Ok(None);
        };
        let gpu = self.gpu;
        let op = self.op;
        let bytes = timer.used as u64 * 8;
        let resolve = gpu.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("wgconv timer resolve"),
            size: bytes.max(8),
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        if timer.used > 0 {
            self.encoder
                .resolve_query_set(&timer.queries, 0..timer.used, &resolve, 0);
        }
        self.submit_now()?;
        if timer.untimed > 0 {
            return Err(Error::LimitExceeded {
                op,
                limit: "timed compute passes per recording",
                requested: (timer.labels.len() as u32 + timer.untimed) as u64,
                max: (timer.capacity / 2) as u64,
            });
        }
        if timer.used == 0 {
            return Ok(None);
        }
        let words = gpu.read_raw(&resolve, bytes)?;
        let ticks: Vec<u64> = words
            .chunks_exact(8)
            .map(bytemuck::pod_read_unaligned)
            .collect();
        let period = gpu.inner.queue.get_timestamp_period() as f64;
        let ms = |from: u64, to: u64| to.wrapping_sub(from) as f64 * period / 1e6;
        let passes = timer
            .labels
            .into_iter()
            .zip(ticks.chunks_exact(2))
            .map(|(label, t)| (label, ms(t[0], t[1])))
            .collect();
        Ok(Some(Timing {
            ms: ms(ticks[0], ticks[ticks.len() - 1]),
            passes,
        }))
    }

    /// Submits everything recorded (or, inside [`Gpu::record`], queues it
    /// for that batch's one submission) and reports any error the driver
    /// raised while it was recorded. Does not wait for the GPU to finish.
    pub(crate) fn submit(self) -> Result<(), Error> {
        if self.timing.is_some() && self.gpu.op_timing_on() {
            let gpu = self.gpu;
            let ms = self.submit_timed()?.map_or(0.0, |t| t.ms);
            if let Some(total) = gpu
                .inner
                .op_timing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
            {
                *total += ms;
            }
            return Ok(());
        }
        self.finish(false)
    }

    /// [`Recorder::submit`] that submits at once even inside a batch (with
    /// the batch's pending work in front), for work that is waited on next.
    fn submit_now(self) -> Result<(), Error> {
        self.finish(true)
    }

    fn finish(self, now: bool) -> Result<(), Error> {
        let Recorder {
            gpu,
            op,
            encoder,
            mut scopes,
            timing: _,
            refused,
            scratch,
        } = self;
        if let Some(e) = refused {
            let _ = scopes.pop_all();
            return Err(e);
        }
        let commands = encoder.finish();
        if now {
            let mut all = gpu.take_pending();
            all.push(commands);
            gpu.submit_commands(all);
        } else if let Some(commands) = gpu.defer(commands) {
            gpu.submit_commands([commands]);
        }
        // Submitted, or held by this thread's open batch (then a release
        // waits in the pool's quarantine until the batch is submitted).
        drop(scratch);
        let first = scopes.pop_all();
        gpu.check_usable()?;
        match first {
            Some(e) => Err(Error::Device {
                op,
                message: e.to_string(),
            }),
            None => Ok(()),
        }
    }
}
