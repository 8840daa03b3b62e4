//! SGD on every adapter against the CPU reference (torch.optim.SGD's rule):
//! plain, momentum, dampening, weight decay, nesterov, several steps.
mod common;
use common::{assert_close, gpus, label, Rng};
use wgconv::{cpu, Sgd, SgdState};

fn configs() -> Vec<Sgd> {
    let base = Sgd {
        lr: 0.05,
        ..Default::default()
    };
    vec![
        base,
        Sgd {
            momentum: 0.9,
            ..base
        },
        Sgd {
            momentum: 0.9,
            dampening: 0.3,
            ..base
        },
        Sgd {
            weight_decay: 0.01,
            ..base
        },
        Sgd {
            momentum: 0.8,
            weight_decay: 0.02,
            nesterov: true,
            ..base
        },
        Sgd {
            momentum: 0.5,
            dampening: 0.1,
            weight_decay: 0.1,
            ..base
        },
    ]
}

#[test]
fn sgd_matches_the_reference_over_several_steps() {
    let shape = [7, 3, 5]; // 105 elements: not a multiple of the workgroup size
    let len: usize = shape.iter().product();
    for gpu in gpus() {
        for cfg in configs() {
            let mut rng = Rng::new(3);
            let init = rng.floats(len);
            let mut p = gpu.tensor(&shape, &init).unwrap();
            let mut state = SgdState::default();
            let mut p_ref = init.clone();
            let mut state_ref = cpu::CpuSgdState::default();
            for step in 0..5 {
                let g = rng.floats(len);
                gpu.sgd_step(&mut p, &gpu.tensor(&shape, &g).unwrap(), &mut state, &cfg)
                    .unwrap();
                cpu::sgd_step(&mut p_ref, &g, &mut state_ref, &cfg).unwrap();
                let ctx = format!("sgd step {step} {cfg:?} on {}", label(gpu));
                assert_close(&ctx, &shape, &p.to_vec().unwrap(), &p_ref, false);
                if cfg.momentum > 0.0 {
                    let buf = state
                        .momentum_buffer()
                        .expect("momentum buffer after a step")
                        .to_vec()
                        .unwrap();
                    assert_close(
                        &format!("{ctx} buffer"),
                        &shape,
                        &buf,
                        state_ref.momentum_buffer.as_ref().unwrap(),
                        false,
                    );
                }
            }
        }
    }
}

#[test]
fn first_momentum_step_copies_the_gradient_into_the_buffer() {
    // torch: buf = d on the first step (no dampening applied), so with
    // dampening 0.5 the first update is still lr·g, exactly.
    for gpu in gpus() {
        let cfg = Sgd {
            lr: 0.5,
            momentum: 0.9,
            dampening: 0.5,
            ..Default::default()
        };
        let mut p = gpu.tensor(&[4], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let g = gpu.tensor(&[4], &[2.0, 2.0, -2.0, 0.0]).unwrap();
        let mut state = SgdState::default();
        gpu.sgd_step(&mut p, &g, &mut state, &cfg).unwrap();
        assert_eq!(
            p.to_vec().unwrap(),
            vec![0.0, 1.0, 4.0, 4.0],
            "{}",
            label(gpu)
        );
        assert_eq!(
            state.momentum_buffer().unwrap().to_vec().unwrap(),
            vec![2.0, 2.0, -2.0, 0.0]
        );
        // Second step: buf = 0.9·buf + 0.5·g = 1.8 + 1 = 2.8; p = 0 − 0.5·2.8 = −1.4.
        gpu.sgd_step(&mut p, &g, &mut state, &cfg).unwrap();
        assert!(
            (p.to_vec().unwrap()[0] - -1.4).abs() < 1e-6,
            "{}",
            label(gpu)
        );
    }
}
