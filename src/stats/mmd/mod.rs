//! Kernel two-sample test across features: unbiased MMD² with a Gaussian RBF kernel and a
//! permutation p-value, matching alibi-detect's `MMDDrift(backend='pytorch')`.
//!
//! - Bandwidth: alibi's median heuristic on the reference (see `median.rs`), computed once per
//!   baseline in [`MmdReference::new`].
//! - Statistic: `MMD² = Σ_{i≠j∈X} k/(n(n−1)) + Σ_{i≠j∈Y} k/(m(m−1)) − 2·Σ_{X×Y} k/(n·m)`
//!   (alibi's `mmd2_from_kernel_matrix`, which can be negative).
//! - p-value: the share of permutations of the pooled sample whose statistic is `≥` the
//!   observed one (alibi: `(mmd2 <= mmd2_permuted).float().mean()`, no `+1`), and alibi's
//!   `distance_threshold`: the permuted statistics sorted descending, element `⌊α·P⌋`.
//!
//! How it is computed: with `s` the indicator of the rows labelled "current", every block sum
//! follows from two quadratic forms of the zero-diagonal kernel matrix `K₀`:
//! `q = sᵀK₀s` (the current–current sum) and `u = sᵀK₀1`, with `T = 1ᵀK₀1`:
//! `Σ_YY = q`, `Σ_XY = u − q`, `Σ_XX = T − 2u + q`. The observed labelling and all `P`
//! permutations are columns of label matrices (see `labels.rs`), so the whole test is one pass
//! over the tiles of `K₀` (see `pass.rs`) computing `K₀·S` tile by tile — a GEMM — and folding it
//! into `q` and `u` for every column at once (see `forms.rs`). The kernel values and the reported
//! statistic are f64 throughout; the permutation products run in f32 and are summed in f64.
//! The reference–reference tiles can be computed once per baseline and window size
//! ([`MmdReference::cache_permutations`]).

mod forms;
mod labels;
mod median;
mod pass;

use super::backend::Compute;
use super::error::{Input, StatsError};
use forms::{Forms, quadratic_forms};
use labels::Labels;
use pass::{Pooled, TILE};

/// alibi-detect's default number of permutations.
pub const DEFAULT_PERMUTATIONS: usize = 100;

/// A validated row-major matrix: `rows × dim`, finite.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    data: &'a [f64],
    dim: usize,
}

impl<'a> Rows<'a> {
    /// Checks shape (`rows × dim`, row-major, at least two rows) and finiteness.
    pub fn new(data: &'a [f64], dim: usize) -> Result<Self, StatsError> {
        Self::checked(data, dim, Input::Sample)
    }

    /// [`Rows::new`], with `input` naming the side in errors.
    fn checked(data: &'a [f64], dim: usize, input: Input) -> Result<Self, StatsError> {
        if dim == 0 {
            return Err(StatsError::InvalidParameter {
                name: "dimension",
                reason: "MMD needs at least one feature".into(),
            });
        }
        if data.is_empty() {
            return Err(StatsError::Empty { input });
        }
        if !data.len().is_multiple_of(dim) {
            return Err(StatsError::RaggedMatrix {
                input,
                len: data.len(),
                dim,
            });
        }
        if let Some(index) = data.iter().position(|v| !v.is_finite()) {
            return Err(StatsError::NonFinite {
                input,
                index,
                value: data[index],
            });
        }
        let rows = Rows { data, dim };
        if rows.len() < 2 {
            return Err(StatsError::TooFewRows {
                input,
                found: rows.len(),
                needed: 2,
                what: "the unbiased MMD² estimator",
            });
        }
        Ok(rows)
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Always false: validated rows are never empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn data(&self) -> &'a [f64] {
        self.data
    }
}

/// The reference side of the MMD test, prepared once per baseline: its rows, the kernel
/// bandwidth from the median heuristic, and its centre.
#[derive(Debug, Clone, PartialEq)]
pub struct MmdReference {
    data: Vec<f64>,
    dim: usize,
    sigma: f64,
    center: Vec<f64>,
    cache: Option<PermutationCache>,
}

/// The reference–reference part of the permutation test for one window size and one seeded
/// set of permutations: `Σ_XX` of the kernel and each permutation's sums over the reference
/// block. With it, an evaluation visits only the tiles that touch the window — for a
/// reference of `n` rows and a window of `m`, `n·m + m²/2` pairs instead of `(n + m)²/2`.
#[derive(Debug, Clone, PartialEq)]
struct PermutationCache {
    current_rows: usize,
    count: usize,
    seed: u64,
    /// Sums depend on the label layout, which depends on the SIMD width.
    vector_bytes: usize,
    exact: Forms,
    fast: Forms,
}

