//! The statistics engine: two-sample tests and effect sizes between a reference sample (the
//! baseline, prepared once) and a current window. No I/O, no async, no logging in kernels.
//!
//! - [`ks`]: two-sample Kolmogorov–Smirnov, as `scipy.stats.ks_2samp`.
//! - [`mmd`]: kernel MMD² permutation test across features, as alibi-detect's `MMDDrift`.
//! - [`chi2`]: χ² homogeneity test for categorical features, as `scipy.stats.chi2_contingency`,
//!   and with a Monte-Carlo p-value for rare categories.
//! - [`fisher`]: Fisher's exact test of a 2 × 2 table (a feature's missing share), as scipy's.
//! - [`montecarlo`]: conditional Monte-Carlo p-values over 2 × C tables with fixed margins,
//!   for tied KS and sparse χ².
//! - [`effect`]: Wasserstein-1, PSI and Jensen–Shannon distance.
//! - [`correction`]: Bonferroni and Benjamini–Hochberg across features.
//! - [`backend`]: the scalar oracle or SIMD kernels, and the thread budget.
//! - [`pace`]: cooperative yielding, for computations that share a CPU with a server.
//! - [`par`]: the scoped-thread fan-out every parallel computation uses.
//! - [`rng`]: the counter-based random stream behind every seeded choice.
//!
//! With the `test-util` feature (outside semver), `synth` (deterministic synthetic samples,
//! reproducible in Python) and `tolerance` (how far SIMD kernels may stray from the scalar
//! oracle) are public too, for tests and benches.

pub mod backend;
pub mod chi2;
pub mod correction;
pub mod effect;
pub mod error;
pub mod fisher;
pub mod ks;
pub mod mmd;
pub mod montecarlo;
pub mod pace;
pub mod par;
pub mod rng;
pub(crate) mod scalar;
pub(crate) mod simd;
pub(crate) mod sort;
#[cfg(any(test, feature = "test-util"))]
pub mod synth;
#[cfg(any(test, feature = "test-util"))]
pub mod tolerance;

#[cfg(test)]
mod pinned;

pub use backend::{Backend, Compute, SimdLevel};
pub use error::{Input, StatsError};
