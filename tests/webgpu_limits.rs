//! Every kernel inside the WebGPU specification's default limits, what a
//! browser grants without asking (issue #11): each adapter opened with
//! `DeviceLimits::WebGpuDefaults` (8 storage buffers per stage, 16 KiB of
//! workgroup memory, 256 invocations per workgroup, 128 MiB per binding),
//! then `wgconv check` under every policy and training steps of every
//! preset model (convolutions, batch norm fused with ReLU, pooling,
//! dropout, residual blocks, linear, loss, SGD) against the CPU reference.
mod common;
use wgconv::nn::{one_hot, train_step, Backend, Cpu, Loss, ModuleExt, Optimizer, OptimizerConfig};
use wgconv::rng::Rng;
use wgconv::train::Preset;
use wgconv::{check, DeviceLimits, Gpu, Policy, Sgd};

fn spec_gpus() -> Vec<Gpu> {
    match Gpu::all_matching_with("", DeviceLimits::WebGpuDefaults) {
        Ok(all) => all,
        Err(e) => {
            assert!(
                std::env::var("WGCONV_REQUIRE_GPU").as_deref() != Ok("1"),
                "WGCONV_REQUIRE_GPU=1 but no adapter: {e}"
            );
            eprintln!("*** SKIPPING: no GPU adapter ({e})");
            Vec::new()
        }
    }
}

#[test]
fn devices_take_exactly_the_spec_defaults() {
    for gpu in spec_gpus() {
        let l = gpu.limits();
        assert_eq!(
            l.max_storage_buffers_per_shader_stage,
            8,
            "{}",
            gpu.describe()
        );
        assert_eq!(l.max_compute_workgroup_storage_size, 16 << 10);
        assert_eq!(l.max_compute_invocations_per_workgroup, 256);
        assert_eq!(l.max_storage_buffer_binding_size, 128 << 20);
        assert_eq!(l.max_buffer_size, 256 << 20);
    }
}

#[test]
fn check_passes_under_every_policy_within_the_spec_defaults() {
    for gpu in spec_gpus() {
        for policy in Policy::ALL {
            let g = gpu.with_policy(policy);
            let rows = check::run(&g)
                .unwrap_or_else(|e| panic!("{} {}: {e}", gpu.describe(), policy.name()));
            for r in rows {
                assert!(
                    r.passed(),
                    "{} {}: {} off by {}",
                    gpu.describe(),
                    policy.name(),
                    r.op,
                    r.worst
                );
            }
        }
    }
}

/// Three SGD steps (momentum 0.9) of `preset` on a random batch: the
/// per-step losses and the final weights. SGD, not Adam: Adam's first
/// steps move every weight by about lr whatever the gradient's size, so
/// rounding-level gradients would make the weights incomparable.
fn steps<B: Backend>(b: B, preset: Preset, batch: usize) -> (Vec<f32>, Vec<f32>) {
    let [c, h, w] = preset.image_shape();
    let mut rng = Rng::new(11);
    let x = rng.floats(batch * c * h * w);
    let labels: Vec<usize> = (0..batch).map(|_| rng.range(0, 9)).collect();
    let t = one_hot(&labels, 10).unwrap();
    let mut m = preset.build(b.clone(), 2).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::Sgd(Sgd {
        lr: 0.05,
        momentum: 0.9,
        ..Sgd::default()
    }))
    .unwrap();
    let xt = b.tensor(&[batch, c, h, w], &x).unwrap();
    let tt = b.tensor(&[batch, 10], &t).unwrap();
    let losses = (0..3)
        .map(|_| {
            train_step(
                &b,
                &mut m,
                &xt,
                &tt,
                Loss::SoftmaxCrossEntropy,
                &mut opt,
                true,
            )
            .unwrap()
            .unwrap()
        })
        .collect();
    let mut weights = Vec::new();
    for (_, p) in m.named_parameters() {
        weights.extend(b.to_vec(p.value()).unwrap());
    }
    (losses, weights)
}

#[test]
fn every_preset_trains_within_the_spec_defaults() {
    let gpus = spec_gpus();
    for (preset, batch) in [
        (Preset::Digits, 16),
        (Preset::Fashion, 8),
        (Preset::Resnet, 2),
    ] {
        let (want, want_w) = steps(Cpu::<f32>::new(), preset, batch);
        for gpu in &gpus {
            let (got, got_w) = steps(gpu.clone(), preset, batch);
            for (s, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                    "{preset:?} on {} step {s}: loss {g}, CPU {w}",
                    gpu.describe()
                );
            }
            let worst = got_w
                .iter()
                .zip(&want_w)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst <= 1e-4,
                "{preset:?} on {}: weights off by {worst}",
                gpu.describe()
            );
        }
    }
}
