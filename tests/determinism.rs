//! Same inputs, same bits: every op twice on one adapter (including the
//! split-K weight gradient, whose partial sums are added in a fixed order),
//! and every adapter agreeing with the others within TOL.
mod common;
use common::{assert_close, gpus, label, Case, Rng};
use wgconv::{Conv2dParams, Policy};

fn outputs(gpu: &wgconv::Gpu, c: &Case) -> Vec<Vec<f32>> {
    let x = gpu.tensor(&c.x_shape, &c.x).unwrap();
    let w = gpu.tensor(&c.w_shape, &c.w).unwrap();
    let b = gpu.tensor(&[c.w_shape[0]], &c.bias).unwrap();
    let dy = gpu.tensor(&c.y_shape, &c.dy).unwrap();
    vec![
        gpu.conv2d(&x, &w, Some(&b), &c.p)
            .unwrap()
            .to_vec()
            .unwrap(),
        gpu.conv2d_input_grad(&dy, &w, c.x_shape, &c.p)
            .unwrap()
            .to_vec()
            .unwrap(),
        gpu.conv2d_weight_grad(&x, &dy, c.w_shape, &c.p)
            .unwrap()
            .to_vec()
            .unwrap(),
        gpu.bias_grad(&dy).unwrap().to_vec().unwrap(),
    ]
}

fn cases() -> Vec<Case> {
    let mut rng = Rng::new(11);
    vec![
        // Long weight-gradient reduction: split into several ranges.
        Case::new(
            [8, 4, 24, 24],
            [16, 4, 3, 3],
            Conv2dParams::square(1, 1),
            &mut rng,
            false,
        ),
        Case::new(
            [2, 6, 11, 13],
            [9, 2, 2, 3],
            Conv2dParams {
                groups: 3,
                stride: [2, 1],
                ..Default::default()
            },
            &mut rng,
            false,
        ),
    ]
}

#[test]
fn same_inputs_give_identical_bits() {
    for gpu in gpus() {
        for variant in Policy::ALL {
            let gpu = gpu.with_policy(variant);
            for c in cases() {
                let a = outputs(&gpu, &c);
                let b = outputs(&gpu, &c);
                for (op, (a, b)) in a.iter().zip(&b).enumerate() {
                    let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(
                        same,
                        "op {op} not bit-identical across runs on {}",
                        label(&gpu)
                    );
                }
            }
        }
    }
}

#[test]
fn adapters_agree_with_each_other() {
    let all = gpus();
    if all.len() < 2 {
        eprintln!(
            "adapters_agree_with_each_other: only {} adapter(s); comparing variants on it instead",
            all.len()
        );
    }
    for c in cases() {
        let runs: Vec<(String, Vec<Vec<f32>>)> = all
            .iter()
            .flat_map(|g| Policy::FORCED.map(|v| g.with_policy(v)))
            .map(|g| (label(&g), outputs(&g, &c)))
            .collect();
        let shapes = [
            c.y_shape.to_vec(),
            c.x_shape.to_vec(),
            c.w_shape.to_vec(),
            vec![c.w_shape[0]],
        ];
        for (name, out) in &runs[1..] {
            for op in 0..4 {
                let ctx = format!("op {op}: {name} vs {}", runs[0].0);
                assert_close(&ctx, &shapes[op], &out[op], &runs[0].1[op], false);
            }
        }
    }
}
