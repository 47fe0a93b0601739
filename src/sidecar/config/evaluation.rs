//! `evaluation:`: how often the window is tested, with which tests, and the verdict's policy.

use std::time::Duration;

use crate::detect::Policy;
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
/// `evaluation.p_val`.
pub const P_VAL: f64 = 0.05;
/// `evaluation.correction`.
pub const CORRECTION: Correction = Correction::Bonferroni;
/// `evaluation.permutations`.
pub const PERMUTATIONS: usize = 100;
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
    /// p-value threshold before correction. Default 0.05.
    pub p_val: Option<f64>,
    /// `bonferroni`, `fdr` or `none`. Default `bonferroni`.
    pub correction: Option<String>,
    /// MMD permutations. Default 100.
    pub permutations: Option<usize>,
    /// A numeric feature drifts only if its normed Wasserstein distance reaches this too.
    /// Default 0 (no floor).
    pub min_wasserstein_normed: Option<f64>,
    /// A categorical feature drifts only if its Jensen–Shannon distance reaches this too.
    /// Default 0 (no floor).
    pub min_jensen_shannon: Option<f64>,
    /// Consecutive evaluations that turn a verdict on or off. Default 3.
    pub hysteresis: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationConfig {
    pub interval: Duration,
    pub min_samples: usize,
    pub threads: usize,
    pub ks: bool,
    pub chi2: bool,
    pub mmd: bool,
    pub p_val: f64,
    pub correction: Correction,
    pub permutations: usize,
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
        let p_val = self.p_val.unwrap_or(P_VAL);
        if !(p_val > 0.0 && p_val < 1.0) {
            problems.push(format!("evaluation.p_val: must be in (0, 1), got {p_val}"));
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
        Some((
            EvaluationConfig {
                interval: interval?,
                min_samples: self.min_samples.unwrap_or(MIN_SAMPLES),
                threads,
                ks: runs("ks"),
                chi2: runs("chi2"),
                mmd: runs("mmd"),
                p_val,
                correction: correction?,
                permutations: self.permutations.unwrap_or(PERMUTATIONS),
            },
            Policy {
                min_wasserstein_normed: floors[0].1,
                min_jensen_shannon: floors[1].1,
                hysteresis,
            },
        ))
    }
}
