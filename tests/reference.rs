//! The CPU reference itself, checked by central finite differences in f64:
//! for L = Σ y·dy (so ∂L/∂y = dy), the reference's dx, dw and db must equal
//! (L(θ + h) − L(θ − h)) / 2h for every input, weight and bias element.
//! L is linear in each of them, so the difference quotient is exact up to
//! rounding; the tolerance only absorbs f64 rounding.
mod common;
use common::{random_geometry, Rng};
use wgconv::cpu;

const H: f64 = 1e-3;
const FD_TOL: f64 = 1e-7;

fn loss(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    b: &[f64],
    dy: &[f64],
    p: &wgconv::Conv2dParams,
) -> f64 {
    let y = cpu::conv2d(x, xs, w, ws, Some(b), p).unwrap();
    y.iter().zip(dy).map(|(a, b)| a * b).sum()
}

/// Central difference of `f` with respect to element `i` of `v`.
fn central(v: &[f64], i: usize, f: impl Fn(&[f64]) -> f64) -> f64 {
    let mut plus = v.to_vec();
    plus[i] += H;
    let mut minus = v.to_vec();
    minus[i] -= H;
    (f(&plus) - f(&minus)) / (2.0 * H)
}

fn assert_fd(what: &str, analytic: &[f64], numeric: impl Fn(usize) -> f64) {
    for (i, &a) in analytic.iter().enumerate() {
        let n = numeric(i);
        assert!(
            (a - n).abs() <= FD_TOL * (1.0 + n.abs()),
            "{what}[{i}]: reference {a} vs finite difference {n}"
        );
    }
}

#[test]
fn reference_gradients_match_finite_differences() {
    let mut rng = Rng::new(99);
    for case in 0..25 {
        let (xs, ws, p) = random_geometry(&mut rng);
        let g = wgconv::Conv2dGeometry::new("fd", &xs, &ws, &p).unwrap();
        let f64s = |rng: &mut Rng, len: usize| -> Vec<f64> {
            (0..len).map(|_| rng.unit() as f64).collect()
        };
        let x = f64s(&mut rng, xs.iter().product());
        let w = f64s(&mut rng, ws.iter().product());
        let b = f64s(&mut rng, ws[0]);
        let dy = f64s(&mut rng, g.y_shape().iter().product());
        let what = |op: &str| format!("case {case} {op} {xs:?} {ws:?} {p:?}");

        let dx = cpu::conv2d_input_grad(&dy, &w, ws, xs, &p).unwrap();
        assert_fd(&what("dx"), &dx, |i| {
            central(&x, i, |x| loss(x, xs, &w, ws, &b, &dy, &p))
        });
        let dw = cpu::conv2d_weight_grad(&x, xs, &dy, ws, &p).unwrap();
        assert_fd(&what("dw"), &dw, |i| {
            central(&w, i, |w| loss(&x, xs, w, ws, &b, &dy, &p))
        });
        let db = cpu::bias_grad(&dy, g.y_shape()).unwrap();
        assert_fd(&what("db"), &db, |i| {
            central(&b, i, |b| loss(&x, xs, &w, ws, b, &dy, &p))
        });
    }
}

#[test]
fn finite_differences_catch_a_wrong_gradient() {
    // The check above must be able to fail: perturb one dw entry and see it flagged.
    let (xs, ws, p) = (
        [1, 2, 5, 4],
        [3, 2, 3, 2],
        wgconv::Conv2dParams::square(1, 1),
    );
    let g = wgconv::Conv2dGeometry::new("fd", &xs, &ws, &p).unwrap();
    let mut rng = Rng::new(1);
    let x: Vec<f64> = (0..40).map(|_| rng.unit() as f64).collect();
    let w: Vec<f64> = (0..36).map(|_| rng.unit() as f64).collect();
    let b = vec![0.0; 3];
    let dy: Vec<f64> = (0..g.y_shape().iter().product())
        .map(|_| rng.unit() as f64)
        .collect();
    let mut dw = cpu::conv2d_weight_grad(&x, xs, &dy, ws, &p).unwrap();
    dw[7] += 1e-4;
    let caught = std::panic::catch_unwind(|| {
        assert_fd("dw", &dw, |i| {
            central(&w, i, |w| loss(&x, xs, w, ws, &b, &dy, &p))
        });
    });
    assert!(caught.is_err());
}
