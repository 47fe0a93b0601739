//! SIMD kernels (pulp): one generic source compiled for AVX-512, AVX2+FMA and NEON and chosen at
//! run time through [`Backend::vectorize`](super::Backend). Each mirrors a kernel in
//! [`super::scalar`] and is tested against it within [`super::tolerance`].
//!
//! Everything reachable from a `with_simd` body is `#[inline(always)]`: pulp compiles the body
//! inside a `#[target_feature]` function, and only inlined code inherits those features.

use pulp::{Simd, WithSimd};

use super::ks::extremes::Extremes;

/// Number of `f64` lanes of `S`.
#[inline(always)]
fn lanes<S: Simd>() -> usize {
    size_of::<S::f64s>() / size_of::<f64>()
}

/// `S::f64s` from exactly `lanes::<S>()` values.
#[inline(always)]
fn load<S: Simd>(values: &[f64]) -> S::f64s {
    let (head, _) = S::as_simd_f64s(values);
    head[0]
}

#[inline(always)]
fn store<S: Simd>(out: &mut [f64], v: S::f64s) {
    let (head, _) = S::as_mut_simd_f64s(out);
    head[0] = v;
}

// ---------------------------------------------------------------------------------------------
// KS: the count walk.

/// The extreme ECDF differences between a sorted reference and a sorted window, visiting only
/// the points where an extreme can occur: for each distinct window value `w`, the largest
/// reference value below `w` (where `F1 − F2` peaks on the gap before `w`) and `w` itself.
/// Reference positions are found from the previous one by counting, a block of
/// [`BLOCK`] values at a time with vector compares, how many lie below `w` (the reference is
/// sorted, so that count is the offset of the first value not below); long gaps switch to
/// galloping. The walk costs O(m + m·log(n/m)) and almost no branch mispredictions.
pub(crate) struct KsExtremes<'a> {
    pub reference: &'a [f64],
    pub window: &'a [f64],
}

/// Reference values compared per step of the count walk. With the window a tenth of the
/// reference, gaps between window values average 10 reference values; a 32-wide block ends
/// the search in one step ~96 % of the time, so the loop's exit branch is rarely mispredicted
/// (16 measured ~40 % slower on such data, 64 slower again).
const BLOCK: usize = 32;

/// Independent walks interleaved: each step of a walk waits on the previous step's count, so
/// one walk is a chain of dependent loads and compares; four chains keep the core busy.
const WALKS: usize = 4;

/// One walk over a contiguous stretch of the window.
#[derive(Clone, Copy)]
struct Walk {
    /// Next window index, and the end of this walk's stretch.
    j: usize,
    end: usize,
    /// Reference values below the next window value's predecessor (the search start).
    lt: usize,
    out: Extremes,
}

impl WithSimd for KsExtremes<'_> {
    type Output = Extremes;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Extremes {
        let (a, b) = (self.reference, self.window);
        let (n, m) = (a.len() as i64, b.len() as i64);
        // Split the window into stretches that start at the beginning of a run of equal values,
        // each walk starting from its first value's position in the reference.
        let mut walks = [Walk {
            j: 0,
            end: 0,
            lt: 0,
            out: Extremes::default(),
        }; WALKS];
        let mut start = 0;
        for (k, walk) in walks.iter_mut().enumerate() {
            let mut end = b.len() * (k + 1) / WALKS;
            while end > start && end < b.len() && b[end] == b[end - 1] {
                end -= 1;
            }
            let end = end.max(start);
            let lt = if start < b.len() {
                a.partition_point(|x| *x < b[start])
            } else {
                a.len()
            };
            *walk = Walk {
                j: start,
                end,
                lt,
                out: Extremes::default(),
            };
            start = end;
        }
        walks[WALKS - 1].end = b.len();
        loop {
            let mut active = false;
            for walk in walks.iter_mut() {
                if walk.j >= walk.end {
                    continue;
                }
                active = true;
                let j = walk.j;
                let w = b[j];
                let mut j_end = j + 1;
                while j_end < walk.end && b[j_end] == w {
                    j_end += 1;
                }
                let lt = first_not_below(simd, a, walk.lt, w, false);
                // Ties with the reference are rare in continuous data: test before searching.
                let le = if lt < a.len() && a[lt] == w {
                    first_not_below(simd, a, lt, w, true)
                } else {
                    lt
                };
                if lt > 0 {
                    walk.out.observe(lt as i64 * m - j as i64 * n, a[lt - 1]);
                }
                walk.out.observe(le as i64 * m - j_end as i64 * n, w);
                walk.lt = le;
                walk.j = j_end;
            }
            if !active {
                break;
            }
        }
        // Walks cover ascending stretches, so merging in order keeps the first location.
        walks.iter().fold(Extremes::default(), |mut acc, walk| {
            acc.observe_extremes(&walk.out);
            acc
        })
    }
}

