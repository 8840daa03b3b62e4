//! Every op on every adapter and every kernel variant, against the CPU
//! reference: integer inputs exactly, random geometries within TOL.
mod common;
use common::{gpus, random_geometry, Case, Rng};
use wgconv::plan::{Algorithm, ConvOp, ConvProblem};
use wgconv::{Conv2dParams, Policy};

/// Forced variants: each kernel, Winograd's F(2x2, 3x3) and F(4x4,
/// 3x3) and im2col where they fit, is held to the reference on its own
/// (Auto picks one of them per problem).
fn variants() -> Vec<Policy> {
    let mut v = Policy::FORCED.to_vec();
    v.push(Policy::Winograd);
    v.push(Policy::Winograd4);
    v.push(Policy::Im2col);
    v
}

/// Geometries chosen to hit the tiled kernel's edges: more than one tile in
/// each direction, sizes that are not multiples of 64 or 16, long
/// reductions that the weight gradient splits, groups, 1x1; the depthwise
/// kernel's (3x3 layers of one channel per group, at the edges of its 4x4
/// blocks); and the
/// pointwise kernel's: planes of a multiple of 4 that 16-row blocks
/// straddle, 1x1 images (linear layers, an odd batch that the weight
/// gradient then refuses and a batch of 4s it takes), groups, a split
/// reduction; and `blocks_k4`'s (weight rows and output planes of a
/// multiple of 4, with groups).
fn edge_geometries() -> Vec<([usize; 4], [usize; 4], Conv2dParams)> {
    let g = |groups| Conv2dParams {
        groups,
        ..Conv2dParams::square(1, 1)
    };
    vec![
        ([2, 67, 9, 11], [70, 67, 3, 3], Conv2dParams::square(1, 1)),
        (
            [3, 5, 23, 19],
            [129, 5, 2, 3],
            Conv2dParams {
                stride: [2, 1],
                padding: [1, 2],
                ..Default::default()
            },
        ),
        ([4, 3, 33, 31], [8, 3, 5, 5], Conv2dParams::square(1, 2)), // N·Ho·Wo > 2 splits for weight grad
        ([2, 8, 17, 17], [12, 2, 3, 3], g(4)),
        ([1, 96, 7, 5], [80, 96, 1, 1], Conv2dParams::default()),
        ([2, 16, 15, 15], [16, 1, 3, 3], g(16)), // depthwise
        ([3, 24, 4, 6], [20, 24, 1, 1], Conv2dParams::default()),
        ([37, 28, 1, 1], [12, 28, 1, 1], Conv2dParams::default()),
        ([36, 28, 1, 1], [20, 28, 1, 1], Conv2dParams::default()),
        ([2, 16, 4, 4], [8, 8, 1, 1], g(2)),
        ([16, 8, 16, 16], [12, 8, 1, 1], Conv2dParams::default()), // weight grad splits
        // pointwise_large: 32x32 blocks, the second cut by both edges.
        ([3, 36, 4, 4], [44, 36, 1, 1], Conv2dParams::default()),
        // blocks_k4: weight rows (C/g·R·S) and output planes of multiples of 4.
        ([2, 12, 12, 12], [20, 12, 3, 3], Conv2dParams::square(1, 1)),
        (
            [2, 8, 8, 8],
            [8, 4, 3, 3],
            Conv2dParams {
                groups: 2,
                ..Conv2dParams::square(1, 1)
            },
        ),
        (
            [1, 4, 8, 8],
            [6, 4, 3, 3],
            Conv2dParams {
                stride: [5, 5],
                padding: [3, 3],
                dilation: [1, 1],
                groups: 1,
            },
        ),
        // `depthwise` (3x3, C/g = 1): blocks of 4x4 that the plane's edges
        // cut (planes of 1x1 to 9x13), padding 0, 1 and 2, stride 1 and 2
        // on either axis, a channel multiplier of 2, batch 1.
        ([2, 5, 9, 13], [5, 1, 3, 3], dw(5, [1, 1], [1, 1])),
        ([1, 3, 3, 3], [6, 1, 3, 3], dw(3, [1, 1], [0, 0])),
        ([3, 4, 1, 2], [4, 1, 3, 3], dw(4, [1, 1], [1, 2])),
        ([2, 6, 11, 7], [6, 1, 3, 3], dw(6, [1, 1], [2, 2])),
        ([2, 6, 11, 10], [12, 1, 3, 3], dw(6, [2, 2], [1, 1])),
        ([1, 2, 16, 17], [2, 1, 3, 3], dw(2, [2, 1], [0, 1])),
        ([2, 3, 5, 14], [3, 1, 3, 3], dw(3, [1, 2], [2, 0])),
        // 320 output rows: the weight gradient splits them (12 ranges).
        ([8, 4, 40, 9], [4, 1, 3, 3], dw(4, [1, 1], [1, 1])),
        // Its vec4-store forwards (Wo a multiple of 4) at stride 1 and 2:
        // a multiplier of 3, output rows that cut the blocks, one input
        // channel (a first layer, under Auto on CPU adapters), padding 0
        // and 2, and 100 blocks per group (two workgroups, one part empty).
        ([2, 3, 10, 8], [9, 1, 3, 3], dw(3, [1, 1], [1, 1])),
        ([3, 1, 7, 12], [10, 1, 3, 3], dw(1, [1, 1], [1, 1])),
        ([1, 1, 6, 6], [5, 1, 3, 3], dw(1, [1, 1], [0, 0])),
        ([2, 4, 13, 16], [8, 1, 3, 3], dw(4, [2, 2], [1, 1])),
        ([1, 2, 9, 14], [2, 1, 3, 3], dw(2, [2, 2], [2, 2])),
        ([5, 2, 20, 16], [4, 1, 3, 3], dw(2, [1, 1], [1, 1])),
        // Its `_quads` forwards (K/g a multiple of 4 too: four channels'
        // taps from 9 vec4 loads): stride 2 with rows that cut the
        // blocks, stride 1 with two groups of 8 channels and padding 0.
        ([2, 2, 17, 16], [8, 1, 3, 3], dw(2, [2, 2], [1, 1])),
        ([1, 2, 11, 14], [16, 1, 3, 3], dw(2, [1, 1], [0, 0])),
        // Its four-channel weight gradient (stride 1, Wo and K/g multiples
        // of 4): one input channel, block rows that Ho cuts, padding 0 and
        // two groups, and 80 block rows that it splits 10 ways.
        ([3, 1, 7, 12], [8, 1, 3, 3], dw(1, [1, 1], [1, 1])),
        ([2, 2, 9, 10], [8, 1, 3, 3], dw(2, [1, 1], [0, 0])),
        ([8, 1, 40, 8], [4, 1, 3, 3], dw(1, [1, 1], [1, 1])),
        // Its whole-row input gradient (stride 1, padding 1, W a multiple
        // of 4 up to 32) runs on the stride-1 padding-1 cases above of
        // widths 8, 12 and 16; on planes of one row of 4 values (every dy
        // row but one in the padding); on 28 columns (7 vec4s) in 7 rows,
        // which cut the second 4-row band, one input channel, a multiplier
        // of 8; and on 32 (the most it takes), two groups.
        ([2, 2, 1, 4], [2, 1, 3, 3], dw(2, [1, 1], [1, 1])),
        ([2, 1, 7, 28], [8, 1, 3, 3], dw(1, [1, 1], [1, 1])),
        ([1, 2, 5, 32], [4, 1, 3, 3], dw(2, [1, 1], [1, 1])),
        // Its whole-row forward (the same layers with K/g a multiple of
        // 4 too) runs on the one-channel cases above of widths 8, 12 and
        // 28; and on 32 columns with two groups of 4 channels, and on
        // planes one vec4 wide.
        ([1, 2, 6, 32], [8, 1, 3, 3], dw(2, [1, 1], [1, 1])),
        ([2, 1, 5, 4], [4, 1, 3, 3], dw(1, [1, 1], [1, 1])),
        // Its 4x8-block input gradient (the same layers wider than 32):
        // 40 columns, and 36 (a last block of one half).
        ([1, 2, 6, 40], [2, 1, 3, 3], dw(2, [1, 1], [1, 1])),
        ([2, 1, 9, 36], [4, 1, 3, 3], dw(1, [1, 1], [1, 1])),
        // Winograd (3x3, stride 1): outputs of odd sizes that cut its 2x2
        // tiles, one tile, padding 0 and 2 (the input gradient's turned
        // padding 2 and 0), one channel, a tile count T = 15 that the
        // pointwise GEMM cannot take.
        ([1, 3, 7, 5], [4, 3, 3, 3], Conv2dParams::square(1, 0)),
        ([3, 8, 6, 9], [5, 8, 3, 3], Conv2dParams::square(1, 2)),
        ([1, 1, 3, 3], [1, 1, 3, 3], Conv2dParams::square(1, 0)),
        ([1, 4, 10, 6], [8, 4, 3, 3], Conv2dParams::square(1, 1)),
        // F(4x4, 3x3): exactly one 4x4 tile; 9x7 outputs that cut them.
        ([1, 5, 6, 6], [3, 5, 3, 3], Conv2dParams::square(1, 0)),
        ([2, 6, 9, 7], [7, 6, 3, 3], Conv2dParams::square(1, 1)),
        // Its pair entries (plan::WinogradRuns): rows of 4 and 8 tiles over
        // inputs of even width at padding 1, 0 and 2, outputs that cut the
        // tiles; the input gradients' turned paddings 1, 2 (rows of 5
        // tiles: pairs out only) and 0.
        ([2, 6, 14, 14], [5, 6, 3, 3], Conv2dParams::square(1, 1)),
        ([1, 5, 16, 18], [4, 5, 3, 3], Conv2dParams::square(1, 0)),
        ([1, 3, 12, 30], [6, 3, 3, 3], Conv2dParams::square(1, 2)),
    ]
}

