//! Drawing one side of a 2 × C table with both margins fixed: `drawn` rows without
//! replacement from `N` pooled rows in cells of `K_j` rows, i.e. a multivariate
//! hypergeometric vector. Two exact methods, chosen per table by their cost:
//!
//! - [`Method::Cells`], sequential conditionals: cell `j` gets a hypergeometric number of the
//!   rows still to draw, out of the rows in cells `j..`. A variate is drawn by inversion: from
//!   0 when its mean is at most [`SMALL_MEAN`], otherwise outward from the mode (about 1.6
//!   standard deviations of steps). The starting probability comes from log-factorials (a
//!   table below [`LN_FACTORIAL_TABLE`], Stirling's series above); of the two with arguments
//!   near `N`, `ln (rows not drawn)!` is usually the one the previous cell computed, and is
//!   reused. Cost
//!   `O(C + Σ_j sd_j)` per table, nearly independent of the number of rows.
//! - [`Method::Urn`], row by row: each row picks one of the rows left uniformly (an unbiased
//!   integer) and finds its cell in a Fenwick tree of the counts left, `O(log C)` without
//!   data-dependent branches. Cost `O(min(drawn, N − drawn) · log C)` per table, integer
//!   arithmetic only: the better choice when few rows are drawn into many cells, and the
//!   oracle the other method is tested against.
//!
//! The inversions use the pmf in floating point, accurate to about 1e-9 relative for millions
//! of rows (the log-factorials' rounding), far below any Monte-Carlo error.

use std::sync::OnceLock;

use super::Stream;
use crate::stats::error::StatsError;

/// Variates with a mean at most this are drawn by inversion from 0: a walk of `mean + 1`
/// steps on average, cheaper than the mode's walk of ~1.6 sd plus four more log-factorials
/// only while the mean is this small.
pub(crate) const SMALL_MEAN: f64 = 1.5;
/// `ln k!` is tabulated below this `k` (256 KiB, built once per process in ~0.3 ms), which
/// covers every argument of a cell's variate but the two near `N` for windows of up to 32 768
/// rows; larger arguments use Stirling's series, which from `k ≥ 21` is accurate to the last
/// bit the sum can carry.
pub(crate) const LN_FACTORIAL_TABLE: usize = 1 << 15;
/// Costs of a cell of [`Method::Cells`] and of a row and tree level of [`Method::Urn`], in
/// nanoseconds, from `montecarlo::tests::timings` on a shared x86-64 core (57–65 and
/// 4.5–4.9 across the shapes there); only their ratio matters.
const CELL_COST: u64 = 60;
const URN_LEVEL_COST: u64 = 5;

/// How a [`Sampler`] draws a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Sequential hypergeometric variates, one per cell.
    Cells,
    /// Row by row through a Fenwick tree of the counts left.
    Urn,
}

/// One cell of [`Method::Cells`]: its count and the rows in it and the cells after it, with
/// the log-factorials that do not change between tables.
#[derive(Debug, Clone, Copy)]
struct Cell {
    /// `K_j`.
    count: u64,
    /// `N_j = Σ_{i ≥ j} K_i`.
    rows: u64,
    ln_fact_count: f64,
    /// `ln N_j! − ln (N_j − K_j)!`.
    ln_falling: f64,
}

#[derive(Debug, Clone)]
enum Plan {
    Cells(Vec<Cell>),
    /// The Fenwick tree of the pooled counts over `size` cells (a power of two, the cells past
    /// the pooled ones empty), 1-based: `tree[0]` unused.
    Urn {
        tree: Vec<u64>,
        size: usize,
    },
}

/// Draws tables of `drawn` rows from fixed pooled counts.
#[derive(Debug, Clone)]
pub(crate) struct Sampler<'a> {
    pooled: &'a [u64],
    drawn: u64,
    total: u64,
    plan: Plan,
}

/// The per-caller state of a [`Sampler`]: the urn's working tree.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    tree: Vec<u64>,
}

