//! Pearson's χ² test of homogeneity for a categorical feature, as
//! `scipy.stats.chi2_contingency([reference_counts, current_counts], correction)`.
//!
//! The table has two rows (reference, current) and one column per category. Categories absent
//! from both sides carry no information and are dropped before the test (scipy would refuse a
//! zero expected frequency); a category seen only in the current window keeps its column, so
//! new values raise the statistic, and its share of the window is reported as `unseen_share`.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::error::{Input, StatsError};

/// The result of a χ² homogeneity test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chi2Result {
    /// Pearson's χ² statistic (with Yates' continuity correction when it applied).
    pub statistic: f64,
    /// `P(χ²_dof ≥ statistic)`.
    pub p_value: f64,
    /// Degrees of freedom: categories present on either side, minus one.
    pub dof: u64,
    /// Whether Yates' correction was applied (requested and `dof == 1`).
    pub yates: bool,
    /// The share of the current window in categories the reference never had.
    pub unseen_share: f64,
    pub n_reference: u64,
    pub n_current: u64,
}

/// The continuity correction of a 2 × 2 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Continuity {
    /// Yates' correction, scipy's default (`correction=True`); it applies only when `dof == 1`.
    #[default]
    Yates,
    /// No correction (`correction=False`).
    None,
}

/// χ² test on per-category counts (same category order on both sides), with `continuity`
/// applied where scipy applies it.
pub fn chi2_contingency(
    reference_counts: &[u64],
    current_counts: &[u64],
    continuity: Continuity,
) -> Result<Chi2Result, StatsError> {
    let yates = continuity == Continuity::Yates;
    if reference_counts.len() != current_counts.len() {
        return Err(StatsError::DimensionMismatch {
            input: Input::Current,
            expected: reference_counts.len(),
            found: current_counts.len(),
        });
    }
    let n_reference: u64 = reference_counts.iter().sum();
    let n_current: u64 = current_counts.iter().sum();
    if n_reference == 0 {
        return Err(StatsError::Empty {
            input: Input::Reference,
        });
    }
    if n_current == 0 {
        return Err(StatsError::Empty {
            input: Input::Current,
        });
    }
    let unseen: u64 = reference_counts
        .iter()
        .zip(current_counts)
        .filter(|(r, _)| **r == 0)
        .map(|(_, c)| c)
        .sum();
    let columns: Vec<(f64, f64)> = reference_counts
        .iter()
        .zip(current_counts)
        .filter(|(r, c)| **r + **c > 0)
        .map(|(r, c)| (*r as f64, *c as f64))
        .collect();
    let dof = columns.len() as u64 - 1;
    let unseen_share = unseen as f64 / n_current as f64;
    if dof == 0 {
        // scipy: a table with one column has statistic 0 and p-value 1.
        return Ok(Chi2Result {
            statistic: 0.0,
            p_value: 1.0,
            dof,
            yates: false,
            unseen_share,
            n_reference,
            n_current,
        });
    }
    let apply_yates = yates && dof == 1;
    let total = (n_reference + n_current) as f64;
    let (row_r, row_c) = (n_reference as f64, n_current as f64);
    let mut statistic = 0.0;
    for (r, c) in columns {
        let col = r + c;
        for (observed, row) in [(r, row_r), (c, row_c)] {
            let expected = row * col / total;
            let mut diff = observed - expected;
            if apply_yates {
                // Move each observation half a unit towards its expectation, never past it.
                diff = diff.signum() * (diff.abs() - 0.5).max(0.0);
            }
            statistic += diff * diff / expected;
        }
    }
    let p_value = chi2_sf(statistic, dof);
    Ok(Chi2Result {
        statistic,
        p_value,
        dof,
        yates: apply_yates,
        unseen_share,
        n_reference,
        n_current,
    })
}

/// Survival function of χ² with `dof` degrees of freedom, `Q(dof/2, x/2)` (statrs' regularized
/// upper incomplete gamma, computed directly rather than as `1 − P`, so tails keep their
/// relative accuracy).
pub fn chi2_sf(x: f64, dof: u64) -> f64 {
    match ChiSquared::new(dof as f64) {
        Ok(dist) => dist.sf(x).clamp(0.0, 1.0),
        // dof ≥ 1 here, which statrs always accepts.
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::pinned::CHI2_CASES;

    #[test]
    fn pinned_to_scipy() {
        assert!(!CHI2_CASES.is_empty());
        for case in CHI2_CASES {
            let r = chi2_contingency(
                case.reference_counts,
                case.current_counts,
                if case.correction {
                    Continuity::Yates
                } else {
                    Continuity::None
                },
            )
            .expect("valid table");
            assert_eq!(r.dof, case.dof, "{case:?}");
            let tol = 1e-12 * case.statistic.abs().max(1.0);
            assert!(
                (r.statistic - case.statistic).abs() <= tol,
                "{case:?}: {}",
                r.statistic
            );
            let abs = (r.p_value - case.p_value).abs();
            assert!(abs <= 1e-6, "{case:?}: p {:e}", r.p_value);
            if case.p_value > 1e-300 {
                assert!(abs <= 1e-6 * case.p_value, "{case:?}: p {:e}", r.p_value);
            }
        }
    }

    #[test]
    fn unseen_categories_count_and_are_reported() {
        // χ² = 4·5²/45 + 10²/10 + 10²/10 ≈ 22.2 on 2 dof: p = e^(−11.1).
        let r = chi2_contingency(&[50, 50, 0], &[40, 40, 20], Continuity::Yates).expect("valid");
        assert_eq!(r.dof, 2);
        assert!(!r.yates);
        assert!((r.unseen_share - 0.2).abs() < 1e-15);
        assert!(
            (r.statistic - (100.0 / 45.0 + 20.0)).abs() < 1e-12,
            "{}",
            r.statistic
        );
        assert!((r.p_value - (-r.statistic / 2.0).exp()).abs() < 1e-15);
    }

    #[test]
    fn categories_absent_from_both_sides_are_dropped() {
        let with = chi2_contingency(&[30, 0, 70], &[35, 0, 65], Continuity::None).expect("valid");
        let without = chi2_contingency(&[30, 70], &[35, 65], Continuity::None).expect("valid");
        assert_eq!(with, without);
    }

    #[test]
    fn bad_tables_are_typed_errors() {
        assert_eq!(
            chi2_contingency(&[1, 2], &[1], Continuity::Yates),
            Err(StatsError::DimensionMismatch {
                input: Input::Current,
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            chi2_contingency(&[0, 0], &[1, 2], Continuity::Yates),
            Err(StatsError::Empty {
                input: Input::Reference
            })
        );
        assert_eq!(
            chi2_contingency(&[1, 2], &[0, 0], Continuity::Yates),
            Err(StatsError::Empty {
                input: Input::Current
            })
        );
    }

    #[test]
    fn single_category_is_no_evidence() {
        let r = chi2_contingency(&[10], &[3], Continuity::Yates).expect("valid");
        assert_eq!((r.statistic, r.p_value, r.dof), (0.0, 1.0, 0));
    }
}