/// The first index `≥ start` whose value is `≥ w` (or `> w` when `strict`), `a` sorted.
#[inline(always)]
fn first_not_below<S: Simd>(simd: S, a: &[f64], start: usize, w: f64, strict: bool) -> usize {
    let below = |x: f64| if strict { x <= w } else { x < w };
    let mut lo = start;
    // Short gaps — the common case when the window is a sizeable fraction of the reference —
    // end inside the first block or two.
    for _ in 0..2 {
        if lo + BLOCK > a.len() {
            return lo + a[lo..].iter().take_while(|x| below(**x)).count();
        }
        let count = count_below(simd, &a[lo..lo + BLOCK], w, strict);
        if count < BLOCK {
            return lo + count;
        }
        lo += BLOCK;
    }
    // A long gap: gallop, then bisect down to one block.
    let mut step = BLOCK;
    while lo + step <= a.len() && below(a[lo + step - 1]) {
        lo += step;
        step *= 2;
    }
    let mut hi = (lo + step).min(a.len());
    while hi - lo > BLOCK {
        let mid = lo + (hi - lo) / 2;
        if below(a[mid - 1]) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo + a[lo..hi].iter().take_while(|x| below(**x)).count()
}

/// How many of `block` (exactly [`BLOCK`] sorted values) are below `w` (`≤ w` when `strict`).
#[inline(always)]
fn count_below<S: Simd>(simd: S, block: &[f64], w: f64, strict: bool) -> usize {
    let wv = simd.splat_f64s(w);
    let (one, zero) = (simd.splat_f64s(1.0), simd.splat_f64s(0.0));
    let (head, tail) = S::as_simd_f64s(block);
    let mut acc = zero;
    for v in head {
        let mask = if strict {
            simd.less_than_or_equal_f64s(*v, wv)
        } else {
            simd.less_than_f64s(*v, wv)
        };
        acc = simd.add_f64s(acc, simd.select_f64s(mask, one, zero));
    }
    let below = |x: f64| if strict { x <= w } else { x < w };
    simd.reduce_sum_f64s(acc) as usize + tail.iter().filter(|x| below(**x)).count()
}

// ---------------------------------------------------------------------------------------------
// MMD: GEMM micro-kernels, the RBF transform, and the per-permutation folds.

/// A float type the GEMM kernels run on, with pulp's vector operations for it.
pub(crate) trait Element:
    Copy + Default + Send + Sync + std::ops::Mul<Output = Self> + std::ops::AddAssign + 'static
{
    type Vector<S: Simd>: Copy;
    fn splat<S: Simd>(simd: S, x: Self) -> Self::Vector<S>;
    fn mul_add<S: Simd>(
        simd: S,
        a: Self::Vector<S>,
        b: Self::Vector<S>,
        c: Self::Vector<S>,
    ) -> Self::Vector<S>;
    fn add<S: Simd>(simd: S, a: Self::Vector<S>, b: Self::Vector<S>) -> Self::Vector<S>;
    fn as_simd<S: Simd>(values: &[Self]) -> (&[Self::Vector<S>], &[Self]);
    fn as_mut_simd<S: Simd>(values: &mut [Self]) -> (&mut [Self::Vector<S>], &mut [Self]);
}

macro_rules! element {
    ($t:ty, $v:ident, $splat:ident, $mul_add:ident, $add:ident, $as:ident, $as_mut:ident) => {
        impl Element for $t {
            type Vector<S: Simd> = S::$v;
            #[inline(always)]
            fn splat<S: Simd>(simd: S, x: Self) -> S::$v {
                simd.$splat(x)
            }
            #[inline(always)]
            fn mul_add<S: Simd>(simd: S, a: S::$v, b: S::$v, c: S::$v) -> S::$v {
                simd.$mul_add(a, b, c)
            }
            #[inline(always)]
            fn add<S: Simd>(simd: S, a: S::$v, b: S::$v) -> S::$v {
                simd.$add(a, b)
            }
            #[inline(always)]
            fn as_simd<S: Simd>(values: &[Self]) -> (&[S::$v], &[Self]) {
                S::$as(values)
            }
            #[inline(always)]
            fn as_mut_simd<S: Simd>(values: &mut [Self]) -> (&mut [S::$v], &mut [Self]) {
                S::$as_mut(values)
            }
        }
    };
}

element!(
    f64,
    f64s,
    splat_f64s,
    mul_add_f64s,
    add_f64s,
    as_simd_f64s,
    as_mut_simd_f64s
);
element!(
    f32,
    f32s,
    splat_f32s,
    mul_add_f32s,
    add_f32s,
    as_simd_f32s,
    as_mut_simd_f32s
);

/// Lanes of `T` in one vector of `S`.
#[inline(always)]
fn lanes_of<T: Element, S: Simd>() -> usize {
    size_of::<T::Vector<S>>() / size_of::<T>()
}

/// `C += A · B` (see [`super::scalar::gemm_acc`]), register-blocked 6 rows × 2 vectors: 12
/// accumulators, 2 right-hand vectors and a broadcast fill 15 of the 16 AVX2 registers
/// without spilling (the classic shape for 16-register machines).
pub(crate) struct GemmAcc<'a, T> {
    pub a: &'a [T],
    pub a_stride: usize,
    pub b: &'a [T],
    pub b_stride: usize,
    pub depth: usize,
    pub c: &'a mut [T],
    pub c_stride: usize,
    pub rows: usize,
    pub cols: usize,
}

