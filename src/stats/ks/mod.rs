//! Two-sample Kolmogorov–Smirnov test, matching `scipy.stats.ks_2samp`.
//!
//! The reference (baseline) side is a [`SortedSample`], sorted once when the baseline is built;
//! each window is sorted once per evaluation. The statistic comes from integer counts
//! (`c1·m − c2·n` is `n·m` times the ECDF difference), so ties between and within the samples
//! behave exactly as in scipy, and the exact p-value gets its lattice step `h` without
//! rounding. p-values follow scipy's methods; see [`pvalue`]. For references with heavy ties
//! those p-values are far too conservative; [`discrete`] tests such features by Monte-Carlo.

pub mod discrete;
pub(crate) mod extremes;
pub mod pvalue;

use super::backend::{Backend, Compute};
use super::error::{Input, StatsError, check_finite, check_sorted};
use super::{scalar, simd, sort};
pub use discrete::{DiscreteKsResult, DiscreteReference, has_heavy_ties, ks_2samp_discrete};
use extremes::Extremes;

/// scipy's `MAX_AUTO_N`: `auto` computes the exact p-value when both sizes are at most this.
pub const MAX_AUTO_EXACT: usize = 10_000;

/// The alternative hypothesis, named as in scipy (`F1` is the reference ECDF, `F2` the current).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Alternative {
    /// `F1 ≠ F2`; statistic `max |F1 − F2|`.
    #[default]
    TwoSided,
    /// `F1 < F2` somewhere; statistic `max (F2 − F1)`.
    Less,
    /// `F1 > F2` somewhere; statistic `max (F1 − F2)`.
    Greater,
}

/// How the p-value is computed: scipy's `method` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KsMethod {
    /// Exact when `max(n, m) ≤ 10 000`, asymptotic otherwise (scipy's rule).
    #[default]
    Auto,
    /// The exact null distribution (falls back to asymptotic where scipy does).
    Exact,
    /// The asymptotic distribution: for two-sided tests the exact one-sample Kolmogorov
    /// distribution at the effective size `round(n·m/(n+m))` (`scipy.stats.kstwo`).
    Asymp,
}

/// The method that actually produced a p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PValueMethod {
    Exact,
    Asymp,
}

impl PValueMethod {
    /// `"exact"` or `"asymp"`, as scipy names them.
    pub fn name(self) -> &'static str {
        match self {
            PValueMethod::Exact => "exact",
            PValueMethod::Asymp => "asymp",
        }
    }
}

/// How a KS test is run: the alternative and the p-value method, scipy's defaults unless set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KsOptions {
    pub alternative: Alternative,
    pub method: KsMethod,
}

/// A finite sample sorted ascending: the reference side of a KS test, prepared once.
#[derive(Debug, Clone, PartialEq)]
pub struct SortedSample {
    values: Vec<f64>,
}

impl SortedSample {
    /// Validates (non-empty, finite) and sorts `values` with the detected backend's sort.
    pub fn new(values: Vec<f64>) -> Result<Self, StatsError> {
        Self::new_with(values, &Compute::detect())
    }

    /// Validates (non-empty, finite) and sorts `values` with `compute`'s backend.
    pub fn new_with(mut values: Vec<f64>, compute: &Compute) -> Result<Self, StatsError> {
        check_finite(Input::Sample, &values)?;
        sort_values(compute.backend, &mut values);
        Ok(SortedSample { values })
    }

    /// Wraps values that are already sorted (a compiled baseline), checking that they are.
    pub fn from_sorted(values: Vec<f64>) -> Result<Self, StatsError> {
        check_finite(Input::Sample, &values)?;
        check_sorted(Input::Sample, &values)?;
        Ok(SortedSample { values })
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false: a `SortedSample` has at least one value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Sorts in place with the backend's sort (the bucket sort for SIMD backends, the standard
/// comparison sort for the scalar oracle).
pub(crate) fn sort_values(backend: Backend, values: &mut [f64]) {
    match backend {
        Backend::Scalar => scalar::sort(values),
        Backend::Simd(_) => sort::bucket_sort(values),
    }
}

/// The result of a two-sample KS test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// The KS statistic D (on the exact path, scipy's `h / lcm(n, m)`).
    pub statistic: f64,
    pub p_value: f64,
    /// The method that produced `p_value` (`auto` resolves to one of the two).
    pub method: PValueMethod,
    /// A value where the ECDF difference reaches D.
    pub location: f64,
    /// +1 when the reference ECDF exceeds the current one at `location`, −1 otherwise.
    pub sign: i8,
    pub n_reference: usize,
    pub n_current: usize,
}

/// The extremes of the ECDF difference between two sorted samples, on `backend`.
/// Both samples non-empty and sorted.
pub(crate) fn extremes(backend: Backend, reference: &[f64], current: &[f64]) -> Extremes {
    let walked = match backend {
        Backend::Scalar => scalar::ks_extremes(reference, current),
        Backend::Simd(_) => backend.vectorize(simd::KsExtremes {
            reference,
            window: current,
        }),
    };
    let last = match (reference.last(), current.last()) {
        (Some(a), Some(b)) => a.max(*b),
        _ => f64::NAN,
    };
    walked.finish(last)
}

/// Tests a window against a prepared reference: validates and sorts `window` (a copy), then
/// runs [`ks_2samp_sorted`].
pub fn ks_2samp(
    reference: &SortedSample,
    window: &[f64],
    options: KsOptions,
    compute: &Compute,
) -> Result<KsResult, StatsError> {
    let KsOptions {
        alternative,
        method,
    } = options;
    check_finite(Input::Current, window)?;
    let run = |sorted: &mut Vec<f64>| {
        sorted.clear();
        sorted.extend_from_slice(window);
        sort_values(compute.backend, sorted);
        ks_sorted(
            reference.values(),
            sorted,
            alternative,
            method,
            compute.backend,
        )
    };
    // The sorted copy lives in a per-thread buffer: windows are sorted at every evaluation, and
    // a fresh allocation each time costs page faults comparable to the sort itself.
    Ok(WINDOW.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => run(&mut buffer),
        Err(_) => run(&mut Vec::new()),
    }))
}

