//! Deterministic synthetic data, reproducible bit for bit in other languages.
//!
//! Tests, benches and the peer scripts in `benches/peers/` must feed drifttap and the reference
//! implementations (scipy, alibi-detect) *identical* samples without shipping data files. Every
//! value here is built from a counter-based SplitMix64 stream and IEEE-754 additions and
//! multiplications only — no `ln`, `cos` or other libm calls whose last bit may differ between
//! platforms — so `benches/peers/synth.py` reproduces the same `f64`s exactly.
//!
//! The scheme (mirrored in `synth.py`; change both or neither):
//! - `bits(seed, i)` = SplitMix64 finaliser of `seed + (i + 1) · 0x9E3779B97F4A7C15` (wrapping);
//! - `uniform(seed, i)` = `(bits(seed, i) >> 11) · 2⁻⁵³`, in `[0, 1)`;
//! - a *normal* draw `i` is the Irwin–Hall sum `Σ_{k=0..12} uniform(seed, 12·i + k) − 6`, summed
//!   left to right from `0.0` (mean 0, variance 1, tails cut at ±6), then `loc + scale · z`;
//! - a *quantized* draw is `floor(normal / step) · step`, which makes heavy ties;
//! - a matrix `rows × cols` is filled row-major: element `(r, c)` is draw `r · cols + c`.

pub use super::rng::bits;

/// The `i`-th uniform draw in `[0, 1)` of stream `seed`, on a grid of 2⁻⁵³.
pub fn uniform(seed: u64, i: u64) -> f64 {
    // 2^-53 is exact, so the product is exact too.
    (bits(seed, i) >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// The `i`-th standard normal-like draw (Irwin–Hall with 12 terms) of stream `seed`.
pub fn standard_normal(seed: u64, i: u64) -> f64 {
    let mut acc = 0.0;
    for k in 0..12 {
        acc += uniform(seed, 12 * i + k);
    }
    acc - 6.0
}

/// `n` draws of `loc + scale · z`, `z` standard normal-like.
pub fn normal(seed: u64, n: usize, loc: f64, scale: f64) -> Vec<f64> {
    (0..n as u64)
        .map(|i| loc + scale * standard_normal(seed, i))
        .collect()
}

/// `n` uniform draws on `[low, high)`: `low + (high − low) · u`.
pub fn uniform_range(seed: u64, n: usize, low: f64, high: f64) -> Vec<f64> {
    let width = high - low;
    (0..n as u64)
        .map(|i| low + width * uniform(seed, i))
        .collect()
}

/// `n` normal draws rounded down to multiples of `step`: many exact ties.
pub fn quantized_normal(seed: u64, n: usize, loc: f64, scale: f64, step: f64) -> Vec<f64> {
    normal(seed, n, loc, scale)
        .into_iter()
        .map(|x| (x / step).floor() * step)
        .collect()
}

/// A row-major `rows × cols` matrix of normal draws with per-column shift `loc[c]`
/// (`loc` shorter than `cols` is padded with zeros).
pub fn normal_matrix(seed: u64, rows: usize, cols: usize, loc: &[f64], scale: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            let shift = loc.get(c).copied().unwrap_or(0.0);
            out.push(shift + scale * standard_normal(seed, (r * cols + c) as u64));
        }
    }
    out
}

/// `n` category indices in `0..weights.len()`, drawn with probabilities proportional to
/// `weights` by inverting the cumulative weights with `uniform(seed, i)`.
pub fn categorical(seed: u64, n: usize, weights: &[f64]) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    (0..n as u64)
        .map(|i| {
            let target = uniform(seed, i) * total;
            let mut acc = 0.0;
            for (k, w) in weights.iter().enumerate() {
                acc += w;
                if target < acc {
                    return k;
                }
            }
            weights.len().saturating_sub(1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_published_sequence() {
        // SplitMix64 seeded with 0: the reference implementation's first outputs
        // (Vigna, splitmix64.c) are e220a8397b1dcdaf, 6e789e6aa1b965f4.
        assert_eq!(bits(0, 0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(bits(0, 1), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn normal_draws_have_unit_moments() {
        let x = normal(7, 20_000, 0.0, 1.0);
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }

    #[test]
    fn categorical_respects_weights() {
        let draws = categorical(3, 10_000, &[1.0, 3.0]);
        let ones = draws.iter().filter(|&&k| k == 1).count();
        assert!((7_200..7_800).contains(&ones), "{ones}");
    }
}