const MR: usize = 6;

impl<T: Element> WithSimd for GemmAcc<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let GemmAcc {
            a,
            a_stride,
            b,
            b_stride,
            depth,
            c,
            c_stride,
            rows,
            cols,
        } = self;
        let width = lanes_of::<T, S>();
        let mut r = 0;
        while r + MR <= rows {
            let a_rows: [&[T]; MR] =
                std::array::from_fn(|i| &a[(r + i) * a_stride..(r + i) * a_stride + depth]);
            let mut k = 0;
            while k + 2 * width <= cols {
                micro_6x2(
                    simd,
                    a_rows,
                    &b[k..],
                    b_stride,
                    c,
                    r * c_stride + k,
                    c_stride,
                );
                k += 2 * width;
            }
            while k + width <= cols {
                micro_6x1(
                    simd,
                    a_rows,
                    &b[k..],
                    b_stride,
                    c,
                    r * c_stride + k,
                    c_stride,
                );
                k += width;
            }
            for (rr, a_row) in a_rows.iter().enumerate() {
                scalar_tail(a_row, b, b_stride, k, cols, &mut c[(r + rr) * c_stride..]);
            }
            r += MR;
        }
        while r < rows {
            let a_row = &a[r * a_stride..r * a_stride + depth];
            let mut k = 0;
            while k + width <= cols {
                micro_1x1(simd, a_row, &b[k..], b_stride, &mut c[r * c_stride + k..]);
                k += width;
            }
            scalar_tail(a_row, b, b_stride, k, cols, &mut c[r * c_stride..]);
            r += 1;
        }
    }
}