/// Depthwise 3x3 parameters: `groups` groups of one input channel.
fn dw(groups: u32, stride: [u32; 2], padding: [u32; 2]) -> Conv2dParams {
    Conv2dParams {
        stride,
        padding,
        dilation: [1, 1],
        groups,
    }
}

#[test]
fn integer_inputs_are_exact_on_every_op_and_variant() {
    let mut rng = Rng::new(7);
    let mut cases: Vec<Case> = edge_geometries()
        .into_iter()
        .map(|(x, w, p)| Case::new(x, w, p, &mut rng, true))
        .collect();
    for _ in 0..20 {
        let (x, w, p) = random_geometry(&mut rng);
        cases.push(Case::new(x, w, p, &mut rng, true));
    }
    for gpu in gpus() {
        for variant in Policy::ALL {
            let gpu = gpu.with_policy(variant);
            for case in &cases {
                case.check(&gpu, true);
            }
        }
    }
}

#[test]
fn random_geometries_match_the_reference() {
    const CASES: usize = 200;
    let mut rng = Rng::new(2024);
    let cases: Vec<Case> = (0..CASES)
        .map(|_| {
            let (x, w, p) = random_geometry(&mut rng);
            Case::new(x, w, p, &mut rng, false)
        })
        .collect();
    let mut seen = [false; 6];
    for c in &cases {
        let p = c.p;
        seen[0] |= p.stride[0] as usize > c.w_shape[2] || p.stride[1] as usize > c.w_shape[3];
        seen[1] |= p.dilation.contains(&3);
        seen[2] |= p.groups > 1 && c.w_shape[1] == 1;
        seen[3] |= c.y_shape[2] == 1 || c.y_shape[3] == 1;
        seen[4] |= c.w_shape[2] != c.w_shape[3];
        seen[5] |= c.w_shape[2] == 1 && c.w_shape[3] == 1;
    }
    assert!(
        seen.iter().all(|&s| s),
        "generator misses a geometry class: {seen:?}"
    );
    for gpu in gpus() {
        for variant in variants() {
            let gpu = gpu.with_policy(variant);
            for case in cases.iter().chain(
                &edge_geometries()
                    .into_iter()
                    .map(|(x, w, p)| Case::new(x, w, p, &mut Rng::new(5), false))
                    .collect::<Vec<_>>(),
            ) {
                case.check(&gpu, false);
            }
        }
    }
}

