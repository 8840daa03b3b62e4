//! Learning-rate schedules with `torch.optim.lr_scheduler`'s formulas:
//! the learning rate of step `t` (counted from 0, as torch's `last_epoch`
//! after `t` calls of `scheduler.step()`), computed in f64 from the
//! optimizer's base rate. Set it with [`super::Optimizer::set_lr`] before
//! each step.

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
    OneCycle {
        max_lr: f64,
        total_steps: u64,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
    },
}

impl LrSchedule {
    /// `OneCycleLR`'s defaults for `max_lr` over `total_steps`: 30 % warm-up,
    /// `div_factor` 25, `final_div_factor` 1e4.
    pub fn one_cycle(max_lr: f64, total_steps: u64) -> LrSchedule {
        LrSchedule::OneCycle {
            max_lr,
            total_steps,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
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
            } => {
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
                // torch: phase ends at float(pct_start · total_steps) − 1
                // and total_steps − 1; a step belongs to the first phase
                // whose end it has not passed.
                let warm_end = pct_start * total_steps as f64 - 1.0;
                let last = total_steps as f64 - 1.0;
                let t = t as f64;
                let anneal = |start: f64, end: f64, pct: f64| {
                    end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
                };
                if t <= warm_end {
                    anneal(initial, max_lr, t / warm_end)
                } else {
                    anneal(max_lr, min_lr, (t - warm_end) / (last - warm_end))
                }
            }
        })
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
    }
}