#[inline(always)]
fn micro_6x2<T: Element, S: Simd>(
    simd: S,
    a_rows: [&[T]; MR],
    b: &[T],
    b_stride: usize,
    c: &mut [T],
    c_at: usize,
    c_stride: usize,
) {
    let width = lanes_of::<T, S>();
    let depth = a_rows[0].len();
    let [a0, a1, a2, a3, a4, a5] = a_rows;
    // Equal lengths up front let the compiler drop the per-element bounds checks.
    assert!(a1.len() == depth && a2.len() == depth && a3.len() == depth);
    assert!(a4.len() == depth && a5.len() == depth);
    let z = T::splat(simd, T::default());
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21) = (z, z, z, z, z, z);
    let (mut c30, mut c31, mut c40, mut c41, mut c50, mut c51) = (z, z, z, z, z, z);
    for (t, b_row) in b.chunks(b_stride).take(depth).enumerate() {
        let (bv, _) = T::as_simd::<S>(&b_row[..2 * width]);
        let (b0, b1) = (bv[0], bv[1]);
        let x = T::splat(simd, a0[t]);
        c00 = T::mul_add(simd, x, b0, c00);
        c01 = T::mul_add(simd, x, b1, c01);
        let x = T::splat(simd, a1[t]);
        c10 = T::mul_add(simd, x, b0, c10);
        c11 = T::mul_add(simd, x, b1, c11);
        let x = T::splat(simd, a2[t]);
        c20 = T::mul_add(simd, x, b0, c20);
        c21 = T::mul_add(simd, x, b1, c21);
        let x = T::splat(simd, a3[t]);
        c30 = T::mul_add(simd, x, b0, c30);
        c31 = T::mul_add(simd, x, b1, c31);
        let x = T::splat(simd, a4[t]);
        c40 = T::mul_add(simd, x, b0, c40);
        c41 = T::mul_add(simd, x, b1, c41);
        let x = T::splat(simd, a5[t]);
        c50 = T::mul_add(simd, x, b0, c50);
        c51 = T::mul_add(simd, x, b1, c51);
    }
    for (rr, (v0, v1)) in [
        (c00, c01),
        (c10, c11),
        (c20, c21),
        (c30, c31),
        (c40, c41),
        (c50, c51),
    ]
    .into_iter()
    .enumerate()
    {
        let at = c_at + rr * c_stride;
        let (cv, _) = T::as_mut_simd::<S>(&mut c[at..at + 2 * width]);
        cv[0] = T::add(simd, cv[0], v0);
        cv[1] = T::add(simd, cv[1], v1);
    }
}

/// The last odd vector of columns: six independent accumulator chains, so FMA latency is
/// hidden even though only one right-hand vector is live.
#[inline(always)]
fn micro_6x1<T: Element, S: Simd>(
    simd: S,
    a_rows: [&[T]; MR],
    b: &[T],
    b_stride: usize,
    c: &mut [T],
    c_at: usize,
    c_stride: usize,
) {
    let width = lanes_of::<T, S>();
    let depth = a_rows[0].len();
    let [a0, a1, a2, a3, a4, a5] = a_rows;
    assert!(a1.len() == depth && a2.len() == depth && a3.len() == depth);
    assert!(a4.len() == depth && a5.len() == depth);
    let z = T::splat(simd, T::default());
    let (mut c0, mut c1, mut c2, mut c3, mut c4, mut c5) = (z, z, z, z, z, z);
    for (t, b_row) in b.chunks(b_stride).take(depth).enumerate() {
        let b0 = T::as_simd::<S>(&b_row[..width]).0[0];
        c0 = T::mul_add(simd, T::splat(simd, a0[t]), b0, c0);
        c1 = T::mul_add(simd, T::splat(simd, a1[t]), b0, c1);
        c2 = T::mul_add(simd, T::splat(simd, a2[t]), b0, c2);
        c3 = T::mul_add(simd, T::splat(simd, a3[t]), b0, c3);
        c4 = T::mul_add(simd, T::splat(simd, a4[t]), b0, c4);
        c5 = T::mul_add(simd, T::splat(simd, a5[t]), b0, c5);
    }
    for (rr, v) in [c0, c1, c2, c3, c4, c5].into_iter().enumerate() {
        let at = c_at + rr * c_stride;
        let (cv, _) = T::as_mut_simd::<S>(&mut c[at..at + width]);
        cv[0] = T::add(simd, cv[0], v);
    }
}