/// The weight gradient through Winograd (F(3x3, 2x2) and F(3x3, 4x4))
/// sums 16 or 36 products per tile over every tile of the batch: on
/// random inputs in [-1, 1) its error against the f64 reference, over
/// reductions of 8·8·2 to 32·32·64 positions, stays within the tolerance
/// on every adapter (`--nocapture` prints how it grows; figures in
/// docs/performance.md).
#[test]
fn winograd_weight_grad_error_stays_within_tolerance_as_the_batch_grows() {
    let mut rng = Rng::new(37);
    let runs = [
        (Policy::Winograd, Algorithm::Winograd),
        (Policy::Winograd4, Algorithm::Winograd4),
    ];
    for gpu in gpus() {
        for (policy, algorithm) in runs {
            let gpu = gpu.with_policy(policy);
            for (n, hw) in [(2, 8), (16, 16), (64, 32)] {
                let case = Case::new(
                    [n, 8, hw, hw],
                    [16, 8, 3, 3],
                    Conv2dParams::square(1, 1),
                    &mut rng,
                    false,
                );
                assert_algorithm(&gpu, ConvOp::WeightGrad, &case, algorithm);
                let x = gpu.tensor(&case.x_shape, &case.x).unwrap();
                let dy = gpu.tensor(&case.y_shape, &case.dy).unwrap();
                let dw = gpu
                    .conv2d_weight_grad(&x, &dy, case.w_shape, &case.p)
                    .unwrap()
                    .to_vec()
                    .unwrap();
                let want = wgconv::cpu::conv2d_weight_grad(
                    &case.x,
                    case.x_shape,
                    &case.dy,
                    case.w_shape,
                    &case.p,
                )
                .unwrap();
                let name = algorithm.name();
                let what = format!("{name} weight grad, {} positions", n * hw * hw);
                report_and_check(&gpu, &what, &case.w_shape, &dw, &want);
            }
        }
    }
}

/// Fails unless `gpu` plans `op` of `case` with `algorithm`.
fn assert_algorithm(gpu: &wgconv::Gpu, op: ConvOp, case: &Case, algorithm: Algorithm) {
    let p = gpu
        .explain(op, case.x_shape, case.w_shape, &case.p)
        .unwrap();
    assert_eq!(p.algorithm, algorithm, "{op:?} {:?}", case.x_shape);
}

/// Prints `got`'s largest error against `want` relative to max(1,
/// max|want|) (seen with `--nocapture`), then holds it to the tolerance.
fn report_and_check(gpu: &wgconv::Gpu, what: &str, shape: &[usize], got: &[f32], want: &[f32]) {
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    eprintln!(
        "{}: {what}: max |got - ref| / max(1, max|ref|) = {:.2e}",
        common::label(gpu),
        err / scale
    );
    common::assert_close(&format!("winograd {what}"), shape, got, want, false);
}

