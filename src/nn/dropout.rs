//! [`Dropout`]: torch's `nn.Dropout`.

use super::{Backend, Forward, Init, Module, Var, Visit, VisitMut};
use crate::Error;

/// `Dropout(p)`: in training mode each element is zeroed with probability
/// `p` and the survivors scaled by `1/(1 − p)`; in eval mode the identity.
/// The mask of each call is drawn from the layer's `seed` (taken from the
/// model's generator when the layer is made) and its count of training
/// calls, so a checkpoint that keeps both (extra state, not in the
/// `state_dict`) resumes the same masks.
#[derive(Debug, Clone)]
pub struct Dropout {
    pub p: f32,
    pub seed: u64,
    /// Training-mode calls so far.
    pub calls: u64,
    pub training: bool,
}

impl Dropout {
    pub fn new<B: Backend>(init: &mut Init<B>, p: f32) -> Result<Self, Error> {
        crate::shape::dropout_rule("nn::Dropout", p)?;
        Ok(Dropout {
            p,
            seed: init.rng().next_u64(),
            calls: 0,
            training: true,
        })
    }
}

/// The mask seed of a dropout layer's call number `call`: a SplitMix64
/// finaliser of the pair, so consecutive calls draw unrelated masks.
fn mask_seed(seed: u64, call: u64) -> u64 {
    let mut z = seed ^ call.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<B: Backend> Module<B> for Dropout {
    fn visit<'a>(&'a self, v: &mut dyn Visit<'a, B>) {
        v.extra("seed", self.seed);
        v.extra("calls", self.calls);
        v.training(self.training);
    }
    fn visit_mut<'a>(&'a mut self, v: &mut dyn VisitMut<'a, B>) {
        v.extra("seed", &mut self.seed);
        v.extra("calls", &mut self.calls);
        v.training(&mut self.training);
    }
    fn kind(&self) -> &'static str {
        "Dropout"
    }
}

impl<B: Backend> Forward<B> for Dropout {
    fn forward(&mut self, x: &Var<B>) -> Result<Var<B>, Error> {
        if !self.training {
            return Ok(x.clone());
        }
        let seed = mask_seed(self.seed, self.calls);
        self.calls += 1;
        x.dropout(self.p, seed)
    }
}