#[inline(always)]
fn micro_1x1<T: Element, S: Simd>(simd: S, a_row: &[T], b: &[T], b_stride: usize, c: &mut [T]) {
    let width = lanes_of::<T, S>();
    let mut acc = T::splat(simd, T::default());
    for (x, b_row) in a_row.iter().zip(b.chunks(b_stride)) {
        acc = T::mul_add(
            simd,
            T::splat(simd, *x),
            T::as_simd::<S>(&b_row[..width]).0[0],
            acc,
        );
    }
    let (cv, _) = T::as_mut_simd::<S>(&mut c[..width]);
    cv[0] = T::add(simd, cv[0], acc);
}

#[inline(always)]
fn scalar_tail<T: Element>(
    a_row: &[T],
    b: &[T],
    b_stride: usize,
    from: usize,
    cols: usize,
    c: &mut [T],
) {
    for k in from..cols {
        let mut acc = T::default();
        for (t, x) in a_row.iter().enumerate() {
            acc += *x * b[t * b_stride + k];
        }
        c[k] += acc;
    }
}

/// In-place RBF kernel from dot products (see [`super::scalar::rbf_from_dots`]).
pub(crate) struct RbfFromDots<'a> {
    pub dots: &'a mut [f64],
    pub stride: usize,
    pub norms_i: &'a [f64],
    pub norms_j: &'a [f64],
    pub gamma: f64,
}

impl WithSimd for RbfFromDots<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let RbfFromDots {
            dots,
            stride,
            norms_i,
            norms_j,
            gamma,
        } = self;
        let width = lanes::<S>();
        let cols = norms_j.len();
        let neg_gamma = simd.splat_f64s(-gamma);
        let minus_two = simd.splat_f64s(-2.0);
        let zero = simd.splat_f64s(0.0);
        for (r, &ni) in norms_i.iter().enumerate() {
            let row = &mut dots[r * stride..r * stride + cols];
            let niv = simd.splat_f64s(ni);
            let argument = |k: usize, row: &[f64]| {
                let dot = load::<S>(&row[k..k + width]);
                let nj = load::<S>(&norms_j[k..k + width]);
                let d2 = simd.mul_add_f64s(minus_two, dot, simd.add_f64s(niv, nj));
                simd.mul_f64s(neg_gamma, simd.max_f64s(d2, zero))
            };
            let mut k = 0;
            // Four independent exponentials at a time: the polynomial is a serial FMA chain,
            // so interleaving chains is what keeps the FMA units busy.
            while k + 4 * width <= cols {
                let x = [
                    argument(k, row),
                    argument(k + width, row),
                    argument(k + 2 * width, row),
                    argument(k + 3 * width, row),
                ];
                let e = exp_nonpositive_x4(simd, x);
                for (q, v) in e.into_iter().enumerate() {
                    store::<S>(&mut row[k + q * width..k + (q + 1) * width], v);
                }
                k += 4 * width;
            }
            while k + width <= cols {
                let v = exp_nonpositive(simd, argument(k, row));
                store::<S>(&mut row[k..k + width], v);
                k += width;
            }
            for (v, nj) in row[k..].iter_mut().zip(&norms_j[k..]) {
                *v = (-gamma * (ni + nj - 2.0 * *v).max(0.0)).exp();
            }
        }
    }
}