/// Winograd adds the transforms' rounding to the GEMM's: on random inputs
/// in [-1, 1) its error against the f64 reference, over input channels 16
/// to 1 024 for F(2x2, 3x3) and 16 to `WINOGRAD4_MAX_CHANNELS` for
/// F(4x4, 3x3) (the reduction C·9), stays within the tolerance, on every
/// adapter. Run with `--nocapture` to see how it grows (the figures in
/// docs/performance.md).
#[test]
fn winograd_error_stays_within_tolerance_as_the_reduction_grows() {
    use wgconv::plan::WINOGRAD4_MAX_CHANNELS;
    let mut rng = Rng::new(31);
    let runs = [
        (
            Policy::Winograd,
            Algorithm::Winograd,
            vec![16, 64, 256, 1024],
        ),
        (
            Policy::Winograd4,
            Algorithm::Winograd4,
            vec![16, 64, WINOGRAD4_MAX_CHANNELS],
        ),
    ];
    for gpu in gpus() {
        for (policy, algorithm, channels) in &runs {
            let gpu = gpu.with_policy(*policy);
            for &c in channels {
                let case = Case::new(
                    [2, c, 8, 8],
                    [8, c, 3, 3],
                    Conv2dParams::square(1, 1),
                    &mut rng,
                    false,
                );
                let name = algorithm.name();
                assert_algorithm(&gpu, ConvOp::Forward, &case, *algorithm);
                let x = gpu.tensor(&case.x_shape, &case.x).unwrap();
                let w = gpu.tensor(&case.w_shape, &case.w).unwrap();
                let y = gpu.conv2d(&x, &w, None, &case.p).unwrap().to_vec().unwrap();
                let want = wgconv::cpu::conv2d(
                    &case.x,
                    case.x_shape,
                    &case.w,
                    case.w_shape,
                    None,
                    &case.p,
                )
                .unwrap();
                report_and_check(&gpu, &format!("{name}, C = {c}"), &case.y_shape, &y, &want);
                // The input gradient's forward problem sums over the
                // layer's 8 output channels.
                assert_algorithm(&gpu, ConvOp::InputGrad, &case, *algorithm);
                let dy = gpu.tensor(&case.y_shape, &case.dy).unwrap();
                let dx = gpu
                    .conv2d_input_grad(&dy, &w, case.x_shape, &case.p)
                    .unwrap()
                    .to_vec()
                    .unwrap();
                let want = wgconv::cpu::conv2d_input_grad(
                    &case.dy,
                    &case.w,
                    case.w_shape,
                    case.x_shape,
                    &case.p,
                )
                .unwrap();
                report_and_check(
                    &gpu,
                    &format!("{name} input grad, C = {c}"),
                    &case.x_shape,
                    &dx,
                    &want,
                );
            }
        }
    }
}

/// The pointwise kernels store their blocks as vec4s along whichever
/// axis of the output is contiguous (planes of 4k positions, or the
/// channels of a 1x1 plane), with the bias added per column and each
/// split's partial sums without it; `blocks` stores one value at a time.
/// Both sum every output in k order, so on random inputs all three ops
/// agree bit for bit, with and without a bias, on every adapter.
#[test]
fn pointwise_vector_stores_match_scalar_stores_bit_for_bit() {
    use wgconv::plan::ConvKernel;
    let mut rng = Rng::new(11);
    let p = Conv2dParams::default();
    // (x, w, an op whose reduction the pointwise kernels split)
    let cases = [
        ([3, 36, 4, 4], [44, 36, 1, 1], None), // planes of 16, blocks cut by both edges
        ([37, 28, 1, 1], [12, 28, 1, 1], None), // 1x1 planes: rows are 37 images
        ([16, 8, 16, 16], [12, 8, 1, 1], Some(ConvOp::WeightGrad)),
        ([32, 1024, 1, 1], [32, 1024, 1, 1], Some(ConvOp::Forward)), // a linear layer
    ];
    for gpu in gpus() {
        for (xs, ws, split) in cases {
            let case = Case::new(xs, ws, p, &mut rng, false);
            if let Some(op) = split {
                for kernel in [ConvKernel::Pointwise, ConvKernel::PointwiseLarge] {
                    let plan = gpu
                        .with_policy(Policy::Force(kernel))
                        .explain(op, xs, ws, &p);
                    assert!(plan.unwrap().splits > 1, "{op:?} {kernel:?} does not split");
                }
            }
            let run = |kernel, bias: bool| {
                let gpu = gpu.with_policy(Policy::Force(kernel));
                let x = gpu.tensor(&case.x_shape, &case.x).unwrap();
                let w = gpu.tensor(&case.w_shape, &case.w).unwrap();
                let b = gpu.tensor(&[case.w_shape[0]], &case.bias).unwrap();
                let dy = gpu.tensor(&case.y_shape, &case.dy).unwrap();
                let y = gpu.conv2d(&x, &w, bias.then_some(&b), &p).unwrap();
                let dx = gpu.conv2d_input_grad(&dy, &w, case.x_shape, &p).unwrap();
                let dw = gpu.conv2d_weight_grad(&x, &dy, case.w_shape, &p).unwrap();
                [y, dx, dw].map(|t| {
                    let v = t.to_vec().unwrap();
                    v.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                })
            };
            for bias in [true, false] {
                let want = run(ConvKernel::Blocks, bias);
                for kernel in [ConvKernel::Pointwise, ConvKernel::PointwiseLarge] {
                    let got = run(kernel, bias);
                    for (i, op) in ["conv2d", "input_grad", "weight_grad"].iter().enumerate() {
                        assert!(
                            got[i] == want[i],
                            "{op} on {kernel:?} (bias {bias}) differs from blocks: x {xs:?}, w {ws:?}"
                        );
                    }
                }
            }
        }
    }
}

