//! Learning-rate schedules with `torch.optim.lr_scheduler`'s formulas:
//! the learning rate of step `t` (counted from 0, as torch's `last_epoch`
//! after `t` calls of `scheduler.step()`), computed in f64 from the
//! optimizer's base rate. Set it with [`super::Optimizer::set_lr`] before
//! each step, and, where the schedule cycles the momentum
//! ([`LrSchedule::momentum`]), [`super::Optimizer::set_momentum`] too.

use crate::Error;
use std::f64::consts::PI;

/// A schedule; `t` counts what the caller steps it by (epochs or batches).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// The base rate throughout.
    Constant,
    /// `StepLR`: `base · gamma^⌊t / step_size⌋`.
    Step { step_size: u64, gamma: f64 },
    /// `CosineAnnealingLR` in torch's closed form:
    /// `eta_min + (base − eta_min) · (1 + cos(π · t / t_max)) / 2`.
    Cosine { t_max: u64, eta_min: f64 },
    /// `OneCycleLR` with cosine annealing and two phases (torch's default,
    /// `three_phase=False`): from `max_lr / div_factor` up to `max_lr` over
    /// the first `pct_start · total_steps − 1` steps, then down to
    /// `max_lr / div_factor / final_div_factor` at step `total_steps − 1`.
    /// The base rate is not used, as in torch (where `max_lr` replaces it).
    /// With `momentum` `(base, max)` (torch's `cycle_momentum=True`, its
    /// default, 0.85 and 0.95) SGD's momentum or Adam's β1 moves the other
    /// way: from `max` down to `base` while the rate warms up, back to
    /// `max` while it anneals; None is `cycle_momentum=False`.
    OneCycle {
        max_lr: f64,
        total_steps: u64,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
        momentum: Option<(f64, f64)>,
    },
}

impl LrSchedule {
    /// `OneCycleLR`'s defaults for `max_lr` over `total_steps`: 30 % warm-up,
    /// `div_factor` 25, `final_div_factor` 1e4, the momentum cycled
    /// between 0.85 and 0.95.
    pub fn one_cycle(max_lr: f64, total_steps: u64) -> LrSchedule {
        LrSchedule::OneCycle {
            max_lr,
            total_steps,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
            momentum: Some((0.85, 0.95)),
        }
    }

    /// The same schedule without momentum cycling (`cycle_momentum=False`).
    pub fn without_momentum_cycling(self) -> LrSchedule {
        match self {
            LrSchedule::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
                ..
            } => LrSchedule::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
                momentum: None,
            },
            other => other,
        }
    }

    /// `Err(InvalidParam)` where torch's constructor refuses the schedule.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |param, message: String| {
            Err(Error::InvalidParam {
                op: "lr_schedule",
                param,
                message,
            })
        };
        match *self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Step { step_size, gamma } => {
                if step_size == 0 {
                    return bad("step_size", "must be at least 1".into());
                }
                if !(gamma.is_finite() && gamma > 0.0) {
                    return bad("gamma", format!("must be finite and > 0, got {gamma}"));
                }
                Ok(())
            }
            LrSchedule::Cosine { t_max, eta_min } => {
                if t_max == 0 {
                    return bad("t_max", "must be at least 1".into());
                }
                if !(eta_min.is_finite() && eta_min >= 0.0) {
                    return bad("eta_min", format!("must be finite and >= 0, got {eta_min}"));
                }
                Ok(())
            }
            LrSchedule::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
                momentum,
            } => {
                if let Some((base, max)) = momentum {
                    for (name, v) in [("base_momentum", base), ("max_momentum", max)] {
                        if !(0.0..1.0).contains(&v) {
                            return bad(name, format!("must be in [0, 1), got {v}"));
                        }
                    }
                }
                if total_steps == 0 {
                    return bad("total_steps", "must be at least 1".into());
                }
                if !(0.0..=1.0).contains(&pct_start) {
                    return bad("pct_start", format!("must be in [0, 1], got {pct_start}"));
                }
                for (name, v) in [
                    ("max_lr", max_lr),
                    ("div_factor", div_factor),
                    ("final_div_factor", final_div_factor),
                ] {
                    if !(v.is_finite() && v > 0.0) {
                        return bad(name, format!("must be finite and > 0, got {v}"));
                    }
                }
                Ok(())
            }
        }
    }

    /// The learning rate of step `t` for base rate `base_lr`. One-cycle
    /// takes `t` up to `total_steps` (the scheduler's state after the
    /// last step, where torch's formula has turned upwards again) and
    /// fails past it, as torch's does.
    pub fn lr(&self, base_lr: f64, t: u64) -> Result<f64, Error> {
        self.validate()?;
        Ok(match *self {
            LrSchedule::Constant => base_lr,
            LrSchedule::Step { step_size, gamma } => {
                base_lr * gamma.powi((t / step_size).min(i32::MAX as u64) as i32)
            }
            LrSchedule::Cosine { t_max, eta_min } => {
                eta_min + (base_lr - eta_min) * (1.0 + (PI * t as f64 / t_max as f64).cos()) / 2.0
            }
            LrSchedule::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
                ..
            } => {
                if t > total_steps {
                    return Err(Error::InvalidParam {
                        op: "lr_schedule",
                        param: "step",
                        message: format!(
                            "one-cycle step {t} is past the last of its {total_steps} steps"
                        ),
                    });
                }
                let initial = max_lr / div_factor;
                let min_lr = initial / final_div_factor;
                one_cycle_phase(pct_start, total_steps, t, (initial, max_lr, min_lr))
            }
        })
    }

    /// The momentum (SGD's) or β1 (Adam's) of step `t` where the schedule
    /// cycles it (one-cycle with `momentum`), else None.
    pub fn momentum(&self, t: u64) -> Result<Option<f64>, Error> {
        match *self {
            LrSchedule::OneCycle {
                total_steps,
                pct_start,
                momentum: Some((base, max)),
                ..
            } => {
                // The step's range check is the rate's.
                self.lr(0.0, t)?;
                Ok(Some(one_cycle_phase(
                    pct_start,
                    total_steps,
                    t,
                    (max, base, max),
                )))
            }
            _ => Ok(None),
        }
    }
}

