//! Shared test harness: every adapter, seeded inputs, one compare helper.
#![allow(dead_code)]

use std::sync::OnceLock;
use wgconv::plan::{Algorithm, ConvOp};
pub use wgconv::rng::Rng;
use wgconv::{Conv2dParams, Gpu};

/// GPU vs CPU tolerance for f32: `max|gpu − ref| ≤ TOL · max(1, max|ref|)`.
/// f32 has a 6e-8 unit roundoff; the reductions here are at most a few
/// thousand terms of values in [-1, 1] summed in order, whose worst-case
/// relative error (≈ length · 6e-8) stays below 1e-5 of the output scale,
/// while a wrong index moves an output by O(1).
pub const TOL: f32 = 1e-5;

/// Every usable adapter, made once per test binary. With none: a loud skip,
/// or a failure when `WGCONV_REQUIRE_GPU=1` (as in CI).
pub fn gpus() -> &'static [Gpu] {
    static GPUS: OnceLock<Vec<Gpu>> = OnceLock::new();
    GPUS.get_or_init(|| match Gpu::all() {
        Ok(all) => {
            for g in &all {
                let i = g.info();
                eprintln!("wgconv tests: adapter {:?} ({:?}, {:?})", i.name, i.backend, i.device_type);
            }
            all
        }
        Err(e) => {
            if std::env::var("WGCONV_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("WGCONV_REQUIRE_GPU=1 but no GPU adapter is usable: {e}");
            }
            eprintln!(
                "\n*** SKIPPING GPU TESTS: no GPU adapter ({e}).\n*** Install mesa-vulkan-drivers, or set WGCONV_REQUIRE_GPU=1 to make this a failure.\n"
            );
            Vec::new()
        }
    })
}

/// Devices of their own for tests that read device-wide counters
/// (`memory_stats`): the shared ones of [`gpus`] are busy with the other
/// tests of the binary, which run in parallel. Empty exactly when `gpus`
/// is (the same skip or failure rule).
pub fn private_gpus() -> Vec<Gpu> {
    if gpus().is_empty() {
        return Vec::new();
    }
    Gpu::all().expect("adapters found a moment ago are gone")
}

/// A short name for failure messages: adapter and backend.
pub fn label(gpu: &Gpu) -> String {
    let i = gpu.info();
    format!(
        "{} / {:?} / variant {}",
        i.name,
        i.backend,
        gpu.policy().name()
    )
}

/// Decodes a flat index into a multi-index of `shape` (for messages).
pub fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

/// Asserts `got` is within `TOL · max(1, max|want|)` of `want` everywhere
/// (or equal, when `exact`). On failure reports the worst absolute and
/// relative error, where it is, the first mismatches and the context.
pub fn assert_close(context: &str, shape: &[usize], got: &[f32], want: &[f32], exact: bool) {
    assert_eq!(
        got.len(),
        want.len(),
        "{context}: length {} != {}",
        got.len(),
        want.len()
    );
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    let bound = if exact { 0.0 } else { TOL * scale };
    let mut worst = (0f32, 0usize);
    let mut bad = Vec::new();
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        let err = if err.is_nan() { f32::INFINITY } else { err };
        if err > worst.0 {
            worst = (err, i);
        }
        if err > bound && bad.len() < 5 {
            bad.push(format!("  at {:?}: gpu {g} vs ref {w}", unravel(i, shape)));
        }
    }
    if worst.0 > bound {
        panic!(
            "{context}: max |gpu - ref| = {} at {:?} (relative {:.3e}), bound {bound}\nfirst mismatches:\n{}",
            worst.0,
            unravel(worst.1, shape),
            worst.0 / scale,
            bad.join("\n")
        );
    }
}

/// One convolution problem with its inputs.
#[derive(Debug, Clone)]
pub struct Case {
    pub x_shape: [usize; 4],
    pub w_shape: [usize; 4],
    pub p: Conv2dParams,
    pub x: Vec<f32>,
    pub w: Vec<f32>,
    pub bias: Vec<f32>,
    pub dy: Vec<f32>,
    pub y_shape: [usize; 4],
}

impl Case {
    /// Seeded inputs for a geometry; integers when `ints`.
    pub fn new(
        x_shape: [usize; 4],
        w_shape: [usize; 4],
        p: Conv2dParams,
        rng: &mut Rng,
        ints: bool,
    ) -> Case {
        let geo = wgconv::Conv2dGeometry::new("test", &x_shape, &w_shape, &p)
            .expect("valid test geometry");
        let y_shape = geo.y_shape();
        let mut gen = |len: usize| if ints { rng.ints(len) } else { rng.floats(len) };
        Case {
            x: gen(x_shape.iter().product()),
            w: gen(w_shape.iter().product()),
            bias: gen(w_shape[0]),
            dy: gen(y_shape.iter().product()),
            x_shape,
            w_shape,
            p,
            y_shape,
        }
    }

    /// Whether `gpu` runs `op` of this case through Winograd's F(4x4, 3x3)
    /// (for a weight gradient F(3x3, 4x4)), whose transforms hold thirds
    /// and fifteenths that no binary float
    /// holds: on integer inputs its results are then held to the
    /// tolerance, not to exact equality (every other plan is exact there).
    pub fn rounds(&self, gpu: &Gpu, op: ConvOp) -> bool {
        let plan = gpu.explain(op, self.x_shape, self.w_shape, &self.p);
        plan.expect("a valid test geometry").algorithm == Algorithm::Winograd4
    }

