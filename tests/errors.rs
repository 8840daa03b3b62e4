//! Bad input gets a specific `Err`, before any GPU work, on every adapter.
mod common;
use common::{gpus, label};
use wgconv::{cpu, Conv2dParams, Error, Gpu, Sgd, SgdState};

fn p() -> Conv2dParams {
    Conv2dParams::default()
}

#[test]
fn tensor_creation_errors() {
    for gpu in gpus() {
        let who = label(gpu);
        assert!(
            matches!(
                gpu.tensor(&[2, 3], &[1.0; 5]),
                Err(Error::DataLength {
                    expected: 6,
                    got: 5,
                    ..
                })
            ),
            "{who}"
        );
        assert!(
            matches!(gpu.tensor(&[1, 0, 3], &[]), Err(Error::ZeroSize { .. })),
            "{who}"
        );
        assert!(
            matches!(gpu.zeros(&[]), Err(Error::BadRank { .. })),
            "{who}"
        );
        assert!(
            matches!(gpu.zeros(&[usize::MAX, 2]), Err(Error::TooLarge { .. })),
            "{who}"
        );
        let max = gpu.limits().max_buffer_size as usize;
        let e = gpu.zeros(&[max / 4 + 1]).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { .. }), "{who}: {e}");
        assert!(e.to_string().contains("max_buffer_size"), "{e}");
    }
}