impl PermutationCache {
    fn serves(
        &self,
        current_rows: usize,
        permutations: Permutations<'_>,
        compute: &Compute,
    ) -> bool {
        matches!(permutations, Permutations::Random { count, seed }
            if count == self.count && seed == self.seed && current_rows == self.current_rows)
            && compute.backend.vector_bytes() == self.vector_bytes
    }
}

impl MmdReference {
    /// Validates `data` (`n × dim`, row-major) and infers σ by alibi-detect's median heuristic.
    pub fn new(data: Vec<f64>, dim: usize, compute: &Compute) -> Result<Self, StatsError> {
        let rows = Rows::checked(&data, dim, Input::Reference)?;
        let center = column_means(rows);
        let pooled = Pooled::new(&[rows.data()], dim, &center);
        let median = median::median_pair_sq_distance(&pooled, compute).unwrap_or(0.0);
        let sigma = (0.5 * median).sqrt();
        Self::with_sigma(data, dim, sigma).map(|mut r| {
            r.center = center;
            r
        })
    }

    /// A reference with a known bandwidth (a compiled baseline stores it).
    pub fn with_sigma(data: Vec<f64>, dim: usize, sigma: f64) -> Result<Self, StatsError> {
        let rows = Rows::checked(&data, dim, Input::Reference)?;
        if sigma == 0.0 {
            return Err(StatsError::ZeroVariance {
                input: Input::Reference,
            });
        }
        if !(sigma > 0.0 && sigma.is_finite()) {
            return Err(StatsError::InvalidParameter {
                name: "sigma",
                reason: format!("the kernel bandwidth must be positive and finite, got {sigma}"),
            });
        }
        let center = column_means(rows);
        Ok(MmdReference {
            data,
            dim,
            sigma,
            center,
            cache: None,
        })
    }

    /// Precomputes the reference–reference sums for windows of `current_rows` rows tested with
    /// `Permutations::Random { count, seed }`; later tests with exactly those parameters skip
    /// that block. Reusing one seeded set of permutations across evaluations keeps each
    /// evaluation's test valid (the permutations do not depend on the data).
    pub fn cache_permutations(
        &mut self,
        current_rows: usize,
        count: usize,
        seed: u64,
        compute: &Compute,
    ) -> Result<(), StatsError> {
        if current_rows < 2 {
            return Err(StatsError::TooFewRows {
                input: Input::Current,
                found: current_rows,
                needed: 2,
                what: "the unbiased MMD² estimator",
            });
        }
        let pooled = Pooled::new(&[&self.data], self.dim, &self.center);
        let permutations = Permutations::Random { count, seed };
        let vector_bytes = compute.backend.vector_bytes();
        let labels = Labels::new(
            &pooled,
            self.len(),
            current_rows,
            permutations,
            vector_bytes,
        )?;
        let (exact, fast) = quadratic_forms(&pooled, &labels, self.gamma(), compute, |_, _| true);
        self.cache = Some(PermutationCache {
            current_rows,
            count,
            seed,
            vector_bytes,
            exact,
            fast,
        });
        Ok(())
    }

    /// `γ = 1 / (2σ²)`.
    fn gamma(&self) -> f64 {
        1.0 / (2.0 * self.sigma * self.sigma)
    }

    /// The RBF bandwidth σ (`k(a, b) = exp(−‖a − b‖² / (2σ²))`).
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// Always false: a reference has at least two rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn data(&self) -> &[f64] {
        &self.data
    }
}

/// A standard-layout (row-major, contiguous) `rows × dim` view, without a copy.
#[cfg(feature = "ndarray")]
impl<'a> TryFrom<ndarray::ArrayView2<'a, f64>> for Rows<'a> {
    type Error = StatsError;

    fn try_from(view: ndarray::ArrayView2<'a, f64>) -> Result<Self, StatsError> {
        let dim = view.ncols();
        match view.to_slice() {
            Some(data) => Rows::new(data, dim),
            None => Err(StatsError::InvalidParameter {
                name: "array layout",
                reason: "MMD takes a standard-layout (row-major, contiguous) array; \
                         call `.as_standard_layout()` first"
                    .into(),
            }),
        }
    }
}

fn column_means(rows: Rows<'_>) -> Vec<f64> {
    let mut sums = vec![0.0; rows.dim()];
    for row in rows.data().chunks_exact(rows.dim()) {
        sums.iter_mut().zip(row).for_each(|(s, x)| *s += x);
    }
    sums.iter().map(|s| s / rows.len() as f64).collect()
}

/// Which relabellings of the pooled sample the permutation test uses.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Permutations<'a> {
    /// `count` uniformly random relabellings from a seeded generator (reproducible).
    Random { count: usize, seed: u64 },
    /// Given relabellings: for each, the pooled row indices (reference rows `0..n`, then
    /// current rows `n..n+m`) that form the current group; each must have `m` distinct
    /// indices. Used to replay another implementation's permutations.
    Given(&'a [&'a [u32]]),
}

