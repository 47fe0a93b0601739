//! The label matrices of the MMD pass: which pooled rows count as "current" in the observed
//! labelling and in each permutation.

use crate::stats::error::StatsError;
use crate::stats::rng;

use super::Permutations;
use super::pass::Pooled;

/// The label matrices, in two groups.
///
/// - `exact` (f64, `padded × exact_stride`): column 0 marks every real row, column 1 the
///   current rows. Its products give the reported statistic at full f64 precision.
/// - `fast` (f32 for the GEMM, `padded × fast_stride`): column 0 marks the current rows again,
///   columns `1..=P` the current group of each permutation. The permutation products — all
///   but a sliver of the work — run in f32 at twice the SIMD width, and are folded into f64
///   sums per tile. The observed labelling is repeated here so that the statistic the
///   permutations are compared with went through exactly the same arithmetic as they did.
///
/// Padding rows and padding columns are zero, so they add nothing to any sum.
pub(super) struct Labels {
    pub(super) exact: Vec<f64>,
    pub(super) exact_stride: usize,
    pub(super) fast: Vec<f32>,
    /// `fast` widened to f64, the left-hand side of the f64 folds.
    pub(super) fast_wide: Vec<f64>,
    pub(super) fast_stride: usize,
    pub(super) permutations: usize,
}

impl Labels {
    /// Labels for `n` reference and `m` current rows laid out as in `pooled` (which may hold
    /// only the reference block: rows past its end are simply not materialised).
    pub(super) fn new(
        pooled: &Pooled,
        n: usize,
        m: usize,
        permutations: Permutations<'_>,
        vector_bytes: usize,
    ) -> Result<Self, StatsError> {
        let padded = pooled.padded;
        let count = match permutations {
            Permutations::Random { count, .. } => count,
            Permutations::Given(sets) => sets.len(),
        };
        // Whole vectors per row, so the GEMM never falls back to its scalar tail.
        let exact_stride = 2usize.div_ceil(vector_bytes / 8) * (vector_bytes / 8);
        let fast_stride = (count + 1).div_ceil(vector_bytes / 4) * (vector_bytes / 4);
        let mut exact = vec![0.0; padded * exact_stride];
        let mut fast = vec![0.0f32; padded * fast_stride];
        let total = n + m;
        // Pooled index → padded row, or None for rows this layout does not hold.
        let row_of = |index: usize| Some(pooled.position(index)).filter(|r| *r < padded);
        for index in 0..total {
            let Some(r) = row_of(index) else { continue };
            exact[r * exact_stride] = 1.0;
            if index >= n {
                exact[r * exact_stride + 1] = 1.0;
                fast[r * fast_stride] = 1.0;
            }
        }
        match permutations {
            Permutations::Random { count, seed } => {
                let mut order: Vec<u32> = (0..total as u32).collect();
                let mut draw = 0u64;
                for p in 0..count {
                    // Partial Fisher–Yates: the last m slots become a uniform m-subset.
                    for slot in (total - m..total).rev() {
                        let pick = bounded(seed, &mut draw, slot as u64 + 1) as usize;
                        order.swap(slot, pick);
                    }
                    for &index in &order[total - m..] {
                        if let Some(r) = row_of(index as usize) {
                            fast[r * fast_stride + 1 + p] = 1.0;
                        }
                    }
                }
            }
            Permutations::Given(sets) => {
                for (p, set) in sets.iter().enumerate() {
                    if set.len() != m {
                        return Err(StatsError::InvalidParameter {
                            name: "permutations",
                            reason: format!(
                                "permutation {p} has {} indices, expected {m}",
                                set.len()
                            ),
                        });
                    }
                    let mut seen = vec![false; total];
                    for &index in *set {
                        let index = index as usize;
                        if index >= total || seen[index] {
                            return Err(StatsError::InvalidParameter {
                                name: "permutations",
                                reason: format!(
                                    "permutation {p} has an invalid or repeated index {index}"
                                ),
                            });
                        }
                        seen[index] = true;
                        if let Some(r) = row_of(index) {
                            fast[r * fast_stride + 1 + p] = 1.0;
                        }
                    }
                }
            }
        }
        let fast_wide = fast.iter().map(|v| f64::from(*v)).collect();
        Ok(Labels {
            exact,
            exact_stride,
            fast,
            fast_wide,
            fast_stride,
            permutations: count,
        })
    }
}

/// An unbiased draw in `0..bound` from the counter-based stream `seed` (Lemire's method).
fn bounded(seed: u64, counter: &mut u64, bound: u64) -> u64 {
    loop {
        let x = rng::bits(seed, *counter);
        *counter += 1;
        let wide = u128::from(x) * u128::from(bound);
        let low = wide as u64;
        if low >= bound.wrapping_neg() % bound {
            return (wide >> 64) as u64;
        }
    }
}
