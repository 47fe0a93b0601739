//! p-values of the two-sample Kolmogorov–Smirnov test, as `scipy.stats.ks_2samp` computes them
//! (`_ks_2samp_prob` and `_attempt_exact_2kssamp` in scipy 1.17).
//!
//! The exact null distribution counts monotone lattice paths from `(0, 0)` to `(n1, n2)`
//! (Hodges 1958, after Drion, Gnedenko and Korolyuk); the statistic enters as the integer `h`
//! with `D = h / lcm(n1, n2)`. The asymptotic two-sided p-value is the one-sample Kolmogorov
//! distribution at the effective size ([`kstwo_sf`], [`effective_n`]); the asymptotic one-sided
//! one is Hodges' approximation ([`asymp_one_sided`]).
//!
//! Each exact function returns `None` exactly where scipy's attempt fails (and scipy falls back
//! to `method='asymp'` with a warning), so the caller can reproduce that fallback.

mod kolmogorov;

pub use kolmogorov::{kstwo_sf, smirnov_sf};

/// Whether scipy's `method='exact'` attempts the exact p-value at all: it switches to
/// `'asymp'` when `n1/g >= i32::MAX / (n2/g)` (`g = gcd`), the quotient taken in floating
/// point as scipy does. (`method='auto'` instead uses the size rule `max(n1, n2) <= 10 000`.)
/// False for an empty sample.
pub fn exact_feasible(n1: u64, n2: u64) -> bool {
    if n1 == 0 || n2 == 0 {
        return false;
    }
    let g = gcd(n1, n2);
    let (n1g, n2g) = ((n1 / g) as f64, (n2 / g) as f64);
    n1g < f64::from(i32::MAX) / n2g
}

/// Two-sided exact p-value `P(D >= h/lcm)`, as scipy's
/// `_attempt_exact_2kssamp(n1, n2, g, d, 'two-sided')`.
///
/// `h` is the statistic in units of `1/lcm(n1, n2)`, computed exactly by the caller from
/// integer counts (it equals scipy's `round(d * lcm)`). `h == 0` gives `Some(1.0)`; `h > lcm`
/// (outside the statistic's range) gives `Some(0.0)`.
///
/// Methods, both ported operation for operation so the results match scipy to the last bit
/// or nearly (the arithmetic is the same IEEE sequence):
/// - `n1 == n2`: `_compute_prob_outside_square`, the reflection-principle alternating sum
///   `2 Σ_k (-1)^(k-1) C(2n, n - k h) / C(2n, n)` in Horner form, `O(n)`.
/// - otherwise `_compute_outer_prob_inside_method`: the lattice-path recursion of Hodges'
///   "inside" method rewritten to carry `1 - p` directly (Viehmann 2021), every step a convex
///   combination, so `p` keeps its relative precision far into the tail (not limited to
///   `1 - 1e-16`). Cost `O(max(n1,n2) · band)`, the band being about `2 h / (max/g)` wide —
///   up to `~10^8` steps (a fraction of a second) for sizes near 10 000 and large `D`.
///
/// Returns `None` where scipy's attempt fails: the computed value outside `[0, 1]` (for
/// `n1 == n2`, rounding can put `2P` a few ulps above 1 when `h` is small), an empty sample,
/// or `lcm` beyond `u64`.
pub fn exact_two_sided(n1: u64, n2: u64, h: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    if h == 0 {
        return Some(1.0);
    }
    let g = gcd(n1, n2);
    let lcm = (n1 / g).checked_mul(n2)?;
    if h > lcm {
        return Some(0.0);
    }
    let p = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside(n1, n2, g, h)
    };
    in_unit_interval(p)
}