impl<'a> Sampler<'a> {
    /// A sampler with the cheaper method for this table.
    pub(crate) fn new(pooled: &'a [u64], drawn: u64) -> Result<Self, StatsError> {
        let total = checked_total(pooled)?;
        let cells = pooled.len() as u64;
        let rows = drawn.min(total.saturating_sub(drawn));
        let levels = u64::from(usize::BITS - pooled.len().leading_zeros()) + 1;
        let urn_cost = rows
            .saturating_mul(levels)
            .saturating_mul(URN_LEVEL_COST)
            .saturating_add(cells);
        let method = if urn_cost < cells.saturating_mul(CELL_COST) {
            Method::Urn
        } else {
            Method::Cells
        };
        Self::with_method(pooled, drawn, method)
    }

    /// A sampler with `method`. Refuses `drawn` above the pooled total, and a total beyond
    /// `u64`.
    pub(crate) fn with_method(
        pooled: &'a [u64],
        drawn: u64,
        method: Method,
    ) -> Result<Self, StatsError> {
        let total = checked_total(pooled)?;
        if drawn > total {
            return Err(StatsError::InvalidParameter {
                name: "drawn",
                reason: format!("cannot draw {drawn} rows from {total} pooled rows"),
            });
        }
        let plan = match method {
            Method::Cells => {
                let mut rows = total;
                let cells = pooled
                    .iter()
                    .map(|&count| {
                        let cell = Cell {
                            count,
                            rows,
                            ln_fact_count: ln_factorial(count),
                            ln_falling: ln_factorial(rows) - ln_factorial(rows - count),
                        };
                        rows -= count;
                        cell
                    })
                    .collect();
                Plan::Cells(cells)
            }
            Method::Urn => {
                let size = pooled.len().next_power_of_two();
                let mut tree = vec![0u64; size + 1];
                for at in 1..=size {
                    tree[at] += pooled.get(at - 1).copied().unwrap_or(0);
                    let parent = at + (at & at.wrapping_neg());
                    if parent <= size {
                        tree[parent] += tree[at];
                    }
                }
                Plan::Urn { tree, size }
            }
        };
        Ok(Sampler {
            pooled,
            drawn,
            total,
            plan,
        })
    }

    #[cfg(test)]
    pub(crate) fn method(&self) -> Method {
        match self.plan {
            Plan::Cells(_) => Method::Cells,
            Plan::Urn { .. } => Method::Urn,
        }
    }

    pub(crate) fn scratch(&self) -> Scratch {
        Scratch::default()
    }

    /// Draws one table into `table` (one count per pooled cell, summing to `drawn`).
    pub(crate) fn draw(&self, stream: &mut Stream, scratch: &mut Scratch, table: &mut [u64]) {
        match &self.plan {
            Plan::Cells(cells) => self.draw_cells(cells, stream, table),
            Plan::Urn { tree, size } => self.draw_urn(tree, *size, stream, scratch, table),
        }
    }

    fn draw_cells(&self, cells: &[Cell], stream: &mut Stream, table: &mut [u64]) {
        let mut ln_fact = LnFactorial::new();
        let mut left = self.drawn;
        for (i, cell) in cells.iter().enumerate() {
            if left == 0 {
                table[i..].fill(0);
                return;
            }
            let x = cell_variate(cell, left, stream, &mut ln_fact);
            table[i] = x;
            left -= x;
        }
    }

