//! Effect sizes: how *much* a distribution moved, which p-values on large windows cannot say.
//!
//! - Wasserstein-1 (earth mover's distance) between the empirical distributions, exactly, from
//!   sorted samples (`scipy.stats.wasserstein_distance`), and normed by the reference standard
//!   deviation as Evidently reports it.
//! - PSI (population stability index) on reference-quantile bins.
//! - Jensen–Shannon distance (base 2, so in `[0, 1]`) on the same bins.

use super::error::StatsError;
use super::ks::SortedSample;

/// PSI's default number of reference-quantile bins (deciles, the industry convention).
pub const DEFAULT_PSI_BINS: usize = 10;

/// The share PSI substitutes for an empty bin, on either side, so `ln(c/r)` stays finite. The
/// conventional value (Evidently and most credit-risk tooling use the same).
pub const PSI_EPSILON: f64 = 1e-4;

/// Evidently's floor on the reference standard deviation when norming the Wasserstein
/// distance, so a constant reference does not divide by zero.
pub const WASSERSTEIN_NORM_FLOOR: f64 = 1e-3;

/// Wasserstein-1 distance between two sorted samples: `∫ |F1(x) − F2(x)| dx`, by a merge walk
/// (O(n + m)) that integrates the ECDF difference between consecutive pooled values, with the
/// ECDFs taken from integer counts.
pub fn wasserstein(reference: &SortedSample, current: &SortedSample) -> f64 {
    let (a, b) = (reference.values(), current.values());
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    let mut x = a[0].min(b[0]);
    loop {
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        let next = match (a.get(i), b.get(j)) {
            (Some(&p), Some(&q)) => p.min(q),
            (Some(&p), None) => p,
            (None, Some(&q)) => q,
            (None, None) => break,
        };
        total += (i as f64 / n - j as f64 / m).abs() * (next - x);
        x = next;
    }
    total
}

/// The Wasserstein-1 distance divided by the reference's population standard deviation
/// (floored at [`WASSERSTEIN_NORM_FLOOR`]): Evidently's `wasserstein_distance_norm`.
pub fn wasserstein_normed(reference: &SortedSample, current: &SortedSample) -> f64 {
    wasserstein(reference, current) / population_std(reference.values()).max(WASSERSTEIN_NORM_FLOOR)
}

/// Population standard deviation (ddof = 0), two-pass for accuracy.
pub fn population_std(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Bins cut at reference quantiles, with the reference's share in each: built once per
/// baseline feature, then applied to every window.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantileBins {
    /// Inner edges, strictly increasing. Bin `k` is `(edges[k−1], edges[k]]`, the first bin
    /// is `(−∞, edges[0]]` and the last `(edges[last], ∞)`.
    edges: Vec<f64>,
    reference_shares: Vec<f64>,
}

impl QuantileBins {
    /// Edges at the reference's `k/bins` quantiles, `k = 1..bins`, by the inverted-CDF
    /// definition (`numpy.quantile(method='inverted_cdf')`: the smallest value whose ECDF
    /// reaches `k/bins`). Tied quantiles collapse into one edge, so a reference with few
    /// distinct values gets fewer, non-empty bins.
    pub fn new(reference: &SortedSample, bins: usize) -> Result<Self, StatsError> {
        if bins < 2 {
            return Err(StatsError::InvalidParameter {
                name: "bins",
                reason: format!("need at least 2 bins, got {bins}"),
            });
        }
        let values = reference.values();
        let n = values.len();
        let mut edges: Vec<f64> = (1..bins)
            .map(|k| {
                let virtual_index = n as f64 * (k as f64 / bins as f64) - 1.0;
                let index = virtual_index.ceil().max(0.0) as usize;
                values[index.min(n - 1)]
            })
            .collect();
        edges.dedup();
        let reference_shares = shares_sorted(&edges, values);
        Ok(QuantileBins {
            edges,
            reference_shares,
        })
    }

    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    pub fn reference_shares(&self) -> &[f64] {
        &self.reference_shares
    }

    /// The share of a sorted sample in each bin.
    pub fn shares(&self, sorted: &SortedSample) -> Vec<f64> {
        shares_sorted(&self.edges, sorted.values())
    }

    /// PSI of a sorted window against the reference.
    pub fn psi(&self, current: &SortedSample) -> f64 {
        psi(&self.reference_shares, &self.shares(current), PSI_EPSILON)
    }

    /// Jensen–Shannon distance of a sorted window against the reference.
    pub fn jensen_shannon(&self, current: &SortedSample) -> f64 {
        jensen_shannon(&self.reference_shares, &self.shares(current))
    }
}

