//! torch's `nn.init`: a parameter re-drawn in place from a seeded
//! generator, with torch's fans, gains and bounds (`kaiming_uniform_`,
//! `kaiming_normal_`, `xavier_uniform_`, `xavier_normal_`, `uniform_`,
//! `normal_`, `constant_`, `zeros_`, `ones_`, `dirac_`). The draws are
//! wgconv's generator's, not torch's: the same distribution, other values.

use super::{Backend, Param};
use crate::rng::Rng;
use crate::Error;

/// Whose fan scales `kaiming_*` (torch's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanMode {
    /// Keeps the forward pass's variance (torch's default).
    #[default]
    FanIn,
    /// Keeps the backward pass's.
    FanOut,
}

/// The non-linearity a gain is for (torch's `calculate_gain`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nonlinearity {
    Linear,
    Conv,
    Sigmoid,
    Tanh,
    Relu,
    /// With its negative slope (torch's `param`, default 0.01).
    LeakyRelu(f32),
    Selu,
}

/// torch's `nn.init.calculate_gain`: 1 for linear, convolutions and the
/// sigmoid, 5/3 for tanh, √2 for ReLU, √(2 / (1 + slope²)) for LeakyReLU,
/// 3/4 for SELU.
pub fn calculate_gain(nonlinearity: Nonlinearity) -> f32 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f32.sqrt(),
        Nonlinearity::LeakyRelu(slope) => (2.0 / (1.0 + slope * slope)).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

fn bad(op: &'static str, message: String) -> Error {
    Error::InvalidParam {
        op,
        param: "tensor",
        message,
    }
}

/// torch's `_calculate_fan_in_and_fan_out`: `(shape[1] · receptive field,
/// shape[0] · receptive field)`, the receptive field the product of the
/// dimensions after the first two. Fails below 2 dimensions, as torch.
pub fn fans(shape: &[usize]) -> Result<(usize, usize), Error> {
    if shape.len() < 2 {
        return Err(bad(
            "nn::init",
            format!(
                "fan in and fan out can not be computed for a tensor of {} dimension(s) \
                 (torch needs 2 or more)",
                shape.len()
            ),
        ));
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

/// Uniform in [0, 1) with 53 random bits.
fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box–Muller; one draw per call).
fn gaussian(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]: the log is finite
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn refill<B: Backend>(
    b: &B,
    p: &mut Param<B>,
    mut value: impl FnMut(usize) -> f32,
) -> Result<(), Error> {
    let shape = b.shape(p.value()).to_vec();
    let len: usize = shape.iter().product();
    let data: Vec<f32> = (0..len).map(&mut value).collect();
    p.set_value(b.tensor(&shape, &data)?);
    Ok(())
}

/// `uniform_(p, low, high)`.
pub fn uniform<B: Backend>(
    b: &B,
    p: &mut Param<B>,
    rng: &mut Rng,
    low: f32,
    high: f32,
) -> Result<(), Error> {
    if !(low.is_finite() && high.is_finite() && low <= high) {
        return Err(bad(
            "nn::init::uniform",
            format!("[{low}, {high}) is not a range"),
        ));
    }
    refill(b, p, |_| {
        (low as f64 + (high - low) as f64 * unit(rng)) as f32
    })
}

/// `normal_(p, mean, std)`.
pub fn normal<B: Backend>(
    b: &B,
    p: &mut Param<B>,
    rng: &mut Rng,
    mean: f32,
    std: f32,
) -> Result<(), Error> {
    if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
        return Err(bad("nn::init::normal", format!("mean {mean}, std {std}")));
    }
    refill(b, p, |_| (mean as f64 + std as f64 * gaussian(rng)) as f32)
}

/// `constant_(p, value)`.
pub fn constant<B: Backend>(b: &B, p: &mut Param<B>, value: f32) -> Result<(), Error> {
    refill(b, p, |_| value)
}

/// `zeros_(p)`.
pub fn zeros<B: Backend>(b: &B, p: &mut Param<B>) -> Result<(), Error> {
    constant(b, p, 0.0)
}

/// `ones_(p)`.
pub fn ones<B: Backend>(b: &B, p: &mut Param<B>) -> Result<(), Error> {
    constant(b, p, 1.0)
}