    fn draw_urn(
        &self,
        tree: &[u64],
        size: usize,
        stream: &mut Stream,
        scratch: &mut Scratch,
        table: &mut [u64],
    ) {
        // More than half the rows: draw the rows left out instead.
        let complement = self.drawn > self.total - self.drawn;
        let rows = if complement {
            self.total - self.drawn
        } else {
            self.drawn
        };
        scratch.tree.clear();
        scratch.tree.extend_from_slice(tree);
        let work = &mut scratch.tree[..];
        table.fill(0);
        let mut left = self.total;
        for _ in 0..rows {
            // The largest `pos` whose prefix sum of the counts left is at most `rest`: row
            // `rest` lies in cell `pos` (0-based). Selects instead of branches, whose outcomes
            // are coin flips.
            let mut rest = stream.below(left);
            let (mut pos, mut step) = (0, size / 2);
            while step > 0 {
                let w = work[pos + step];
                let take = w <= rest;
                pos += std::hint::select_unpredictable(take, step, 0);
                rest -= std::hint::select_unpredictable(take, w, 0);
                step >>= 1;
            }
            table[pos] += 1;
            let mut at = pos + 1;
            while at <= size {
                work[at] -= 1;
                at += at & at.wrapping_neg();
            }
            left -= 1;
        }
        if complement {
            for (t, &k) in table.iter_mut().zip(self.pooled) {
                *t = k - *t;
            }
        }
    }
}

fn checked_total(pooled: &[u64]) -> Result<u64, StatsError> {
    pooled
        .iter()
        .try_fold(0u64, |acc, &k| acc.checked_add(k))
        .ok_or_else(|| StatsError::InvalidParameter {
            name: "counts",
            reason: "the pooled count exceeds 2^64".to_owned(),
        })
}

/// The rows cell `cell` gets when `draws` rows (at most `cell.rows`) are drawn from the rows
/// of it and the cells after it: hypergeometric with population `N = cell.rows`,
/// `K = cell.count` successes and `k = draws` draws,
/// `P(x) = C(K, x)·C(N − K, k − x) / C(N, k)`.
fn cell_variate(cell: &Cell, draws: u64, stream: &mut Stream, ln_fact: &mut LnFactorial) -> u64 {
    let (rows, count) = (cell.rows, cell.count);
    if count == 0 {
        return 0;
    }
    if count == rows {
        return draws;
    }
    if draws == rows {
        return count;
    }
    let rest = rows - count;
    let undrawn = rows - draws;
    let low = draws.saturating_sub(rest);
    let high = count.min(draws);
    if low == high {
        return low;
    }
    let pmf = Pmf::new(rows, count, draws);
    // ln P(x) = ln K! − ln x! − ln (K − x)! + ln k! − ln (k − x)!
    //           − [ln N! − ln (N − K)!] + ln (N − k)! − ln (N − K − k + x)!
    // (the last term is next cell's `ln (rows not drawn)!` when this cell gets x).
    if low == 0 && pmf.draws * pmf.count <= SMALL_MEAN * pmf.rows {
        let ln_p0 = ln_fact.get(undrawn) - cell.ln_falling - ln_fact.remember(undrawn - count);
        return invert_from_zero(&pmf, ln_p0.exp(), high, stream);
    }
    // ⌊(k + 1)(K + 1)/(N + 2)⌋, in u64 when the product fits (a u128 division is a call).
    let mode = match (draws + 1).checked_mul(count + 1) {
        Some(product) if rows < u64::MAX - 1 => product / (rows + 2),
        _ => ((u128::from(draws) + 1) * (u128::from(count) + 1) / (u128::from(rows) + 2)) as u64,
    };
    let mode = mode.clamp(low, high);
    let ln_p_mode = cell.ln_fact_count - ln_fact.get(mode) - ln_fact.get(count - mode)
        + ln_fact.get(draws)
        - ln_fact.get(draws - mode)
        - cell.ln_falling
        + ln_fact.get(undrawn)
        - ln_fact.remember(undrawn + mode - count);
    invert_from_mode(&pmf, mode, ln_p_mode.exp(), low, high, stream)
}

/// The hypergeometric pmf's ratio recurrence, in floating point.
#[derive(Debug, Clone, Copy)]
struct Pmf {
    rows: f64,
    count: f64,
    draws: f64,
    /// `rows − count − draws`, which may be negative.
    slack: f64,
}

impl Pmf {
    fn new(rows: u64, count: u64, draws: u64) -> Self {
        let (rows, count, draws) = (rows as f64, count as f64, draws as f64);
        Pmf {
            rows,
            count,
            draws,
            slack: rows - count - draws,
        }
    }

