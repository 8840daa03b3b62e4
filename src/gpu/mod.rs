//! The GPU context: one [`Gpu`] per adapter, owning the wgpu device and
//! queue, the limits it was granted, the compiled pipelines, and the error
//! state that turns driver errors into [`Error`]s instead of panics.

mod batch;
mod buffers;
mod pool;
mod record;
mod shaders;

pub(crate) use pool::Lease;
pub use pool::MemoryStats;
pub(crate) use record::{Bindable, Recorder, Slice};
pub(crate) use shaders::Shader;
#[cfg(test)]
pub(crate) use shaders::{check_uniform_layout, fields};

use crate::plan::{AdapterFacts, Policy};
use crate::Error;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Description of the adapter a [`Gpu`] runs on (name, backend, device
/// type, driver), re-exported from wgpu.
pub use wgpu::AdapterInfo;

/// A GPU device that runs wgconv's kernels. Cheap to clone (an `Arc`
/// inside); `Send + Sync`, so one `Gpu` can serve several threads.
#[derive(Clone)]
pub struct Gpu {
    pub(crate) inner: Arc<Inner>,
    policy: Policy,
}

/// Tap tables by op, geometry and stride phase: the buffer and its number
/// of taps (built by ops/taps.rs).
pub(crate) type TapTables =
    HashMap<(crate::plan::ConvOp, crate::Conv2dGeometry, [usize; 2]), (wgpu::Buffer, usize)>;

/// A pipeline: its shader, entry point and pipeline constants.
type PipelineKey = (Shader, &'static str, Vec<(&'static str, u32)>);

pub(crate) struct Inner {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: AdapterInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) features: wgpu::Features,
    pipelines: Mutex<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    modules: Mutex<HashMap<Shader, wgpu::ShaderModule>>,
    /// Tap tables of the GEMM kernels, per geometry (ops/taps.rs).
    pub(crate) tables: Mutex<TapTables>,
    /// A one-entry table bound where a GEMM entry point's tap-table
    /// binding is read by no load (the two-step input gradient's columns).
    pub(crate) no_taps: wgpu::Buffer,
    /// Command buffers waiting for the one submission of a [`Gpu::record`]
    /// batch, per thread that has a batch open (gpu/batch.rs).
    batches: Mutex<HashMap<std::thread::ThreadId, Vec<wgpu::CommandBuffer>>>,
    /// Storage buffers waiting for reuse (gpu/pool.rs).
    pool: Mutex<pool::Pool>,
    /// Set by the device-lost callback; every later op fails with it.
    lost: Arc<Mutex<Option<String>>>,
    /// In a browser, where an error scope answers with a promise: the
    /// first error a scope reported after its op returned; the next call
    /// that checks the device reports it (gpu/record.rs). Unused natively.
    pub(crate) late: Arc<Mutex<Option<String>>>,
    /// Held around every `queue.submit` and `device.poll`: both run
    /// wgpu-core's `maintain`, and two of them racing (one thread's poll
    /// timing out while another retires the same submission) trips a
    /// wgpu-core assertion ("If the queue is empty, the current submission
    /// index ... should be at least the wait submission index").
    queue_lock: Mutex<()>,
    /// Plans chosen by `Policy::Tuned` (measured by ops/tune.rs).
    pub(crate) tuning: Mutex<crate::plan::TunedPlans>,
    /// Present on the GL backend only: wgpu's GL backend shares one EGL
    /// context between threads and panics when a thread waits more than
    /// 6 s for it (one thread blocked on a fence holds it meanwhile). Every
    /// public entry point takes this lock first, so wgconv's own threads
    /// queue here instead.
    serial: Option<Mutex<()>>,
    /// While [`Gpu::device_time`] runs: the GPU time, in ms, of the ops
    /// submitted so far (gpu/record.rs times each op's passes).
    pub(crate) op_timing: Mutex<Option<f64>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner.info;
        write!(f, "Gpu({} / {:?} / {:?})", i.name, i.backend, i.device_type)
    }
}

