//! Fisher's exact test of a 2 × 2 table, two-sided, as `scipy.stats.fisher_exact(table)`.
//!
//! The evaluation uses it for a feature's missing share: rows (reference, current), columns
//! (missing, present). Conditional on the margins, the count in the first cell follows a
//! hypergeometric distribution; the two-sided p-value is the probability of every table at most
//! as likely as the observed one (with scipy's relative tolerance of `1e-14`, R's is `1e-7`).
//! It is exact at any size, so it holds its level for rare events (a share going from 0 % to
//! 0.2 %) where a two-proportion z-test does not.

use statrs::function::gamma::ln_gamma;

/// The two-sided p-value of `[[a, b], [c, d]]`.
pub fn fisher_exact(table: [[u64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table;
    // Margins: first row, first column, total.
    let row = a + b;
    let column = a + c;
    let total = a + b + c + d;
    if row == 0 || column == 0 || row == total || column == total {
        // A margin with no freedom: one table only.
        return 1.0;
    }
    let low = column.saturating_sub(total - row);
    let high = row.min(column);
    // log P(X = x) for X ~ Hypergeometric(total, row, column), up to the shared constant.
    let ln_choose = |n: u64, k: u64| {
        ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
    };
    let ln_denominator = ln_choose(total, column);
    let ln_pmf = |x: u64| ln_choose(row, x) + ln_choose(total - row, column - x) - ln_denominator;
    let observed = ln_pmf(a);
    let cutoff = observed + (1e-14f64).ln_1p();
    let mut p = 0.0;
    for x in low..=high {
        let l = ln_pmf(x);
        if l <= cutoff {
            p += l.exp();
        }
    }
    p.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (table, scipy.stats.fisher_exact(table).pvalue), scipy 1.17.1:
    /// `[fisher_exact(t).pvalue for t in TABLES]` with the tables below.
    const PINNED: &[([[u64; 2]; 2], f64)] = &[
        ([[8, 2], [1, 5]], 0.034_965_034_965_034_975),
        ([[0, 100_000], [2, 998]], 9.793_254_496_490_947e-5),
        ([[2_000, 98_000], [400, 600]], 0.0),
        ([[2_000, 98_000], [25, 975]], 0.255_674_036_237_685_3),
        ([[0, 10], [0, 20]], 1.0),
        ([[3, 0], [0, 3]], 0.100_000_000_000_000_02),
        ([[1, 99_999], [0, 1_000]], 1.0),
    ];

    #[test]
    fn pinned_to_scipy() {
        for (table, expected) in PINNED {
            let p = fisher_exact(*table);
            let tolerance = 1e-9 * expected.max(1e-300);
            assert!(
                (p - expected).abs() <= tolerance.max(1e-300),
                "{table:?}: {p} against scipy's {expected}"
            );
        }
    }

    #[test]
    fn a_table_with_an_empty_margin_has_p_one() {
        assert_eq!(fisher_exact([[0, 0], [0, 0]]), 1.0);
        assert_eq!(fisher_exact([[5, 0], [7, 0]]), 1.0);
        assert_eq!(fisher_exact([[0, 5], [0, 7]]), 1.0);
    }
}
