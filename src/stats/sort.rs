//! Sorting windows of `f64` fast: a one-pass bucket distribution on the value range, then tiny
//! sorts inside the buckets.
//!
//! A window is sorted once per evaluation per feature, so for 100 features of 10 000 values
//! this is a hot loop. Feature values fill their range densely enough that `m/2` equal-width
//! buckets hold a couple of values each: one pass finds the range, one counts, one scatters,
//! and insertion sort finishes each bucket — about four linear passes, against `log₂ m`
//! data-dependent passes for a comparison sort. Skewed data that piles into a few buckets
//! degrades gracefully: large buckets are handed to the standard comparison sort.

/// Below this length the standard comparison sort is faster than distributing.
const BUCKET_MIN_LEN: usize = 256;
/// Buckets at most this large are left to the final insertion pass; larger ones are
/// distributed again, over their own range.
const INSERTION_MAX: usize = 24;
/// At most this many buckets per level, so the bucket counters (4 bytes each) stay in L1.
const MAX_BUCKETS: usize = 8192;

/// Sorts finite values ascending. `−0.0` and `0.0` compare equal and keep no particular order
/// between them (every consumer compares with `<` and `==`).
pub(crate) fn bucket_sort(values: &mut [f64]) {
    if values.len() < BUCKET_MIN_LEN {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    let mut scratch = vec![0.0; values.len()];
    distribute(values, &mut scratch);
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
/// using `scratch` (same length) as the scatter target.
fn distribute(values: &mut [f64], scratch: &mut [f64]) {
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
    let buckets = (len / 2).clamp(2, MAX_BUCKETS);
    // Slightly under `buckets / span`, so `max` lands in the last bucket, not past it.
    let scale = (buckets as f64 / span) * (1.0 - 4.0 * f64::EPSILON);
    let last = (buckets - 1) as u32;
    let index: Vec<u32> = values
        .iter()
        .map(|v| (((v - min) * scale) as u32).min(last))
        .collect();
    let mut starts = vec![0u32; buckets + 1];
    for &k in &index {
        starts[k as usize + 1] += 1;
    }
    for b in 0..buckets {
        starts[b + 1] += starts[b];
    }
    let mut next: Vec<u32> = starts[..buckets].to_vec();
    for (&v, &k) in values.iter().zip(&index) {
        let slot = &mut next[k as usize];
        scratch[*slot as usize] = v;
        *slot += 1;
    }
    for b in 0..buckets {
        let (lo, hi) = (starts[b] as usize, starts[b + 1] as usize);
        if hi - lo > INSERTION_MAX {
            distribute(&mut scratch[lo..hi], &mut values[lo..hi]);
        }
    }
    values.copy_from_slice(scratch);
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