/// `WGPU_BACKEND`, where set, must name only backends wgpu knows: an
/// unknown name would leave no backend and read as "no adapter".
fn check_backend_variable() -> Result<(), Error> {
    let Ok(value) = std::env::var("WGPU_BACKEND") else {
        return Ok(());
    };
    let unknown: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|name| wgpu::Backends::from_comma_list(name).is_empty())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidParam {
        op: "Gpu",
        param: "WGPU_BACKEND",
        message: format!(
            "is {value:?}, which names no backend wgpu knows ({}): use vulkan, metal, dx12, \
             gl or webgpu, comma-separated, or unset it for all of them",
            unknown.join(", ")
        ),
    })
}

/// The policy `WGCONV_VARIANT` names (Auto where unset); a name
/// [`Policy::parse`] does not take is an error, not Auto.
fn policy_from_env() -> Result<Policy, Error> {
    match std::env::var("WGCONV_VARIANT") {
        Err(_) => Ok(Policy::default()),
        Ok(v) => Policy::parse(&v).ok_or_else(|| Error::InvalidParam {
            op: "Gpu",
            param: "WGCONV_VARIANT",
            message: format!(
                "is {v:?}, which names no policy: one of {}",
                Policy::names()
            ),
        }),
    }
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if std::env::var_os("WGPU_BACKEND").is_none() {
        desc.backends = wgpu::Backends::all();
    }
    wgpu::Instance::new(desc)
}

/// Runs one of the async core's futures to its end for the blocking API.
/// Natively the future is ready as soon as the device has been polled
/// (wgpu-core answers at once); a browser cannot block, so there the
/// blocking call is an error naming its async form.
pub(crate) fn block<T>(
    call: &'static str,
    future: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    #[cfg(target_arch = "wasm32")]
    {
        drop(future);
        Err(Error::Blocking { call })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = call;
        pollster::block_on(future)
    }
}

/// The limits a device is opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceLimits {
    /// Everything the adapter offers (the default).
    #[default]
    Adapter,
    /// The WebGPU specification's defaults, what every browser grants
    /// without asking (`wgpu::Limits::defaults()`): 128 MiB per storage
    /// binding, 256 MiB per buffer, 8 storage buffers per shader stage,
    /// 16 KiB of workgroup memory, 256 invocations per workgroup, no
    /// immediates. Every kernel runs within them; this mode proves it on a
    /// native adapter.
    WebGpuDefaults,
}

impl DeviceLimits {
    /// `WGCONV_LIMITS=webgpu` selects [`DeviceLimits::WebGpuDefaults`] for
    /// every device a program opens (`WGCONV_LIMITS=webgpu cargo run` runs
    /// the check under a browser's limits); anything else, or nothing, the
    /// adapter's own.
    pub fn from_env() -> DeviceLimits {
        match std::env::var("WGCONV_LIMITS").as_deref() {
            Ok("webgpu") => DeviceLimits::WebGpuDefaults,
            _ => DeviceLimits::Adapter,
        }
    }

    /// The limits to request from `adapter`.
    pub fn resolve(self, adapter: &wgpu::Limits) -> wgpu::Limits {
        match self {
            DeviceLimits::Adapter => adapter.clone(),
            DeviceLimits::WebGpuDefaults => wgpu::Limits::defaults(),
        }
    }
}

/// Whether a device of this adapter, with `features` (the adapter's, or
/// the device's once created), shares GEMM loads across subgroup lanes:
/// [`crate::plan::shares_lanes`] on the adapter's kind, back end and
/// subgroup sizes.
fn shares_lanes(info: &wgpu::AdapterInfo, features: wgpu::Features) -> bool {
    crate::plan::shares_lanes(
        info.device_type == wgpu::DeviceType::Cpu && info.backend == wgpu::Backend::Vulkan,
        features.contains(wgpu::Features::SUBGROUP),
        info.subgroup_min_size,
        info.subgroup_max_size,
    )
}

/// An adapter's name and backend, the one way reports and errors name it.
fn adapter_label(info: &AdapterInfo) -> String {
    format!("{} ({:?})", info.name, info.backend)
}

/// Preference when several adapters are present: a real GPU first.
fn rank(info: &AdapterInfo) -> (u8, u8) {
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (device, backend)
}

impl Gpu {
    /// The best adapter: a discrete GPU before an integrated one before a
    /// software one, Vulkan/Metal/DX12 before GL. `WGPU_BACKEND` (e.g.
    /// `vulkan`, `gl`) limits the backends searched and `WGPU_ADAPTER_NAME`
    /// picks the first adapter whose name contains it (case-insensitive).
    pub fn new() -> Result<Gpu, Error> {
        block("Gpu::new", Self::new_async())
    }