/// torch's two-phase one-cycle curve at step `t` through `(start, peak,
/// end)`: cosine from `start` to `peak` until step `pct_start ·
/// total_steps − 1`, then from `peak` to `end` at step `total_steps − 1`;
/// a step belongs to the first phase whose end it has not passed.
fn one_cycle_phase(
    pct_start: f64,
    total_steps: u64,
    t: u64,
    (start, peak, end): (f64, f64, f64),
) -> f64 {
    let warm_end = pct_start * total_steps as f64 - 1.0;
    let last = total_steps as f64 - 1.0;
    let t = t as f64;
    let anneal = |from: f64, to: f64, pct: f64| to + (from - to) / 2.0 * ((PI * pct).cos() + 1.0);
    if t <= warm_end {
        anneal(start, peak, t / warm_end)
    } else {
        anneal(peak, end, (t - warm_end) / (last - warm_end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        // The annealing formula cancels (end + (start − end)): a few ulps
        // of the larger rate, as in torch.
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300)
    }

    #[test]
    fn step_lr_halves_every_step_size_steps() {
        let s = LrSchedule::Step {
            step_size: 3,
            gamma: 0.5,
        };
        let got: Vec<f64> = (0..8).map(|t| s.lr(0.1, t).unwrap()).collect();
        assert_eq!(got, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]);
    }

    #[test]
    fn cosine_runs_from_base_to_eta_min() {
        let s = LrSchedule::Cosine {
            t_max: 10,
            eta_min: 0.001,
        };
        assert_eq!(s.lr(0.1, 0).unwrap(), 0.1);
        assert!(close(s.lr(0.1, 5).unwrap(), (0.1 + 0.001) / 2.0));
        assert!(close(s.lr(0.1, 10).unwrap(), 0.001));
        // Past t_max the closed form rises again, as torch's does.
        assert!(s.lr(0.1, 12).unwrap() > s.lr(0.1, 10).unwrap());
    }

    /// PyTorch 2.x's `OneCycleLR(max_lr=0.01, total_steps=100)` after 100
    /// `step()` calls.
    const TORCH_STEP_100: f64 = 5.074647154757324e-06;

    /// torch.optim.lr_scheduler.OneCycleLR(max_lr=0.01, total_steps=100):
    /// 0.0004 at step 0, 0.01 at step 29 (= 0.3·100 − 1), 4e-8 at step 99,
    /// the midpoint of the way down at step 64; at step 100 (where a
    /// scheduler stands after its last `step()`) torch's value, past the
    /// floor on the way back up; an error at step 101.
    #[test]
    fn one_cycle_warms_up_then_anneals_to_its_floor() {
        let s = LrSchedule::one_cycle(0.01, 100);
        assert!(close(s.lr(1.0, 0).unwrap(), 0.0004));
        assert!(close(s.lr(1.0, 29).unwrap(), 0.01));
        assert!(close(s.lr(1.0, 99).unwrap(), 4e-8));
        assert!(close(s.lr(1.0, 64).unwrap(), (0.01 + 4e-8) / 2.0));
        let lrs: Vec<f64> = (0..100).map(|t| s.lr(1.0, t).unwrap()).collect();
        assert!(lrs[..30].windows(2).all(|w| w[0] < w[1]), "warm-up rises");
        assert!(lrs[29..].windows(2).all(|w| w[0] > w[1]), "annealing falls");
        assert!(close(s.lr(1.0, 100).unwrap(), TORCH_STEP_100));
        assert!(matches!(
            s.lr(1.0, 101),
            Err(Error::InvalidParam { param: "step", .. })
        ));
    }

    /// torch's `OneCycleLR(max_lr=0.01, total_steps=100)` over SGD with
    /// momentum (and AdamW's β1, the same numbers): 0.95 at step 0, 0.85 at
    /// the peak rate, 0.9 half way down, 0.95 at the last step, and
    /// torch's value after the last `step()`; without cycling, None.
    #[test]
    fn one_cycle_cycles_the_momentum_against_the_rate() {
        let s = LrSchedule::one_cycle(0.01, 100);
        let m = |t| s.momentum(t).unwrap().unwrap();
        assert!(close(m(0), 0.95));
        assert!(close(m(29), 0.85));
        assert!(close(m(64), 0.8999999999999999));
        assert!(close(m(99), 0.95));
        assert!(close(m(100), 0.9499496533270657));
        assert!(s.momentum(101).is_err());
        let ms: Vec<f64> = (0..100).map(m).collect();
        assert!(
            ms[..30].windows(2).all(|w| w[0] > w[1]),
            "falls while the rate rises"
        );
        assert!(
            ms[29..].windows(2).all(|w| w[0] < w[1]),
            "rises while the rate falls"
        );
        assert_eq!(s.without_momentum_cycling().momentum(5).unwrap(), None);
        assert_eq!(LrSchedule::Constant.momentum(5).unwrap(), None);
    }

    #[test]
    fn invalid_schedules_are_refused() {
        for s in [
            LrSchedule::Step {
                step_size: 0,
                gamma: 0.1,
            },
            LrSchedule::Cosine {
                t_max: 0,
                eta_min: 0.0,
            },
            LrSchedule::OneCycle {
                max_lr: 0.1,
                total_steps: 10,
                pct_start: 1.5,
                div_factor: 25.0,
                final_div_factor: 1e4,
                momentum: None,
            },
            LrSchedule::OneCycle {
                max_lr: 0.1,
                total_steps: 10,
                pct_start: 0.3,
                div_factor: 25.0,
                final_div_factor: 1e4,
                momentum: Some((0.85, 1.0)),
            },
        ] {
            assert!(s.lr(0.1, 0).is_err(), "{s:?}");
        }
    }

    #[test]
    fn the_optimizer_takes_the_scheduled_rate_and_refuses_a_bad_one() {
        use crate::nn::{Cpu, Optimizer, OptimizerConfig};
        let config = OptimizerConfig::Adam(crate::Adam::adamw());
        let mut opt = Optimizer::<Cpu<f32>>::new(config).unwrap();
        let lr = LrSchedule::one_cycle(0.01, 100).lr(1.0, 29).unwrap() as f32;
        opt.set_lr(lr).unwrap();
        assert_eq!(opt.lr(), lr);
        assert!(opt.set_lr(-1.0).is_err());
        assert_eq!(opt.lr(), lr, "a refused rate leaves the last one");
        // The cycled momentum is Adam's β1, SGD's momentum.
        opt.set_momentum(0.85).unwrap();
        assert!(matches!(opt.config(), OptimizerConfig::Adam(a) if a.betas == (0.85, 0.999)));
        assert!(opt.set_momentum(1.5).is_err());
        let mut sgd =
            Optimizer::<Cpu<f32>>::new(OptimizerConfig::Sgd(crate::Sgd::default())).unwrap();
        sgd.set_momentum(0.95).unwrap();
        assert!(matches!(sgd.config(), OptimizerConfig::Sgd(s) if s.momentum == 0.95));
    }
}
