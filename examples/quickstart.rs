//! The text's worked example on the best adapter: a 5x5 input, a 3x3
//! kernel, stride 2, a 2x2 output; then both gradients and one SGD step.
use wgconv::{Conv2dParams, Gpu, Sgd, SgdState};

fn main() -> Result<(), wgconv::Error> {
    wgconv::quiet_headless_driver_probes();
    let gpu = Gpu::new()?;
    println!("adapter: {:?}", gpu.info());
    let a: Vec<f32> = (1..=25).map(|v| v as f32).collect();
    let x = gpu.tensor(&[1, 1, 5, 5], &a)?;
    let mut w = gpu.tensor(
        &[1, 1, 3, 3],
        &[1.0, 0.0, -1.0, 2.0, 0.0, -2.0, 1.0, 0.0, -1.0],
    )?;
    let p = Conv2dParams::square(2, 0);
    let y = gpu.conv2d(&x, &w, None, &p)?;
    println!("z = {:?}", y.to_vec()?);
    let dy = gpu.tensor(&[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0])?;
    let dw = gpu.conv2d_weight_grad(&x, &dy, [1, 1, 3, 3], &p)?;
    let dx = gpu.conv2d_input_grad(&dy, &w, [1, 1, 5, 5], &p)?;
    println!("dL/dw = {:?}", dw.to_vec()?);
    println!("dL/dx = {:?}", dx.to_vec()?);
    gpu.sgd_step(
        &mut w,
        &dw,
        &mut SgdState::default(),
        &Sgd {
            lr: 0.5,
            ..Default::default()
        },
    )?;
    println!("w after one step = {:?}", w.to_vec()?);
    Ok(())
}
