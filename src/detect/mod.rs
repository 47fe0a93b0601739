//! Decisions: from one evaluation's statistics to verdicts that do not flap.
//!
//! Pure policy, no I/O. An evaluation has already applied the p-value threshold and the
//! multiple-testing correction (each feature's `drift` in a [`Report`]); this module adds
//! what a long-running watcher needs on top:
//!
//! - an **effect-size floor**: with large windows a KS test flags shifts too small to matter, so
//!   a feature only counts as drifting when its effect size also reaches a floor (normed
//!   Wasserstein for numeric features, Jensen–Shannon distance for categorical ones);
//! - **hysteresis**: a feature (or the model) turns drifting after `k` consecutive drifting
//!   evaluations and clears after `k` consecutive clean ones, so alerts and webhooks fire once
//!   per episode instead of on every noisy evaluation.
//!
//! The model drifts when any feature drifts (after the floor) or the MMD test does.
//!
//! **Decisions count fresh data.** Successive windows of a sidecar overlap: counting every
//! evaluation would count one unlucky stretch of rows again and again. The engine hands an
//! evaluation to [`Verdicts::decide`] only when every row of its window arrived after the
//! newest row of the last one it counted; the others are *stale* and change no verdict. Counted
//! evaluations then see disjoint rows, independent under the null, which is what makes the
//! [`Budget`] a statement and not a hope.

use std::collections::BTreeMap;

use crate::data::Kind;
use crate::evaluate::{FeatureReport, Report};

/// A false-alarm budget: the expected time between false drift verdicts of one sidecar whose
/// traffic matches its baseline, from which the per-evaluation level follows.
///
/// With the hysteresis `k`, a verdict turns on only after `k` consecutive counted evaluations
/// drift; counted evaluations are independent under the null (they see disjoint rows) and
/// happen at most once per `interval`, so over the budget `B` there are at most
/// `N = B / interval` of them and the expected number of false turn-ons is at most `N·αᵏ`.
/// Setting it to 1 gives `α = N^(−1/k)`: for 30 days at 30 s and `k = 3`, `α = 0.0226`.
/// Traffic that turns the window over less than once per interval counts fewer evaluations
/// and raises fewer false alarms than the budget; the detection delay is `k` turnovers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// The expected time between false alarms.
    pub period: std::time::Duration,
    /// The time between evaluations.
    pub interval: std::time::Duration,
    pub hysteresis: u32,
}

impl Budget {
    /// The per-evaluation family-wise level: `N^(−1/k)` with `N = period / interval`
    /// (at least one evaluation), at most 0.5.
    pub fn alpha(&self) -> f64 {
        let evaluations = (self.period.as_secs_f64() / self.interval.as_secs_f64()).max(1.0);
        evaluations
            .powf(-1.0 / f64::from(self.hysteresis.max(1)))
            .min(0.5)
    }

    /// The expected false alarms per day of one sidecar that counts an evaluation at every
    /// interval, at the level `alpha` (an upper bound: `N·αᵏ` per day).
    pub fn false_alarms_per_day(&self, alpha: f64) -> f64 {
        let per_day = 86_400.0 / self.interval.as_secs_f64();
        per_day * alpha.powi(self.hysteresis.max(1) as i32)
    }
}

/// How raw test outcomes become verdicts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// A numeric feature counts as drifting only if its normed Wasserstein distance is at least
    /// this (0 disables the floor).
    pub min_wasserstein_normed: f64,
    /// A categorical feature counts as drifting only if its Jensen–Shannon distance is at least
    /// this (0 disables the floor).
    pub min_jensen_shannon: f64,
    /// Consecutive drifting evaluations that turn a verdict on, and clean ones that turn it off.
    pub hysteresis: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_wasserstein_normed: 0.0,
            min_jensen_shannon: 0.0,
            hysteresis: 3,
        }
    }
}