impl Default for Permutations<'_> {
    fn default() -> Self {
        Permutations::Random {
            count: DEFAULT_PERMUTATIONS,
            seed: 0,
        }
    }
}

/// The result of an MMD two-sample test.
#[derive(Debug, Clone, PartialEq)]
pub struct MmdResult {
    /// The unbiased MMD² estimate (may be slightly negative when there is no drift).
    pub statistic: f64,
    /// Share of permutations with a statistic `≥` the observed one, alibi-detect's count (it
    /// is 0 one time in `P + 1` under the null); 1 without permutations. For a valid p-value
    /// at any level use [`MmdResult::permutation_p_value`].
    pub p_value: f64,
    /// Permutations with a statistic `≥` the observed one.
    pub exceedances: usize,
    /// The bandwidth used.
    pub sigma: f64,
    /// The number of permutations run.
    pub permutations: usize,
    /// The MMD² above which the test flags drift at level `alpha` (alibi's threshold);
    /// `NaN` without permutations.
    pub distance_threshold: f64,
    pub n_reference: usize,
    pub n_current: usize,
}

impl MmdResult {
    /// `(b + 1) / (P + 1)`, with `b` the permutations at least as extreme as the observed
    /// labelling: the observed statistic counts as one of the `P + 1` equally likely labellings,
    /// so `P(p ≤ u) ≤ u` under the null for every `u` (Phipson and Smyth 2010). 1 without
    /// permutations.
    pub fn permutation_p_value(&self) -> f64 {
        (self.exceedances + 1) as f64 / (self.permutations + 1) as f64
    }
}

/// Runs the MMD² permutation test of `current` against `reference`.
/// `alpha` only sets `distance_threshold`; the decision is the caller's.
pub fn mmd_test(
    reference: &MmdReference,
    current: Rows<'_>,
    permutations: Permutations<'_>,
    alpha: f64,
    compute: &Compute,
) -> Result<MmdResult, StatsError> {
    if current.dim() != reference.dim {
        return Err(StatsError::DimensionMismatch {
            input: Input::Current,
            expected: reference.dim,
            found: current.dim(),
        });
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "alpha",
            reason: format!("must be in (0, 1), got {alpha}"),
        });
    }
    let (n, m) = (reference.len(), current.len());
    let pooled = Pooled::new(
        &[&reference.data, current.data()],
        reference.dim,
        &reference.center,
    );
    let labels = Labels::new(&pooled, n, m, permutations, compute.backend.vector_bytes())?;
    let gamma = reference.gamma();
    let (exact, fast) = match reference
        .cache
        .as_ref()
        .filter(|c| c.serves(m, permutations, compute))
    {
        Some(cache) => {
            // The reference–reference tiles are in the cache: visit only tiles touching the
            // current block (the reference block is tiles 0..reference_blocks).
            let reference_blocks = pooled.block_starts[1] / TILE;
            let (mut exact, mut fast) =
                quadratic_forms(&pooled, &labels, gamma, compute, |i, j| {
                    j >= reference_blocks || i >= reference_blocks
                });
            exact.merge(&cache.exact);
            fast.merge(&cache.fast);
            (exact, fast)
        }
        None => quadratic_forms(&pooled, &labels, gamma, compute, |_, _| true),
    };
    let total = exact.q(0);
    let mmd2 = |q: f64, u: f64| {
        let (sum_yy, sum_xy, sum_xx) = (q, u - q, total - 2.0 * u + q);
        let (nf, mf) = (n as f64, m as f64);
        sum_xx / (nf * (nf - 1.0)) + sum_yy / (mf * (mf - 1.0)) - 2.0 * sum_xy / (nf * mf)
    };
    let statistic = mmd2(exact.q(1), exact.u(1));
    let observed = mmd2(fast.q(0), fast.u(0));
    let permuted: Vec<f64> = (1..=labels.permutations)
        .map(|c| mmd2(fast.q(c), fast.u(c)))
        .collect();
    let exceedances = permuted.iter().filter(|s| **s >= observed).count();
    let (p_value, distance_threshold) = if permuted.is_empty() {
        (1.0, f64::NAN)
    } else {
        let mut sorted = permuted.clone();
        sorted.sort_unstable_by(|a, b| b.total_cmp(a));
        let index = ((alpha * permuted.len() as f64) as usize).min(sorted.len() - 1);
        (exceedances as f64 / permuted.len() as f64, sorted[index])
    };
    Ok(MmdResult {
        statistic,
        p_value,
        exceedances,
        sigma: reference.sigma,
        permutations: permuted.len(),
        distance_threshold,
        n_reference: n,
        n_current: m,
    })
}

#[cfg(test)]
mod tests;
