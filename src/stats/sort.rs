//! Sorting windows of `f64` fast: a one-pass bucket distribution on the value range, then tiny
//! sorts inside the buckets.
//!
//! A window is sorted once per evaluation per feature, so for 100 features of 10 000 values
//! this is a hot loop. Feature values fill their range densely enough that `2m` equal-width
//! buckets hold at most a few values each: one pass finds the range, one computes bucket
//! indices, one counts, one scatters, and one insertion pass finishes — a handful of linear
//! passes against `log₂ m` data-dependent ones for a comparison sort. Skewed data that piles
//! into a few buckets degrades gracefully: large buckets are distributed again over their own
//! range.

/// Below this length the standard comparison sort is faster than distributing.
const BUCKET_MIN_LEN: usize = 256;
/// Buckets at most this large are left to the final insertion pass; larger ones are
/// distributed again, over their own range.
const INSERTION_MAX: usize = 24;
/// At most this many buckets per level, so the bucket counters (4 bytes each, 128 KiB) stay
/// in L2.
const MAX_BUCKETS: usize = 32768;

/// Buffers reused across calls on one thread: a sidecar sorts every window of every feature at
/// each evaluation, and fresh allocations of this size are returned to the OS and page-faulted
/// back in each time.
#[derive(Default)]
struct Scratch {
    spread: Vec<f64>,
    index: Vec<u32>,
    starts: Vec<u32>,
    next: Vec<u32>,
    large: Vec<(usize, usize)>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Sorts finite values ascending. `−0.0` and `0.0` compare equal and keep no particular order
/// between them (every consumer compares with `<` and `==`).
pub(crate) fn bucket_sort(values: &mut [f64]) {
    if values.len() < BUCKET_MIN_LEN {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => sort_with(values, &mut scratch),
        // Only reachable by re-entrance, which nothing here does; stay correct regardless.
        Err(_) => sort_with(values, &mut Scratch::default()),
    });
}

fn sort_with(values: &mut [f64], scratch: &mut Scratch) {
    let mut spread = std::mem::take(&mut scratch.spread);
    spread.clear();
    spread.resize(values.len(), 0.0);
    distribute(values, &mut spread, scratch);
    scratch.spread = spread;
    // Every bucket left is at most INSERTION_MAX long and the buckets are in order, so values
    // move only within their bucket: insertion sort on nearly sorted input.
    for i in 1..values.len() {
        let v = values[i];
        if values[i - 1] <= v {
            continue;
        }
        let mut j = i;
        while j > 0 && values[j - 1] > v {
            values[j] = values[j - 1];
            j -= 1;
        }
        values[j] = v;
    }
}

/// Orders `values` into ascending buckets of at most [`INSERTION_MAX`] values (unsorted inside),
/// using `spread` (same length) as the scatter target.
fn distribute(values: &mut [f64], spread: &mut [f64], scratch: &mut Scratch) {
    let len = values.len();
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let span = max - min;
    if !(span > 0.0 && span.is_finite()) {
        // All equal (up to the sign of zero), or a range too wide to scale.
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    // Two buckets per value: most end up with zero or one value, so the final insertion pass
    // rarely moves anything (its mispredicted branches were the sort's main cost).
    let buckets = (2 * len).clamp(2, MAX_BUCKETS);
    // Slightly under `buckets / span`, so `max` lands in the last bucket, not past it.
    let scale = (buckets as f64 / span) * (1.0 - 4.0 * f64::EPSILON);
    let last = (buckets - 1) as u32;
    scratch.index.clear();
    scratch.index.extend(
        values
            .iter()
            .map(|v| (((v - min) * scale) as u32).min(last)),
    );
    scratch.starts.clear();
    scratch.starts.resize(buckets + 1, 0);
    for &k in &scratch.index {
        scratch.starts[k as usize + 1] += 1;
    }
    for b in 0..buckets {
        scratch.starts[b + 1] += scratch.starts[b];
    }
    scratch.next.clear();
    scratch.next.extend_from_slice(&scratch.starts[..buckets]);
    for (&v, &k) in values.iter().zip(&scratch.index) {
        let slot = &mut scratch.next[k as usize];
        spread[*slot as usize] = v;
        *slot += 1;
    }
    // Buckets too large for the insertion pass are distributed again over their own range.
    let first_large = scratch.large.len();
    for b in 0..buckets {
        let (lo, hi) = (scratch.starts[b] as usize, scratch.starts[b + 1] as usize);
        if hi - lo > INSERTION_MAX {
            scratch.large.push((lo, hi));
        }
    }
    while scratch.large.len() > first_large {
        let Some((lo, hi)) = scratch.large.pop() else {
            break;
        };
        distribute(&mut spread[lo..hi], &mut values[lo..hi], scratch);
    }
    values.copy_from_slice(spread);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extreme_ranges_and_signed_zeros_sort() {
        let mut xs: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { -0.0 } else { 0.0 })
            .collect();
        xs.extend([f64::MAX, -f64::MAX, 1e-300, -1e-300]);
        let mut expected = xs.clone();
        expected.sort_unstable_by(f64::total_cmp);
        bucket_sort(&mut xs);
        assert_eq!(xs, expected); // f64 equality: −0.0 == 0.0
        assert!(xs.windows(2).all(|w| w[0] <= w[1]));
    }

    proptest! {
        #[test]
        fn bucket_sort_equals_comparison_sort(
            mut xs in proptest::collection::vec(-1e6f64..1e6, 0..3000),
            shape in 0u32..4,
        ) {
            for x in &mut xs {
                match shape {
                    1 => *x = (*x / 1e5).round(),      // heavy ties
                    2 => *x = (*x / 1e5).powi(9),      // skewed: most values in a few buckets
                    3 => *x = if *x > 0.0 { 0.0 } else { -0.0 },
                    _ => {}
                }
            }
            let mut expected = xs.clone();
            expected.sort_unstable_by(f64::total_cmp);
            bucket_sort(&mut xs);
            // f64 equality, under which −0.0 == 0.0: the order between the two is free.
            prop_assert_eq!(xs, expected);
        }
    }
}
