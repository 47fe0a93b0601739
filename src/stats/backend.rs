//! Which implementation runs the hot loops, chosen once at start-up.
//!
//! [`Backend::Scalar`] is plain, obviously-correct Rust: the oracle every faster kernel is
//! tested against. [`Backend::Simd`] runs pulp kernels compiled for AVX-512, AVX2+FMA and NEON
//! and picked by run-time CPU detection. A CUDA backend will be a third variant behind the
//! `cuda` feature; everything above this module talks to a `Backend` value and never to an
//! instruction set, so adding it touches only the dispatch here and the kernels below.
//!
//! Parallelism is an explicit budget ([`Compute::threads`], default 1): a sidecar shares its
//! pod's CPUs with the model it watches, so drifttap never spreads over every core on its own.

use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use super::{scalar, simd};

/// An instruction-set level for the SIMD kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SimdLevel {
    /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL.
    Avx512,
    /// x86-64-v3: AVX2 with FMA.
    Avx2,
    /// AArch64 Advanced SIMD.
    Neon,
}

/// The implementation that runs the statistics kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable scalar code, the reference implementation.
    Scalar,
    /// Vectorised kernels at the given level (only constructed when the CPU supports it).
    Simd(SimdLevel),
}

impl Backend {
    /// The fastest backend this CPU supports.
    pub fn detect() -> Self {
        Self::available().last().copied().unwrap_or(Backend::Scalar)
    }

    /// Every backend this CPU can run, slowest first (scalar is always available).
    pub fn available() -> Vec<Backend> {
        let mut out = vec![Backend::Scalar];
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            if pulp::x86::V3::try_new().is_some() {
                out.push(Backend::Simd(SimdLevel::Avx2));
            }
            if pulp::x86::V4::try_new().is_some() {
                out.push(Backend::Simd(SimdLevel::Avx512));
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if pulp::aarch64::Neon::try_new().is_some() {
                out.push(Backend::Simd(SimdLevel::Neon));
            }
        }
        out
    }

