//! Multiple-testing correction across features, as alibi-detect's `KSDrift` applies it to
//! per-feature p-values for a batch-level verdict.

use super::error::{Input, StatsError};

/// Which correction to apply to a family of per-feature p-values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Correction {
    /// Family-wise error control: each p-value against `α / n`.
    #[default]
    Bonferroni,
    /// Benjamini–Hochberg false-discovery-rate control at level `α`.
    Fdr,
    /// Each feature against `α` on its own.
    None,
}

impl Correction {
    /// Every correction.
    pub const ALL: [Correction; 3] = [Correction::Bonferroni, Correction::Fdr, Correction::None];

    /// The name in reports and configuration: `bonferroni`, `fdr` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Correction::Bonferroni => "bonferroni",
            Correction::Fdr => "fdr",
            Correction::None => "none",
        }
    }
}

/// The outcome of a correction.
#[derive(Debug, Clone, PartialEq)]
pub struct Corrected {
    /// The per-feature cut-off used: a feature drifts when its p-value is below it. For FDR
    /// with no rejection this is the first step of the ladder, `α / n`.
    pub threshold: f64,
    /// Per feature, in input order: p-value < threshold.
    pub drift: Vec<bool>,
    /// Whether any feature drifts (the batch verdict).
    pub any: bool,
}

/// Applies `method` at level `alpha` to `p_values`.
///
/// - Bonferroni: threshold `α / n` (alibi-detect: `p_val / n_features`).
/// - FDR: p-values sorted ascending, ladder `α·i/n`; `k` is the largest `i` with
///   `p₍ᵢ₎ < α·i/n` and the threshold is `α·k/n` (alibi-detect's `fdr(p_vals, q_val)`, whose
///   returned threshold is this value). Features with `p < α·k/n` are exactly the `k` smallest.
pub fn correct(p_values: &[f64], alpha: f64, method: Correction) -> Result<Corrected, StatsError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "p-value threshold",
            reason: format!("must be in (0, 1), got {alpha}"),
        });
    }
    if p_values.is_empty() {
        return Err(StatsError::Empty {
            input: Input::PValues,
        });
    }
    if let Some(index) = p_values.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(StatsError::NonFinite {
            input: Input::PValues,
            index,
            value: p_values[index],
        });
    }
    let n = p_values.len() as f64;
    let threshold = match method {
        Correction::None => alpha,
        Correction::Bonferroni => alpha / n,
        Correction::Fdr => {
            let mut sorted = p_values.to_vec();
            sorted.sort_unstable_by(f64::total_cmp);
            let ladder = |i: usize| alpha * i as f64 / n;
            match (1..=sorted.len())
                .rev()
                .find(|&i| sorted[i - 1] < ladder(i))
            {
                Some(k) => ladder(k),
                None => ladder(1),
            }
        }
    };
    let drift: Vec<bool> = p_values.iter().map(|p| *p < threshold).collect();
    let any = drift.iter().any(|d| *d);
    Ok(Corrected {
        threshold,
        drift,
        any,
    })
}

/// The outcome of a correction over tests with unequal shares of `α`.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectedFamily {
    /// Per test, in input order: the cut-off its p-value was compared with.
    pub thresholds: Vec<f64>,
    /// Per test: p-value < its threshold.
    pub drift: Vec<bool>,
}