/// `exp` of every element, in place, for arguments `≤ 0` (the only ones the RBF kernel makes).
#[cfg(test)]
pub(crate) struct ExpInPlace<'a>(pub &'a mut [f64]);

#[cfg(test)]
impl WithSimd for ExpInPlace<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let (head, tail) = S::as_mut_simd_f64s(self.0);
        for v in head {
            *v = exp_nonpositive(simd, *v);
        }
        for v in tail {
            *v = v.exp();
        }
    }
}

/// `e^x` for `x ≤ 0`, within 2 ulp of the correctly rounded value for `x ≥ −708`; 0 below
/// that, where the true value is subnormal (< 2.3e−308) and adds nothing to kernel sums.
///
/// Method: `x = k·ln2 + r` with `k = round(x / ln2)` (by the 1.5·2⁵² rounding trick) and
/// `|r| ≤ ln2/2`, `ln2` split in two parts (Cody–Waite) so `r` is exact to the last bits;
/// `e^r` by its Taylor series to degree 13 (truncation < 5e−18 on that interval), in Horner
/// form with FMAs; `2^k` by writing `k + 1023` into the exponent field.
#[inline(always)]
fn exp_nonpositive<S: Simd>(simd: S, x: S::f64s) -> S::f64s {
    let [e] = exp_nonpositive_lanes(simd, [x]);
    e
}

#[inline(always)]
fn exp_nonpositive_x4<S: Simd>(simd: S, x: [S::f64s; 4]) -> [S::f64s; 4] {
    exp_nonpositive_lanes(simd, x)
}

/// [`exp_nonpositive`] on `N` vectors at once, each step applied to all `N` before the next so
/// that the `N` dependency chains overlap in the pipeline.
#[inline(always)]
fn exp_nonpositive_lanes<S: Simd, const N: usize>(simd: S, x: [S::f64s; N]) -> [S::f64s; N] {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const ROUNDER: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    const ROUNDER_BITS: u64 = 0x4338_0000_0000_0000;
    const UNDERFLOW: f64 = -708.0;
    // 1/i! for i = 13 down to 0.
    const TAYLOR: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let rounder = simd.splat_f64s(ROUNDER);
    let floor = simd.splat_f64s(UNDERFLOW);
    let underflow = x.map(|x| simd.less_than_f64s(x, floor));
    let x = x.map(|x| simd.max_f64s(x, floor));
    let shifted = x.map(|x| simd.mul_add_f64s(x, simd.splat_f64s(LOG2_E), rounder));
    let mut r = [simd.splat_f64s(0.0); N];
    for i in 0..N {
        let k = simd.sub_f64s(shifted[i], rounder);
        let hi = simd.mul_add_f64s(k, simd.splat_f64s(-LN2_HI), x[i]);
        r[i] = simd.mul_add_f64s(k, simd.splat_f64s(-LN2_LO), hi);
    }
    let mut p = [simd.splat_f64s(TAYLOR[0]); N];
    for c in &TAYLOR[1..] {
        let c = simd.splat_f64s(*c);
        for i in 0..N {
            p[i] = simd.mul_add_f64s(p[i], r[i], c);
        }
    }
    let mut out = p;
    for i in 0..N {
        // k + 1023 as an integer, shifted into the exponent field (a multiply by 2^52: pulp
        // has no 64-bit lane shift; the compiler emits the shift).
        let k_bits = simd.sub_u64s(
            simd.transmute_u64s_f64s(shifted[i]),
            simd.splat_u64s(ROUNDER_BITS),
        );
        let biased = simd.add_u64s(k_bits, simd.splat_u64s(1023));
        let two_k = simd.transmute_f64s_u64s(simd.mul_u64s(biased, simd.splat_u64s(1 << 52)));
        let value = simd.mul_f64s(p[i], two_k);
        out[i] = simd.select_f64s(underflow[i], simd.splat_f64s(0.0), value);
    }
    out
}