    /// A stable name for logs and the build-info metric: `scalar`, `avx2`, `avx512` or `neon`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Simd(SimdLevel::Avx2) => "avx2",
            Backend::Simd(SimdLevel::Avx512) => "avx512",
            Backend::Simd(SimdLevel::Neon) => "neon",
        }
    }

    /// Runs `op` with the SIMD token for this backend's level. `Scalar` (and a level the CPU
    /// lacks, which `detect`/`available` never produce) runs pulp's portable scalar token, so
    /// the same generic kernel source serves every level.
    pub(crate) fn vectorize<Op: pulp::WithSimd>(self, op: Op) -> Op::Output {
        use pulp::Simd;
        match self {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Simd(SimdLevel::Avx2) => match pulp::x86::V3::try_new() {
                Some(simd) => Simd::vectorize(simd, op),
                None => Simd::vectorize(pulp::Scalar::new(), op),
            },
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Backend::Simd(SimdLevel::Avx512) => match pulp::x86::V4::try_new() {
                Some(simd) => Simd::vectorize(simd, op),
                None => Simd::vectorize(pulp::Scalar::new(), op),
            },
            #[cfg(target_arch = "aarch64")]
            Backend::Simd(SimdLevel::Neon) => match pulp::aarch64::Neon::try_new() {
                Some(simd) => Simd::vectorize(simd, op),
                None => Simd::vectorize(pulp::Scalar::new(), op),
            },
            _ => Simd::vectorize(pulp::Scalar::new(), op),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where and how wide the kernels run: a backend and a thread budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compute {
    /// The kernel implementation.
    pub backend: Backend,
    /// The most threads one statistic may use (scoped threads, joined before it returns).
    pub threads: NonZeroUsize,
    /// Cooperative scheduling: with `Some(every)`, a statistic offers its thread's CPU to
    /// other threads (see [`super::pace`]) at least this often, between units of work (an MMD
    /// tile, a feature). `None` runs to completion: the offline check.
    pub yield_every: Option<Duration>,
}

impl Compute {
    /// The detected backend on one thread: the sidecar default.
    pub fn detect() -> Self {
        Compute {
            backend: Backend::detect(),
            threads: NonZeroUsize::MIN,
            yield_every: None,
        }
    }

    /// The scalar oracle on one thread.
    pub fn scalar() -> Self {
        Compute {
            backend: Backend::Scalar,
            threads: NonZeroUsize::MIN,
            yield_every: None,
        }
    }

    /// The same backend with a different thread budget (0 is taken as 1).
    pub fn with_threads(self, threads: usize) -> Self {
        Compute {
            threads: NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN),
            ..self
        }
    }

    /// The same, offering its CPU to other threads at least every `every` (`None`: never).
    pub fn yielding_every(self, every: Option<Duration>) -> Self {
        Compute {
            yield_every: every,
            ..self
        }
    }

    /// Between two units of work: offers the CPU if `yield_every` says it is time.
    pub fn checkpoint(&self) {
        if let Some(every) = self.yield_every {
            super::pace::checkpoint(every);
        }
    }
}

impl Default for Compute {
    fn default() -> Self {
        Self::detect()
    }
}

/// Kernel dispatch: each method runs the scalar oracle or the SIMD kernel of the same name.
impl Backend {
    /// `c += a · b` on strided row-major matrices (see [`scalar::gemm_acc`]).
    #[expect(
        clippy::too_many_arguments,
        reason = "a GEMM signature: three strided matrices"
    )]
    pub(crate) fn gemm_acc<T: simd::Element>(
        self,
        a: &[T],
        a_stride: usize,
        b: &[T],
        b_stride: usize,
        depth: usize,
        c: &mut [T],
        c_stride: usize,
        rows: usize,
        cols: usize,
    ) {
        match self {
            Backend::Scalar => {
                scalar::gemm_acc(a, a_stride, b, b_stride, depth, c, c_stride, rows, cols)
            }
            Backend::Simd(_) => self.vectorize(simd::GemmAcc {
                a,
                a_stride,
                b,
                b_stride,
                depth,
                c,
                c_stride,
                rows,
                cols,
            }),
        }
    }

    /// The width of one vector register in bytes (for padding matrices to whole vectors).
    pub(crate) fn vector_bytes(self) -> usize {
        match self {
            Backend::Simd(SimdLevel::Avx512) => 64,
            Backend::Simd(SimdLevel::Neon) => 16,
            _ => 32,
        }
    }

    /// Narrows f64 to f32, element-wise.
    pub(crate) fn narrow(self, from: &[f64], to: &mut [f32]) {
        self.vectorize(simd::Convert { from, to })
    }

    /// Widens f32 to f64, element-wise.
    pub(crate) fn widen(self, from: &[f32], to: &mut [f64]) {
        self.vectorize(simd::Convert { from, to })
    }

    /// Dot products to RBF kernel values, in place (see [`scalar::rbf_from_dots`]).
    pub(crate) fn rbf_from_dots(
        self,
        dots: &mut [f64],
        stride: usize,
        norms_i: &[f64],
        norms_j: &[f64],
        gamma: f64,
    ) {
        match self {
            Backend::Scalar => scalar::rbf_from_dots(dots, stride, norms_i, norms_j, gamma),
            Backend::Simd(_) => self.vectorize(simd::RbfFromDots {
                dots,
                stride,
                norms_i,
                norms_j,
                gamma,
            }),
        }
    }

    /// Column-wise dot products of two strided matrices (see [`scalar::column_dots`]).
    pub(crate) fn column_dots(
        self,
        x: &[f64],
        y: &[f64],
        stride: usize,
        rows: usize,
        out: &mut [f64],
    ) {
        match self {
            Backend::Scalar => scalar::column_dots(x, y, stride, rows, out),
            Backend::Simd(_) => self.vectorize(simd::ColumnDots {
                x,
                y,
                stride,
                rows,
                out,
            }),
        }
    }

    /// Row-weighted column sums (see [`scalar::weighted_rows`]).
    pub(crate) fn weighted_rows(self, x: &[f64], stride: usize, weights: &[f64], out: &mut [f64]) {
        match self {
            Backend::Scalar => scalar::weighted_rows(x, stride, weights, out),
            Backend::Simd(_) => self.vectorize(simd::WeightedRows {
                x,
                stride,
                weights,
                out,
            }),
        }
    }

    /// `exp` in place, for arguments `≤ 0` (see [`scalar::exp_in_place`]). The kernels use the
    /// same `exp` inside [`Backend::rbf_from_dots`]; this entry point exists to test it alone.
    #[cfg(test)]
    pub(crate) fn exp_in_place(self, values: &mut [f64]) {
        match self {
            Backend::Scalar => scalar::exp_in_place(values),
            Backend::Simd(_) => self.vectorize(simd::ExpInPlace(values)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_is_always_available_and_first() {
        let all = Backend::available();
        assert_eq!(all[0], Backend::Scalar);
        assert_eq!(
            Backend::detect(),
            *all.last().expect("scalar is always there")
        );
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(Backend::Scalar.name(), "scalar");
        assert_eq!(Backend::Simd(SimdLevel::Avx2).to_string(), "avx2");
    }
}
