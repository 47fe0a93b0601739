//! `evaluation:`: how often the window is tested, with which tests, and the verdict's policy.

use std::time::Duration;

use crate::detect::{Budget, Policy};
use crate::evaluate::{Compat, MMD_MAX_ROWS};
use crate::stats::correction::Correction;

/// `evaluation.interval`.
pub const INTERVAL: Duration = Duration::from_secs(30);
/// The shortest `evaluation.interval`.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// `evaluation.min_samples`.
pub const MIN_SAMPLES: usize = 500;
/// `evaluation.threads`.
pub const THREADS: usize = 1;
/// `evaluation.tests`: the tests there are, all run by default.
pub const TESTS: [&str; 3] = ["ks", "chi2", "mmd"];
/// `evaluation.p_val` with `false_alarm_budget: off`.
pub const P_VAL: f64 = 0.05;
/// `evaluation.false_alarm_budget`: the expected time between false drift verdicts.
pub const FALSE_ALARM_BUDGET: Duration = Duration::from_secs(30 * 86_400);
/// `evaluation.correction`.
pub const CORRECTION: Correction = Correction::Bonferroni;
/// `evaluation.hysteresis`.
pub const HYSTERESIS: u32 = 3;

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvaluation {
    /// Time between evaluations, e.g. `30s`. Default `30s`.
    pub interval: Option<String>,
    /// Samples the window needs before the first evaluation. Default 500.
    pub min_samples: Option<usize>,
    /// Threads an evaluation may use (the engine's CPU budget). Default 1.
    pub threads: Option<usize>,
    /// Tests to run, any of `ks`, `chi2`, `mmd`. Default all three.
    pub tests: Option<Vec<String>>,
    /// The expected time between false drift verdicts, e.g. `30d`, from which the
    /// per-evaluation level follows; `off` to set `p_val` instead. Default `30d`.
    pub false_alarm_budget: Option<String>,
    /// The per-evaluation family-wise level, with `false_alarm_budget: off`. Default 0.05.
    pub p_val: Option<f64>,
    /// `bonferroni`, `fdr` or `none`. Default `bonferroni`.
    pub correction: Option<String>,
    /// MMD permutations, or `auto` (ten times the reciprocal of the MMD test's threshold).
    /// Default `auto`.
    pub permutations: Option<Count>,
    /// Window rows the MMD test uses at most. Default 2 000.
    pub mmd_max_rows: Option<usize>,
    /// `drifttap` (one family) or `alibi` (alibi-detect's decision). Default `drifttap`.
    pub compat: Option<String>,
    /// A numeric feature drifts only if its normed Wasserstein distance reaches this too.
    /// Default 0 (no floor).
    pub min_wasserstein_normed: Option<f64>,
    /// A categorical feature drifts only if its Jensen–Shannon distance reaches this too.
    /// Default 0 (no floor).
    pub min_jensen_shannon: Option<f64>,
    /// Consecutive evaluations that turn a verdict on or off. Default 3.
    pub hysteresis: Option<u32>,
}

