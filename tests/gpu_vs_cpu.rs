//! Every op on every adapter and every kernel variant, against the CPU
//! reference: integer inputs exactly, random geometries within TOL.
mod common;
use common::{gpus, random_geometry, Case, Rng};
use wgconv::{Conv2dParams, Policy};

/// Forced variants: each is held to the reference on its own (Auto picks
/// one of them per problem).
const VARIANTS: [Policy; Policy::FORCED.len()] = Policy::FORCED;

/// Geometries chosen to hit the tiled kernel's edges: more than one tile in
/// each direction, sizes that are not multiples of 64 or 16, long
/// reductions that the weight gradient splits, groups, 1x1; and the
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
    ]
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
        for variant in VARIANTS {
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