    /// [`Gpu::new`] without blocking: what a browser calls (there the one
    /// adapter is the browser's WebGPU adapter).
    pub async fn new_async() -> Result<Gpu, Error> {
        let wanted = std::env::var("WGPU_ADAPTER_NAME").unwrap_or_default();
        let mut all = Self::all_matching_with_async(&wanted, DeviceLimits::from_env()).await?;
        all.sort_by_key(|g| rank(&g.inner.info));
        all.into_iter().next().ok_or(Error::NoAdapter { wanted })
    }

    /// One `Gpu` per usable adapter, for cross-device work. An adapter whose
    /// device cannot be created is skipped with a warning on stderr.
    pub fn all() -> Result<Vec<Gpu>, Error> {
        Self::all_matching("")
    }

    /// Every usable adapter whose name contains `name` (case-insensitive;
    /// `""` matches all). Fails with [`Error::NoAdapter`] if none does.
    pub fn all_matching(name: &str) -> Result<Vec<Gpu>, Error> {
        Self::all_matching_with(name, DeviceLimits::from_env())
    }

    /// [`Gpu::all_matching`] with the limits chosen by the caller, e.g.
    /// every adapter under the WebGPU defaults:
    /// `Gpu::all_matching_with("", DeviceLimits::WebGpuDefaults)`.
    pub fn all_matching_with(name: &str, mode: DeviceLimits) -> Result<Vec<Gpu>, Error> {
        block(
            "Gpu::all_matching_with",
            Self::all_matching_with_async(name, mode),
        )
    }

    /// [`Gpu::all_matching_with`] without blocking.
    pub async fn all_matching_with_async(
        name: &str,
        mode: DeviceLimits,
    ) -> Result<Vec<Gpu>, Error> {
        check_backend_variable()?;
        policy_from_env()?;
        let instance = instance();
        let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
        let needle = name.to_lowercase();
        let mut out = Vec::new();
        for adapter in adapters {
            let info = adapter.get_info();
            if !info.name.to_lowercase().contains(&needle) {
                continue;
            }
            match Self::from_adapter_with_async(adapter, mode).await {
                Ok(gpu) => out.push(gpu),
                Err(e) => eprintln!("wgconv: skipping adapter: {e}"),
            }
        }
        if out.is_empty() {
            return Err(Error::NoAdapter {
                wanted: name.to_string(),
            });
        }
        Ok(out)
    }

    /// The devices of a data-parallel run ([`crate::nn::DataParallel`]):
    /// `"all"` (one per adapter, as [`Gpu::all`]), a count `"N"` (the
    /// first N of those), or a comma-separated list of names, each opening
    /// a fresh device on the first adapter whose name or backend, as in
    /// "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)", contains it
    /// (case-insensitive; one adapter named twice gives two devices).
    pub fn devices(spec: &str) -> Result<Vec<Gpu>, Error> {
        let spec = spec.trim();
        if spec.eq_ignore_ascii_case("all") {
            return Self::all();
        }
        if let Ok(count) = spec.parse::<usize>() {
            let mut all = Self::all()?;
            if count == 0 || count > all.len() {
                let names: Vec<String> = all.iter().map(Gpu::describe).collect();
                return Err(Error::Distributed {
                    message: format!(
                        "{count} device(s) asked for, this machine has {} adapter(s): {}",
                        all.len(),
                        names.join(", ")
                    ),
                });
            }
            all.truncate(count);
            return Ok(all);
        }
        let mut out = Vec::new();
        for name in spec.split(',').map(str::trim) {
            if name.is_empty() {
                let names: Vec<String> = Self::all()?.iter().map(Gpu::describe).collect();
                return Err(Error::InvalidParam {
                    op: "Gpu::devices",
                    param: "devices",
                    message: format!(
                        "{spec:?} holds an empty name: give `all`, a count, or adapter names \
                         separated by commas (this machine has: {})",
                        names.join(", ")
                    ),
                });
            }
            let needle = name.to_lowercase();
            let found = Self::all()?
                .into_iter()
                .find(|g| !needle.is_empty() && g.describe().to_lowercase().contains(&needle));
            out.push(found.ok_or_else(|| Error::NoAdapter {
                wanted: name.to_string(),
            })?);
        }
        Ok(out)
    }