/// `out[k] += Σ_r x[r·stride + k] · y[r·stride + k]` (see [`super::scalar::column_dots`]).
pub(crate) struct ColumnDots<'a> {
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub stride: usize,
    pub rows: usize,
    pub out: &'a mut [f64],
}

impl WithSimd for ColumnDots<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let ColumnDots {
            x,
            y,
            stride,
            rows,
            out,
        } = self;
        let width = lanes::<S>();
        let cols = out.len();
        let mut k = 0;
        while k + width <= cols {
            let mut acc = simd.splat_f64s(0.0);
            for r in 0..rows {
                let at = r * stride + k;
                acc = simd.mul_add_f64s(
                    load::<S>(&x[at..at + width]),
                    load::<S>(&y[at..at + width]),
                    acc,
                );
            }
            let sum = simd.add_f64s(load::<S>(&out[k..k + width]), acc);
            store::<S>(&mut out[k..k + width], sum);
            k += width;
        }
        for (kk, o) in out.iter_mut().enumerate().skip(k) {
            for r in 0..rows {
                *o += x[r * stride + kk] * y[r * stride + kk];
            }
        }
    }
}

/// `out[k] += Σ_r weights[r] · x[r·stride + k]` (see [`super::scalar::weighted_rows`]).
pub(crate) struct WeightedRows<'a> {
    pub x: &'a [f64],
    pub stride: usize,
    pub weights: &'a [f64],
    pub out: &'a mut [f64],
}

impl WithSimd for WeightedRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let WeightedRows {
            x,
            stride,
            weights,
            out,
        } = self;
        let cols = out.len();
        for (r, &w) in weights.iter().enumerate() {
            let row = &x[r * stride..r * stride + cols];
            let (out_head, out_tail) = S::as_mut_simd_f64s(out);
            let (row_head, row_tail) = S::as_simd_f64s(row);
            let wv = simd.splat_f64s(w);
            for (o, v) in out_head.iter_mut().zip(row_head) {
                *o = simd.mul_add_f64s(wv, *v, *o);
            }
            for (o, v) in out_tail.iter_mut().zip(row_tail) {
                *o += w * v;
            }
        }
    }
}

/// Element-wise precision change (`f64 → f32` rounds to nearest). A plain loop: inside
/// `with_simd` it is compiled with the level's target features, where the compiler vectorises
/// it with the conversion instructions pulp does not wrap.
pub(crate) struct Convert<'a, A, B> {
    pub from: &'a [A],
    pub to: &'a mut [B],
}

impl WithSimd for Convert<'_, f64, f32> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        for (t, f) in self.to.iter_mut().zip(self.from) {
            *t = *f as f32;
        }
    }
}

