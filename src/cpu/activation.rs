//! CPU reference of ReLU and the sigmoid, forward and backward.

use super::Element;
use crate::Error;

/// `y = x < 0 ? 0 : x` (NaN stays NaN).
pub fn relu<T: Element>(x: &[T]) -> Vec<T> {
    x.iter()
        .map(|&v| {
            if v.to_f64() < 0.0 {
                T::from_f64(0.0)
            } else {
                v
            }
        })
        .collect()
}

/// `dx = x > 0 ? dy : 0`, with `x` the forward input.
pub fn relu_backward<T: Element>(x: &[T], dy: &[T]) -> Result<Vec<T>, Error> {
    super::check_len(&[x.len()], dy)?;
    Ok(x.iter()
        .zip(dy)
        .map(|(&x, &g)| {
            if x.to_f64() > 0.0 {
                g
            } else {
                T::from_f64(0.0)
            }
        })
        .collect())
}

/// `y = 1 / (1 + e^−x)`, in f64.
pub fn sigmoid<T: Element>(x: &[T]) -> Vec<T> {
    x.iter()
        .map(|&v| T::from_f64(1.0 / (1.0 + (-v.to_f64()).exp())))
        .collect()
}

/// `dx = dy · y · (1 − y)`, with `y` the forward output.
pub fn sigmoid_backward<T: Element>(y: &[T], dy: &[T]) -> Result<Vec<T>, Error> {
    super::check_len(&[y.len()], dy)?;
    Ok(y.iter()
        .zip(dy)
        .map(|(&y, &g)| {
            let y = y.to_f64();
            T::from_f64(g.to_f64() * y * (1.0 - y))
        })
        .collect())
}

/// erf in f64 (W. J. Cody's rational approximations as in most libms are
/// overkill here: a series below 3, the continued fraction above; error
/// under 1e-14, far below f32's).
fn erf(x: f64) -> f64 {
    let ax = x.abs();
    let v = if ax < 3.0 {
        // Maclaurin series: 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)).
        let (mut term, mut sum, mut n) = (ax, ax, 0.0f64);
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -ax * ax / n;
            sum += term / (2.0 * n + 1.0);
        }
        2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // erfc by Lentz's continued fraction, converging fast for x ≥ 3.
        let mut f = ax;
        let (mut c, mut d) = (ax, 0.0f64);
        for k in 1..200 {
            let a = k as f64 / 2.0;
            d = ax + a * d;
            d = 1.0 / d;
            c = ax + a / c;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        1.0 - (-ax * ax).exp() / (f * std::f64::consts::PI.sqrt())
    };
    if x < 0.0 {
        -v
    } else {
        v
    }
}

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const KAPPA: f64 = 0.044715;

/// `act(x)` in f64 (NaN stays NaN).
pub fn activate<T: Element>(x: &[T], act: crate::Activation) -> Vec<T> {
    use crate::Activation as A;
    x.iter()
        .map(|&v| {
            let x = v.to_f64();
            let y = match act {
                _ if x.is_nan() => x,
                A::Relu6 => x.clamp(0.0, 6.0),
                A::LeakyRelu { negative_slope } => {
                    if x > 0.0 {
                        x
                    } else {
                        negative_slope as f64 * x
                    }
                }
                A::Elu { alpha } => {
                    if x > 0.0 {
                        x
                    } else {
                        alpha as f64 * x.exp_m1()
                    }
                }
                A::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
                A::GeluTanh => 0.5 * x * (1.0 + (SQRT_2_OVER_PI * (x + KAPPA * x * x * x)).tanh()),
                A::Silu => x / (1.0 + (-x).exp()),
                A::Hardswish => {
                    if x <= -3.0 {
                        0.0
                    } else if x >= 3.0 {
                        x
                    } else {
                        x * (x + 3.0) / 6.0
                    }
                }
                A::Hardsigmoid => {
                    if x <= -3.0 {
                        0.0
                    } else if x >= 3.0 {
                        1.0
                    } else {
                        x / 6.0 + 0.5
                    }
                }
                A::Tanh => x.tanh(),
            };
            T::from_f64(y)
        })
        .collect()
}

/// `act`'s backward pass from the forward input: `dx = dy · act'(x)`,
/// with torch's choice at each kink (as PyTorch 2.x computes it, held to
/// its values in tests/activations.rs): ReLU6 and Hardsigmoid pass nothing
/// at their ends, Hardswish 0 at −3 and `dy` at 3, LeakyReLU and ELU take
/// the left slope at 0.
pub fn activate_backward<T: Element>(
    x: &[T],
    dy: &[T],
    act: crate::Activation,
) -> Result<Vec<T>, Error> {
    use crate::Activation as A;
    super::check_len(&[x.len()], dy)?;
    Ok(x.iter()
        .zip(dy)
        .map(|(&x, &g)| {
            let (x, g) = (x.to_f64(), g.to_f64());
            let slope = match act {
                A::Relu6 => f64::from(u8::from(x > 0.0 && x < 6.0)),
                A::LeakyRelu { negative_slope } => {
                    if x > 0.0 {
                        1.0
                    } else {
                        negative_slope as f64
                    }
                }
                A::Elu { alpha } => {
                    if x > 0.0 {
                        1.0
                    } else {
                        alpha as f64 * x.exp()
                    }
                }
                A::Gelu => {
                    let cdf = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
                    let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
                    cdf + x * pdf
                }
                A::GeluTanh => {
                    let t = (SQRT_2_OVER_PI * (x + KAPPA * x * x * x)).tanh();
                    0.5 * (1.0 + t)
                        + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x * x)
                }
                A::Silu => {
                    let s = 1.0 / (1.0 + (-x).exp());
                    s * (1.0 + x * (1.0 - s))
                }
                A::Hardswish => {
                    if x <= -3.0 {
                        0.0
                    } else if x < 3.0 {
                        x / 3.0 + 0.5
                    } else {
                        1.0
                    }
                }
                A::Hardsigmoid => {
                    if x > -3.0 && x < 3.0 {
                        1.0 / 6.0
                    } else {
                        0.0
                    }
                }
                A::Tanh => 1.0 - x.tanh().powi(2),
            };
            T::from_f64(g * slope)
        })
        .collect())
}