/// `xavier_uniform_(p, gain)`: uniform in `±gain · √(6 / (fan_in + fan_out))`.
pub fn xavier_uniform<B: Backend>(
    b: &B,
    p: &mut Param<B>,
    rng: &mut Rng,
    gain: f32,
) -> Result<(), Error> {
    let (fan_in, fan_out) = fans(b.shape(p.value()))?;
    let a = gain as f64 * (6.0 / (fan_in + fan_out) as f64).sqrt();
    uniform(b, p, rng, -a as f32, a as f32)
}

/// `xavier_normal_(p, gain)`: std `gain · √(2 / (fan_in + fan_out))`.
pub fn xavier_normal<B: Backend>(
    b: &B,
    p: &mut Param<B>,
    rng: &mut Rng,
    gain: f32,
) -> Result<(), Error> {
    let (fan_in, fan_out) = fans(b.shape(p.value()))?;
    let std = gain as f64 * (2.0 / (fan_in + fan_out) as f64).sqrt();
    normal(b, p, rng, 0.0, std as f32)
}

/// The fan `mode` picks, and the gain of `nonlinearity`.
fn kaiming_std(shape: &[usize], mode: FanMode, nonlinearity: Nonlinearity) -> Result<f64, Error> {
    let (fan_in, fan_out) = fans(shape)?;
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    if fan == 0 {
        return Err(bad("nn::init::kaiming", "a tensor with a zero fan".into()));
    }
    Ok(calculate_gain(nonlinearity) as f64 / (fan as f64).sqrt())
}

/// `kaiming_uniform_(p, a, mode, nonlinearity)`: uniform in
/// `±gain · √(3 / fan)`. torch's defaults are `FanIn` and
/// `LeakyRelu(0.0)` (gain √2).
pub fn kaiming_uniform<B: Backend>(
    b: &B,
    p: &mut Param<B>,
    rng: &mut Rng,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<(), Error> {
    let bound = 3f64.sqrt() * kaiming_std(b.shape(p.value()), mode, nonlinearity)?;
    uniform(b, p, rng, -bound as f32, bound as f32)
}

/// `kaiming_normal_(p, a, mode, nonlinearity)`: std `gain / √fan`.
pub fn kaiming_normal<B: Backend>(
    b: &B,
    p: &mut Param<B>,
    rng: &mut Rng,
    mode: FanMode,
    nonlinearity: Nonlinearity,
) -> Result<(), Error> {
    let std = kaiming_std(b.shape(p.value()), mode, nonlinearity)?;
    normal(b, p, rng, 0.0, std as f32)
}

/// `dirac_(p, groups)`: a convolution weight `[out, in, k…]` (3 to 5
/// dimensions) that passes each of the first `min(out/groups, in)`
/// input channels of every group through unchanged: 1 at the kernel's
/// centre of `[g·out/groups + d, d]`, 0 elsewhere.
pub fn dirac<B: Backend>(b: &B, p: &mut Param<B>, groups: usize) -> Result<(), Error> {
    let shape = b.shape(p.value()).to_vec();
    if !(3..=5).contains(&shape.len()) {
        return Err(bad(
            "nn::init::dirac",
            format!(
                "a tensor of {} dimensions: only 3, 4 and 5 are supported",
                shape.len()
            ),
        ));
    }
    if groups == 0 || !shape[0].is_multiple_of(groups) {
        return Err(bad(
            "nn::init::dirac",
            format!(
                "{} output channels do not divide into {groups} groups",
                shape[0]
            ),
        ));
    }
    let per_group = shape[0] / groups;
    let kernel: usize = shape[2..].iter().product();
    // The centre of each kernel dimension, row-major.
    let centre = shape[2..].iter().fold(0, |at, &k| at * k + k / 2);
    let mut data = vec![0.0f32; shape.iter().product()];
    for g in 0..groups {
        for d in 0..per_group.min(shape[1]) {
            let out = g * per_group + d;
            data[(out * shape[1] + d) * kernel + centre] = 1.0;
        }
    }
    p.set_value(b.tensor(&shape, &data)?);
    Ok(())
}
