//! [`BatchNorm2d`]: torch's `nn.BatchNorm2d`.

use super::{functional, Backend, Forward, Init, Module, Param, Var, Visit, VisitMut};
use crate::{BatchNorm, Error, Pool2dParams};

/// Batch normalisation over `(N, H, W)` per channel, affine: `weight` (γ,
/// ones) and `bias` (β, zeros) `[C]`, buffers `running_mean` (zeros) and
/// `running_var` (ones) `[C]` and the count `num_batches_tracked`, with
/// `config`'s eps and momentum (torch's defaults: 1e-5, 0.1). In training
/// mode it normalises with the batch's mean and biased variance and moves
/// the running statistics towards the batch's mean and unbiased variance;
/// in eval mode it normalises with them.
#[derive(Debug, Clone)]
pub struct BatchNorm2d<B: Backend> {
    pub weight: Param<B>,
    pub bias: Param<B>,
    pub running_mean: B::Tensor,
    pub running_var: B::Tensor,
    pub num_batches_tracked: u64,
    pub config: BatchNorm,
    pub training: bool,
}

/// What a forward pass runs after the normalisation, in the same op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Nothing,
    Relu,
    ReluMaxPool,
}

impl<B: Backend> BatchNorm2d<B> {
    /// `nn.BatchNorm2d(channels)` with torch's defaults.
    pub fn new(init: &mut Init<B>, channels: usize) -> Result<Self, Error> {
        Self::with_config(init, channels, BatchNorm::default())
    }

    /// `nn.BatchNorm2d(channels, eps, momentum)`.
    pub fn with_config(
        init: &mut Init<B>,
        channels: usize,
        config: BatchNorm,
    ) -> Result<Self, Error> {
        config.validate()?;
        let shape = [channels];
        Ok(BatchNorm2d {
            weight: Param::new(init.filled(&shape, 1.0)?),
            bias: Param::new(init.filled(&shape, 0.0)?),
            running_mean: init.filled(&shape, 0.0)?,
            running_var: init.filled(&shape, 1.0)?,
            num_batches_tracked: 0,
            config,
            training: true,
        })
    }

    fn run(&mut self, x: &Var<B>, after: After) -> Result<Var<B>, Error> {
        let g = x.graph();
        let (w, b) = (self.weight.var(g), self.bias.var(g));
        let (rm, rv) = (&mut self.running_mean, &mut self.running_var);
        let (training, cfg) = (self.training, &self.config);
        let y = match after {
            After::ReluMaxPool => {
                functional::batch_norm2d_relu_max_pool2d(x, &w, &b, rm, rv, training, cfg)?
            }
            After::Nothing | After::Relu => {
                let relu = after == After::Relu;
                functional::batch_norm2d(x, &w, &b, rm, rv, training, cfg, relu)?
            }
        };
        if self.training {
            self.num_batches_tracked += 1;
        }
        Ok(y)
    }
}

impl<B: Backend> Module<B> for BatchNorm2d<B> {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        v.param("weight", &self.weight);
        v.param("bias", &self.bias);
        v.buffer("running_mean", &self.running_mean);
        v.buffer("running_var", &self.running_var);
        v.count("num_batches_tracked", self.num_batches_tracked);
        v.training(self.training);
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        v.param("weight", &mut self.weight);
        v.param("bias", &mut self.bias);
        v.buffer("running_mean", &mut self.running_mean);
        v.buffer("running_var", &mut self.running_var);
        v.count("num_batches_tracked", &mut self.num_batches_tracked);
        v.training(&mut self.training);
    }
    fn kind(&self) -> &'static str {
        "BatchNorm2d"
    }
}

impl<B: Backend> Forward<B> for BatchNorm2d<B> {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        self.run(x, After::Nothing)
    }

    /// Batch norm and ReLU in the same passes over the activations,
    /// forward and backward ([`Backend::batch_norm2d_relu`]): the values of
    /// the two ops one after the other.
    fn forward_relu(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        self.run(x, After::Relu)
    }

    fn fuses_relu(&self) -> bool {
        true
    }

    /// Batch norm, ReLU and the pooling in batch norm's passes where they
    /// fuse ([`Backend::batch_norm2d_relu_max_pool2d`]: 2x2 windows at
    /// stride 2 over even planes), the pooling after the fused ReLU
    /// elsewhere: the values of the three ops one after the other.
    fn forward_relu_max_pool2d(&mut self, x: &Var<B>, p: &Pool2dParams) -> Result<Var<B>, Error> {
        if !p.fuses_after_batch_norm(x.shape()) {
            return self.forward_relu(x)?.max_pool2d(p);
        }
        self.run(x, After::ReluMaxPool)
    }
}