/// One-sided exact p-value `P(D+ >= h/lcm)` (the same for `'less'` and `'greater'` by
/// symmetry of the path counts), as scipy's `_attempt_exact_2kssamp(..., 'greater')`.
///
/// - `n1 == n2`: `C(2n, n-h) / C(2n, n) = Π_{j<h} (n - j)/(n + j + 1)`, as scipy's product.
/// - otherwise scipy's `_count_paths_outside_method` (Hodges' "outside" method: paths first
///   reaching the boundary at each of its lattice crossings, by inclusion–exclusion), divided
///   by `C(n1 + n2, n1)`. The binomial coefficients are exact integers while below `2^80`
///   and otherwise `exp` of a Stirling-remainder `ln C` (relative error ~1e-13, like scipy's
///   `special.binom`); the inner coefficients depend only on the index gap and take two
///   values per gap, so they are computed once each and the count costs `O(n^2)` flops plus
///   `O(n)` coefficients (`n` the smaller size). The inclusion–exclusion cancels: scipy's
///   own results are within 2.3e-12 of exact rational arithmetic for sizes up to ~1100 (every
///   success case there), and these agree with scipy to that order.
///
/// `None` where scipy fails: `C(n1 + n2, n1)` overflows a double (scipy's `binom` returns
/// `inf`; this happens from about `n1 + n2 = 1030` for equal-ish sizes), the count exceeds
/// it, or the ratio leaves `[0, 1]`. The overflow boundary is decided from `ln C` to ~1e-13,
/// so a case within that distance of `f64::MAX` could be decided differently from scipy.
/// `h == 0` gives `Some(1.0)`, `h > lcm` gives `Some(0.0)`.
pub fn exact_one_sided(n1: u64, n2: u64, h: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    if h == 0 {
        return Some(1.0);
    }
    let g = gcd(n1, n2);
    let lcm = (n1 / g).checked_mul(n2)?;
    if h > lcm {
        return Some(0.0);
    }
    if n1 == n2 {
        let nf = n1 as f64;
        let mut p = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p *= (nf - jf) / (nf + jf + 1.0);
        }
        return in_unit_interval(p);
    }
    let total = binom(n1 + n2, n1.min(n2));
    if !total.is_finite() {
        return None;
    }
    let paths = count_paths_outside(n1, n2, g, h);
    if !paths.is_finite() || paths > total {
        return None;
    }
    in_unit_interval(paths / total)
}

/// scipy's one-sided `'asymp'` p-value: Hodges' approximation (his eq. 5.3) as in
/// `_ks_2samp_prob`, `exp(-2 z^2 - 2 z (m + 2n) / √(m n (m+n)) / 3)` with `m >= n` the sorted
/// sizes, `z = √(m n/(m+n)) · d`; clipped to `[0, 1]`. Written in scipy's operation order.
/// It is an approximation (relative error of order `1/√n` against the exact distribution);
/// this reproduces scipy's value, not the exact one.
pub fn asymp_one_sided(n1: u64, n2: u64, d: f64) -> f64 {
    let (m, n) = sorted_sizes(n1, n2);
    let en = m * n / (m + n);
    let z = en.sqrt() * d;
    let expt = -2.0 * (z * z) - 2.0 * z * (m + 2.0 * n) / (m * n * (m + n)).sqrt() / 3.0;
    expt.exp().clamp(0.0, 1.0)
}

/// scipy's effective size for the two-sided asymptotic p-value: `np.round(m*n/(m+n))` in
/// floating point with the sizes sorted descending, rounding half to even (so `(1, 1)` gives
/// 0, for which [`kstwo_sf`] is NaN, as in scipy).
pub fn effective_n(n1: u64, n2: u64) -> u64 {
    let (m, n) = sorted_sizes(n1, n2);
    let en = m * n / (m + n);
    if en.is_nan() {
        return 0;
    }
    en.round_ties_even() as u64
}