impl Policy {
    /// Whether one evaluation of a feature counts as drifting under this policy.
    pub fn raw_drift(&self, feature: &FeatureReport) -> bool {
        if feature.missing_drift {
            return true;
        }
        if !feature.distribution_drift() {
            return false;
        }
        match feature.kind {
            Kind::Numeric => feature
                .wasserstein_normed
                .is_none_or(|w| w >= self.min_wasserstein_normed),
            Kind::Categorical => feature
                .jensen_shannon
                .is_none_or(|js| js >= self.min_jensen_shannon),
        }
    }
}

/// One verdict with hysteresis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latch {
    /// The verdict.
    pub drifting: bool,
    /// Consecutive evaluations that disagreed with the verdict so far.
    pub streak: u32,
}

impl Latch {
    /// Feeds one evaluation; returns whether the verdict changed.
    pub fn update(&mut self, raw: bool, hysteresis: u32) -> bool {
        if raw == self.drifting {
            self.streak = 0;
            return false;
        }
        self.streak += 1;
        if self.streak >= hysteresis.max(1) {
            self.drifting = raw;
            self.streak = 0;
            return true;
        }
        false
    }
}

/// What changed in one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// The model's verdict turned on (`true`) or off.
    Model { drifting: bool },
    /// A feature's verdict turned on or off.
    Feature { name: String, drifting: bool },
}

/// The verdicts of one model across evaluations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdicts {
    pub model: Latch,
    /// The multivariate test's own verdict.
    pub multivariate: Latch,
    pub features: BTreeMap<String, Latch>,
    /// Evaluations decided so far.
    pub evaluations: u64,
}

impl Verdicts {
    /// Feeds one evaluation and returns the transitions it caused, model first.
    pub fn decide(&mut self, report: &Report, policy: &Policy) -> Vec<Transition> {
        self.evaluations += 1;
        let mut transitions = Vec::new();
        let mut any_feature = false;
        for feature in &report.features {
            let raw = policy.raw_drift(feature);
            any_feature |= raw;
            let latch = self.features.entry(feature.name.clone()).or_default();
            if latch.update(raw, policy.hysteresis) {
                transitions.push(Transition::Feature {
                    name: feature.name.clone(),
                    drifting: latch.drifting,
                });
            }
        }
        let mmd = report.multivariate.as_ref().is_some_and(|m| m.drift);
        self.multivariate.update(mmd, policy.hysteresis);
        if self.model.update(any_feature || mmd, policy.hysteresis) {
            transitions.insert(
                0,
                Transition::Model {
                    drifting: self.model.drifting,
                },
            );
        }
        transitions
    }