/// A number, or a word such as `auto`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Count {
    Number(usize),
    Word(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationConfig {
    pub interval: Duration,
    pub min_samples: usize,
    pub threads: usize,
    pub ks: bool,
    pub chi2: bool,
    pub mmd: bool,
    /// The per-evaluation family-wise level: from the budget, or `p_val`.
    pub p_val: f64,
    /// The false-alarm budget the level was derived from; `None` with `p_val` set.
    pub budget: Option<Budget>,
    pub correction: Correction,
    /// `None`: automatic.
    pub permutations: Option<usize>,
    pub mmd_max_rows: usize,
    pub compat: Compat,
}

impl RawEvaluation {
    /// The evaluation and the verdict's policy, `None` when something is wrong, which is
    /// added to `problems`. `interval` is the override of the command line and environment.
    pub(super) fn resolve(
        self,
        interval: Option<String>,
        problems: &mut Vec<String>,
    ) -> Option<(EvaluationConfig, Policy)> {
        let interval = match interval.or(self.interval) {
            None => Some(INTERVAL),
            Some(text) => {
                let parsed = super::duration(problems, "evaluation.interval", &text);
                if parsed.is_some_and(|d| d < MIN_INTERVAL) {
                    problems.push(format!("evaluation.interval: at least 100ms, got {text}"));
                }
                parsed
            }
        };
        let tests = self
            .tests
            .unwrap_or_else(|| TESTS.map(String::from).to_vec());
        for test in &tests {
            if !TESTS.contains(&test.as_str()) {
                problems.push(format!(
                    "evaluation.tests: unknown test `{test}` (ks, chi2, mmd)"
                ));
            }
        }
        if let Some(p_val) = self.p_val.filter(|p| !(*p > 0.0 && *p < 1.0)) {
            problems.push(format!("evaluation.p_val: must be in (0, 1), got {p_val}"));
        }
        let budget_period = match self.false_alarm_budget.as_deref() {
            Some("off") => None,
            Some(_) if self.p_val.is_some() => {
                problems.push(
                    "evaluation: set false_alarm_budget or p_val, not both (p_val needs false_alarm_budget: off)"
                        .into(),
                );
                None
            }
            Some(text) => super::duration(problems, "evaluation.false_alarm_budget", text),
            None if self.p_val.is_some() => None,
            None => Some(FALSE_ALARM_BUDGET),
        };
        let permutations = match &self.permutations {
            None => None,
            Some(Count::Word(w)) if w == "auto" => None,
            Some(Count::Number(n)) if *n >= 1 => Some(*n),
            Some(other) => {
                problems.push(format!(
                    "evaluation.permutations: a number of at least 1 or `auto`, got {other:?}"
                ));
                None
            }
        };
        let compat = match self.compat.as_deref() {
            None | Some("drifttap") => Compat::Drifttap,
            Some("alibi") => Compat::Alibi,
            Some(other) => {
                problems.push(format!(
                    "evaluation.compat: `{other}` is not one of drifttap, alibi"
                ));
                Compat::Drifttap
            }
        };
        let mmd_max_rows = self.mmd_max_rows.unwrap_or(MMD_MAX_ROWS);
        if mmd_max_rows < 2 {
            problems.push("evaluation.mmd_max_rows: must be at least 2".into());
        }
        let correction = match self.correction.as_deref() {
            None => Some(CORRECTION),
            Some(name) => {
                let found = Correction::ALL.into_iter().find(|c| c.as_str() == name);
                if found.is_none() {
                    problems.push(format!(
                        "evaluation.correction: `{name}` is not one of bonferroni, fdr, none"
                    ));
                }
                found
            }
        };
        let threads = self.threads.unwrap_or(THREADS);
        if !(1..=256).contains(&threads) {
            problems.push(format!(
                "evaluation.threads: must be between 1 and 256, got {threads}"
            ));
        }
        let floors = [
            (
                "min_wasserstein_normed",
                self.min_wasserstein_normed.unwrap_or(0.0),
            ),
            ("min_jensen_shannon", self.min_jensen_shannon.unwrap_or(0.0)),
        ];
        for (name, value) in floors {
            if !(value >= 0.0 && value.is_finite()) {
                problems.push(format!(
                    "evaluation.{name}: must be a finite number ≥ 0, got {value}"
                ));
            }
        }
        let hysteresis = self.hysteresis.unwrap_or(HYSTERESIS);
        if hysteresis == 0 {
            problems.push("evaluation.hysteresis: must be at least 1".into());
        }
        let runs = |test: &str| tests.iter().any(|t| t == test);
        let interval = interval?;
        let budget = budget_period.map(|period| Budget {
            period,
            interval,
            hysteresis: hysteresis.max(1),
        });
        let p_val = match budget {
            Some(b) => b.alpha(),
            None => self.p_val.unwrap_or(P_VAL),
        };
        Some((
            EvaluationConfig {
                interval,
                min_samples: self.min_samples.unwrap_or(MIN_SAMPLES),
                threads,
                ks: runs("ks"),
                chi2: runs("chi2"),
                mmd: runs("mmd"),
                p_val,
                budget,
                correction: correction?,
                permutations,
                mmd_max_rows,
                compat,
            },
            Policy {
                min_wasserstein_normed: floors[0].1,
                min_jensen_shannon: floors[1].1,
                hysteresis,
            },
        ))
    }
}