    /// `P(x + 1) / P(x)`, for `x` below the support's top.
    fn up(&self, x: u64) -> f64 {
        let x = x as f64;
        (self.count - x) * (self.draws - x) / ((x + 1.0) * (self.slack + x + 1.0))
    }

    /// `P(x − 1) / P(x)`, for `x` above the support's bottom.
    fn down(&self, x: u64) -> f64 {
        let x = x as f64;
        x * (self.slack + x) / ((self.count - x + 1.0) * (self.draws - x + 1.0))
    }
}

/// Inversion upward from 0 over `0..=high`. If rounding left `u` above the total of the whole
/// support (a mass of ~1e-15), `high` is returned.
fn invert_from_zero(pmf: &Pmf, p0: f64, high: u64, stream: &mut Stream) -> u64 {
    let u = stream.uniform();
    let (mut p, mut total, mut x) = (p0, p0, 0);
    while u >= total && x < high {
        p *= pmf.up(x);
        x += 1;
        total += p;
    }
    x
}

/// Chop-down inversion outward from the mode, alternately above and below it. If rounding
/// left `u` above the total of the whole support (a mass of ~1e-15), the mode is returned.
fn invert_from_mode(
    pmf: &Pmf,
    mode: u64,
    p_mode: f64,
    low: u64,
    high: u64,
    stream: &mut Stream,
) -> u64 {
    let u = stream.uniform();
    let mut total = p_mode;
    if u < total {
        return mode;
    }
    let (mut below, mut above) = (mode, mode);
    let (mut p_below, mut p_above) = (p_mode, p_mode);
    loop {
        let mut grew = false;
        if above < high {
            p_above *= pmf.up(above);
            above += 1;
            total += p_above;
            if u < total {
                return above;
            }
            grew = true;
        }
        if below > low {
            p_below *= pmf.down(below);
            below -= 1;
            total += p_below;
            if u < total {
                return below;
            }
            grew = true;
        }
        if !grew {
            return mode;
        }
    }
}

/// `ln k!` during one table: the table, and the last large value computed, which the next
/// cell usually asks for again.
struct LnFactorial {
    table: &'static [f64],
    last: (u64, f64),
}

impl LnFactorial {
    fn new() -> Self {
        LnFactorial {
            table: ln_factorial_table(),
            last: (u64::MAX, f64::NAN),
        }
    }

    #[inline]
    fn get(&self, k: u64) -> f64 {
        match usize::try_from(k).ok().and_then(|i| self.table.get(i)) {
            Some(&v) => v,
            None if k == self.last.0 => self.last.1,
            None => stirling_ln_factorial(k),
        }
    }

    /// [`Self::get`], keeping the value for the next call.
    #[inline]
    fn remember(&mut self, k: u64) -> f64 {
        let v = self.get(k);
        self.last = (k, v);
        v
    }
}

fn ln_factorial_table() -> &'static [f64] {
    static TABLE: OnceLock<Box<[f64]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..LN_FACTORIAL_TABLE as u64)
            .map(|k| {
                if k <= 20 {
                    // 20! < 2^64, and its odd part < 2^53: exact as f64.
                    ((1..=k).product::<u64>() as f64).ln()
                } else {
                    stirling_ln_factorial(k)
                }
            })
            .collect()
    })
}

/// `ln k!`: tabulated below [`LN_FACTORIAL_TABLE`], Stirling's series for `ln Γ(k + 1)` above.
pub(crate) fn ln_factorial(k: u64) -> f64 {
    LnFactorial::new().get(k)
}

/// `ln Γ(x)` at `x = k + 1` by Stirling's series to the `x⁻⁷` term; for `k > 20` the first
/// omitted term is below 1e-15.
fn stirling_ln_factorial(k: u64) -> f64 {
    const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_7;
    let x = k as f64 + 1.0;
    let r = 1.0 / x;
    let r2 = r * r;
    let series = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)));
    (x - 0.5) * x.ln() - x + HALF_LN_TWO_PI + series
}