/// Im2col (`Policy::Im2col`) on the geometries it takes: stride 1 to 3,
/// padding 0 to 2, dilation 2, 3x3, 5x5, 1x3, 3x2 and 3x1 kernels, unequal
/// strides, paddings and dilations, output rows of a multiple of 4 (vec4
/// columns, some with quads in the padding at either end) and not, rows
/// of x taken whole (`im2col_rows`) and not, batch 1 and 3; each op runs as
/// im2col (asserted from the plan) and matches the reference, exactly on
/// integers, within the tolerance on random values, on every adapter.
/// Auto takes it for strided layers of at least `IM2COL_MIN_BYTES` of
/// columns on CPU adapters only.
#[test]
fn im2col_runs_where_it_fits_and_matches_the_reference() {
    let p = |stride: u32, padding: u32, dilation: u32| Conv2dParams {
        stride: [stride; 2],
        padding: [padding; 2],
        dilation: [dilation; 2],
        groups: 1,
    };
    let geometries = [
        ([3, 4, 8, 8], [8, 4, 3, 3], p(1, 1, 1)),
        ([1, 4, 16, 16], [4, 4, 3, 3], p(2, 1, 1)),
        ([2, 8, 12, 12], [12, 8, 3, 3], p(2, 1, 1)),
        ([1, 4, 10, 10], [8, 4, 3, 3], p(1, 2, 2)),
        ([2, 4, 11, 11], [4, 4, 5, 5], p(2, 2, 1)),
        ([1, 4, 6, 10], [4, 4, 1, 3], p(1, 0, 1)),
        // Unequal strides, paddings and dilations, the last cells of
        // col2im (stride x stride inputs each) cut by the input's edge.
        (
            [2, 4, 17, 13],
            [8, 4, 3, 2],
            Conv2dParams {
                stride: [3, 2],
                padding: [1, 0],
                dilation: [1, 2],
                groups: 1,
            },
        ),
        // col2im's four-column cells (W a multiple of 4, the stride along
        // W dividing 4) at column stride 4, row stride 3.
        (
            [2, 4, 9, 16],
            [4, 4, 3, 3],
            Conv2dParams {
                stride: [3, 4],
                padding: [1, 1],
                dilation: [1, 1],
                groups: 1,
            },
        ),
        // Output rows of 8 (vec4 columns) at column stride 3 with
        // padding and dilation 2: the first and last quads of a row reach
        // into the padding.
        (
            [1, 4, 9, 22],
            [4, 4, 3, 3],
            Conv2dParams {
                stride: [1, 3],
                padding: [2, 2],
                dilation: [2, 2],
                groups: 1,
            },
        ),
        // Whole rows of x (plan::im2col_entry's im2col_rows): rows of 32
        // (8 quads in and out), stride 2 with padding 2 and dilation 2
        // (quads reaching into the padding at both ends), a kernel 2
        // wide and one 1 wide, column stride 4.
        ([1, 4, 5, 32], [4, 4, 3, 3], p(1, 1, 1)),
        ([1, 4, 7, 24], [4, 4, 3, 3], p(2, 2, 2)),
        (
            [2, 4, 6, 16],
            [4, 4, 3, 2],
            Conv2dParams {
                stride: [1, 2],
                padding: [1, 0],
                dilation: [1, 1],
                groups: 1,
            },
        ),
        (
            [1, 4, 6, 8],
            [4, 4, 3, 1],
            Conv2dParams {
                stride: [2, 2],
                padding: [1, 0],
                dilation: [1, 1],
                groups: 1,
            },
        ),
    ];
    let rows = geometries
        .iter()
        .filter(|(x, w, p)| {
            let g = ConvProblem::new(ConvOp::Forward, x, w, p).unwrap().geometry;
            wgconv::plan::im2col_entry(&g) == "im2col_rows"
        })
        .count();
    assert!(rows >= 6, "{rows} geometries take im2col_rows");
    for gpu in gpus() {
        let forced = gpu.with_policy(Policy::Im2col);
        for (i, (x, w, params)) in geometries.into_iter().enumerate() {
            for exact in [true, false] {
                let case = Case::new(x, w, params, &mut Rng::new(40 + i as u64), exact);
                for op in ConvOp::ALL {
                    assert_algorithm(&forced, op, &case, Algorithm::Im2col);
                }
                case.check(&forced, exact);
            }
        }
        // Auto: a strided layer's three ops with at least
        // IM2COL_MIN_BYTES of columns (S4 of the bench), not a small
        // strided layer, no stride-1 layer; GPUs never.
        let auto = |op, x: [usize; 4], w: [usize; 4], p: &Conv2dParams| {
            gpu.explain(op, x, w, p).unwrap().algorithm == Algorithm::Im2col
        };
        let (x4, w4) = ([32, 64, 32, 32], [128, 64, 3, 3]);
        let cpu = gpu.facts().cpu;
        let who = common::label(gpu);
        assert_eq!(auto(ConvOp::Forward, x4, w4, &p(2, 1, 1)), cpu, "{who}");
        assert_eq!(auto(ConvOp::WeightGrad, x4, w4, &p(2, 1, 1)), cpu, "{who}");
        assert_eq!(auto(ConvOp::InputGrad, x4, w4, &p(2, 1, 1)), cpu, "{who}");
        let (small_x, small_w) = ([2, 8, 12, 12], [12, 8, 3, 3]);
        assert!(
            !auto(ConvOp::Forward, small_x, small_w, &p(2, 1, 1)),
            "{who}"
        );
        assert!(
            !auto(
                ConvOp::Forward,
                [32, 64, 32, 32],
                [64, 64, 3, 3],
                &p(1, 1, 1)
            ),
            "{who}"
        );
    }
}

