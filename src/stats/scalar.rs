//! The scalar kernels: the simplest correct code for each hot loop. They are what
//! [`Backend::Scalar`](super::Backend::Scalar) runs and the oracle the SIMD kernels are tested
//! against (see [`super::tolerance`]). Kernels take finite data only; callers validate.

use super::ks::extremes::Extremes;
use super::simd::Element;

/// Sorts ascending in the total order of `f64` (finite data, so the usual order).
pub(crate) fn sort(values: &mut [f64]) {
    values.sort_unstable_by(f64::total_cmp);
}

/// The extreme ECDF differences between a sorted reference `a` (size n) and a sorted window `b`
/// (size m), by a merge walk over every distinct pooled value: at each value `x`,
/// `c1 = #{a ≤ x}`, `c2 = #{b ≤ x}`, and the integer difference `c1·m − c2·n` (which is
/// `n·m·(F1(x) − F2(x))`). Returns its maximum and the maximum of its negation, each with the
/// first `x` where it is reached; both start at 0 (the difference is 0 past the largest value).
pub(crate) fn ks_extremes(a: &[f64], b: &[f64]) -> Extremes {
    let (n, m) = (a.len() as i64, b.len() as i64);
    let mut out = Extremes::default();
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&p), Some(&q)) => p.min(q),
            (Some(&p), None) => p,
            (None, Some(&q)) => q,
            (None, None) => break,
        };
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        out.observe(i as i64 * m - j as i64 * n, x);
    }
    out
}

/// `c[r·c_stride + k] += Σ_t a[r·a_stride + t] · b[t·b_stride + k]` for `r < rows`,
/// `k < cols`, `t < depth`: a plain matrix product, accumulated into `c`.
#[expect(
    clippy::too_many_arguments,
    reason = "a GEMM signature: three strided matrices"
)]
pub(crate) fn gemm_acc<T: Element>(
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
    for r in 0..rows {
        for t in 0..depth {
            let x = a[r * a_stride + t];
            let b_row = &b[t * b_stride..t * b_stride + cols];
            for (out, y) in c[r * c_stride..r * c_stride + cols].iter_mut().zip(b_row) {
                *out += x * *y;
            }
        }
    }
}

/// Turns a tile of dot products into RBF kernel values in place:
/// `k = exp(−γ · max(‖x_i‖² + ‖x_j‖² − 2·x_i·x_j, 0))`.
pub(crate) fn rbf_from_dots(
    dots: &mut [f64],
    stride: usize,
    norms_i: &[f64],
    norms_j: &[f64],
    gamma: f64,
) {
    for (r, ni) in norms_i.iter().enumerate() {
        let row = &mut dots[r * stride..r * stride + norms_j.len()];
        for (v, nj) in row.iter_mut().zip(norms_j) {
            let d2 = (ni + nj - 2.0 * *v).max(0.0);
            *v = (-gamma * d2).exp();
        }
    }
}

/// `out[k] += Σ_r x[r·stride + k] · y[r·stride + k]` over `rows` rows of `out.len()` columns:
/// the column-wise dot products that fold a tile's product into per-permutation sums.
pub(crate) fn column_dots(x: &[f64], y: &[f64], stride: usize, rows: usize, out: &mut [f64]) {
    for r in 0..rows {
        let base = r * stride;
        for (k, o) in out.iter_mut().enumerate() {
            *o += x[base + k] * y[base + k];
        }
    }
}

/// `exp` of every element, in place (the oracle for the SIMD `exp`).
#[cfg(test)]
pub(crate) fn exp_in_place(values: &mut [f64]) {
    for v in values {
        *v = v.exp();
    }
}

/// `out[k] += Σ_r weights[r] · x[r·stride + k]` over `weights.len()` rows of `out.len()` columns.
pub(crate) fn weighted_rows(x: &[f64], stride: usize, weights: &[f64], out: &mut [f64]) {
    for (r, w) in weights.iter().enumerate() {
        for (o, v) in out.iter_mut().zip(&x[r * stride..]) {
            *o += w * v;
        }
    }
}