#[test]
fn conv_geometry_errors() {
    for gpu in gpus() {
        let who = label(gpu);
        let t = |shape: &[usize]| gpu.zeros(shape).unwrap();
        let x = t(&[1, 4, 6, 6]);
        let w = t(&[8, 4, 3, 3]);

        let e = gpu.conv2d(&t(&[4, 6, 6]), &w, None, &p()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadRank {
                    tensor: "input",
                    expected: 4,
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.conv2d(&x, &t(&[8, 3, 3, 3]), None, &p()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ChannelMismatch {
                    input_channels: 4,
                    weight_channels: 3,
                    ..
                }
            ),
            "{who}: {e}"
        );
        let g3 = Conv2dParams { groups: 3, ..p() };
        let e = gpu.conv2d(&x, &t(&[9, 1, 3, 3]), None, &g3).unwrap_err();
        assert!(
            matches!(
                e,
                Error::GroupsDoNotDivide {
                    what: "input channels C",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let g2 = Conv2dParams { groups: 2, ..p() };
        let e = gpu.conv2d(&x, &t(&[5, 2, 3, 3]), None, &g2).unwrap_err();
        assert!(
            matches!(
                e,
                Error::GroupsDoNotDivide {
                    what: "output channels K",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu
            .conv2d(&x, &w, None, &Conv2dParams { groups: 0, ..p() })
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParam {
                    param: "groups",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu
            .conv2d(
                &x,
                &w,
                None,
                &Conv2dParams {
                    stride: [1, 0],
                    ..p()
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParam {
                    param: "stride",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu
            .conv2d(
                &x,
                &w,
                None,
                &Conv2dParams {
                    dilation: [0, 1],
                    ..p()
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParam {
                    param: "dilation",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.conv2d(&x, &t(&[8, 4, 7, 3]), None, &p()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::KernelTooLarge {
                    axis: "height",
                    dilated_kernel: 7,
                    padded_input: 6,
                    ..
                }
            ),
            "{who}: {e}"
        );
        let dil = Conv2dParams {
            dilation: [1, 3],
            ..p()
        };
        let e = gpu.conv2d(&x, &w, None, &dil).unwrap_err();
        assert!(
            matches!(
                e,
                Error::KernelTooLarge {
                    axis: "width",
                    dilated_kernel: 7,
                    ..
                }
            ),
            "{who}: {e}"
        );
        // Padding makes the same kernel fit.
        assert!(gpu
            .conv2d(&x, &t(&[8, 4, 7, 3]), None, &Conv2dParams::square(1, 1))
            .is_ok());
        let e = gpu.conv2d(&x, &w, Some(&t(&[7])), &p()).unwrap_err();
        assert!(
            matches!(e, Error::ShapeMismatch { tensor: "bias", .. }),
            "{who}: {e}"
        );
    }
}

#[test]
fn gradient_shape_errors() {
    for gpu in gpus() {
        let who = label(gpu);
        let t = |shape: &[usize]| gpu.zeros(shape).unwrap();
        let (x, w) = (t(&[2, 4, 6, 6]), t(&[8, 4, 3, 3]));
        let bad_dy = t(&[2, 8, 5, 4]);
        let e = gpu
            .conv2d_input_grad(&bad_dy, &w, [2, 4, 6, 6], &p())
            .unwrap_err();
        assert!(
            matches!(&e, Error::ShapeMismatch { tensor: "output gradient", expected, .. } if expected == &vec![2, 8, 4, 4]),
            "{who}: {e}"
        );
        let e = gpu
            .conv2d_weight_grad(&x, &bad_dy, [8, 4, 3, 3], &p())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "output gradient",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu
            .conv2d_input_grad(&t(&[2, 8, 4, 4]), &w, [2, 0, 6, 6], &p())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ZeroSize {
                    tensor: "input",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu
            .conv2d_weight_grad(&x, &t(&[2, 8, 4, 4]), [8, 4, 3, 0], &p())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ZeroSize {
                    tensor: "weight",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.bias_grad(&t(&[8, 4])).unwrap_err();
        assert!(matches!(e, Error::BadRank { .. }), "{who}: {e}");
    }
}

#[test]
fn sgd_errors() {
    for gpu in gpus() {
        let who = label(gpu);
        let mut param = gpu.zeros(&[4, 3]).unwrap();
        let grad = gpu.zeros(&[3, 4]).unwrap();
        let e = gpu
            .sgd_step(&mut param, &grad, &mut SgdState::default(), &Sgd::default())
            .unwrap_err();
        assert!(
            matches!(e, Error::ShapeMismatch { tensor: "grad", .. }),
            "{who}: {e}"
        );
        let grad = gpu.zeros(&[4, 3]).unwrap();
        for (cfg, name) in [
            (
                Sgd {
                    lr: -1.0,
                    ..Sgd::default()
                },
                "lr",
            ),
            (
                Sgd {
                    lr: f32::NAN,
                    ..Sgd::default()
                },
                "lr",
            ),
            (
                Sgd {
                    momentum: -0.1,
                    ..Sgd::default()
                },
                "momentum",
            ),
            (
                Sgd {
                    weight_decay: -0.1,
                    ..Sgd::default()
                },
                "weight_decay",
            ),
            (
                Sgd {
                    nesterov: true,
                    ..Sgd::default()
                },
                "nesterov",
            ),
        ] {
            let e = gpu
                .sgd_step(&mut param, &grad, &mut SgdState::default(), &cfg)
                .unwrap_err();
            assert!(
                matches!(e, Error::InvalidParam { param, .. } if param == name),
                "{who}: {e}"
            );
        }
        // A state that belongs to a parameter of another shape.
        let mut state = SgdState::default();
        let cfg = Sgd {
            momentum: 0.9,
            ..Sgd::default()
        };
        gpu.sgd_step(&mut param, &grad, &mut state, &cfg).unwrap();
        let mut other = gpu.zeros(&[5]).unwrap();
        let e = gpu
            .sgd_step(&mut other, &gpu.zeros(&[5]).unwrap(), &mut state, &cfg)
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "momentum buffer",
                    ..
                }
            ),
            "{who}: {e}"
        );
    }
}

#[test]
fn tensors_from_another_gpu_are_rejected() {
    for gpu in gpus() {
        // A second device on the same adapter is "another Gpu" too.
        let other = Gpu::all_matching(&gpu.info().name)
            .unwrap()
            .into_iter()
            .find(|g| g.info().backend == gpu.info().backend)
            .unwrap();
        assert!(!other.same_device(gpu));
        let x = gpu.zeros(&[1, 1, 4, 4]).unwrap();
        let w_other = other.zeros(&[1, 1, 3, 3]).unwrap();
        let e = gpu.conv2d(&x, &w_other, None, &p()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DeviceMismatch {
                    tensor: "weight",
                    ..
                }
            ),
            "{}: {e}",
            label(gpu)
        );
        let dy_other = other.zeros(&[1, 1, 2, 2]).unwrap();
        assert!(matches!(
            gpu.bias_grad(&dy_other),
            Err(Error::DeviceMismatch { .. })
        ));
        assert!(matches!(
            gpu.conv2d_weight_grad(&x, &dy_other, [1, 1, 3, 3], &p()),
            Err(Error::DeviceMismatch {
                tensor: "output gradient",
                ..
            })
        ));
        let mut param = gpu.zeros(&[3]).unwrap();
        let g_other = other.zeros(&[3]).unwrap();
        assert!(matches!(
            gpu.sgd_step(
                &mut param,
                &g_other,
                &mut SgdState::default(),
                &Sgd::default()
            ),
            Err(Error::DeviceMismatch { tensor: "grad", .. })
        ));
        // A handle with another variant is the same device.
        assert!(gpu
            .with_policy(wgconv::Policy::Force(wgconv::ConvKernel::Direct))
            .conv2d(&x, &gpu.zeros(&[1, 1, 3, 3]).unwrap(), None, &p())
            .is_ok());
    }
}

#[test]
fn cpu_reference_errors() {
    let e = cpu::conv2d(
        &[0f32; 15],
        [1, 1, 4, 4],
        &[0f32; 9],
        [1, 1, 3, 3],
        None,
        &p(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::DataLength {
                expected: 16,
                got: 15,
                ..
            }
        ),
        "{e}"
    );
    let e = cpu::conv2d_input_grad(&[0f32; 4], &[0f32; 9], [1, 1, 3, 3], [1, 2, 4, 4], &p())
        .unwrap_err();
    assert!(matches!(e, Error::ChannelMismatch { .. }), "{e}");
    let e = cpu::bias_grad(&[0f32; 3], [1, 2, 1, 1]).unwrap_err();
    assert!(matches!(e, Error::DataLength { .. }), "{e}");
}

#[test]
fn messages_name_the_problem() {
    let e = wgconv::Conv2dGeometry::new("conv2d", &[1, 4, 6, 6], &[8, 3, 3, 3], &p()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conv2d: input has 4 channels in 1 group(s), so the weight's dimension 1 must be 4, got 3"
    );
    let e = wgconv::Conv2dGeometry::new("conv2d", &[1, 1, 2, 2], &[1, 1, 3, 3], &p()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "conv2d: the dilated kernel height (3) is larger than the padded input height (2)"
    );
}

/// The training ops reject bad shapes, parameters and foreign tensors with
/// errors that name the problem.
#[test]
fn training_op_errors() {
    use wgconv::{Adam, AdamState};
    for gpu in gpus() {
        let who = label(gpu);
        let x = gpu.zeros(&[4, 3]).unwrap();
        let w_bad = gpu.zeros(&[5, 2]).unwrap();
        let e = gpu.linear(&x, &w_bad, None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    op: "linear",
                    tensor: "weight",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let w = gpu.zeros(&[5, 3]).unwrap();
        let b_bad = gpu.zeros(&[4]).unwrap();
        let e = gpu.linear(&x, &w, Some(&b_bad)).unwrap_err();
        assert!(
            matches!(e, Error::ShapeMismatch { tensor: "bias", .. }),
            "{who}: {e}"
        );
        let x4 = gpu.zeros(&[1, 4, 3, 1]).unwrap();
        let e = gpu.linear(&x4, &w, None).unwrap_err();
        assert!(
            matches!(e, Error::BadRank { expected: 2, .. }),
            "{who}: {e}"
        );
        let dy_bad = gpu.zeros(&[4, 6]).unwrap();
        let e = gpu.linear_input_grad(&dy_bad, &w).unwrap_err();
        assert!(matches!(e, Error::ShapeMismatch { .. }), "{who}: {e}");
        let e = gpu
            .linear_weight_grad(&x, &gpu.zeros(&[3, 5]).unwrap())
            .unwrap_err();
        assert!(matches!(e, Error::ShapeMismatch { .. }), "{who}: {e}");

        let e = gpu.relu_backward(&x, &w).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "output gradient",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.add_assign(&mut x.clone(), &w).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    op: "add_assign",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.mse_loss(&x, &w).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "target",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let flat = gpu.zeros(&[12]).unwrap();
        let e = gpu.softmax_cross_entropy(&flat, &flat).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadRank {
                    tensor: "logits",
                    expected: 2,
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.softmax_cross_entropy_backward(&x, &w).unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "targets",
                    ..
                }
            ),
            "{who}: {e}"
        );

        let img = gpu.zeros(&[1, 2, 5, 3]).unwrap();
        let window = wgconv::Pool2dParams::window;
        let e = gpu.max_pool2d(&img, &window(0)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParam {
                    param: "kernel",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.max_pool2d(&img, &window(4)).unwrap_err();
        assert!(
            matches!(e, Error::KernelTooLarge { axis: "width", .. }),
            "{who}: {e}"
        );
        let e = gpu.max_pool2d(&x, &window(2)).unwrap_err();
        assert!(
            matches!(e, Error::BadRank { expected: 4, .. }),
            "{who}: {e}"
        );
        let e = gpu
            .max_pool2d_backward(&img, &gpu.zeros(&[1, 2, 2, 2]).unwrap(), &window(2))
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "output gradient",
                    ..
                }
            ),
            "{who}: {e}"
        );
        // torch refuses padding over half the kernel, and a zero stride.
        let square = wgconv::Pool2dParams::square;
        let e = gpu.max_pool2d(&img, &square(3, 1, 2)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParam {
                    param: "padding",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let e = gpu.avg_pool2d(&img, &square(2, 0, 0)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidParam {
                    param: "stride",
                    ..
                }
            ),
            "{who}: {e}"
        );
        // A window larger than the padded input: width 3 + 2·1 < 7 (the
        // height, 5 + 2·1, holds it).
        let e = gpu.avg_pool2d(&img, &square(7, 1, 1)).unwrap_err();
        assert!(
            matches!(e, Error::KernelTooLarge { axis: "width", .. }),
            "{who}: {e}"
        );
        assert!(
            e.to_string()
                .contains("the window width (7) is larger than the padded input width (5)"),
            "{who}: {e}"
        );
        let e = gpu
            .avg_pool2d_backward(
                &gpu.zeros(&[1, 2, 3, 3]).unwrap(),
                [1, 2, 5, 3],
                &square(3, 1, 1),
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "output gradient",
                    ..
                }
            ),
            "{who}: {e}"
        );
        let big = gpu.zeros(&[1, 1, 256, 2]).unwrap();
        let e = gpu.global_avg_pool2d(&big).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParam { param: "input", .. }),
            "{who}: {e}"
        );

        let mut p = gpu.zeros(&[4, 3]).unwrap();
        let mut state = AdamState::default();
        for (cfg, name) in [
            (
                Adam {
                    lr: -1.0,
                    ..Adam::default()
                },
                "lr",
            ),
            (
                Adam {
                    eps: f32::NAN,
                    ..Adam::default()
                },
                "eps",
            ),
            (
                Adam {
                    betas: (1.0, 0.999),
                    ..Adam::default()
                },
                "betas.0",
            ),
            (
                Adam {
                    betas: (0.9, -0.1),
                    ..Adam::default()
                },
                "betas.1",
            ),
            (
                Adam {
                    weight_decay: -1.0,
                    ..Adam::default()
                },
                "weight_decay",
            ),
        ] {
            let e = gpu.adam_step(&mut p, &x, &mut state, &cfg).unwrap_err();
            assert!(
                matches!(e, Error::InvalidParam { param, .. } if param == name),
                "{who}: {e}"
            );
        }
        let e = gpu
            .adam_step(&mut p, &w, &mut state, &Adam::default())
            .unwrap_err();
        assert!(
            matches!(e, Error::ShapeMismatch { tensor: "grad", .. }),
            "{who}: {e}"
        );
        assert_eq!(state.step(), 0, "a failed step must not count");
        // State made for one parameter cannot drive another of another shape.
        gpu.adam_step(&mut p, &x, &mut state, &Adam::default())
            .unwrap();
        let mut other = gpu.zeros(&[5, 3]).unwrap();
        let e = gpu
            .adam_step(&mut other, &w, &mut state, &Adam::default())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::ShapeMismatch {
                    tensor: "exp_avg",
                    ..
                }
            ),
            "{who}: {e}"
        );

        // Tensors of another device.
        let other_gpu = Gpu::all_matching(&gpu.info().name)
            .unwrap()
            .into_iter()
            .find(|g| g.info().backend == gpu.info().backend)
            .unwrap();
        let foreign = other_gpu.zeros(&[4, 3]).unwrap();
        for e in [
            gpu.relu(&foreign).unwrap_err(),
            gpu.add_assign(&mut x.clone(), &foreign).unwrap_err(),
            gpu.linear(&foreign, &w, None).unwrap_err(),
            gpu.mse_loss(&x, &foreign).unwrap_err(),
            gpu.adam_step(
                &mut p,
                &foreign,
                &mut AdamState::default(),
                &Adam::default(),
            )
            .unwrap_err(),
        ] {
            assert!(matches!(e, Error::DeviceMismatch { .. }), "{who}: {e}");
        }
    }
    let e = wgconv::nn::one_hot(&[0, 10], 10).unwrap_err();
    assert!(e.to_string().contains("label 10 at row 1"), "{e}");
}