    /// Opens a device on `adapter` with the adapter's own limits (not
    /// wgpu's conservative defaults), or the WebGPU defaults where
    /// `WGCONV_LIMITS=webgpu` ([`DeviceLimits::from_env`]), and timestamp
    /// queries where offered.
    pub fn from_adapter(adapter: wgpu::Adapter) -> Result<Gpu, Error> {
        Self::from_adapter_with(adapter, DeviceLimits::from_env())
    }

    /// [`Gpu::from_adapter`] with the limits chosen by the caller.
    pub fn from_adapter_with(adapter: wgpu::Adapter, mode: DeviceLimits) -> Result<Gpu, Error> {
        block(
            "Gpu::from_adapter_with",
            Self::from_adapter_with_async(adapter, mode),
        )
    }

    /// [`Gpu::from_adapter_with`] without blocking.
    pub async fn from_adapter_with_async(
        adapter: wgpu::Adapter,
        mode: DeviceLimits,
    ) -> Result<Gpu, Error> {
        let info = adapter.get_info();
        let mut features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        if shares_lanes(&info, adapter.features()) {
            features |= wgpu::Features::SUBGROUP;
        }
        let limits = mode.resolve(&adapter.limits());
        let desc = wgpu::DeviceDescriptor {
            label: Some("wgconv"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) =
            adapter
                .request_device(&desc)
                .await
                .map_err(|e| Error::RequestDevice {
                    adapter: adapter_label(&info),
                    message: e.to_string(),
                })?;
        let lost = Arc::new(Mutex::new(None));
        let lost_cb = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *lost_cb.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{reason:?}: {msg}"));
        });
        // Errors outside an error scope must not reach wgpu's default handler,
        // which panics. Every op runs inside scopes, so this only logs.
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            eprintln!("wgconv: uncaptured wgpu error: {e}");
        }));
        let features = device.features();
        let limits = device.limits();
        let policy = policy_from_env()?;
        let no_taps = wgpu::util::DeviceExt::create_buffer_init(
            &device,
            &wgpu::util::BufferInitDescriptor {
                label: Some("no tap table"),
                contents: &[0u8; 16],
                usage: wgpu::BufferUsages::STORAGE,
            },
        );
        Ok(Gpu {
            inner: Arc::new(Inner {
                device,
                queue,
                info: info.clone(),
                limits,
                features,
                pipelines: Mutex::new(HashMap::new()),
                modules: Mutex::new(HashMap::new()),
                tables: Mutex::new(HashMap::new()),
                no_taps,
                batches: Mutex::new(HashMap::new()),
                pool: Mutex::new(pool::Pool::default()),
                lost,
                late: Arc::new(Mutex::new(None)),
                queue_lock: Mutex::new(()),
                tuning: Mutex::new(crate::plan::TunedPlans::from_env()),
                serial: (info.backend == wgpu::Backend::Gl).then(|| Mutex::new(())),
                op_timing: Mutex::new(None),
            }),
            policy,
        })
    }

    /// Name, backend, device type and driver of the adapter.
    pub fn info(&self) -> AdapterInfo {
        self.inner.info.clone()
    }

    /// The adapter as reports name it: "llvmpipe (LLVM 15.0.6, 256 bits)
    /// (Vulkan)".
    pub fn describe(&self) -> String {
        adapter_label(&self.inner.info)
    }

    /// What the convolution plan depends on (see [`crate::plan::plan`]):
    /// whether invocations run on a CPU (lavapipe, llvmpipe, WARP), and
    /// the binding limit.
    pub fn facts(&self) -> AdapterFacts {
        let shared = shares_lanes(&self.inner.info, self.inner.features);
        AdapterFacts {
            cpu: self.inner.info.device_type == wgpu::DeviceType::Cpu,
            max_storage_buffer_binding_size: self.inner.limits.max_storage_buffer_binding_size,
            subgroup_lanes: if shared { crate::plan::SHARED_LANES } else { 0 },
        }
    }

    /// The limits the device was created with (the adapter's own).
    pub fn limits(&self) -> wgpu::Limits {
        self.inner.limits.clone()
    }

    /// Whether GPU timestamps are available for timing.
    pub fn has_timestamps(&self) -> bool {
        self.inner
            .features
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Runs `f` and returns, beside its result, the GPU time of the ops it
    /// ran, in milliseconds, from timestamps around each of their compute
    /// passes (None where the adapter has no `TIMESTAMP_QUERY`). Each op is
    /// then submitted and waited for on its own, so this is for profiling
    /// (`wgconv bench --suite train`), not for speed; ops other threads
    /// run on this device meanwhile count too.
    pub fn device_time<R>(
        &self,
        f: impl FnOnce() -> Result<R, Error>,
    ) -> Result<(R, Option<f64>), Error> {
        if !self.has_timestamps() {
            return Ok((f()?, None));
        }
        let lock = || {
            self.inner
                .op_timing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        let outer = lock().replace(0.0);
        let r = f();
        let ms = lock().take().unwrap_or(0.0);
        // A nested call's time also counts in the enclosing one.
        *lock() = outer.map(|o| o + ms);
        Ok((r?, Some(ms)))
    }

    /// A handle to the same device that plans convolutions by `policy`.
    /// Tensors are shared between the two handles. The environment
    /// variable `WGCONV_VARIANT` (a name [`Policy::parse`] takes: `auto`,
    /// `tuned` or a kernel name) sets the initial policy.
    pub fn with_policy(&self, policy: Policy) -> Gpu {
        Gpu {
            inner: self.inner.clone(),
            policy,
        }
    }

    /// The policy this handle plans convolutions by.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// `Err(DeviceLost)` once the device has been lost; `Ok` otherwise.
    pub fn check_usable(&self) -> Result<(), Error> {
        if let Some(message) = &*self.inner.lost.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(Error::DeviceLost {
                message: message.clone(),
            });
        }
        match self
            .inner
            .late
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            Some(message) => Err(Error::Device {
                op: "earlier work",
                message,
            }),
            None => Ok(()),
        }
    }

    /// False once the device is lost (driver reset, [`Gpu::destroy`]);
    /// every op then fails with [`Error::DeviceLost`].
    pub fn is_usable(&self) -> bool {
        self.check_usable().is_ok()
    }

    /// Destroys the device now, freeing its memory without waiting for the
    /// last handle to drop. Every handle to it (clones, tensors) becomes
    /// unusable: later ops return [`Error::DeviceLost`], never panic.
    pub fn destroy(&self) {
        let _serial = self.serialize();
        self.inner.device.destroy();
        // wgpu reports the loss through the callback; record it here as
        // well in case the callback runs only at the next poll.
        let mut lost = self.inner.lost.lock().unwrap_or_else(|p| p.into_inner());
        lost.get_or_insert_with(|| "Destroyed: Gpu::destroy was called".to_string());
    }

    /// Test hook: records one dispatch that breaks a WebGPU validation rule
    /// (a grid past `max_compute_workgroups_per_dimension`), to show that
    /// driver-side validation errors come back as [`Error::Device`]
    /// instead of wgpu's panic. Public only for the integration tests.
    #[doc(hidden)]
    pub fn debug_invalid_dispatch(&self) -> Result<(), Error> {
        self.run("debug_invalid_dispatch", |rec| {
            let out = self.zeros_unlocked("debug_invalid_dispatch", &[64])?;
            let too_many = self.inner.limits.max_compute_workgroups_per_dimension + 1;
            rec.dispatch(
                Shader::Add,
                "add_assign",
                &[0u8; 16],
                &[(1, &out.buffer), (2, &out.buffer)],
                (too_many, 1),
            );
            Ok(())
        })
    }

    /// Same device as `other` (tensors of one can be used with the other).
    pub fn same_device(&self, other: &Gpu) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Serialises device access on backends that need it (GL); a no-op
    /// guard elsewhere. Taken once by every public entry point.
    pub(crate) fn serialize(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        self.inner
            .serial
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Blocks until all submitted work has finished.
    pub fn synchronize(&self) -> Result<(), Error> {
        let _serial = self.serialize();
        self.wait_idle()
    }

    /// [`Gpu::synchronize`] without blocking: resolves once the work
    /// submitted so far has finished. Natively that is a wait; in a
    /// browser, the queue's work-done promise is awaited.
    pub async fn synchronize_async(&self) -> Result<(), Error> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.synchronize()
        }
        #[cfg(target_arch = "wasm32")]
        {
            let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
            {
                let _serial = self.serialize();
                self.check_usable()?;
                self.submit_commands(self.take_pending());
                // Registered after the submission, so it covers it.
                self.inner.queue.on_submitted_work_done(move || {
                    let _ = tx.send(());
                });
            }
            rx.receive().await;
            self.check_usable()
        }
    }

    /// Waits for everything submitted so far.
    pub(crate) fn wait_idle(&self) -> Result<(), Error> {
        self.check_usable()?;
        // Wait on the index of a submission of our own, with one (empty)
        // command buffer. Waiting on "the latest" (None), or on the index an
        // empty `submit([])` returns (the last index handed out, possibly
        // to a submission another thread has not finished registering),
        // trips a wgpu-core assertion ("If the queue is empty, the current
        // submission index ... should be at least the wait submission
        // index") when threads submit concurrently.
        let mut commands = self.take_pending();
        let marker = self
            .inner
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("wait marker"),
            });
        commands.push(marker.finish());
        let index = self.submit_commands(commands);
        self.wait_for(index)
    }

    /// Submits `commands` (see `Inner::queue_lock`).
    pub(crate) fn submit_commands(
        &self,
        commands: impl IntoIterator<Item = wgpu::CommandBuffer>,
    ) -> wgpu::SubmissionIndex {
        let _queue = self
            .inner
            .queue_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.inner.queue.submit(commands)
    }

    /// Waits until submission `index` has finished.
    pub(crate) fn wait_for(&self, index: wgpu::SubmissionIndex) -> Result<(), Error> {
        // Short bounded waits in a loop rather than one unbounded wait: on
        // Mesa's GL driver a fence wait running while another thread drives
        // a Vulkan device was seen to sleep out its whole timeout (4.3 s)
        // after the work had finished; re-polling sees the fence at once.
        loop {
            let slice = wgpu::PollType::Wait {
                submission_index: Some(index.clone()),
                timeout: Some(std::time::Duration::from_millis(5)),
            };
            let polled = {
                let _queue = self
                    .inner
                    .queue_lock
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                self.inner.device.poll(slice)
            };
            match polled {
                Ok(_) => return Ok(()),
                Err(wgpu::PollError::Timeout) => self.check_usable()?,
                Err(e) => {
                    return Err(Error::Device {
                        op: "synchronize",
                        message: e.to_string(),
                    })
                }
            }
        }
    }

    /// Workgroup grid `(x, y)` covering `count` workgroups within
    /// `max_compute_workgroups_per_dimension`; kernels rebuild the linear
    /// index as `x + y * grid_x`.
    pub(crate) fn grid(&self, op: &'static str, count: u64) -> Result<(u32, u32), Error> {
        let max = self.inner.limits.max_compute_workgroups_per_dimension as u64;
        let x = count.clamp(1, max);
        let y = count.div_ceil(x).max(1);
        if y > max {
            return Err(Error::LimitExceeded {
                op,
                limit: "max_compute_workgroups_per_dimension squared (workgroups)",
                requested: count,
                max: max * max,
            });
        }
        Ok((x as u32, y as u32))
    }

    /// `kernel`'s `entry` point with its pipeline constants (WGSL
    /// `override`s) set to `constants`: one pipeline per distinct set,
    /// built at first use and kept.
    pub(crate) fn pipeline(
        &self,
        kernel: Shader,
        entry: &'static str,
        constants: &[(&'static str, u32)],
    ) -> wgpu::ComputePipeline {
        let key = (kernel, entry, constants.to_vec());
        if let Some(p) = self
            .inner
            .pipelines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return p.clone();
        }
        let module = {
            let mut modules = self.inner.modules.lock().unwrap_or_else(|p| p.into_inner());
            modules
                .entry(kernel)
                .or_insert_with(|| {
                    self.inner
                        .device
                        .create_shader_module(wgpu::ShaderModuleDescriptor {
                            label: Some(kernel.name()),
                            source: wgpu::ShaderSource::Wgsl(
                                kernel.source_for(self.facts().subgroup_lanes != 0).into(),
                            ),
                        })
                })
                .clone()
        };
        let label = format!("{}:{entry}", kernel.name());
        let values: Vec<(&str, f64)> = constants.iter().map(|&(k, v)| (k, f64::from(v))).collect();
        let pipeline =
            self.inner
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&label),
                    layout: None,
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &values,
                        ..Default::default()
                    },
                    cache: None,
                });
        self.inner
            .pipelines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, pipeline.clone());
        pipeline
    }
}
