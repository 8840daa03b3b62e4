//! `Policy::Tuned`: plans are measured once per problem, kept, give
//! results that match the CPU reference, are among the problem's
//! candidates, and persist through the `WGCONV_TUNE_CACHE` file so a new
//! device makes the same choice without measuring. One test function: it
//! sets an environment variable.
mod common;
use common::{gpus, label, Case, Rng};
use wgconv::plan::{candidates, ConvProblem};
use wgconv::{Conv2dParams, ConvOp, Gpu, Policy};

#[test]
fn tuned_choices_are_measured_once_and_persist() {
    let path = std::env::temp_dir().join(format!("wgconv-tune-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // Read when a device is created; set before any device of this binary.
    std::env::set_var("WGCONV_TUNE_CACHE", &path);
    let mut rng = Rng::new(91);
    let case = Case::new(
        [4, 8, 12, 12],
        [16, 8, 3, 3],
        Conv2dParams::square(1, 1),
        &mut rng,
        true,
    );
    for shared in gpus() {
        let fresh = || {
            Gpu::all_matching(&shared.info().name)
                .unwrap()
                .into_iter()
                .find(|g| g.info().backend == shared.info().backend)
                .unwrap()
                .with_policy(Policy::Tuned)
        };
        let gpu = fresh();
        let who = label(&gpu);
        // Forward, both gradients and the bias gradient, exact.
        case.check(&gpu, true);
        let (chosen, measured) = gpu.tuned_plans();
        assert_eq!(
            measured, 3,
            "{who}: one measurement per convolution op: {chosen:?}"
        );
        assert_eq!(chosen.len(), 3, "{who}: {chosen:?}");
        for op in ConvOp::ALL {
            let problem = ConvProblem::new(op, &case.x_shape, &case.w_shape, &case.p).unwrap();
            let (_, plan) = chosen.iter().find(|(_, p)| p.op == op).unwrap();
            assert!(
                candidates(&problem, &gpu.facts()).contains(plan),
                "{who}: {plan} is not a candidate of {op:?}"
            );
            let explained = gpu
                .explain(op, case.x_shape, case.w_shape, &case.p)
                .unwrap();
            assert_eq!(explained, *plan, "{who}: explain shows another plan");
        }
        case.check(&gpu, true);
        assert_eq!(gpu.tuned_plans().1, 3, "{who}: measured again");

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("conv2d_weight_grad"), "{who}: {text}");
        let again = fresh();
        case.check(&again, true);
        let (from_file, measured) = again.tuned_plans();
        assert_eq!(measured, 0, "{who}: the new device should read the file");
        assert_eq!(from_file, chosen, "{who}: same choices from the file");
    }
    let _ = std::fs::remove_file(&path);
}
