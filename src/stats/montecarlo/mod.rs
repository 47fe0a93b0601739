//! Conditional Monte-Carlo p-values for two-sample tests on counts: the discrete KS test
//! ([`super::ks::discrete`]) and the χ² test with small expected counts
//! ([`super::chi2::chi2_monte_carlo`]).
//!
//! # The null distribution
//! Both tests see a 2 × C table: for each cell (a distinct value, a category) the count on the
//! reference side and on the current side. Under the null the two samples are exchangeable, so
//! conditional on the pooled count `K_j` of every cell, the current window is a uniformly
//! random subset of size `m` of the `N = n + m` pooled rows, and its counts follow the
//! multivariate hypergeometric distribution. Null tables are drawn from exactly that
//! distribution (both margins fixed), so the test is exact whatever the cell counts: no
//! asymptotics, no minimum expected count. The smaller side, `min(n, m)` rows, is the one
//! drawn; the other side's counts are the pooled ones minus it.
//!
//! # The p-value (Besag & Clifford 1991, "Sequential Monte Carlo p-values", Biometrika
//! 78(2), 301–304)
//! Null tables are drawn one by one until `h` of them ([`MonteCarlo::exceedances`]) have a
//! statistic at least the observed one, or `B` ([`MonteCarlo::max_draws`]) have been drawn:
//! - stopped at draw `L ≤ B` by the `h`-th exceedance: `p = h / L`;
//! - otherwise, `b < h` exceedances in `B` draws: `p = (b + 1) / (B + 1)`.
//!
//! Validity, `P(p ≤ u) ≤ u` for every `u` under the null: let `q = P(T ≥ t_obs)` for a null
//! draw `T`. The draws are i.i.d. given the observed table, so the stopping time `L` of the
//! unbounded procedure is negative binomial given `q`. For a continuous statistic `q` is
//! uniform, and integrating, `P(L ≥ l) = ∫ P(fewer than h exceedances in l − 1 draws | q) dq
//! = h / l` (from `P(L = l) = h / (l (l + 1))`); the number `b` of exceedances in `B` draws is
//! uniform on `0..=B`. The attainable values are `h/l` for `h ≤ l ≤ B` and `(b + 1)/(B + 1)`
//! for `b < h`, all of the latter below `h / B`, so `P(p ≤ h/l) = P(L ≥ l) = h/l` and
//! `P(p ≤ (b+1)/(B+1)) = P(B draws give at most b) = (b + 1)/(B + 1)`: exact at every
//! attainable value, hence `≤ u` for all `u`. For a discrete statistic (ties, counted as
//! exceedances) `q` is stochastically larger than uniform (`P(q ≤ u) ≤ u`), and both
//! probabilities above decrease in `q`, so they can only fall: the test stays valid, and is
//! conservative the more the statistic's null distribution is lumped into few values (for a
//! binary feature, 0.047 at 0.05 over 20 000 replications). A stop exactly at draw `B` by the
//! `h`-th exceedance reports `h / B`, as in the paper (reporting `(h + 1)/(B + 1)` there would
//! be valid too, but not monotone in the evidence).
//!
//! Under the null `p` is near uniform and the expected number of draws is about
//! `h (1 + ln(B / h))` (≈ 79 for the defaults); under a clear alternative no draw exceeds and
//! all `B` are made. A draw costs `O(C + Σ_j sd_j)` or `O(k log C)`, whichever is less (see
//! `sample.rs`): measured on a shared x86-64 core, 0.2 µs for 2 cells and 5 000 drawn rows,
//! 10 µs for 128 cells, 50–65 µs for 1 000 cells. So a clearly shifted feature with 1 000
//! cells costs about half a second at `B = 9 999`; callers testing many such features can
//! lower [`MonteCarlo::max_draws`] (`B = 999` still resolves p = 0.001).
//!
//! Randomness comes from the counter-based stream [`super::rng::bits`], so a result is
//! reproducible from [`MonteCarlo::seed`].

pub(crate) mod sample;

#[cfg(test)]
mod tests;

use super::error::StatsError;
use super::rng;
pub(crate) use sample::Sampler;

/// [`MonteCarlo::max_draws`] by default: `B + 1 = 10 000`, so the smallest p-value is 1e-4
/// (what a Bonferroni correction over a few hundred features at α = 0.05 still resolves).
pub const DEFAULT_MAX_DRAWS: usize = 9_999;
/// [`MonteCarlo::exceedances`] by default: with `h = 10` a null p-value is known to about a
/// third of itself (`1/√h`) after ~79 draws on average, which is all a decision at α needs.
pub const DEFAULT_EXCEEDANCES: usize = 10;
/// [`MonteCarlo::seed`] by default (the bytes of "drifttap"): any fixed value does; callers
/// testing many features may derive one per feature so their draws are independent.
pub const DEFAULT_SEED: u64 = 0x6472_6966_7474_6170;

