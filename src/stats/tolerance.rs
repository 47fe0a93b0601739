//! How far a fast kernel may stray from the scalar oracle: the one place these numbers live.
//!
//! The SIMD kernels reorder floating-point sums (several lanes, fused multiply-adds) and use
//! their own `exp`, so they agree with the scalar code to rounding, not to the bit. Integer
//! results — the KS count walk — must agree exactly.

/// Relative error of the SIMD `exp` against `f64::exp`, for arguments in `[−708, 0]`.
pub const EXP_REL: f64 = 4.0 * f64::EPSILON;

/// Relative error of a GEMM entry, scaled by the sum of absolute products `Σ|a·b|` (a
/// reordered f64 sum of `depth ≤ 4096` terms is within `depth·ε` of it; observed far smaller).
pub const GEMM_REL: f64 = 1e-12;

/// Relative error of an RBF kernel value (rounding of the squared distance, then `exp`).
pub const RBF_REL: f64 = 1e-12;

/// Relative error of MMD² and of each permutation statistic, scaled by the mean kernel value
/// (the three block averages it is a difference of), between the SIMD and scalar backends.
pub const MMD_REL: f64 = 1e-10;
