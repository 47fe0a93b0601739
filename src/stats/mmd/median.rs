//! The median heuristic for the RBF bandwidth, exactly as alibi-detect picks it, without
//! materialising the `n(n−1)/2` pairwise distances.
//!
//! alibi-detect (`utils/pytorch/kernels.py`, `sigma_median`) sorts the full `n × n` matrix of
//! squared distances of the reference to itself — the `n` zero diagonal entries and every pair
//! twice — and takes element `n + (n² − n)/2 − 1`. Past the diagonal, that is pair number
//! `⌊(P − 1)/2⌋` (0-based) of the `P = n(n−1)/2` sorted pair distances: the lower median.
//! Then `σ = √(median / 2)`.
//!
//! Selection by value: squared distances are non-negative, so their IEEE bit patterns sort
//! like the values. Each pass over the pairs counts the distances in a bit range into 2¹⁶
//! buckets, keeps the bucket holding the wanted rank, and narrows the range to it; once the
//! range holds few enough values they are collected and the rank selected exactly.

use crate::stats::backend::Compute;

use super::pass::{Pooled, TILE, for_each_tile};

const BUCKET_BITS: u32 = 16;
/// Collect the candidates once at most this many remain (16 MiB of f64): the pairs of up to
/// 2 048 rows — a default-sized MMD reference sample — are then selected in a single pass.
const COLLECT_MAX: u64 = 1 << 20;

/// The lower median of the pairwise squared distances between the first `pooled.valid` rows.
/// `None` when there are fewer than two rows.
pub(crate) fn median_pair_sq_distance(pooled: &Pooled, compute: &Compute) -> Option<f64> {
    let n = pooled.block_rows.iter().sum::<usize>() as u64;
    if n < 2 {
        return None;
    }
    let pairs = n * (n - 1) / 2;
    let mut rank = (pairs - 1) / 2;
    // Inclusive range of bit patterns still in play: all finite non-negative doubles.
    let (mut lo, mut hi) = (0u64, f64::MAX.to_bits());
    let mut in_range = pairs;
    loop {
        if lo == hi {
            // Every remaining candidate has this exact value.
            return Some(f64::from_bits(lo));
        }
        if in_range <= COLLECT_MAX {
            let mut values: Vec<f64> = for_each_pair(pooled, compute, Vec::new, |acc, d2| {
                let bits = d2.to_bits();
                if (lo..=hi).contains(&bits) {
                    acc.push(d2);
                }
            })
            .into_iter()
            .flatten()
            .collect();
            let (_, nth, _) = values.select_nth_unstable_by(rank as usize, f64::total_cmp);
            return Some(*nth);
        }
        let span_bits = 64 - (hi - lo).leading_zeros();
        let shift = span_bits.saturating_sub(BUCKET_BITS);
        let counts = for_each_pair(
            pooled,
            compute,
            || vec![0u64; 1 << BUCKET_BITS],
            |acc, d2| {
                let bits = d2.to_bits();
                if (lo..=hi).contains(&bits) {
                    acc[((bits - lo) >> shift) as usize] += 1;
                }
            },
        )
        .into_iter()
        .reduce(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        })
        .unwrap_or_default();
        let mut below = 0u64;
        for (bucket, &count) in counts.iter().enumerate() {
            if below + count > rank {
                rank -= below;
                lo += (bucket as u64) << shift;
                hi = hi.min(lo + ((1u64 << shift) - 1));
                in_range = count;
                break;
            }
            below += count;
        }
    }
}

/// Calls `visit` with the squared distance of every pair `i < j` of valid rows.
fn for_each_pair<S, I, V>(pooled: &Pooled, compute: &Compute, init: I, visit: V) -> Vec<S>
where
    S: Send,
    I: Fn() -> S + Sync,
    V: Fn(&mut S, f64) + Sync,
{
    let norms = pooled.norms();
    // The median runs over a single block, so real rows are `0..valid`.
    let valid = pooled.block_rows.iter().sum::<usize>();
    for_each_tile(
        pooled,
        compute,
        |_, _| true,
        init,
        |state, tile, dots| {
            for a in 0..TILE {
                let i = tile.i0 + a;
                if i >= valid {
                    break;
                }
                let first_b = if tile.diagonal() { a + 1 } else { 0 };
                for b in first_b..TILE {
                    let j = tile.j0 + b;
                    if j >= valid {
                        break;
                    }
                    let d2 = (norms[i] + norms[j] - 2.0 * dots[a * TILE + b]).max(0.0);
                    visit(state, d2);
                }
            }
        },
    )
}
