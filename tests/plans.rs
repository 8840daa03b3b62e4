//! Auto's plans as a snapshot: for a GPU-like and two CPU-like adapter
//! descriptions (without and with lanes that share loads, as lavapipe's),
//! the plan of every benchmark shape and op, and of the
//! awkward problems (depthwise, a single input channel, 1x1, a tiny
//! batch), rendered as text and compared with tests/snapshots/auto_plans.txt.
//! Needs no adapter, so a change of the rule shows in review as a diff of
//! that file. After a deliberate change, `WGCONV_UPDATE_SNAPSHOTS=1 cargo
//! test --release --test plans` rewrites it.

use wgconv::bench::SHAPES;
use wgconv::plan::{
    blocks_k4_fits, col2im_entry, depthwise_fits, depthwise_forward_entry,
    depthwise_input_grad_entry, depthwise_weight_grad_entry, im2col_entry, plan, pointwise_fits,
    pointwise_shared_fits, pointwise_shared_wide_fits, AdapterFacts, Algorithm, ConvKernel, ConvOp,
    ConvProblem, Policy, MAX_ROW_QUADS, SHARED_LANES, WIDE_BLOCK_COLUMNS, WIDE_BLOCK_ROWS,
    WINOGRAD4_MAX_CHANNELS,
};
use wgconv::Conv2dParams;

const SNAPSHOT: &str = "tests/snapshots/auto_plans.txt";