/// Bin shares of sorted `values` for right-closed bins with the given inner edges.
fn shares_sorted(edges: &[f64], values: &[f64]) -> Vec<f64> {
    let n = values.len() as f64;
    let mut shares = Vec::with_capacity(edges.len() + 1);
    let mut start = 0;
    for edge in edges {
        let end = start + values[start..].partition_point(|v| v <= edge);
        shares.push((end - start) as f64 / n);
        start = end;
    }
    shares.push((values.len() - start) as f64 / n);
    shares
}

/// Population stability index `Σ (c − r) · ln(c / r)` over bins, with `epsilon` in place of
/// a zero share on either side.
pub fn psi(reference_shares: &[f64], current_shares: &[f64], epsilon: f64) -> f64 {
    reference_shares
        .iter()
        .zip(current_shares)
        .map(|(&r, &c)| {
            let r = if r == 0.0 { epsilon } else { r };
            let c = if c == 0.0 { epsilon } else { c };
            (c - r) * (c / r).ln()
        })
        .sum()
}

/// Jensen–Shannon distance with base-2 logarithms, as
/// `scipy.spatial.distance.jensenshannon(p, q, base=2)`: both inputs normalised to sum 1,
/// `sqrt((KL(p‖m) + KL(q‖m)) / 2)` with `m = (p + q)/2`; in `[0, 1]`.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    let rel_entr = |x: f64, y: f64| if x > 0.0 { x * (x / y).ln() } else { 0.0 };
    let divergence: f64 = p
        .iter()
        .zip(q)
        .map(|(&a, &b)| {
            let (a, b) = (a / sp, b / sq);
            let mid = (a + b) / 2.0;
            rel_entr(a, mid) + rel_entr(b, mid)
        })
        .sum::<f64>()
        / 2.0;
    (divergence / std::f64::consts::LN_2).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Compute;
    use crate::stats::pinned::{BINNED_CASES, WASSERSTEIN_CASES};

    fn sorted(values: Vec<f64>) -> SortedSample {
        SortedSample::new_with(values, &Compute::scalar()).expect("valid sample")
    }

    #[test]
    fn wasserstein_pinned_to_scipy() {
        assert!(!WASSERSTEIN_CASES.is_empty());
        for case in WASSERSTEIN_CASES {
            let r = sorted(case.reference.sample());
            let c = sorted(case.current.sample());
            let w = wasserstein(&r, &c);
            assert!(
                (w - case.distance).abs() <= 1e-12 * case.distance.max(1.0),
                "{case:?}: {w}"
            );
        }
    }

    #[test]
    fn binned_effects_pinned_to_numpy_and_scipy() {
        assert!(!BINNED_CASES.is_empty());
        for case in BINNED_CASES {
            let r = sorted(case.reference.sample());
            let c = sorted(case.current.sample());
            let bins = QuantileBins::new(&r, case.bins).expect("valid bins");
            let p = psi(bins.reference_shares(), &bins.shares(&c), case.epsilon);
            assert!(
                (p - case.psi).abs() <= 1e-12 * case.psi.max(1.0),
                "{case:?}: psi {p}"
            );
            let js = bins.jensen_shannon(&c);
            assert!((js - case.js).abs() <= 1e-12, "{case:?}: js {js}");
        }
    }

    #[test]
    fn shifting_by_a_constant_moves_wasserstein_by_that_constant() {
        let x = crate::stats::synth::normal(4, 1000, 0.0, 1.0);
        let shifted: Vec<f64> = x.iter().map(|v| v + 0.75).collect();
        let w = wasserstein(&sorted(x), &sorted(shifted));
        assert!((w - 0.75).abs() < 1e-12, "{w}");
    }

    #[test]
    fn identical_samples_have_no_effect() {
        let x = crate::stats::synth::quantized_normal(9, 500, 0.0, 1.0, 0.5);
        let (r, c) = (sorted(x.clone()), sorted(x));
        let bins = QuantileBins::new(&r, DEFAULT_PSI_BINS).expect("valid");
        assert_eq!(wasserstein(&r, &c), 0.0);
        assert_eq!(bins.psi(&c), 0.0);
        assert_eq!(bins.jensen_shannon(&c), 0.0);
    }

    #[test]
    fn one_bin_is_refused() {
        let r = sorted(vec![1.0, 2.0]);
        assert!(matches!(
            QuantileBins::new(&r, 1),
            Err(StatsError::InvalidParameter { name: "bins", .. })
        ));
    }
}