/// F(4x4)'s pair entries (`plan::WinogradRuns`: x read in aligned pairs
/// over a tile row's shared patch, y stored and dy read in pairs, where
/// rows have an even width) give the bits of the scalar `_x4` entries:
/// the same tensors one column wider (an odd width, so no pairs, and the
/// same tiles) agree bit for bit on every output the extra column does
/// not reach. Padding 1 (the patch one column past its first pair; the
/// input gradient's turned padding is 1 too) for all three ops, padding
/// 2 (on it) for the forward.
#[test]
fn winograds_pair_entries_give_the_bits_of_the_scalar_ones() {
    let p = |padding: u32| Conv2dParams {
        padding: [padding; 2],
        ..Conv2dParams::default()
    };
    let (n, c, k) = (2, 6, 5);
    let runs = |h: usize, w: usize, params: &Conv2dParams| {
        let g = wgconv::Conv2dGeometry::new("test", &[n, c, h, w], &[k, c, 3, 3], params);
        wgconv::plan::winograd_runs(&g.unwrap(), 4)
    };
    // Rows of `width` columns whose first `keep` come from `narrow` (of
    // `narrow_width` columns) and the rest from `rest`.
    let widen = |narrow: &[f32], narrow_width: usize, width: usize, rest: &mut Rng| {
        let mut out = Vec::new();
        for row in narrow.chunks(narrow_width) {
            out.extend_from_slice(row);
            out.extend(rest.floats(width - narrow_width));
        }
        out
    };
    // The first `cols` columns of each row of `width`.
    let first = |v: &[f32], width: usize, cols: usize| -> Vec<f32> {
        v.chunks(width)
            .flat_map(|row| row[..cols].to_vec())
            .collect()
    };
    for gpu in gpus() {
        let g = gpu.with_policy(Policy::Winograd4);
        let who = common::label(&g);
        for (h, w, params, all_ops) in [(14, 14, p(1), true), (14, 12, p(2), false)] {
            let (ho, wo) = (
                h + 2 * params.padding[0] as usize - 2,
                w + 2 * params.padding[1] as usize - 2,
            );
            let pairs = runs(h, w, &params);
            assert!(pairs.input_pairs && pairs.output_pairs, "{pairs:?}");
            let scalar = runs(h, w + 1, &params);
            assert!(
                scalar.fours && !scalar.input_pairs && !scalar.output_pairs,
                "{scalar:?}"
            );
            let mut rng = Rng::new(90 + w as u64);
            let x_narrow = rng.floats(n * c * h * w);
            let x_wide = widen(&x_narrow, w, w + 1, &mut rng);
            let wt = g.tensor(&[k, c, 3, 3], &rng.floats(k * c * 9)).unwrap();
            let x = |v: &[f32], width| g.tensor(&[n, c, h, width], v).unwrap();
            let y_narrow = g.conv2d(&x(&x_narrow, w), &wt, None, &params).unwrap();
            let y_wide = g.conv2d(&x(&x_wide, w + 1), &wt, None, &params).unwrap();
            // Tiles 0–2 of each tile row: output columns 0..12.
            assert_eq!(
                first(&y_narrow.to_vec().unwrap(), wo, 12),
                first(&y_wide.to_vec().unwrap(), wo + 1, 12),
                "forward on {who}, {params:?}"
            );
            if !all_ops {
                continue;
            }
            // dy the same in both; in the wider one column more.
            let dy_narrow = rng.floats(n * k * ho * wo);
            let dy_wide = widen(&dy_narrow, wo, wo + 1, &mut rng);
            let dy = |v: &[f32], width| g.tensor(&[n, k, ho, width], v).unwrap();
            let dx_narrow = g
                .conv2d_input_grad(&dy(&dy_narrow, wo), &wt, [n, c, h, w], &params)
                .unwrap();
            let dx_wide = g
                .conv2d_input_grad(&dy(&dy_wide, wo + 1), &wt, [n, c, h, w + 1], &params)
                .unwrap();
            assert_eq!(
                first(&dx_narrow.to_vec().unwrap(), w, 12),
                first(&dx_wide.to_vec().unwrap(), w + 1, 12),
                "input gradient on {who}"
            );
            // dy zero from column 12 on in both: the last tile of each row
            // adds nothing, and the sums over tiles are the same.
            let cut = |v: &[f32], width: usize| -> Vec<f32> {
                v.chunks(width)
                    .flat_map(|row| (0..width).map(|j| if j < 12 { row[j] } else { 0.0 }))
                    .collect()
            };
            let dw = |x_v: &[f32], dy_v: &[f32], width: usize, dy_width: usize| {
                g.conv2d_weight_grad(
                    &x(x_v, width),
                    &dy(&cut(dy_v, dy_width), dy_width),
                    [k, c, 3, 3],
                    &params,
                )
                .unwrap()
                .to_vec()
                .unwrap()
            };
            assert_eq!(
                dw(&x_narrow, &dy_narrow, w, wo),
                dw(&x_wide, &dy_wide, w + 1, wo + 1),
                "weight gradient on {who}"
            );
        }
    }
}