/// Applies `method` at level `alpha` to a family in which test `i` has the share `weights[i]`
/// of `α` (positive, summing to 1; equal shares give [`correct`]'s thresholds).
///
/// - Bonferroni (weighted): test `i` at `α·wᵢ`; the chance of any false rejection is at most
///   `Σ α·wᵢ = α` whatever the dependence between the tests.
/// - FDR (weighted Benjamini–Hochberg, Genovese, Roeder and Wasserman 2006): the ladder of
///   [`correct`] on `pᵢ / (n·wᵢ)`; with `k` steps under it, test `i` is at `α·k·wᵢ` (before any
///   rejection, `α·wᵢ`).
/// - None: every test at `α`.
pub fn correct_family(
    p_values: &[f64],
    weights: &[f64],
    alpha: f64,
    method: Correction,
) -> Result<CorrectedFamily, StatsError> {
    if weights.len() != p_values.len() {
        return Err(StatsError::DimensionMismatch {
            input: Input::PValues,
            expected: p_values.len(),
            found: weights.len(),
        });
    }
    let total: f64 = weights.iter().sum();
    if weights.iter().any(|w| w.is_nan() || *w <= 0.0) || (total - 1.0).abs() > 1e-9 {
        return Err(StatsError::InvalidParameter {
            name: "weights",
            reason: format!("shares of the level must be positive and sum to 1, got {total}"),
        });
    }
    // The checks of `correct` (level, empty, p-values in [0, 1]).
    correct(p_values, alpha, Correction::None)?;
    let n = p_values.len() as f64;
    let thresholds: Vec<f64> = match method {
        Correction::None => vec![alpha; p_values.len()],
        Correction::Bonferroni => weights.iter().map(|w| alpha * w).collect(),
        Correction::Fdr => {
            let mut scaled: Vec<f64> = p_values
                .iter()
                .zip(weights)
                .map(|(p, w)| p / (n * w))
                .collect();
            scaled.sort_unstable_by(f64::total_cmp);
            let steps = (1..=scaled.len())
                .rev()
                .find(|&i| scaled[i - 1] < alpha * i as f64 / n)
                .unwrap_or(1);
            weights.iter().map(|w| alpha * steps as f64 * w).collect()
        }
    };
    let drift = p_values
        .iter()
        .zip(&thresholds)
        .map(|(p, t)| p < t)
        .collect();
    Ok(CorrectedFamily { thresholds, drift })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::pinned::CORRECTION_CASES;

    #[test]
    fn pinned_to_alibi_detect() {
        assert!(!CORRECTION_CASES.is_empty());
        for case in CORRECTION_CASES {
            let method = match case.method {
                "bonferroni" => Correction::Bonferroni,
                "fdr" => Correction::Fdr,
                other => panic!("unknown method {other}"),
            };
            let r = correct(case.p_values, case.p_val, method).expect("valid");
            assert_eq!(r.any, case.drift, "{case:?}");
            assert!(
                (r.threshold - case.threshold).abs() <= 1e-15,
                "{case:?}: {}",
                r.threshold
            );
        }
    }

    #[test]
    fn fdr_flags_exactly_the_smallest_k() {
        // Ladder at 0.05: 0.0125, 0.025, 0.0375, 0.05. p(2) = 0.02 < 0.025 is the last step
        // under the line (0.04 > 0.0375, 0.9 > 0.05), so the two smallest drift.
        let r = correct(&[0.04, 0.001, 0.02, 0.9], 0.05, Correction::Fdr).expect("valid");
        assert_eq!(r.threshold, 0.025);
        assert_eq!(r.drift, vec![false, true, true, false]);
    }

    #[test]
    fn nothing_below_the_ladder_reports_its_first_step() {
        let r = correct(&[0.5, 0.2], 0.05, Correction::Fdr).expect("valid");
        assert_eq!(r.threshold, 0.025);
        assert!(!r.any);
    }

    #[test]
    fn bad_parameters_are_typed_errors() {
        assert!(matches!(
            correct(&[0.1], 0.0, Correction::None),
            Err(StatsError::InvalidParameter { .. })
        ));
        assert!(matches!(
            correct(&[0.1], f64::NAN, Correction::None),
            Err(StatsError::InvalidParameter { .. })
        ));
        assert_eq!(
            correct(&[], 0.05, Correction::Fdr),
            Err(StatsError::Empty {
                input: Input::PValues
            })
        );
        assert!(matches!(
            correct(&[0.1, f64::NAN], 0.05, Correction::Fdr),
            Err(StatsError::NonFinite {
                input: Input::PValues,
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn equal_shares_give_the_unweighted_thresholds() {
        let p = [0.04, 0.001, 0.02, 0.9];
        let shares = [0.25; 4];
        for method in Correction::ALL {
            let plain = correct(&p, 0.05, method).expect("valid");
            let family = correct_family(&p, &shares, 0.05, method).expect("valid");
            assert_eq!(family.drift, plain.drift, "{method:?}");
            for t in family.thresholds {
                assert!((t - plain.threshold).abs() < 1e-15, "{method:?}");
            }
        }
    }

    #[test]
    fn a_test_with_half_the_level_is_held_to_half() {
        // The multivariate test has half of α, three features share the other half.
        let shares = [0.5, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0];
        let family = correct_family(
            &[0.02, 0.5, 0.5, 0.008],
            &shares,
            0.05,
            Correction::Bonferroni,
        )
        .expect("valid");
        assert_eq!(family.drift, vec![true, false, false, true]);
        assert!((family.thresholds[0] - 0.025).abs() < 1e-15);
        assert!((family.thresholds[3] - 0.05 / 6.0).abs() < 1e-15);
        assert!(matches!(
            correct_family(&[0.1, 0.2], &[0.5, 0.4], 0.05, Correction::Bonferroni),
            Err(StatsError::InvalidParameter {
                name: "weights",
                ..
            })
        ));
    }
}