fn sorted_sizes(n1: u64, n2: u64) -> (f64, f64) {
    let (a, b) = (n1 as f64, n2 as f64);
    if a >= b { (a, b) } else { (b, a) }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `Some(p)` when `0 <= p <= 1` (false for NaN), as scipy's final check.
fn in_unit_interval(p: f64) -> Option<f64> {
    (0.0..=1.0).contains(&p).then_some(p)
}

/// `P(D_{n,n} >= h/n)`: scipy's `_compute_prob_outside_square`. With `A_k` the ratio of
/// `C(2n, n - k h)` to `C(2n, n - (k-1) h)`, `P = 2 A_1 (1 - A_2 (1 - A_3 (1 - …)))`,
/// evaluated from the innermost factor outwards in scipy's operation order.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (n, h) = (n as i64, h as i64);
    let mut p = 0.0;
    let mut k = (n as f64 / h as f64).floor() as i64;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// `P(D_{m,n} >= h/lcm)` for `m != n`: scipy's `_compute_outer_prob_inside_method`.
///
/// Column by column (`i` steps in the larger sample), `A[j]` is the probability that a random
/// path to `(i, j)` has already touched `|i/m - j/n| >= h/lcm`; only the band of `j` where that
/// is not certain is stored (outside it `A = 1`), and `A(i, j) = (i A(i-1, j) + j A(i, j-1)) /
/// (i + j)`. The window bounds use scipy's floating-point floor/ceil of `(ng i ∓ h) / mg`.
fn outer_prob_inside(n1: u64, n2: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if n1 < n2 { (n2, n1) } else { (n1, n2) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let (mg, ng) = (m / g, n / g);
    let mgf = mg as f64;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mgf).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    a[..maxj as usize].fill(0.0);
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((((ng * i - h) as f64 / mgf).floor() as i64) + 1)
            .max(0)
            .min(n);
        maxj = (((ng * i + h) as f64 / mgf).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let fi = i as f64;
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let shift = (minj - lastminj) as usize;
        for jj in 0..(maxj - minj) as usize {
            let j = (jj as i64 + minj) as f64;
            // Entries past the stored band are 1 (already outside); scipy's buffer is long
            // enough that this never reads past it, the fallback only keeps this panic-free.
            let prev = a.get(jj + shift).copied().unwrap_or(1.0);
            val = (prev * fi + val * j) / (fi + j);
            if let Some(slot) = a.get_mut(jj) {
                *slot = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = curlen as usize;
            let end = (start + (lastlen - curlen) as usize).min(len_a);
            a[start..end].fill(1.0);
        }
    }
    a.get((maxj - minj - 1) as usize).copied().unwrap_or(1.0)
}

/// scipy's `_count_paths_outside_method`: the number of paths from `(0, 0)` to `(m, n)`
/// (`m >= n`) that reach `n x - m y >= h g`. With `x_j` the first column where row `j` touches
/// that boundary, `B_j = C(x_j + j, j) - Σ_{i<j} C(x_j - x_i + j - i, j - i) B_i` counts the
/// paths first touching at `(x_j, j)`, and the total is `Σ_j B_j C(m - x_j + n - j, n - j)`.
fn count_paths_outside(n1: u64, n2: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if n1 < n2 { (n2, n1) } else { (n1, n2) };
    let (mg, ng) = (m / g, n / g);
    // lxj = n + (mg - h) // mg, with Python's floor division (mg - h may be negative).
    let lxj = n as i64 + (mg as i64 - h as i64).div_euclid(mg as i64);
    if lxj <= 0 {
        return binom(m + n, n);
    }
    let lxj = lxj as usize;
    let xj: Vec<u64> = (0..lxj as u64).map(|j| (h + mg * j).div_ceil(ng)).collect();
    // x_j - x_i takes one of two values for each gap j - i: floor or ceil of mg (j-i) / ng.
    let mut gap_lo = vec![0u64; lxj];
    let mut coef_lo = vec![0.0f64; lxj];
    let mut coef_hi = vec![0.0f64; lxj];
    for gap in 1..lxj {
        let lo = mg * gap as u64 / ng;
        gap_lo[gap] = lo;
        coef_lo[gap] = binom(lo + gap as u64, gap as u64);
        coef_hi[gap] = binom(lo + 1 + gap as u64, gap as u64);
    }
    let mut b = vec![0.0f64; lxj];
    b[0] = 1.0;
    for j in 1..lxj {
        let mut bj = binom(xj[j] + j as u64, j as u64);
        for i in 0..j {
            let gap = j - i;
            let c = if xj[j] - xj[i] == gap_lo[gap] {
                coef_lo[gap]
            } else {
                coef_hi[gap]
            };
            bj -= c * b[i];
        }
        b[j] = bj;
    }
    let mut num_paths = 0.0;
    for (j, (&bj, &x)) in b.iter().zip(&xj).enumerate() {
        let rest = n - j as u64;
        num_paths += bj * binom(m - x + rest, rest);
    }
    num_paths
}

/// The binomial coefficient `C(nn, k)` as a double: exact (one rounding) while the running
/// product stays below `2^80`, otherwise `exp(ln C)` with `ln C` from Stirling remainders
/// (relative error ~1e-13 where `ln C` is near 700). `inf` once it exceeds `f64::MAX`.
fn binom(nn: u64, k: u64) -> f64 {
    if k > nn {
        return 0.0;
    }
    let k = k.min(nn - k);
    if nn < (1 << 40) {
        let mut c: u128 = 1;
        let mut exact = true;
        for i in 0..k {
            if c > (1u128 << 80) {
                exact = false;
                break;
            }
            // C(nn, i) (nn - i) is divisible by i + 1.
            c = c * u128::from(nn - i) / u128::from(i + 1);
        }
        if exact {
            return c as f64;
        }
    }
    ln_binom(nn as f64, k as f64).exp()
}

/// `ln C(nn, k)` for `1 <= k <= nn - 1`:
/// `stirlerr(nn) - stirlerr(k) - stirlerr(nn-k) + k ln(nn/k) - (nn-k) ln(1 - k/nn)
///  + ½ ln(nn / (2π k (nn-k)))`, every term positive or small, so no cancellation.
fn ln_binom(nn: f64, k: f64) -> f64 {
    use kolmogorov::stirlerr;
    let r = nn - k;
    stirlerr(nn) - stirlerr(k) - stirlerr(r) + k * (nn / k).ln() - r * (-k / nn).ln_1p()
        + 0.5 * (nn / (k * r)).ln()
        - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `|got - want| <= 1e-6` and, where `want > 1e-300`, a relative error of at most
    /// `rel`; where `want <= 1e-300` (zero or subnormal in scipy), `got` must be as small.
    #[track_caller]
    pub(super) fn assert_close(got: f64, want: f64, rel: f64, what: &str) {
        let err = (got - want).abs();
        assert!(
            err <= 1e-6,
            "{what}: got {got:e}, want {want:e} (abs err {err:e})"
        );
        if want > 1e-300 {
            assert!(
                err <= rel * want,
                "{what}: got {got:e}, want {want:e} (rel err {:e})",
                err / want
            );
        } else {
            assert!(got <= 1e-290, "{what}: got {got:e}, want {want:e}");
        }
    }

    #[test]
    fn exact_two_sided_matches_scipy() {
        // (n1, n2, h, _attempt_exact_2kssamp(n1, n2, g, h/lcm, 'two-sided')); generated by
        // benches/peers/pin_kolmogorov.py. n1 == n2 (including scipy's failure at (5, 5, 1),
        // where 2P rounds above 1) and n1 != n2, sizes 1 and 2, coprime sizes, h from 1 to lcm.
        let cases: &[(u64, u64, u64, Option<f64>)] = &[
            // scipy 1.17.1: _attempt_exact_2kssamp(1, 1, 1, 1/1, 'two-sided')
            (1, 1, 1, Some(1.0)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1, 2, 1, 1/2, 'two-sided')
            (1, 2, 1, Some(1.0)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1, 2, 1, 2/2, 'two-sided')
            (1, 2, 2, Some(0.6666666666666666)),
            // scipy 1.17.1: _attempt_exact_2kssamp(2, 2, 2, 1/2, 'two-sided')
            (2, 2, 1, Some(1.0)),
            // scipy 1.17.1: _attempt_exact_2kssamp(2, 2, 2, 2/2, 'two-sided')
            (2, 2, 2, Some(0.3333333333333333)),
            // scipy 1.17.1: _attempt_exact_2kssamp(5, 5, 5, 1/5, 'two-sided')
            (5, 5, 1, None),
            // scipy 1.17.1: _attempt_exact_2kssamp(3, 3, 3, 2/3, 'two-sided')
            (3, 3, 2, Some(0.6)),
            // scipy 1.17.1: _attempt_exact_2kssamp(10, 10, 10, 3/10, 'two-sided')
            (10, 10, 3, Some(0.7869297884777761)),
            // scipy 1.17.1: _attempt_exact_2kssamp(50, 50, 50, 10/50, 'two-sided')
            (50, 50, 10, Some(0.2719135601522248)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1000, 1000, 1000, 100/1000, 'two-sided')
            (1000, 1000, 100, Some(8.974277567313009e-05)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1000, 1000, 1000, 1000/1000, 'two-sided')
            (1000, 1000, 1000, Some(0.0)),
            // scipy 1.17.1: _attempt_exact_2kssamp(7, 13, 1, 50/91, 'two-sided')
            (7, 13, 50, Some(0.09411764705882353)),
            // scipy 1.17.1: _attempt_exact_2kssamp(13, 17, 1, 100/221, 'two-sided')
            (13, 17, 100, Some(0.07118826551636463)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1, 1000, 1, 700/1000, 'two-sided')
            (1, 1000, 700, Some(0.6013986013986019)),
            // scipy 1.17.1: _attempt_exact_2kssamp(2, 999, 1, 1500/1998, 'two-sided')
            (2, 999, 1500, Some(0.12537462537462526)),
            // scipy 1.17.1: _attempt_exact_2kssamp(100, 99, 1, 2000/9900, 'two-sided')
            (100, 99, 2000, Some(0.029107488532680734)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1000, 999, 1, 1/999000, 'two-sided')
            (1000, 999, 1, Some(1.0)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1000, 999, 1, 99900/999000, 'two-sided')
            (1000, 999, 99900, Some(8.076849810581865e-05)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1000, 999, 1, 998000/999000, 'two-sided')
            (1000, 999, 998000, Some(0.0)),
            // scipy 1.17.1: _attempt_exact_2kssamp(600, 400, 200, 300/1200, 'two-sided')
            (600, 400, 300, Some(1.2397002852158084e-13)),
            // scipy 1.17.1: _attempt_exact_2kssamp(3000, 2999, 1, 150000/8997000, 'two-sided')
            (3000, 2999, 150000, Some(0.7890222070280726)),
        ];
        for &(n1, n2, h, want) in cases {
            let got = exact_two_sided(n1, n2, h);
            let what = format!("exact_two_sided({n1}, {n2}, {h})");
            match (got, want) {
                // The same operations as scipy, so the same bits (allow one rounding).
                (Some(g), Some(w)) => assert_close(g, w, 1e-15, &what),
                (g, w) => assert_eq!(g, w, "{what}"),
            }
            // Symmetric in the sizes.
            assert_eq!(exact_two_sided(n2, n1, h), got, "{what} swapped");
        }
    }

    #[test]
    fn exact_one_sided_matches_scipy() {
        // (n1, n2, h, _attempt_exact_2kssamp(n1, n2, g, h/lcm, 'greater')): the n1 == n2
        // product, the path count for n1 != n2 (to a deep tail at 3.5e-80), and scipy's
        // failures where C(n1 + n2, n1) overflows a double.
        let cases: &[(u64, u64, u64, Option<f64>)] = &[
            // scipy 1.17.1: _attempt_exact_2kssamp(1, 1, 1, 1/1, 'greater')
            (1, 1, 1, Some(0.5)),
            // scipy 1.17.1: _attempt_exact_2kssamp(2, 2, 2, 1/2, 'greater')
            (2, 2, 1, Some(0.6666666666666666)),
            // scipy 1.17.1: _attempt_exact_2kssamp(10, 10, 10, 3/10, 'greater')
            (10, 10, 3, Some(0.4195804195804196)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1000, 1000, 1000, 100/1000, 'greater')
            (1000, 1000, 100, Some(4.487138783656832e-05)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1000, 1000, 1000, 1000/1000, 'greater')
            (1000, 1000, 1000, Some(0.0)),
            // scipy 1.17.1: _attempt_exact_2kssamp(7, 13, 1, 50/91, 'greater')
            (7, 13, 50, Some(0.047058823529411764)),
            // scipy 1.17.1: _attempt_exact_2kssamp(1, 1000, 1, 700/1000, 'greater')
            (1, 1000, 700, Some(0.3006993006993007)),
            // scipy 1.17.1: _attempt_exact_2kssamp(2, 999, 1, 1500/1998, 'greater')
            (2, 999, 1500, Some(0.06268731268731269)),
            // scipy 1.17.1: _attempt_exact_2kssamp(100, 37, 1, 1500/3700, 'greater')
            (100, 37, 1500, Some(8.196162445431033e-05)),
            // scipy 1.17.1: _attempt_exact_2kssamp(500, 499, 1, 50000/249500, 'greater')
            (500, 499, 50000, Some(1.4696229089013456e-09)),
            // scipy 1.17.1: _attempt_exact_2kssamp(10000, 130, 10, 100000/130000, 'greater')
            (10000, 130, 100000, Some(3.525647810814742e-80)),
            // scipy 1.17.1: _attempt_exact_2kssamp(600, 601, 1, 1000/360600, 'greater')
            (600, 601, 1000, None),
            // scipy 1.17.1: _attempt_exact_2kssamp(2000, 1999, 1, 40000/3998000, 'greater')
            (2000, 1999, 40000, None),
            // scipy 1.17.1: _attempt_exact_2kssamp(3000, 40, 40, 2000/3000, 'greater')
            (3000, 40, 2000, Some(4.607872417276939e-18)),
            // scipy 1.17.1: _attempt_exact_2kssamp(3000, 40, 40, 300/3000, 'greater')
            (3000, 40, 300, Some(0.426724145425267)),
        ];
        for &(n1, n2, h, want) in cases {
            let what = format!("exact_one_sided({n1}, {n2}, {h})");
            for got in [exact_one_sided(n1, n2, h), exact_one_sided(n2, n1, h)] {
                match (got, want) {
                    (Some(g), Some(w)) => assert_close(g, w, 1e-10, &what),
                    (g, w) => assert_eq!(g, w, "{what}"),
                }
            }
        }
    }

    #[test]
    fn exact_edges() {
        for (n1, n2) in [(1, 1), (3, 5), (1000, 999)] {
            assert_eq!(exact_two_sided(n1, n2, 0), Some(1.0));
            assert_eq!(exact_one_sided(n1, n2, 0), Some(1.0));
            // Beyond D = 1: probability 0.
            let lcm = n1 * n2 / gcd(n1, n2);
            assert_eq!(exact_two_sided(n1, n2, lcm + 1), Some(0.0));
            assert_eq!(exact_one_sided(n1, n2, lcm + 1), Some(0.0));
        }
        assert_eq!(exact_two_sided(0, 5, 1), None);
        assert_eq!(exact_one_sided(5, 0, 1), None);
    }

    #[test]
    fn asymp_one_sided_matches_scipy() {
        // (n1, n2, d, p) from the method='asymp' one-sided branch of scipy 1.17.1's ks_2samp.
        let cases: &[(u64, u64, f64, f64)] = &[
            // scipy 1.17.1: ks_2samp asymp 'greater' branch at n1=1000, n2=20000, d=0.02
            (1000, 20000, 0.02, 0.46030175479855634),
            // scipy 1.17.1: ks_2samp asymp 'greater' branch at n1=20000, n2=1000, d=0.02
            (20000, 1000, 0.02, 0.46030175479855634),
            // scipy 1.17.1: ks_2samp asymp 'greater' branch at n1=50, n2=60, d=0.3
            (50, 60, 0.3, 0.005516564420760777),
            // scipy 1.17.1: ks_2samp asymp 'greater' branch at n1=5, n2=5, d=0.0
            (5, 5, 0.0, 1.0),
        ];
        for &(n1, n2, d, want) in cases {
            assert_close(
                asymp_one_sided(n1, n2, d),
                want,
                1e-14,
                &format!("asymp({n1}, {n2}, {d})"),
            );
        }
        assert_eq!(asymp_one_sided(10, 20, 1e9), 0.0);
    }

    #[test]
    fn effective_n_matches_numpy_round() {
        // np.round(m*n/(m+n)) with m >= n, half to even:
        // (1, 1) -> round(0.5) = 0, (3, 1) -> round(0.75) = 1, (3, 3) -> round(1.5) = 2,
        // (5, 5) -> round(2.5) = 2, (7, 7) -> round(3.5) = 4, (10000, 100) -> 99,
        // (20000, 10001) -> 6667.
        for (n1, n2, want) in [
            (1, 1, 0),
            (3, 1, 1),
            (3, 3, 2),
            (5, 5, 2),
            (7, 7, 4),
            (10000, 100, 99),
            (20000, 10001, 6667),
        ] {
            assert_eq!(effective_n(n1, n2), want, "({n1}, {n2})");
            assert_eq!(effective_n(n2, n1), want, "({n2}, {n1})");
        }
        // ks_2samp's two-sided asymp p-value at d = 0.05: kstwo.sf(0.05, np.round(en)).
        // scipy 1.17.1: kstwo.sf(0.05, 0) = nan (the (1, 1) case); kstwo.sf(0.05, 99) =
        // 0.9550307568289971; kstwo.sf(0.05, 6667) = 6.335270935301516e-15.
        assert!(kstwo_sf(effective_n(1, 1), 0.05).is_nan());
        assert_close(
            kstwo_sf(effective_n(10000, 100), 0.05),
            0.9550307568289971,
            1e-12,
            "en 99",
        );
        assert_close(
            kstwo_sf(effective_n(20000, 10001), 0.05),
            6.335270935301516e-15,
            1e-10,
            "en 6667",
        );
    }

    #[test]
    fn exact_feasible_matches_scipy() {
        // ks_2samp's `n1//g >= np.iinfo(np.int32).max / (n2//g)` test (True = exact tried):
        // (46341, 46341) True, (46340, 46341) True, (46341, 46342) False, (100000, 30000)
        // True, (3, 10^9) False.
        assert!(exact_feasible(46341, 46341));
        assert!(exact_feasible(46340, 46341));
        assert!(!exact_feasible(46341, 46342));
        assert!(exact_feasible(100_000, 30_000));
        assert!(!exact_feasible(3, 1_000_000_000));
        assert!(!exact_feasible(0, 3));
    }

    #[test]
    fn binomials() {
        assert_eq!(binom(10, 3), 120.0);
        assert_eq!(binom(60, 30), 118_264_581_564_861_424.0);
        assert_eq!(binom(5, 7), 0.0);
        // C(1000, 500) = 2.702882409454365e299 (exact integer, rounded).
        let c = binom(1000, 500);
        assert!((c / 2.702882409454365e299 - 1.0).abs() < 1e-13, "{c:e}");
        assert!(binom(1030, 515).is_infinite());
    }

    /// Compares every case of a sweep file written by
    /// `benches/peers/pin_kolmogorov.py --sweep FILE` (lines `kind args… expected`).
    #[test]
    #[ignore = "needs DRIFTTAP_KS_SWEEP=<file from pin_kolmogorov.py --sweep>"]
    fn sweep_against_scipy() {
        let path = std::env::var("DRIFTTAP_KS_SWEEP").expect("DRIFTTAP_KS_SWEEP is set");
        let text = std::fs::read_to_string(&path).expect("sweep file is readable");
        let mut worst: std::collections::BTreeMap<&str, (usize, f64, f64)> = Default::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            let num = |i: usize| f[i].parse::<u64>().expect("integer field");
            let want = f[f.len() - 1];
            let got = match f[0] {
                "kstwo" => Some(kstwo_sf(num(1), f[2].parse().expect("d"))),
                "smirnov" => Some(smirnov_sf(num(1), f[2].parse().expect("d"))),
                "two" => exact_two_sided(num(1), num(2), num(3)),
                "one" => exact_one_sided(num(1), num(2), num(3)),
                other => panic!("unknown kind {other}"),
            };
            let entry = worst.entry(f[0]).or_insert((0, 0.0, 0.0));
            entry.0 += 1;
            if want == "None" {
                assert_eq!(got, None, "{line}");
                continue;
            }
            let want: f64 = want.parse().expect("expected value");
            let got = got.unwrap_or_else(|| panic!("{line}: got None"));
            assert_close(got, want, 1e-3, line);
            let err = (got - want).abs();
            entry.1 = entry.1.max(err);
            if want > 1e-300 {
                entry.2 = entry.2.max(err / want);
            }
        }
        for (kind, (count, abs, rel)) in worst {
            println!("{kind}: {count} cases, max abs err {abs:.3e}, max rel err {rel:.3e}");
        }
    }
}