impl WithSimd for Convert<'_, f32, f64> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        for (t, f) in self.to.iter_mut().zip(self.from) {
            *t = f64::from(*f);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::stats::Backend;
    use crate::stats::scalar;
    use crate::stats::tolerance::{EXP_REL, GEMM_REL, RBF_REL};
    use proptest::prelude::*;

    fn simd_backends() -> Vec<Backend> {
        let all: Vec<Backend> = Backend::available()
            .into_iter()
            .filter(|b| *b != Backend::Scalar)
            .collect();
        if all.is_empty() {
            eprintln!("SKIPPED: no SIMD level available on this CPU; only the scalar oracle ran");
        }
        all
    }

    fn matrix(len: usize) -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(-4.0f64..4.0, len)
    }

    #[test]
    fn exp_matches_libm_across_its_range() {
        let mut xs: Vec<f64> = (0..20_000)
            .map(|i| -708.0 * (i as f64 / 19_999.0))
            .collect();
        xs.extend([
            0.0,
            -0.0,
            -1e-300,
            -5e-324,
            -1e-12,
            -0.5 * std::f64::consts::LN_2,
            -709.0,
            -1e4,
        ]);
        for backend in simd_backends() {
            let mut fast = xs.clone();
            backend.exp_in_place(&mut fast);
            let mut oracle = xs.clone();
            scalar::exp_in_place(&mut oracle);
            for ((x, f), o) in xs.iter().zip(&fast).zip(&oracle) {
                if *x < -708.0 {
                    assert!(
                        *f == 0.0 || (f - o).abs() <= f64::MIN_POSITIVE,
                        "{backend} exp({x})"
                    );
                } else {
                    assert!(
                        (f - o).abs() <= EXP_REL * o,
                        "{backend} exp({x}) = {f:e}, libm {o:e}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn gemm_matches_scalar(
            rows in 1usize..11, cols in 1usize..30, depth in 1usize..20,
            a in matrix(11 * 20), b in matrix(20 * 30), c0 in matrix(11 * 30),
        ) {
            let mut oracle = c0.clone();
            scalar::gemm_acc(&a, 20, &b, 30, depth, &mut oracle, 30, rows, cols);
            for backend in simd_backends() {
                let mut fast = c0.clone();
                backend.gemm_acc(&a, 20, &b, 30, depth, &mut fast, 30, rows, cols);
                for r in 0..rows {
                    for k in 0..cols {
                        let scale: f64 = c0[r * 30 + k].abs()
                            + (0..depth).map(|t| (a[r * 20 + t] * b[t * 30 + k]).abs()).sum::<f64>();
                        let (f, o) = (fast[r * 30 + k], oracle[r * 30 + k]);
                        prop_assert!((f - o).abs() <= GEMM_REL * scale.max(1e-300), "{} {} {}", backend, f, o);
                    }
                }
                // Entries outside rows × cols are untouched.
                for (i, (f, c)) in fast.iter().zip(&c0).enumerate() {
                    if i / 30 >= rows || i % 30 >= cols {
                        prop_assert_eq!(f, c);
                    }
                }
            }
        }

        #[test]
        fn rbf_matches_scalar(
            rows in 1usize..9, cols in 1usize..23, gamma in 1e-3f64..2.0,
            dots in matrix(8 * 23), ni in matrix(8), nj in matrix(23),
        ) {
            let ni: Vec<f64> = ni[..rows].iter().map(|v| v.abs() * 3.0).collect();
            let nj: Vec<f64> = nj[..cols].iter().map(|v| v.abs() * 3.0).collect();
            let mut oracle = dots.clone();
            scalar::rbf_from_dots(&mut oracle, 23, &ni, &nj, gamma);
            for backend in simd_backends() {
                let mut fast = dots.clone();
                backend.rbf_from_dots(&mut fast, 23, &ni, &nj, gamma);
                for (f, o) in fast.iter().zip(&oracle) {
                    prop_assert!((f - o).abs() <= RBF_REL * o.abs().max(1e-300), "{} {} {}", backend, f, o);
                }
            }
        }

        #[test]
        fn folds_match_scalar(rows in 1usize..13, cols in 1usize..19, x in matrix(12 * 19), y in matrix(12 * 19), w in matrix(12)) {
            let mut dots_oracle = vec![0.5; cols];
            scalar::column_dots(&x, &y, 19, rows, &mut dots_oracle);
            let mut rows_oracle = vec![0.25; cols];
            scalar::weighted_rows(&x, 19, &w[..rows], &mut rows_oracle);
            for backend in simd_backends() {
                let mut dots = vec![0.5; cols];
                backend.column_dots(&x, &y, 19, rows, &mut dots);
                let mut sums = vec![0.25; cols];
                backend.weighted_rows(&x, 19, &w[..rows], &mut sums);
                for (f, o) in dots.iter().zip(&dots_oracle).chain(sums.iter().zip(&rows_oracle)) {
                    prop_assert!((f - o).abs() <= GEMM_REL * 16.0 * 12.0, "{} {} {}", backend, f, o);
                }
            }
        }
    }
}