thread_local! {
    static WINDOW: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Tests many features at once — `windows[f]` against `references[f]` — spreading features
/// over `compute.threads` scoped threads. Results are in feature order; a bad window fails only
/// its own feature.
pub fn ks_2samp_many(
    references: &[&SortedSample],
    windows: &[&[f64]],
    options: KsOptions,
    compute: &Compute,
) -> Vec<Result<KsResult, StatsError>> {
    let features: Vec<usize> = (0..references.len().min(windows.len())).collect();
    crate::stats::par::map_ordered(&features, compute.threads.get(), |&f| {
        ks_2samp(references[f], windows[f], options, compute)
    })
}

/// The KS test between two sorted samples, as `scipy.stats.ks_2samp(reference, current,
/// alternative, method)`.
pub fn ks_2samp_sorted(
    reference: &SortedSample,
    current: &SortedSample,
    options: KsOptions,
    compute: &Compute,
) -> KsResult {
    ks_sorted(
        reference.values(),
        current.values(),
        options.alternative,
        options.method,
        compute.backend,
    )
}

/// The test on sorted, finite, non-empty slices.
fn ks_sorted(
    reference: &[f64],
    current: &[f64],
    alternative: Alternative,
    method: KsMethod,
    backend: Backend,
) -> KsResult {
    let (n, m) = (reference.len(), current.len());
    let ext = extremes(backend, reference, current);
    let (num, location, sign) = match alternative {
        Alternative::Greater => (ext.plus, ext.plus_at, 1),
        Alternative::Less => (ext.minus, ext.minus_at, -1),
        // scipy keeps D+ on a tie.
        Alternative::TwoSided if ext.minus > ext.plus => (ext.minus, ext.minus_at, -1),
        Alternative::TwoSided => (ext.plus, ext.plus_at, 1),
    };
    let (statistic, p_value, method) = p_value(n as u64, m as u64, num as u64, alternative, method);
    KsResult {
        statistic,
        p_value,
        method,
        location,
        sign,
        n_reference: n,
        n_current: m,
    }
}

/// D and its p-value from `num = n·m·D` (an integer), following scipy's `_ks_2samp_prob`.
fn p_value(
    n: u64,
    m: u64,
    num: u64,
    alternative: Alternative,
    method: KsMethod,
) -> (f64, f64, PValueMethod) {
    let d = num as f64 / (n as f64 * m as f64);
    let try_exact = match method {
        KsMethod::Auto => n.max(m) <= MAX_AUTO_EXACT as u64,
        KsMethod::Exact => pvalue::exact_feasible(n, m),
        KsMethod::Asymp => false,
    };
    if try_exact {
        let g = gcd(n, m);
        // D·lcm = num / g exactly, since g divides both n and m.
        let h = num / g;
        let lcm = (n / g) * m;
        let exact = match alternative {
            Alternative::TwoSided => pvalue::exact_two_sided(n, m, h),
            Alternative::Less | Alternative::Greater => pvalue::exact_one_sided(n, m, h),
        };
        if let Some(p) = exact {
            return (
                h as f64 / lcm as f64,
                p.clamp(0.0, 1.0),
                PValueMethod::Exact,
            );
        }
    }
    let p = match alternative {
        Alternative::TwoSided => pvalue::kstwo_sf(pvalue::effective_n(n, m), d),
        Alternative::Less | Alternative::Greater => pvalue::asymp_one_sided(n, m, d),
    };
    (d, p.clamp(0.0, 1.0), PValueMethod::Asymp)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests;
