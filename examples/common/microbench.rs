//! What the micro-benchmark examples (`load_cost`, `register_tiles`,
//! `block_loads`, `gemm_ceiling`) share: the default adapter's device, a
//! one-entry-point compute pipeline from WGSL, zeroed storage buffers, and
//! the wall-clock time of one dispatch. They measure raw WGSL loops, not
//! wgconv's kernels, so they talk to wgpu directly.

// Each example uses only some of these.
#![allow(dead_code)]

use wgpu::util::DeviceExt;

/// The default adapter's device and queue, and the adapter's name.
pub fn device() -> (wgpu::Device, wgpu::Queue, wgpu::Adapter) {
    device_with(wgpu::Features::empty())
}

/// [`device`] with those of `wanted` the adapter has enabled.
pub fn device_with(wanted: wgpu::Features) -> (wgpu::Device, wgpu::Queue, wgpu::Adapter) {
    wgconv::quiet_headless_driver_probes();
    let inst = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(inst.request_adapter(&Default::default())).unwrap();
    let desc = wgpu::DeviceDescriptor {
        required_features: adapter.features() & wanted,
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).unwrap();
    (device, queue, adapter)
}

/// The pipeline of `src`'s entry point `main`.
pub fn pipeline(device: &wgpu::Device, src: &str) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(src.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: None,
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// A buffer of `bytes` zero bytes with `usage`.
pub fn zeroed(device: &wgpu::Device, bytes: usize, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: &vec![0u8; bytes],
        usage,
    })
}

/// The bind group of `pipe`'s group 0 with `buffers` at bindings 0, 1, ...
/// (`None`: a binding the shader does not use, so its layout lacks it).
pub fn bind(
    device: &wgpu::Device,
    pipe: &wgpu::ComputePipeline,
    buffers: &[Option<&wgpu::Buffer>],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            b.map(|b| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipe.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// Seconds of one dispatch of `workgroups` workgroups, submitted alone
/// and waited for.
pub fn time_dispatch(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    pipe: &wgpu::ComputePipeline,
    bg: &wgpu::BindGroup,
    workgroups: u32,
) -> f64 {
    let t = std::time::Instant::now();
    let mut enc = device.create_command_encoder(&Default::default());
    {
        let mut p = enc.begin_compute_pass(&Default::default());
        p.set_pipeline(pipe);
        p.set_bind_group(0, bg, &[]);
        p.dispatch_workgroups(workgroups, 1, 1);
    }
    queue.submit([enc.finish()]);
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    t.elapsed().as_secs_f64()
}