    /// Whether `feature` is currently drifting.
    pub fn feature(&self, name: &str) -> bool {
        self.features.get(name).is_some_and(|l| l.drifting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::{MultivariateReport, PValueMethod, Test};
    use crate::stats::correction::Correction;

    fn feature(name: &str, kind: Kind, drift: bool, effect: f64) -> FeatureReport {
        FeatureReport {
            name: name.into(),
            kind,
            test: match kind {
                Kind::Numeric => Test::Ks,
                Kind::Categorical => Test::Chi2,
            },
            statistic: Some(0.1),
            p_value: Some(if drift { 1e-9 } else { 0.5 }),
            p_value_method: Some(PValueMethod::Asymp),
            threshold: Some(0.01),
            drift,
            n_reference: 1000,
            n_current: 100,
            missing_current: 0.0,
            missing_reference: 0.0,
            wasserstein_normed: (kind == Kind::Numeric).then_some(effect),
            psi: Some(effect),
            jensen_shannon: Some(effect),
            unseen_share: None,
            missing_p_value: None,
            missing_threshold: None,
            missing_drift: false,
        }
    }

    fn report(features: Vec<FeatureReport>, mmd: bool) -> Report {
        Report {
            drift: features.iter().any(|f| f.drift) || mmd,
            correction: Correction::Bonferroni,
            threshold: 0.05,
            features,
            multivariate: Some(MultivariateReport {
                test: Test::Mmd,
                statistic: 0.01,
                sigma: 1.0,
                p_value: if mmd { 0.0 } else { 0.6 },
                permutations: 100,
                threshold: 0.025,
                drift: mmd,
                features: Vec::new(),
                n_reference: 100,
                n_current: 100,
                seed: 0,
            }),
            chunks: None,
        }
    }

    #[test]
    fn a_latch_needs_k_agreeing_evaluations_to_turn_either_way() {
        let mut latch = Latch::default();
        let seen: Vec<bool> = [
            true, true, false, true, true, true, false, false, true, false,
        ]
        .iter()
        .map(|raw| {
            latch.update(*raw, 3);
            latch.drifting
        })
        .collect();
        assert_eq!(
            seen,
            [
                false, false, false, false, false, true, true, true, true, true
            ]
        );
        for _ in 0..3 {
            latch.update(false, 3);
        }
        assert!(!latch.drifting);
        // k = 1 (or 0) follows every evaluation.
        let mut eager = Latch::default();
        assert!(eager.update(true, 0));
        assert!(eager.update(false, 1));
    }

    #[test]
    fn the_effect_floor_ignores_significant_but_tiny_shifts() {
        let policy = Policy {
            min_wasserstein_normed: 0.1,
            min_jensen_shannon: 0.05,
            hysteresis: 1,
        };
        assert!(!policy.raw_drift(&feature("income", Kind::Numeric, true, 0.02)));
        assert!(policy.raw_drift(&feature("income", Kind::Numeric, true, 0.2)));
        assert!(!policy.raw_drift(&feature("income", Kind::Numeric, false, 0.9)));
        assert!(!policy.raw_drift(&feature("home", Kind::Categorical, true, 0.01)));
        assert!(policy.raw_drift(&feature("home", Kind::Categorical, true, 0.06)));
    }

    #[test]
    fn transitions_are_reported_once_per_episode_model_first() {
        let policy = Policy {
            hysteresis: 2,
            ..Policy::default()
        };
        let mut verdicts = Verdicts::default();
        let drifting = report(
            vec![
                feature("income", Kind::Numeric, true, 0.3),
                feature("age", Kind::Numeric, false, 0.0),
            ],
            false,
        );
        let stable = report(vec![feature("income", Kind::Numeric, false, 0.0)], false);
        assert!(verdicts.decide(&drifting, &policy).is_empty());
        assert_eq!(
            verdicts.decide(&drifting, &policy),
            [
                Transition::Model { drifting: true },
                Transition::Feature {
                    name: "income".into(),
                    drifting: true
                }
            ]
        );
        assert!(verdicts.decide(&drifting, &policy).is_empty());
        assert!(verdicts.feature("income") && !verdicts.feature("age"));
        assert!(verdicts.decide(&stable, &policy).is_empty());
        assert_eq!(verdicts.decide(&stable, &policy).len(), 2);
        assert!(!verdicts.model.drifting);
        assert_eq!(verdicts.evaluations, 5);
    }

    #[test]
    fn the_mmd_alone_turns_the_model_verdict() {
        let policy = Policy {
            hysteresis: 1,
            ..Policy::default()
        };
        let mut verdicts = Verdicts::default();
        let t = verdicts.decide(
            &report(vec![feature("a", Kind::Numeric, false, 0.0)], true),
            &policy,
        );
        assert_eq!(t, [Transition::Model { drifting: true }]);
        assert!(verdicts.multivariate.drifting);
    }

    #[test]
    fn the_budget_sets_the_level_so_false_alarms_fit_it() {
        let budget = Budget {
            period: std::time::Duration::from_secs(30 * 86_400),
            interval: std::time::Duration::from_secs(30),
            hysteresis: 3,
        };
        let alpha = budget.alpha();
        // 86 400 evaluations in 30 days: α³ · 86 400 = 1.
        assert!((alpha - 86_400f64.powf(-1.0 / 3.0)).abs() < 1e-15);
        assert!((alpha - 0.022_6).abs() < 1e-4, "{alpha}");
        let per_30_days = budget.false_alarms_per_day(alpha) * 30.0;
        assert!((per_30_days - 1.0).abs() < 1e-9, "{per_30_days}");
        let once = Budget {
            hysteresis: 1,
            ..budget
        };
        assert!((once.alpha() - 1.0 / 86_400.0).abs() < 1e-15);
    }
}