/// The forward that keeps Winograd's transformed input for the weight
/// gradient (`conv2d_keeping_transform`, `conv2d_weight_grad_transformed`,
/// what the autodiff runs): where both plans run the same Winograd
/// algorithm on a CPU adapter it returns V, and the forward and weight
/// gradient are bit for bit those of `conv2d` and `conv2d_weight_grad`
/// (the same dispatches from the same V); elsewhere it returns none and
/// the transformed weight gradient is refused with a named error, as is a
/// V of the wrong shape.
#[test]
fn the_forwards_transformed_input_serves_the_weight_gradient_bit_for_bit() {
    let p = |padding: u32| Conv2dParams {
        padding: [padding; 2],
        ..Conv2dParams::default()
    };
    // Tile counts of a multiple of 4 and not (the _x4 entries and the
    // scalar ones), padding 0–2, sizes off the tile grid, a bias.
    let geometries = [
        ([4, 32, 14, 14], [64, 32, 3, 3], p(1)),
        ([3, 32, 9, 11], [40, 32, 3, 3], p(0)),
        ([1, 33, 7, 6], [32, 33, 3, 3], p(2)),
    ];
    for gpu in gpus() {
        let who = common::label(gpu);
        for policy in [Policy::Auto, Policy::Winograd, Policy::Winograd4] {
            let g = gpu.with_policy(policy);
            for (i, (xs, ws, params)) in geometries.into_iter().enumerate() {
                let case = Case::new(xs, ws, params, &mut Rng::new(70 + i as u64), false);
                let x = g.tensor(&xs, &case.x).unwrap();
                let w = g.tensor(&ws, &case.w).unwrap();
                let b = g.tensor(&[ws[0]], &case.bias).unwrap();
                let dy = g.tensor(&case.y_shape, &case.dy).unwrap();
                let (y, v) = g
                    .conv2d_keeping_transform(&x, &w, Some(&b), &params)
                    .unwrap();
                let what = format!("{who} {policy:?} {xs:?}");
                let y_plain = g.conv2d(&x, &w, Some(&b), &params).unwrap();
                assert_eq!(y.to_vec().unwrap(), y_plain.to_vec().unwrap(), "{what}");
                let plans = [ConvOp::Forward, ConvOp::WeightGrad]
                    .map(|op| g.explain(op, xs, ws, &params).unwrap());
                let winograd = plans[0].algorithm.winograd_tile().is_some()
                    && plans[0].algorithm == plans[1].algorithm;
                assert_eq!(v.is_some(), winograd && g.facts().cpu, "{what}");
                // Auto runs F(4x4) for these on CPU adapters.
                if policy == Policy::Auto && g.facts().cpu {
                    assert!(v.is_some(), "{what}: {} / {}", plans[0], plans[1]);
                }
                let transformed = match &v {
                    Some(v) => g.conv2d_weight_grad_transformed(v, &dy, xs, ws, &params),
                    None => g.conv2d_weight_grad_transformed(&x, &dy, xs, ws, &params),
                };
                let Some(v) = v else {
                    let err = transformed.unwrap_err().to_string();
                    assert!(err.contains("input transform"), "{what}: {err}");
                    continue;
                };
                let dw_plain = g.conv2d_weight_grad(&x, &dy, ws, &params).unwrap();
                let dw = transformed.unwrap();
                assert_eq!(dw.to_vec().unwrap(), dw_plain.to_vec().unwrap(), "{what}");
                // A V of another geometry's shape is refused by name.
                let err = g
                    .conv2d_weight_grad_transformed(&x, &dy, xs, ws, &params)
                    .unwrap_err()
                    .to_string();
                assert!(err.contains("transformed input"), "{what}: {err}");
                drop(v);
            }
        }
        // No Winograd (stride 2): nothing kept, on any adapter.
        let strided = Conv2dParams {
            stride: [2, 2],
            padding: [1, 1],
            ..Conv2dParams::default()
        };
        let x = gpu.tensor(&[2, 32, 8, 8], &vec![1.0; 2 * 32 * 64]).unwrap();
        let w = gpu
            .tensor(&[32, 32, 3, 3], &vec![1.0; 32 * 32 * 9])
            .unwrap();
        let (_, v) = gpu
            .conv2d_keeping_transform(&x, &w, None, &strided)
            .unwrap();
        assert!(v.is_none(), "{who}");
    }
}

/// `pointwise_shared` (each lane of a subgroup loads an eighth of the
/// block's B values and broadcasts them) gives the bits of
/// `pointwise_large`, which loads them all itself, on the three ops of
/// pointwise problems whose 32-row blocks come in whole eights: 256 rows
/// (8 blocks) of 36 columns (a part-filled column block), a linear layer
/// of batch 232 (the eighth block part-filled), 1 536 rows (48 blocks),
/// and a weight gradient of 256 input channels (its rows); and of 65
/// row blocks, which the grid rounds up to 72 (2 080 rows forward and
/// input gradient, 2 080 input channels for the weight gradient), and of
/// 49, rounded up to 56 (1 568 rows: 2 images of 28x28). On every
/// adapter that shares lanes (lavapipe) the shared kernel must be the
/// one that ran; elsewhere the forced kernel falls back to
/// `pointwise_large`, which the same comparison then holds to itself.
#[test]
fn pointwise_shared_gives_the_bits_of_pointwise_large() {
    use wgconv::plan::{pointwise_shared_fits, ConvKernel};
    let cases = [
        ([1, 8, 16, 16], [36, 8, 1, 1]),
        ([232, 64, 1, 1], [48, 64, 1, 1]),
        ([3, 16, 16, 32], [32, 16, 1, 1]),
        ([2, 256, 4, 4], [32, 256, 1, 1]),
        ([1, 8, 40, 52], [36, 8, 1, 1]),
        ([2, 2080, 2, 2], [8, 2080, 1, 1]),
        ([2, 8, 28, 28], [32, 8, 1, 1]),
    ];
    let runs = shared_kernel_bits(ConvKernel::PointwiseShared, &cases, 700, &|problem| {
        pointwise_shared_fits(problem).then_some(ConvKernel::PointwiseShared)
    });
    eprintln!("pointwise_shared ran on {runs} (adapter, problem, op) cases");
}

