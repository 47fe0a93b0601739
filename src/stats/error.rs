//! Typed errors of the statistics engine. Each names the input at fault and why.

use std::fmt;

/// Which input of a two-sample test an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// A sample validated on its own, before it is used on either side (a
    /// [`SortedSample`](super::ks::SortedSample), [`Rows`](super::mmd::Rows)).
    Sample,
    /// The baseline side (training data).
    Reference,
    /// The window side (production data).
    Current,
    /// A list of p-values handed to a multiple-testing correction.
    PValues,
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Input::Sample => "sample",
            Input::Reference => "reference sample",
            Input::Current => "current sample",
            Input::PValues => "p-values",
        })
    }
}

/// Why a statistic could not be computed. No kernel panics on bad input; it returns one of these.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// A sample with no values.
    #[error("{input} is empty")]
    Empty { input: Input },
    /// NaN or ±infinity; kernels take finite data only (decoders drop and count non-finite values).
    #[error("{input} has a non-finite value ({value}) at index {index}")]
    NonFinite {
        input: Input,
        index: usize,
        value: f64,
    },
    /// A reference that should have been sorted once at baseline build time, but is not.
    #[error("{input} is not sorted in ascending order at index {index}")]
    NotSorted { input: Input, index: usize },
    /// Rows with a different number of features than the other side.
    #[error("{input} has {found} features per row, expected {expected}")]
    DimensionMismatch {
        input: Input,
        expected: usize,
        found: usize,
    },
    /// A flat buffer whose length is not a whole number of rows.
    #[error("{input} has {len} values, which is not a multiple of {dim} features")]
    RaggedMatrix {
        input: Input,
        len: usize,
        dim: usize,
    },
    /// Fewer rows than the estimator needs (the unbiased MMD² divides by n·(n−1)).
    #[error("{input} has {found} rows; {what} needs at least {needed}")]
    TooFewRows {
        input: Input,
        found: usize,
        needed: usize,
        what: &'static str,
    },
    /// All pairwise distances are zero, so the median-heuristic bandwidth σ is 0.
    #[error("{input} has zero variance: every row is identical, so the kernel bandwidth is 0")]
    ZeroVariance { input: Input },
    /// A parameter outside its domain (e.g. a p-value threshold outside (0, 1)).
    #[error("invalid {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
}

/// Checks that `values` is non-empty and finite.
pub(crate) fn check_finite(input: Input, values: &[f64]) -> Result<(), StatsError> {
    if values.is_empty() {
        return Err(StatsError::Empty { input });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(StatsError::NonFinite {
            input,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks that `values` is ascending (`total_cmp` order; callers have already checked finiteness).
pub(crate) fn check_sorted(input: Input, values: &[f64]) -> Result<(), StatsError> {
    match values.windows(2).position(|w| w[0] > w[1]) {
        Some(i) => Err(StatsError::NotSorted {
            input,
            index: i + 1,
        }),
        None => Ok(()),
    }
}