/// How a conditional Monte-Carlo p-value is drawn: the Besag–Clifford sequential rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonteCarlo {
    /// `B`: the most null tables drawn; the smallest p-value is `1 / (B + 1)`. At least 1.
    pub max_draws: usize,
    /// `h`: stop as soon as this many null statistics reach the observed one. At least 1;
    /// `h > B` turns the early stop off (a plain Monte-Carlo test with `B` draws).
    pub exceedances: usize,
    /// The stream of [`super::rng::bits`] the draws come from.
    pub seed: u64,
}

impl Default for MonteCarlo {
    fn default() -> Self {
        MonteCarlo {
            max_draws: DEFAULT_MAX_DRAWS,
            exceedances: DEFAULT_EXCEEDANCES,
            seed: DEFAULT_SEED,
        }
    }
}

impl MonteCarlo {
    /// Refuses `max_draws == 0` and `exceedances == 0` (no p-value could be formed).
    pub fn check(&self) -> Result<(), StatsError> {
        if self.max_draws == 0 {
            return Err(StatsError::InvalidParameter {
                name: "max_draws",
                reason: "a Monte-Carlo p-value needs at least one draw".to_owned(),
            });
        }
        if self.exceedances == 0 {
            return Err(StatsError::InvalidParameter {
                name: "exceedances",
                reason: "the sequential stop needs at least one exceedance".to_owned(),
            });
        }
        Ok(())
    }
}

/// A Monte-Carlo p-value and what it cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonteCarloPValue {
    /// `h / L` after an early stop, `(b + 1) / (B + 1)` otherwise; in `(0, 1]`.
    pub p_value: f64,
    /// Null tables drawn (`L`, or `B`; 0 when the answer was known without drawing).
    pub draws: usize,
    /// How many of them had a statistic at least the observed one.
    pub exceedances: usize,
}

impl MonteCarloPValue {
    /// `p = 1` without drawing: the observed statistic is the smallest possible (0), which
    /// every null draw reaches, so the sequential rule would stop at `h / h` anyway.
    pub(crate) const CERTAIN: MonteCarloPValue = MonteCarloPValue {
        p_value: 1.0,
        draws: 0,
        exceedances: 0,
    };
}

/// The Besag–Clifford rule over a sequence of null draws: `draw_exceeds()` makes one null
/// draw and says whether its statistic is at least the observed one. `mc` must be checked.
pub(crate) fn sequential(
    mc: &MonteCarlo,
    mut draw_exceeds: impl FnMut() -> bool,
) -> MonteCarloPValue {
    let mut exceedances = 0;
    for draw in 1..=mc.max_draws {
        if draw_exceeds() {
            exceedances += 1;
            if exceedances == mc.exceedances {
                return MonteCarloPValue {
                    p_value: exceedances as f64 / draw as f64,
                    draws: draw,
                    exceedances,
                };
            }
        }
    }
    MonteCarloPValue {
        p_value: (exceedances + 1) as f64 / (mc.max_draws as f64 + 1.0),
        draws: mc.max_draws,
        exceedances,
    }
}

/// The conditional Monte-Carlo p-value of a 2 × C table: null tables of `drawn` rows from the
/// pooled cell counts `pooled` (the smaller side's counts, drawn without replacement), each
/// handed to `at_least_observed`, which says whether its statistic reaches the observed one.
pub(crate) fn p_value(
    mc: &MonteCarlo,
    pooled: &[u64],
    drawn: u64,
    mut at_least_observed: impl FnMut(&[u64]) -> bool,
) -> Result<MonteCarloPValue, StatsError> {
    mc.check()?;
    let sampler = Sampler::new(pooled, drawn)?;
    let mut stream = Stream::new(mc.seed);
    let mut table = vec![0; pooled.len()];
    let mut scratch = sampler.scratch();
    Ok(sequential(mc, || {
        sampler.draw(&mut stream, &mut scratch, &mut table);
        at_least_observed(&table)
    }))
}

/// Consecutive words of the counter-based stream `seed`.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    seed: u64,
    counter: u64,
}

impl Stream {
    pub(crate) fn new(seed: u64) -> Self {
        Stream { seed, counter: 0 }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let word = rng::bits(self.seed, self.counter);
        self.counter = self.counter.wrapping_add(1);
        word
    }

    /// Uniform on `[0, 1)`, on a grid of 2⁻⁵³.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform on `0..bound` without bias (Lemire's multiply-and-reject); `bound > 0`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        let mut wide = u128::from(self.next_u64()) * u128::from(bound);
        if (wide as u64) < bound {
            // 2^64 mod bound: the low words below it belong to an incomplete last round.
            let threshold = bound.wrapping_neg() % bound;
            while (wide as u64) < threshold {
                wide = u128::from(self.next_u64()) * u128::from(bound);
            }
        }
        (wide >> 64) as u64
    }
}