/// `pointwise_shared_wide` (16x64 blocks, B shared as in
/// `pointwise_shared`) gives the bits of `pointwise_large` on the three
/// ops: 256 rows (16 blocks) of 64 columns, 252 rows (the sixteenth block
/// part-filled), the Fashion model's linear layer (batch 128, 3 136 → 128:
/// a split reduction), 128 rows of 128 columns (its input and weight
/// gradients wide too), 1 056 rows (66 blocks, rounded up to 72), and a
/// weight gradient of 576 input channels (36 blocks, rounded up to 40: S4's
/// im2col weight gradient).
/// Where the wide blocks do not fit (an op whose columns are not whole
/// 64s) the forced kernel falls back to `pointwise_shared`'s rule, and the
/// plan must say which ran.
#[test]
fn pointwise_shared_wide_gives_the_bits_of_pointwise_large() {
    use wgconv::plan::{pointwise_shared_fits, pointwise_shared_wide_fits, ConvKernel};
    let cases = [
        ([1, 8, 16, 16], [64, 8, 1, 1]),
        ([1, 8, 12, 21], [64, 8, 1, 1]),
        ([128, 3136, 1, 1], [128, 3136, 1, 1]),
        ([2, 128, 8, 8], [128, 128, 1, 1]),
        ([1, 8, 33, 32], [64, 8, 1, 1]),
        ([2, 576, 4, 4], [64, 576, 1, 1]),
    ];
    let runs = shared_kernel_bits(ConvKernel::PointwiseSharedWide, &cases, 750, &|problem| {
        if pointwise_shared_wide_fits(problem) {
            Some(ConvKernel::PointwiseSharedWide)
        } else {
            pointwise_shared_fits(problem).then_some(ConvKernel::PointwiseShared)
        }
    });
    eprintln!("pointwise_shared_wide ran on {runs} (adapter, problem, op) cases");
}

/// Runs the three ops of each `(x, w)` of `cases` (1x1, stride 1) under
/// `kernel` forced and under `pointwise_large` forced on every adapter,
/// and asserts the same bits. On an adapter that shares lanes the plan
/// must be `shares(problem)` (None: `pointwise_large`); elsewhere the
/// forced kernel falls back to `pointwise_large`. Returns how many
/// (adapter, problem, op) ran a shared-lanes kernel.
fn shared_kernel_bits(
    kernel: wgconv::plan::ConvKernel,
    cases: &[([usize; 4], [usize; 4])],
    seed: u64,
    shares: &dyn Fn(&wgconv::plan::ConvProblem) -> Option<wgconv::plan::ConvKernel>,
) -> usize {
    use wgconv::plan::{ConvKernel, ConvProblem, SHARED_LANES};
    let p = Conv2dParams::default();
    let mut shared_runs = 0;
    for gpu in gpus() {
        let info = gpu.info();
        let eight_lanes = info.device_type == wgpu::DeviceType::Cpu
            && info.backend == wgpu::Backend::Vulkan
            && info.subgroup_min_size == SHARED_LANES
            && info.subgroup_max_size == SHARED_LANES;
        let lanes_shared = gpu.facts().subgroup_lanes == SHARED_LANES;
        assert_eq!(
            lanes_shared,
            eight_lanes,
            "{}: lanes shared?",
            common::label(gpu)
        );
        let shared = gpu.with_policy(Policy::Force(kernel));
        let large = gpu.with_policy(Policy::Force(ConvKernel::PointwiseLarge));
        for (i, &(xs, ws)) in cases.iter().enumerate() {
            let mut rng = Rng::new(seed + i as u64);
            let ys = [xs[0], ws[0], xs[2], xs[3]];
            let x = rng.floats(xs.iter().product());
            let w = rng.floats(ws.iter().product());
            let dy = rng.floats(ys.iter().product());
            for op in ConvOp::ALL {
                let problem = ConvProblem::new(op, &xs, &ws, &p).unwrap();
                let planned = shared.explain(op, xs, ws, &p).unwrap().kernel;
                let expect = match shares(&problem) {
                    Some(k) if lanes_shared => {
                        shared_runs += 1;
                        k
                    }
                    _ => ConvKernel::PointwiseLarge,
                };
                assert_eq!(planned, expect, "{op:?} {xs:?} on {}", common::label(gpu));
                let run = |g: &wgconv::Gpu| {
                    let t = |shape: &[usize], v: &[f32]| g.tensor(shape, v).unwrap();
                    let out = match op {
                        ConvOp::Forward => g.conv2d(&t(&xs, &x), &t(&ws, &w), None, &p),
                        ConvOp::InputGrad => g.conv2d_input_grad(&t(&ys, &dy), &t(&ws, &w), xs, &p),
                        ConvOp::WeightGrad => {
                            g.conv2d_weight_grad(&t(&xs, &x), &t(&ys, &dy), ws, &p)
                        }
                    };
                    out.unwrap().to_vec().unwrap()
                };
                let (a, b) = (run(&shared), run(&large));
                let same = a.iter().zip(&b).all(|(u, v)| u.to_bits() == v.to_bits());
                assert!(
                    same && a.len() == b.len(),
                    "{op:?} {xs:?} under {} on {}: bits differ",
                    kernel.name(),
                    common::label(gpu)
                );
            }
        }
    }
    shared_runs
}
