//! [`InstanceNorm2d`]: torch's `nn.InstanceNorm2d`, with or without
//! running statistics.

use super::{functional, Backend, Forward, Init, Module, Param, Var, Visit, VisitMut};
use crate::shape::check_4d;
use crate::{BatchNorm, Error};

/// `nn.InstanceNorm2d(num_features, eps, momentum, affine,
/// track_running_stats)`: each sample's channel planes of `[N, C, H, W]`
/// normalised by their own mean and biased variance, then (with `affine`)
/// `weight` (ones) and `bias` (zeros) `[C]`.
///
/// Without running statistics (torch's default) training and eval mode
/// compute the same. With them (`running_mean` zeros, `running_var` ones,
/// `num_batches_tracked`, in torch's `state_dict` order), training mode
/// also moves each running statistic towards the batch's average of the
/// planes' means and unbiased variances, by `momentum`, as torch does
/// (it runs batch norm over `[1, N·C, H, W]` with the statistics repeated
/// N times, then averages them over N); eval mode normalises with the
/// running statistics, as batch norm's eval mode does. As in torch,
/// `num_batches_tracked` is saved but never counts (instance norm's
/// momentum is never cumulative).
#[derive(Debug, Clone)]
pub struct InstanceNorm2d<B: Backend> {
    pub weight: Option<Param<B>>,
    pub bias: Option<Param<B>>,
    pub running_mean: Option<B::Tensor>,
    pub running_var: Option<B::Tensor>,
    pub num_batches_tracked: u64,
    pub num_features: usize,
    /// eps, and the momentum of the running statistics.
    pub config: BatchNorm,
    pub training: bool,
}

impl<B: Backend> InstanceNorm2d<B> {
    /// `nn.InstanceNorm2d(num_features)`: eps 1e-5, not affine, no
    /// running statistics.
    pub fn new(init: &mut Init<B>, num_features: usize) -> Result<Self, Error> {
        Self::with_options(init, num_features, 1e-5, false)
    }

    /// `nn.InstanceNorm2d(num_features, eps, affine=affine)`.
    pub fn with_options(
        init: &mut Init<B>,
        num_features: usize,
        eps: f32,
        affine: bool,
    ) -> Result<Self, Error> {
        let config = BatchNorm {
            eps,
            ..BatchNorm::default()
        };
        Self::with_running_stats(init, num_features, config, affine, false)
    }

    /// `nn.InstanceNorm2d(num_features, config.eps, config.momentum,
    /// affine, track_running_stats)`.
    pub fn with_running_stats(
        init: &mut Init<B>,
        num_features: usize,
        config: BatchNorm,
        affine: bool,
        track_running_stats: bool,
    ) -> Result<Self, Error> {
        crate::ops::check_eps("nn::InstanceNorm2d", config.eps)?;
        config.validate()?;
        let shape = [num_features];
        let param = |init: &mut Init<B>, v| -> Result<_, Error> {
            Ok(affine
                .then(|| init.filled(&shape, v))
                .transpose()?
                .map(Param::new))
        };
        let buffer = |init: &mut Init<B>, v| track_running_stats.then(|| init.filled(&shape, v));
        Ok(InstanceNorm2d {
            weight: param(init, 1.0)?,
            bias: param(init, 0.0)?,
            running_mean: buffer(init, 0.0).transpose()?,
            running_var: buffer(init, 1.0).transpose()?,
            num_batches_tracked: 0,
            num_features,
            config,
            training: true,
        })
    }

    /// Moves the running statistics towards `x`'s (training mode), as
    /// torch does: batch norm over `[1, N·C, H, W]` with the statistics
    /// repeated N times, then their average over the N samples (summed in
    /// sample order).
    fn track(&mut self, b: &B, x: &B::Tensor) -> Result<(), Error> {
        let (Some(mean), Some(var)) = (&mut self.running_mean, &mut self.running_var) else {
            return Ok(());
        };
        let &[n, c, h, w] = b.shape(x) else {
            unreachable!("checked 4-d")
        };
        let repeated = |t: &B::Tensor| -> Result<B::Tensor, Error> {
            let v = b.to_vec(t)?;
            b.tensor(&[n * c], &v.repeat(n))
        };
        let (mut rm, mut rv) = (repeated(mean)?, repeated(var)?);
        let ones = b.tensor(&[n * c], &vec![1.0; n * c])?;
        let zeros = b.tensor(&[n * c], &vec![0.0; n * c])?;
        let planes = b.reshape(x, &[1, n * c, h, w])?;
        b.batch_norm2d(&planes, &ones, &zeros, &mut rm, &mut rv, true, &self.config)?;
        let averaged = |t: &B::Tensor| -> Result<B::Tensor, Error> {
            let v = b.to_vec(t)?;
            let avg: Vec<f32> = (0..c)
                .map(|ch| ((0..n).map(|s| v[s * c + ch] as f64).sum::<f64>() / n as f64) as f32)
                .collect();
            b.tensor(&[c], &avg)
        };
        *mean = averaged(&rm)?;
        *var = averaged(&rv)?;
        Ok(())
    }
}

impl<B: Backend> Module<B> for InstanceNorm2d<B> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        v.child("weight", &self.weight);
        v.child("bias", &self.bias);
        if let (Some(mean), Some(var)) = (&self.running_mean, &self.running_var) {
            v.buffer("running_mean", mean);
            v.buffer("running_var", var);
            v.count("num_batches_tracked", self.num_batches_tracked);
        }
        v.training(self.training);
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        v.child("weight", &mut self.weight);
        v.child("bias", &mut self.bias);
        if let (Some(mean), Some(var)) = (&mut self.running_mean, &mut self.running_var) {
            v.buffer("running_mean", mean);
            v.buffer("running_var", var);
            v.count("num_batches_tracked", &mut self.num_batches_tracked);
        }
        v.training(&mut self.training);
    }
    fn kind(&self) -> &'static str {
        "InstanceNorm2d"
    }
}

impl<B: Backend> Forward<B> for InstanceNorm2d<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        const OP: &str = "nn::InstanceNorm2d";
        check_4d(OP, "input", x.shape())?;
        let g = x.graph();
        let w = self.weight.as_ref().map(|p| p.var(g));
        let b = self.bias.as_ref().map(|p| p.var(g));
        let tracking = self.running_mean.is_some();
        if tracking && x.shape()[1] != self.num_features {
            return Err(Error::ShapeMismatch {
                op: OP,
                tensor: "input channels (the running statistics')",
                expected: vec![self.num_features],
                got: vec![x.shape()[1]],
            });
        }
        if tracking && !self.training {
            // torch's eval mode with running statistics: batch norm's.
            let be = x.backend();
            let c = x.shape()[1];
            let constant =
                |v: f32| -> Result<Var<B>, Error> { Ok(g.input(be.tensor(&[c], &vec![v; c])?)) };
            let w = match w {
                Some(w) => w,
                None => constant(1.0)?,
            };
            let b = match b {
                Some(b) => b,
                None => constant(0.0)?,
            };
            let (Some(mean), Some(var)) = (&mut self.running_mean, &mut self.running_var) else {
                unreachable!("tracking")
            };
            return functional::batch_norm2d(x, &w, &b, mean, var, false, &self.config, false);
        }
        let y = functional::instance_norm(x, w.as_ref(), b.as_ref(), self.config.eps)?;
        if tracking && self.training {
            self.track(x.backend(), x.value())?;
        }
        Ok(y)
    }
}
