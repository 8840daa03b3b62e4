// activation.wgsl: ReLU and the logistic sigmoid, forward and backward,
// one invocation per value V (after elementwise.wgsl and a vector prelude:
// 4 elements per invocation where the length is a multiple of 4).
//   relu_forward:     y = x < 0 ? 0 : x          (NaN passes through, as in torch)
//   relu_backward:    dx = x > 0 ? dy : 0        (binding 1 holds x)
//   sigmoid_forward:  y = 1 / (1 + exp(−x))
//   sigmoid_backward: dx = dy · y · (1 − y)      (binding 1 holds y, the output)
// Layouts: flat arrays of P.len values V.

@group(0) @binding(1) var<storage, read> a: array<V>;
@group(0) @binding(2) var<storage, read> dy: array<V>;
@group(0) @binding(3) var<storage, read_write> out: array<V>;

@compute @workgroup_size(64)
fn relu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(x, V(0.0), (x < V(0.0)) & !nan_mask(x));
    }
}

@compute @workgroup_size(64)
fn relu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(V(0.0), dy[i], (x > V(0.0)) & !nan_mask(x));
    }
}

@compute @workgroup_size(64)
fn sigmoid_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        out[i] = 1.0 / (1.0 + exp(-a[i]));
    }
}

@compute @workgroup_size(64)
fn sigmoid_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let y = a[i];
        out[i] = dy[i] * y * (1.0 - y);
    }
}

// The activations of `Activation` (src/ops/activation.rs), torch's
// definitions; `alpha` (LeakyReLU's slope, ELU's alpha) travels in the
// uniform's `cols` as f32 bits. Each backward pass takes the forward
// input x (binding 1). Comparisons make NaN fall through to the branch
// that multiplies it, so NaN stays NaN, as in torch.
fn alpha() -> f32 {
    return bitcast<f32>(P.cols);
}

// tanh of an argument clamped to ±10, where f32's tanh is ±1 already:
// some backends overflow exp inside tanh for large arguments. NaN stays
// NaN (a clamp may turn it into a bound).
fn safe_tanh(x: V) -> V {
    return select(tanh(clamp(x, V(-10.0), V(10.0))), x, nan_mask(x));
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf_approx(x: V) -> V {
    let ax = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * ax);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let e = 1.0 - poly * exp(-ax * ax);
    return select(e, -e, x < V(0.0));
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const GELU_KAPPA: f32 = 0.044715;

fn sigmoid_of(x: V) -> V {
    return 1.0 / (1.0 + exp(-x));
}

@compute @workgroup_size(64)
fn relu6_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        let nan = nan_mask(x);
        out[i] = select(select(x, V(6.0), (x > V(6.0)) & !nan), V(0.0), (x < V(0.0)) & !nan);
    }
}

@compute @workgroup_size(64)
fn relu6_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(V(0.0), dy[i], (x > V(0.0)) & (x < V(6.0)));
    }
}

@compute @workgroup_size(64)
fn leaky_relu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(alpha() * x, x, x > V(0.0));
    }
}

@compute @workgroup_size(64)
fn leaky_relu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(alpha() * dy[i], dy[i], x > V(0.0));
    }
}

@compute @workgroup_size(64)
fn elu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(alpha() * (exp(min(x, V(0.0))) - 1.0), x, (x > V(0.0)) | nan_mask(x));
    }
}

@compute @workgroup_size(64)
fn elu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(dy[i] * alpha() * exp(min(x, V(0.0))), dy[i], x > V(0.0));
    }
}

@compute @workgroup_size(64)
fn gelu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = 0.5 * x * (1.0 + erf_approx(x * INV_SQRT_2));
    }
}

@compute @workgroup_size(64)
fn gelu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        let cdf = 0.5 * (1.0 + erf_approx(x * INV_SQRT_2));
        let pdf = INV_SQRT_2PI * exp(-0.5 * x * x);
        out[i] = dy[i] * (cdf + x * pdf);
    }
}

@compute @workgroup_size(64)
fn gelu_tanh_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        let inner = SQRT_2_OVER_PI * (x + GELU_KAPPA * x * x * x);
        out[i] = 0.5 * x * (1.0 + safe_tanh(inner));
    }
}

@compute @workgroup_size(64)
fn gelu_tanh_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        let x_sq = x * x;
        let t = safe_tanh(SQRT_2_OVER_PI * (x + GELU_KAPPA * x_sq * x));
        let left = 0.5 * x;
        let right = 1.0 + t;
        let right_derivative = left * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_KAPPA * x_sq);
        out[i] = dy[i] * (0.5 * right + right_derivative);
    }
}

@compute @workgroup_size(64)
fn silu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = x * sigmoid_of(x);
    }
}

@compute @workgroup_size(64)
fn silu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        let s = sigmoid_of(x);
        out[i] = dy[i] * s * (1.0 + x * (1.0 - s));
    }
}

@compute @workgroup_size(64)
fn hardswish_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        let mid = x * (x + 3.0) / 6.0;
        out[i] = select(select(mid, x, x >= V(3.0)), V(0.0), x <= V(-3.0));
    }
}

@compute @workgroup_size(64)
fn hardswish_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        let mid = dy[i] * (x / 3.0 + 0.5);
        out[i] = select(select(mid, dy[i], x >= V(3.0)), V(0.0), x <= V(-3.0));
    }
}

@compute @workgroup_size(64)
fn hardsigmoid_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(select(x / 6.0 + 0.5, V(1.0), x >= V(3.0)), V(0.0), x <= V(-3.0));
    }
}

@compute @workgroup_size(64)
fn hardsigmoid_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let x = a[i];
        out[i] = select(V(0.0), dy[i] / 6.0, (x > V(-3.0)) & (x < V(3.0)));
    }
}

@compute @workgroup_size(64)
fn tanh_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        out[i] = safe_tanh(a[i]);
    }
}

@compute @workgroup_size(64)
fn tanh_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = item(wid, lid);
    if (i < P.len) {
        let t = safe_tanh(a[i]);
        out[i] = dy[i] * (1.0 - t * t);
    }
}