    /// Runs forward (with and without a bias), input grad, weight grad and
    /// bias grad on `gpu` and on the CPU reference and compares every
    /// output.
    pub fn check(&self, gpu: &Gpu, exact: bool) {
        let ctx = |op: &str| {
            format!("{op} on {} for {self:?}", label(gpu))
                .chars()
                .take(600)
                .collect::<String>()
        };
        let x = gpu.tensor(&self.x_shape, &self.x).unwrap();
        let w = gpu.tensor(&self.w_shape, &self.w).unwrap();
        let b = gpu.tensor(&[self.w_shape[0]], &self.bias).unwrap();
        let dy = gpu.tensor(&self.y_shape, &self.dy).unwrap();

        let y = gpu.conv2d(&x, &w, Some(&b), &self.p).unwrap();
        assert_eq!(y.shape(), &self.y_shape);
        let y_ref = wgconv::cpu::conv2d(
            &self.x,
            self.x_shape,
            &self.w,
            self.w_shape,
            Some(&self.bias),
            &self.p,
        )
        .unwrap();
        assert_close(
            &ctx("conv2d"),
            &self.y_shape,
            &y.to_vec().unwrap(),
            &y_ref,
            exact && !self.rounds(gpu, ConvOp::Forward),
        );
        // Without a bias too: kernels build a pipeline per case
        // (`depthwise`'s bias is a pipeline constant).
        let y = gpu.conv2d(&x, &w, None, &self.p).unwrap();
        let y_ref =
            wgconv::cpu::conv2d(&self.x, self.x_shape, &self.w, self.w_shape, None, &self.p)
                .unwrap();
        assert_close(
            &ctx("conv2d without a bias"),
            &self.y_shape,
            &y.to_vec().unwrap(),
            &y_ref,
            exact && !self.rounds(gpu, ConvOp::Forward),
        );

        let dx = gpu
            .conv2d_input_grad(&dy, &w, self.x_shape, &self.p)
            .unwrap();
        let dx_ref =
            wgconv::cpu::conv2d_input_grad(&self.dy, &self.w, self.w_shape, self.x_shape, &self.p)
                .unwrap();
        assert_close(
            &ctx("conv2d_input_grad"),
            &self.x_shape,
            &dx.to_vec().unwrap(),
            &dx_ref,
            exact && !self.rounds(gpu, ConvOp::InputGrad),
        );

        let dw = gpu
            .conv2d_weight_grad(&x, &dy, self.w_shape, &self.p)
            .unwrap();
        let dw_ref =
            wgconv::cpu::conv2d_weight_grad(&self.x, self.x_shape, &self.dy, self.w_shape, &self.p)
                .unwrap();
        assert_close(
            &ctx("conv2d_weight_grad"),
            &self.w_shape,
            &dw.to_vec().unwrap(),
            &dw_ref,
            exact && !self.rounds(gpu, ConvOp::WeightGrad),
        );

        let db = gpu.bias_grad(&dy).unwrap();
        let db_ref = wgconv::cpu::bias_grad(&self.dy, self.y_shape).unwrap();
        assert_close(
            &ctx("bias_grad"),
            &[self.w_shape[0]],
            &db.to_vec().unwrap(),
            &db_ref,
            exact,
        );
    }
}

/// A random valid geometry covering the awkward cases: strides larger than
/// the kernel, padding up to the kernel size, dilation 2 and 3, groups and
/// depthwise, 1x1 and non-square kernels, outputs of size 1, batch 1.
pub fn random_geometry(rng: &mut Rng) -> ([usize; 4], [usize; 4], Conv2dParams) {
    let n = rng.range(1, 3);
    let (groups, cg, kg) = match rng.range(0, 5) {
        0 => {
            let c = rng.range(1, 6);
            (c, 1, rng.range(1, 2)) // depthwise (with channel multiplier)
        }
        1 => (rng.range(2, 3), rng.range(1, 4), rng.range(1, 4)),
        _ => (1, rng.range(1, 9), rng.range(1, 12)),
    };
    let axis = |rng: &mut Rng| {
        let k = if rng.range(0, 4) == 0 {
            1
        } else {
            rng.range(1, 5)
        };
        let stride = rng.range(1, 4);
        let dil = [1, 1, 1, 2, 3][rng.range(0, 4)];
        let pad = rng.range(0, k);
        let extent = dil * (k - 1) + 1;
        let min_in = extent.saturating_sub(2 * pad).max(1);
        // One in five axes has exactly one output position.
        let input = if rng.range(0, 4) == 0 {
            min_in
        } else {
            min_in + rng.range(0, 11)
        };
        (k, stride as u32, dil as u32, pad as u32, input)
    };
    let (r, sh, dh, ph, h) = axis(rng);
    let (s, sw, dw, pw, w) = axis(rng);
    let p = Conv2dParams {
        stride: [sh, sw],
        padding: [ph, pw],
        dilation: [dh, dw],
        groups: groups as u32,
    };
    ([n, groups * cg, h, w], [groups * kg, cg, r, s], p)
}

/// A JSON fixture of tests/fixtures/ (written by a script in scripts/).
pub fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture's array of numbers as f32.
pub fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

/// A fixture's array of whole numbers.
pub fn ints(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("a whole number") as usize)
        .collect()
}

/// Runs `y`'s backward pass from the upstream gradient `dy` (a loss
/// `sum(y · dy)`: mul, then a linear layer of ones as the sum).
pub fn backward_from<B: wgconv::nn::Backend>(y: &wgconv::nn::Var<B>, dy: &[f32]) {
    let (g, b) = (y.graph(), y.backend());
    let dy = g.input(b.tensor(y.shape(), dy).unwrap());
    let n = dy.shape().iter().product();
    let flat = y.mul(&dy).unwrap().reshape(&[1, n]).unwrap();
    let ones = g.input(b.tensor(&[1, n], &vec![1.0; n]).unwrap());
    let loss = wgconv::nn::functional::linear(&flat, &ones, None).unwrap();
    loss.reshape(&[1]).unwrap().backward().unwrap();
}
