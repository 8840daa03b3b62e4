//! The worked example of the convolution text, written out by hand: a 5x5
//! input a1..a25, a 3x3 kernel w1..w9, stride 2, a 2x2 output z1..z4, the
//! nine weight gradients, and one gradient-descent step. Integer values,
//! so every number is exact.
mod common;
use common::{gpus, label};
use wgconv::{Conv2dParams, Sgd, SgdState};

// a1..a25 row-major: a[i] is a_{i+1}.
const A: [f32; 25] = [
    1., 2., 0., -1., 3., //
    0., 1., 2., 1., -2., //
    3., -1., 1., 0., 2., //
    2., 0., -2., 1., 1., //
    1., 3., 0., 2., -1.,
];
const W: [f32; 9] = [1., 0., -1., 2., 1., 0., -1., 1., 2.];
// Upstream gradient ∂L/∂z1..∂L/∂z4.
const DZ: [f32; 4] = [1., -2., 3., 1.];

/// The text's sums, spelled out: output z_i at (oh, ow) reads a at rows
/// 2·oh..2·oh+2 and columns 2·ow..2·ow+2.
fn hand_forward() -> [f32; 4] {
    let a = |i: usize| A[i - 1];
    let w = |i: usize| W[i - 1];
    [
        // z1: a1 a2 a3 / a6 a7 a8 / a11 a12 a13
        a(1) * w(1)
            + a(2) * w(2)
            + a(3) * w(3)
            + a(6) * w(4)
            + a(7) * w(5)
            + a(8) * w(6)
            + a(11) * w(7)
            + a(12) * w(8)
            + a(13) * w(9),
        // z2: a3 a4 a5 / a8 a9 a10 / a13 a14 a15
        a(3) * w(1)
            + a(4) * w(2)
            + a(5) * w(3)
            + a(8) * w(4)
            + a(9) * w(5)
            + a(10) * w(6)
            + a(13) * w(7)
            + a(14) * w(8)
            + a(15) * w(9),
        // z3: a11 a12 a13 / a16 a17 a18 / a21 a22 a23
        a(11) * w(1)
            + a(12) * w(2)
            + a(13) * w(3)
            + a(16) * w(4)
            + a(17) * w(5)
            + a(18) * w(6)
            + a(21) * w(7)
            + a(22) * w(8)
            + a(23) * w(9),
        // z4: a13 a14 a15 / a18 a19 a20 / a23 a24 a25
        a(13) * w(1)
            + a(14) * w(2)
            + a(15) * w(3)
            + a(18) * w(4)
            + a(19) * w(5)
            + a(20) * w(6)
            + a(23) * w(7)
            + a(24) * w(8)
            + a(25) * w(9),
    ]
}

/// ∂L/∂w_j = Σ_i (input under w_j at output i) · ∂L/∂z_i, e.g.
/// ∂L/∂w1 = a1·∂L/∂z1 + a3·∂L/∂z2 + a11·∂L/∂z3 + a13·∂L/∂z4.
fn hand_weight_grad() -> [f32; 9] {
    let a = |i: usize| A[i - 1];
    let d = |i: usize| DZ[i - 1];
    [
        a(1) * d(1) + a(3) * d(2) + a(11) * d(3) + a(13) * d(4), // w1
        a(2) * d(1) + a(4) * d(2) + a(12) * d(3) + a(14) * d(4), // w2
        a(3) * d(1) + a(5) * d(2) + a(13) * d(3) + a(15) * d(4), // w3
        a(6) * d(1) + a(8) * d(2) + a(16) * d(3) + a(18) * d(4), // w4
        a(7) * d(1) + a(9) * d(2) + a(17) * d(3) + a(19) * d(4), // w5
        a(8) * d(1) + a(10) * d(2) + a(18) * d(3) + a(20) * d(4), // w6
        a(11) * d(1) + a(13) * d(2) + a(21) * d(3) + a(23) * d(4), // w7
        a(12) * d(1) + a(14) * d(2) + a(22) * d(3) + a(24) * d(4), // w8
        a(13) * d(1) + a(15) * d(2) + a(23) * d(3) + a(25) * d(4), // w9
    ]
}

#[test]
fn hand_sums_match_the_reference() {
    let p = Conv2dParams::square(2, 0);
    let z = wgconv::cpu::conv2d(&A, [1, 1, 5, 5], &W, [1, 1, 3, 3], None, &p).unwrap();
    assert_eq!(z, hand_forward());
    // Concrete values, worked by hand from the sums above.
    assert_eq!(hand_forward(), [0., 5., 8., -4.]);
    let dw = wgconv::cpu::conv2d_weight_grad(&A, [1, 1, 5, 5], &DZ, [1, 1, 3, 3], &p).unwrap();
    assert_eq!(dw, hand_weight_grad());
    assert_eq!(
        hand_weight_grad()[0],
        1. * 1. + 0. * -2. + 3. * 3. + 1. * 1.
    ); // = 11
}

#[test]
fn worked_example_on_every_adapter() {
    let p = Conv2dParams::square(2, 0);
    let alpha = 0.5f32;
    for gpu in gpus() {
        for variant in wgconv::Policy::ALL {
            let gpu = gpu.with_policy(variant);
            let who = label(&gpu);
            let x = gpu.tensor(&[1, 1, 5, 5], &A).unwrap();
            let mut w = gpu.tensor(&[1, 1, 3, 3], &W).unwrap();
            let z = gpu.conv2d(&x, &w, None, &p).unwrap();
            assert_eq!(z.shape(), &[1, 1, 2, 2], "{who}");
            assert_eq!(z.to_vec().unwrap(), hand_forward(), "z1..z4 on {who}");

            let dz = gpu.tensor(&[1, 1, 2, 2], &DZ).unwrap();
            let dw = gpu.conv2d_weight_grad(&x, &dz, [1, 1, 3, 3], &p).unwrap();
            assert_eq!(
                dw.to_vec().unwrap(),
                hand_weight_grad(),
                "dL/dw1..dL/dw9 on {who}"
            );

            // dL/da: each a_j collects w_k·dL/dz_i for every (i, k) that read it;
            // a1 is read only by z1 through w1, a13 by all four outputs.
            let da = gpu
                .conv2d_input_grad(&dz, &w, [1, 1, 5, 5], &p)
                .unwrap()
                .to_vec()
                .unwrap();
            assert_eq!(da[0], W[0] * DZ[0], "dL/da1 on {who}");
            assert_eq!(
                da[12],
                W[8] * DZ[0] + W[6] * DZ[1] + W[2] * DZ[2] + W[0] * DZ[3],
                "dL/da13 on {who}"
            );

            // W <- W - alpha · dL/dW.
            let cfg = Sgd {
                lr: alpha,
                ..Default::default()
            };
            gpu.sgd_step(&mut w, &dw, &mut SgdState::default(), &cfg)
                .unwrap();
            let want: Vec<f32> = W
                .iter()
                .zip(hand_weight_grad())
                .map(|(w, g)| w - alpha * g)
                .collect();
            assert_eq!(w.to_vec().unwrap(), want, "W - alpha dL/dW on {who}");
        }
    }
}