fn adapters() -> [(&'static str, AdapterFacts); 3] {
    [
        (
            "gpu",
            AdapterFacts {
                cpu: false,
                max_storage_buffer_binding_size: 1 << 31,
                subgroup_lanes: 0,
            },
        ),
        (
            "cpu",
            AdapterFacts {
                cpu: true,
                max_storage_buffer_binding_size: 1 << 27,
                subgroup_lanes: 0,
            },
        ),
        (
            "cpu8",
            AdapterFacts {
                cpu: true,
                max_storage_buffer_binding_size: 1 << 27,
                subgroup_lanes: SHARED_LANES,
            },
        ),
    ]
}

fn problems() -> Vec<(String, [usize; 4], [usize; 4], Conv2dParams)> {
    let mut out: Vec<_> = SHAPES
        .iter()
        .map(|s| {
            let g = s.geometry().unwrap();
            (s.name.to_string(), g.x_shape(), g.w_shape(), s.params())
        })
        .collect();
    let depthwise = Conv2dParams {
        groups: 32,
        ..Conv2dParams::square(1, 1)
    };
    out.extend([
        (
            "depthwise".into(),
            [8, 32, 28, 28],
            [32, 1, 3, 3],
            depthwise,
        ),
        (
            "c1-k4".into(),
            [16, 1, 28, 28],
            [4, 1, 3, 3],
            Conv2dParams::square(1, 1),
        ),
        (
            "c3-s2".into(),
            [16, 3, 32, 32],
            [16, 3, 3, 3],
            Conv2dParams::square(2, 1),
        ),
        (
            "1x1-tiny".into(),
            [1, 16, 4, 4],
            [16, 16, 1, 1],
            Conv2dParams::default(),
        ),
        (
            "linear".into(),
            [32, 512, 1, 1],
            [10, 512, 1, 1],
            Conv2dParams::default(),
        ),
    ]);
    out
}

fn render() -> String {
    let mut text = String::from(
        "# Auto's plan per (adapter kind, problem, op): kernel algorithm [x splits]\n",
    );
    for (kind, facts) in adapters() {
        for (name, x, w, p) in problems() {
            for op in ConvOp::ALL {
                let problem = ConvProblem::new(op, &x, &w, &p).unwrap();
                let chosen = plan(&problem, &facts, Policy::Auto);
                let d = problem.gemm();
                text.push_str(&format!(
                    "{kind} {name:<10} {:<12} gemm {}x{}x{} -> {chosen}\n",
                    op.name(),
                    d.m,
                    d.n,
                    d.k
                ));
            }
        }
    }
    text
}

#[test]
fn auto_plans_match_the_snapshot() {
    let now = render();
    if std::env::var_os("WGCONV_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all("tests/snapshots").unwrap();
        std::fs::write(SNAPSHOT, &now).unwrap();
        return;
    }
    let saved = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if saved != now {
        let diff: Vec<String> = saved
            .lines()
            .zip(now.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .take(20)
            .collect();
        panic!(
            "Auto's plans changed ({} lines saved, {} now); first differences:\n{}\n\
             If the change is meant, rerun with WGCONV_UPDATE_SNAPSHOTS=1 and commit {SNAPSHOT}.",
            saved.lines().count(),
            now.lines().count(),
            diff.join("\n")
        );
    }
}

/// Tuned falls back to Auto's plan when it cannot measure, and a forced
/// kernel is the kernel that runs.
#[test]
fn tuned_falls_back_to_auto_and_force_runs_its_kernel() {
    for (_, facts) in adapters() {
        for (_, x, w, p) in problems() {
            for op in ConvOp::ALL {
                let problem = ConvProblem::new(op, &x, &w, &p).unwrap();
                assert_eq!(
                    plan(&problem, &facts, Policy::Tuned),
                    plan(&problem, &facts, Policy::Auto)
                );
                for forced in Policy::FORCED {
                    let Policy::Force(kernel) = forced else {
                        unreachable!()
                    };
                    let lanes = facts.subgroup_lanes == SHARED_LANES;
                    let fits = match kernel {
                        ConvKernel::Pointwise | ConvKernel::PointwiseLarge => {
                            pointwise_fits(&problem)
                        }
                        ConvKernel::PointwiseShared => lanes && pointwise_shared_fits(&problem),
                        ConvKernel::PointwiseSharedWide => {
                            lanes && pointwise_shared_wide_fits(&problem)
                        }
                        ConvKernel::BlocksK4 => blocks_k4_fits(&problem),
                        ConvKernel::Depthwise => depthwise_fits(&problem),
                        _ => true,
                    };
                    // Wide falls back to the square shared blocks, those
                    // to pointwise_large, that to blocks.
                    let runs = match (fits, kernel) {
                        (true, _) => kernel,
                        (false, ConvKernel::Depthwise) => ConvKernel::Direct,
                        (false, ConvKernel::PointwiseSharedWide)
                            if lanes && pointwise_shared_fits(&problem) =>
                        {
                            ConvKernel::PointwiseShared
                        }
                        (false, ConvKernel::PointwiseShared | ConvKernel::PointwiseSharedWide)
                            if pointwise_fits(&problem) =>
                        {
                            ConvKernel::PointwiseLarge
                        }
                        (false, _) => ConvKernel::Blocks,
                    };
                    assert_eq!(plan(&problem, &facts, forced).kernel, runs);
                }
            }
        }
    }
}

/// The pointwise kernel takes 1x1 kernels at stride 1 without padding
/// whose vec4 runs stay aligned inside one image, and nothing else.
#[test]
fn pointwise_fits_only_aligned_pointwise_problems() {
    let p = Conv2dParams::default();
    let fits = |op, x: [usize; 4], w: [usize; 4], p: &Conv2dParams| {
        pointwise_fits(&ConvProblem::new(op, &x, &w, p).unwrap())
    };
    for op in ConvOp::ALL {
        // S5, a linear layer of batch 36, planes of 24 that 16-row blocks straddle.
        assert!(fits(op, [32, 128, 16, 16], [256, 128, 1, 1], &p), "{op:?}");
        assert!(fits(op, [36, 28, 1, 1], [20, 28, 1, 1], &p), "{op:?}");
        assert!(fits(op, [3, 24, 4, 6], [20, 24, 1, 1], &p), "{op:?}");
        // Not pointwise: 3x3, stride 2, padding.
        assert!(!fits(op, [2, 8, 8, 8], [8, 8, 3, 3], &p), "{op:?}");
        assert!(
            !fits(op, [2, 8, 8, 8], [8, 8, 1, 1], &Conv2dParams::square(2, 0)),
            "{op:?}"
        );
        assert!(
            !fits(op, [2, 8, 8, 8], [8, 8, 1, 1], &Conv2dParams::square(1, 1)),
            "{op:?}"
        );
        // Unaligned: a plane of 35, 6 input or 10 output channels.
        assert!(!fits(op, [2, 8, 7, 5], [8, 8, 1, 1], &p), "{op:?}");
        assert!(!fits(op, [2, 6, 4, 4], [8, 6, 1, 1], &p), "{op:?}");
        assert!(!fits(op, [2, 8, 4, 4], [10, 8, 1, 1], &p), "{op:?}");
    }
    // A linear layer of batch 37: its weight gradient's reduction is the batch.
    let x = [37, 28, 1, 1];
    let w = [20, 28, 1, 1];
    assert!(fits(ConvOp::Forward, x, w, &p));
    assert!(fits(ConvOp::InputGrad, x, w, &p));
    assert!(!fits(ConvOp::WeightGrad, x, w, &p));
}

/// `blocks_k4` takes forward GEMMs whose weight rows (C/g·R·S) and weight
/// gradients whose output planes (Ho·Wo) hold a multiple of 4 values, and
/// no input gradient.
#[test]
fn blocks_k4_fits_rows_and_planes_of_multiples_of_4() {
    let k4 = |op, x: [usize; 4], w: [usize; 4], p: &Conv2dParams| {
        blocks_k4_fits(&ConvProblem::new(op, &x, &w, p).unwrap())
    };
    let same = Conv2dParams::square(1, 1);
    // S2: rows of 32·9, planes of 14·14.
    assert!(k4(ConvOp::Forward, [64, 32, 14, 14], [64, 32, 3, 3], &same));
    assert!(k4(
        ConvOp::WeightGrad,
        [64, 32, 14, 14],
        [64, 32, 3, 3],
        &same
    ));
    assert!(!k4(
        ConvOp::InputGrad,
        [64, 32, 14, 14],
        [64, 32, 3, 3],
        &same
    ));
    // S1: rows of 1·9; planes of 28·28.
    assert!(!k4(ConvOp::Forward, [64, 1, 28, 28], [32, 1, 3, 3], &same));
    assert!(k4(
        ConvOp::WeightGrad,
        [64, 1, 28, 28],
        [32, 1, 3, 3],
        &same
    ));
    // Planes of 7·7 (rows of 8·9 fit), and of one value.
    assert!(k4(ConvOp::Forward, [2, 8, 7, 7], [8, 8, 3, 3], &same));
    assert!(!k4(ConvOp::WeightGrad, [2, 8, 7, 7], [8, 8, 3, 3], &same));
    let valid = Conv2dParams::default();
    assert!(!k4(ConvOp::WeightGrad, [8, 8, 3, 3], [8, 8, 3, 3], &valid));
}

/// `depthwise` takes 3x3 layers of one input channel per group (any
/// channel multiplier) at dilation 1 and stride 1 or 2 per axis; Auto
/// picks it on every adapter for fewer than 8 output channels per group
/// (a wider GEMM runs better on the GEMM kernels), and on CPU adapters for
/// every forward, every input gradient and every weight gradient its
/// four-channel entry takes (their loops over the group's channels reuse
/// each input load; on a GPU they would cut the invocations).
#[test]
fn depthwise_fits_3x3_layers_of_one_channel_per_group() {
    let dw = |groups, stride: [u32; 2], dilation| Conv2dParams {
        stride,
        padding: [1, 1],
        dilation: [dilation; 2],
        groups,
    };
    let fits = |op, x: [usize; 4], w: [usize; 4], p: &Conv2dParams| {
        depthwise_fits(&ConvProblem::new(op, &x, &w, p).unwrap())
    };
    for op in ConvOp::ALL {
        // MobileNetV2's stride-1 layer, and with a channel multiplier of 2.
        assert!(fits(op, [2, 32, 28, 28], [32, 1, 3, 3], &dw(32, [1, 1], 1)));
        assert!(fits(op, [2, 32, 9, 9], [64, 1, 3, 3], &dw(32, [1, 1], 1)));
        // Not: 2 input channels per group, 5x5, dilation 2, stride 3.
        assert!(!fits(op, [2, 32, 9, 9], [16, 2, 3, 3], &dw(16, [1, 1], 1)));
        assert!(!fits(op, [2, 32, 9, 9], [32, 1, 5, 5], &dw(32, [1, 1], 1)));
        assert!(!fits(op, [2, 32, 9, 9], [32, 1, 3, 3], &dw(32, [1, 1], 2)));
        assert!(!fits(op, [2, 32, 9, 9], [32, 1, 3, 3], &dw(32, [3, 3], 1)));
        // Stride 2 on either axis.
        assert!(fits(op, [2, 32, 9, 9], [32, 1, 3, 3], &dw(32, [2, 1], 1)));
        assert!(fits(op, [2, 32, 9, 9], [32, 1, 3, 3], &dw(32, [2, 2], 1)));
    }
    for (_, facts) in adapters() {
        for op in ConvOp::ALL {
            let p = ConvProblem::new(op, &[2, 32, 28, 28], &[32, 1, 3, 3], &dw(32, [1, 1], 1));
            let chosen = plan(&p.unwrap(), &facts, Policy::Auto);
            assert_eq!(chosen.kernel, ConvKernel::Depthwise, "{op:?}");
            // A first layer of one input channel: 32 output channels.
            let p = ConvProblem::new(op, &[2, 1, 28, 28], &[32, 1, 3, 3], &dw(1, [1, 1], 1));
            let chosen = plan(&p.unwrap(), &facts, Policy::Auto).kernel;
            let wide = ConvProblem::new(op, &[2, 32, 28, 28], &[256, 1, 3, 3], &dw(32, [1, 1], 1));
            let chosen_wide = plan(&wide.unwrap(), &facts, Policy::Auto).kernel;
            // Both at stride 1, Wo = 28 and K/g a multiple of 4: the
            // weight gradient's four-channel entry takes them; the input
            // gradient loops over the K/g channels on its pipeline of the
            // layer's stride.
            if facts.cpu {
                assert_eq!(chosen, ConvKernel::Depthwise, "{op:?}");
                assert_eq!(chosen_wide, ConvKernel::Depthwise, "{op:?}");
            } else {
                assert_ne!(chosen, ConvKernel::Depthwise, "{op:?}");
                assert_ne!(chosen_wide, ConvKernel::Depthwise, "{op:?}");
            }
        }
    }
}

/// A depthwise forward stores vec4s from a stride-1 or stride-2 entry
/// where its output rows are whole vec4s (four channels per step where
/// K/g is a multiple of 4, and then bands of whole rows at stride 1 and
/// padding 1 up to 32 columns), and runs the scalar entry (the stride a
/// pipeline constant) elsewhere.
#[test]
fn depthwise_forward_entry_follows_stride_and_row_width() {
    // Four groups of k / 4 output channels.
    let entry_for = |x: [usize; 4], k: usize, stride: [u32; 2], padding: u32| {
        let p = Conv2dParams {
            stride,
            padding: [padding; 2],
            dilation: [1, 1],
            groups: 4,
        };
        depthwise_forward_entry(&ConvProblem::new(ConvOp::Forward, &x, &[k, 1, 3, 3], &p).unwrap())
    };
    let entry = |x, stride| entry_for(x, 8, stride, 1);
    assert_eq!(entry([2, 4, 28, 28], [1, 1]), "forward_vec4_stride1");
    assert_eq!(entry([2, 4, 56, 56], [2, 2]), "forward_vec4_stride2");
    // K/g = 4 (16 channels over 4 groups): four channels per step; whole
    // rows up to 4 · MAX_ROW_QUADS columns at stride 1 and padding 1.
    let quads = |x, stride| entry_for(x, 16, stride, 1);
    assert_eq!(quads([2, 4, 28, 28], [1, 1]), "forward_rows_quads");
    assert_eq!(quads([2, 4, 9, 4], [1, 1]), "forward_rows_quads");
    assert_eq!(quads([2, 4, 32, 32], [1, 1]), "forward_rows_quads");
    assert_eq!(quads([2, 4, 36, 36], [1, 1]), "forward_vec4_stride1_quads");
    assert_eq!(
        entry_for([2, 4, 30, 30], 16, [1, 1], 0),
        "forward_vec4_stride1_quads"
    );
    assert_eq!(quads([2, 4, 56, 56], [2, 2]), "forward_vec4_stride2_quads");
    assert_eq!(quads([2, 4, 7, 7], [1, 1]), "forward");
    // Wo = 7 (a row is not whole vec4s), Wo = 14 at stride 2, mixed strides.
    assert_eq!(entry([2, 4, 7, 7], [1, 1]), "forward");
    assert_eq!(entry([2, 4, 28, 28], [2, 2]), "forward");
    assert_eq!(entry([2, 4, 28, 28], [1, 2]), "forward");
}

/// col2im takes whole rows of dx and of the columns (vec4 loads and
/// stores) where both are multiples of 4 up to 32, the kernel at most 3x3
/// and the stride along H at most 2; cells 4 columns wide (vec4 stores)
/// where W is a multiple of 4 and the stride along W divides 4; one cell
/// per invocation elsewhere.
#[test]
fn col2im_entry_follows_width_and_stride() {
    let entry = |x: [usize; 4], stride: [u32; 2]| {
        let p = Conv2dParams {
            stride,
            padding: [1, 1],
            dilation: [1, 1],
            groups: 1,
        };
        col2im_entry(
            &ConvProblem::new(ConvOp::InputGrad, &x, &[8, x[1], 3, 3], &p)
                .unwrap()
                .geometry,
        )
    };
    // S4 of the bench; the columns' rows 32 or 16 wide.
    for stride in [[1, 1], [2, 2], [1, 2], [2, 4]] {
        assert_eq!(entry([32, 64, 32, 32], stride), "col2im_rows", "{stride:?}");
    }
    // A stride of 3 along H, rows of 64, columns' rows of 10.
    assert_eq!(entry([32, 64, 32, 32], [3, 4]), "col2im_x4");
    assert_eq!(entry([32, 64, 32, 64], [2, 2]), "col2im_x4");
    assert_eq!(entry([32, 64, 32, 20], [1, 2]), "col2im_x4");
    assert_eq!(entry([32, 64, 32, 30], [2, 2]), "col2im");
    assert_eq!(entry([32, 64, 32, 33], [1, 1]), "col2im");
    assert_eq!(entry([32, 64, 32, 36], [2, 3]), "col2im");
}

/// im2col writes the columns from whole rows of x (`im2col_rows`) where
/// x's and the columns' rows are multiples of 4 up to 32 and the kernel at
/// most 3 wide, a row of columns per invocation stored as vec4s
/// (`im2col_x4`) where only the columns' rows are whole vec4s, scalars
/// elsewhere.
#[test]
fn im2col_entry_follows_row_widths_and_kernel_width() {
    let entry = |x: [usize; 4], s: usize, stride: u32, padding: u32| {
        let p = Conv2dParams {
            stride: [stride; 2],
            padding: [padding; 2],
            dilation: [1, 1],
            groups: 1,
        };
        im2col_entry(
            &ConvProblem::new(ConvOp::Forward, &x, &[8, x[1], 3, s], &p)
                .unwrap()
                .geometry,
        )
    };
    // S4 of the bench: rows of 32 and 16.
    assert_eq!(entry([32, 64, 32, 32], 3, 2, 1), "im2col_rows");
    assert_eq!(entry([2, 4, 8, 8], 3, 1, 1), "im2col_rows");
    assert_eq!(entry([2, 4, 8, 16], 2, 2, 0), "im2col_rows");
    // x's row past 32, or not whole vec4s; a kernel 5 wide.
    assert_eq!(entry([2, 4, 8, 64], 3, 2, 1), "im2col_x4");
    assert_eq!(entry([2, 4, 8, 14], 3, 1, 2), "im2col_x4");
    assert_eq!(entry([2, 4, 8, 32], 5, 1, 2), "im2col_x4");
    // Columns' rows not whole vec4s.
    assert_eq!(entry([2, 4, 8, 12], 3, 2, 1), "im2col");
}

/// A depthwise input gradient runs whole 4-row bands from vec4 rows at
/// stride 1 and padding 1 where W is a multiple of 4 up to 32, 4x8 blocks
/// from vec4 rows where it is a wider multiple of 4, 4x4 blocks elsewhere.
#[test]
fn depthwise_input_grad_entry_follows_stride_padding_and_row_width() {
    let entry = |x: [usize; 4], stride: [u32; 2], padding: [u32; 2]| {
        let p = Conv2dParams {
            stride,
            padding,
            dilation: [1, 1],
            groups: x[1] as u32,
        };
        let w = [2 * x[1], 1, 3, 3];
        depthwise_input_grad_entry(&ConvProblem::new(ConvOp::InputGrad, &x, &w, &p).unwrap())
    };
    // Whole rows up to MAX_ROW_QUADS vec4s, 4x8 blocks past them.
    assert_eq!(entry([2, 2, 28, 28], [1, 1], [1, 1]), "input_grad_rows");
    assert_eq!(entry([2, 4, 7, 12], [1, 1], [1, 1]), "input_grad_rows");
    assert_eq!(entry([2, 4, 7, 4], [1, 1], [1, 1]), "input_grad_rows");
    assert_eq!(entry([2, 4, 7, 32], [1, 1], [1, 1]), "input_grad_rows");
    assert_eq!(4 * MAX_ROW_QUADS, 32);
    assert_eq!(entry([2, 4, 7, 36], [1, 1], [1, 1]), "input_grad_x8");
    assert_eq!(entry([2, 2, 56, 56], [1, 1], [1, 1]), "input_grad_x8");
    // S1: one input channel, 32 output channels, 28 columns.
    let s1 = Conv2dParams::square(1, 1);
    let s1 = ConvProblem::new(ConvOp::InputGrad, &[64, 1, 28, 28], &[32, 1, 3, 3], &s1).unwrap();
    assert_eq!(depthwise_input_grad_entry(&s1), "input_grad_rows");
    // W = 7, padding 0 or 2, stride 2 or mixed.
    assert_eq!(entry([2, 4, 7, 7], [1, 1], [1, 1]), "input_grad");
    assert_eq!(entry([2, 4, 12, 12], [1, 1], [0, 0]), "input_grad");
    assert_eq!(entry([2, 4, 12, 12], [1, 1], [2, 2]), "input_grad");
    assert_eq!(entry([2, 4, 12, 12], [2, 2], [1, 1]), "input_grad");
    assert_eq!(entry([2, 4, 12, 12], [1, 2], [1, 1]), "input_grad");
}

/// A depthwise weight gradient takes four channels per invocation at
/// stride 1 where Wo and K/g are multiples of 4 (input rows as vec4s at
/// padding 1), one elsewhere.
#[test]
fn depthwise_weight_grad_entry_follows_stride_row_width_and_channels() {
    let padded = |x: [usize; 4], k: usize, stride: [u32; 2], padding: [u32; 2]| {
        let p = Conv2dParams {
            stride,
            padding,
            dilation: [1, 1],
            groups: x[1] as u32,
        };
        let w = [k, 1, 3, 3];
        depthwise_weight_grad_entry(&ConvProblem::new(ConvOp::WeightGrad, &x, &w, &p).unwrap())
    };
    let entry = |x, k, stride| padded(x, k, stride, [1, 1]);
    assert_eq!(entry([2, 1, 28, 28], 32, [1, 1]), "weight_grad_fanout_x4");
    assert_eq!(entry([2, 4, 12, 12], 16, [1, 1]), "weight_grad_fanout_x4");
    // Padding 0 (Wo = 12 from W = 14) and 2 (Wo = 16 from W = 14).
    assert_eq!(
        padded([2, 1, 14, 14], 32, [1, 1], [0, 0]),
        "weight_grad_fanout"
    );
    assert_eq!(
        padded([2, 1, 14, 14], 32, [1, 1], [2, 2]),
        "weight_grad_fanout"
    );
    assert_eq!(
        padded([2, 1, 14, 14], 32, [1, 1], [1, 0]),
        "weight_grad_fanout"
    );
    // K/g = 2, Wo = 7, stride 2, mixed strides.
    assert_eq!(entry([2, 4, 12, 12], 8, [1, 1]), "weight_grad");
    assert_eq!(entry([2, 1, 7, 7], 32, [1, 1]), "weight_grad");
    assert_eq!(entry([2, 1, 56, 56], 32, [2, 2]), "weight_grad");
    assert_eq!(entry([2, 1, 28, 28], 32, [1, 2]), "weight_grad");
}

/// F(4x4, 3x3) reaches the forward and input gradient of up to
/// `WINOGRAD4_MAX_CHANNELS` summed channels (for an input gradient, the
/// layer's output channels); past that `Winograd4` and Auto run F(2x2,
/// 3x3). Its weight gradient (F(3x3, 4x4)) sums over tiles, not channels,
/// and takes any channel count. Auto keeps F(2x2) where 4x4 tiles would
/// need more products (a 2x2 output: one 4x4 tile of 36 against one 2x2
/// tile of 16).
#[test]
fn winograd4_takes_forward_and_input_gradients_up_to_its_channel_limit() {
    let limit = WINOGRAD4_MAX_CHANNELS;
    let same = Conv2dParams::square(1, 1);
    let algorithm = |op, x: [usize; 4], w: [usize; 4], policy, facts: &AdapterFacts| {
        plan(&ConvProblem::new(op, &x, &w, &same).unwrap(), facts, policy).algorithm
    };
    for (_, facts) in adapters() {
        for policy in [Policy::Auto, Policy::Winograd4] {
            let at = |op, c, k| algorithm(op, [2, c, 16, 16], [k, c, 3, 3], policy, &facts);
            assert_eq!(at(ConvOp::Forward, limit, 64), Algorithm::Winograd4);
            assert_eq!(at(ConvOp::Forward, limit + 1, 64), Algorithm::Winograd);
            // The input gradient sums over the layer's K.
            assert_eq!(
                at(ConvOp::InputGrad, limit + 1, limit),
                Algorithm::Winograd4
            );
            assert_eq!(at(ConvOp::InputGrad, 64, limit + 1), Algorithm::Winograd);
            assert_eq!(at(ConvOp::WeightGrad, 64, 64), Algorithm::Winograd4);
            assert_eq!(
                at(ConvOp::WeightGrad, limit + 1, limit + 1),
                Algorithm::Winograd4
            );
        }
        let tiny = |policy| {
            algorithm(
                ConvOp::Forward,
                [2, 64, 2, 2],
                [64, 64, 3, 3],
                policy,
                &facts,
            )
        };
        assert_eq!(tiny(Policy::Auto), Algorithm::Winograd);
        assert_eq!(tiny(Policy::Winograd4), Algorithm::Winograd4);
    }
}

/// On CPU adapters a weight gradient of at least `WIDE_BLOCK_COLUMNS`
/// columns (K/g) and `WIDE_BLOCK_ROWS` rows (C/g·R·S) that runs the
/// one-step GEMM takes 16x32 blocks, a narrower or shorter one 16x16; no
/// other op takes them, and GPUs never do.
#[test]
fn blocks_wide_takes_weight_gradients_of_wide_gemms_on_cpus() {
    // Stride 1 and fewer than 32 input channels: neither im2col (strided
    // layers) nor Winograd (32 channels or more) takes them.
    let stride1 = Conv2dParams::square(1, 1);
    // C·3·3 rows: 16 input channels give 144, 7 give 63.
    let kernel = |op, c, k, facts: &AdapterFacts| {
        let problem = ConvProblem::new(op, &[4, c, 12, 12], &[k, c, 3, 3], &stride1).unwrap();
        plan(&problem, facts, Policy::Auto).kernel
    };
    let [(_, gpu), (_, cpu), _] = adapters();
    const { assert!(7 * 9 < WIDE_BLOCK_ROWS && 16 * 9 >= WIDE_BLOCK_ROWS) };
    let wide = WIDE_BLOCK_COLUMNS;
    assert_eq!(
        kernel(ConvOp::WeightGrad, 16, wide, &cpu),
        ConvKernel::BlocksWide
    );
    assert_eq!(
        kernel(ConvOp::WeightGrad, 16, wide - 4, &cpu),
        ConvKernel::Blocks
    );
    assert_eq!(
        kernel(ConvOp::WeightGrad, 7, wide, &cpu),
        ConvKernel::Blocks
    );
    for op in [ConvOp::Forward, ConvOp::InputGrad] {
        assert_ne!(kernel(op, 16, 64, &cpu), ConvKernel::BlocksWide, "{op:?}");
    }
    for op in ConvOp::ALL {
        assert_ne!(kernel(op, 16, 64, &gpu), ConvKernel::BlocksWide, "{op:?}");
    }
}
