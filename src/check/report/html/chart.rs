//! The numbers behind the report's charts: ECDF step lines, shared histogram bins and category
//! shares. Numeric sides are sorted, so every count is a binary search: a feature with a million
//! reference values costs a few thousand comparisons, not a pass over the data.

use std::collections::HashMap;

/// Points per ECDF line at most, besides its two ends: half are spent on horizontal resolution,
/// half on vertical, so a drawn step is never more than 1 % of the axis away from the true one.
pub(super) const ECDF_POINTS: usize = 200;

/// Histogram bins over a continuous range (integer data gets bins of whole units instead).
const HISTOGRAM_BINS: usize = 30;

/// Integer data spanning at most this many units gets one bin per value.
const UNIT_BINS_MAX: f64 = 40.0;

/// The axis shows each side's 0.5th to 99.5th percentile, so that one extreme value does not
/// squeeze the bulk of the distribution into a few pixels.
const TAIL_QUANTILE: f64 = 0.005;

/// Tails shorter than this share of the central range are shown in full rather than clipped.
const SHORT_TAIL: f64 = 0.05;

/// One corner of an ECDF step line: the ECDF is `f` from `x` until the next point's `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct EcdfPoint {
    pub x: f64,
    pub f: f64,
}

/// Where the two ECDFs are furthest apart: the KS statistic, drawn on the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct KsGap {
    pub x: f64,
    pub reference: f64,
    pub current: f64,
}

/// One side of a numeric feature, ready to draw.
#[derive(Debug)]
pub(super) struct NumericSide {
    pub n: usize,
    pub ecdf: Vec<EcdfPoint>,
    /// Share of the side's values per histogram bin (values beyond the axis in the end bins).
    pub shares: Vec<f64>,
}

/// A numeric feature's charts on a shared x axis.
#[derive(Debug)]
pub(super) struct NumericCharts {
    /// Histogram bin edges; the first and last are the ends of the x axis.
    pub edges: Vec<f64>,
    /// Whether values lie beyond the axis on either side.
    pub clipped: bool,
    pub reference: NumericSide,
    pub current: NumericSide,
    pub gap: Option<KsGap>,
}

impl NumericCharts {
    /// `reference` is sorted and finite; `current` is in row order with NaN for missing values.
    /// `None` when neither side has a value.
    pub fn new(reference: &[f64], current: &[f64]) -> Option<NumericCharts> {
        let mut current: Vec<f64> = current.iter().copied().filter(|x| x.is_finite()).collect();
        current.sort_unstable_by(f64::total_cmp);
        let (lo, hi, clipped) = axis_range(reference, &current)?;
        let integers = [reference, &current]
            .iter()
            .all(|side| side.iter().all(|x| x.fract() == 0.0));
        let edges = bin_edges(lo, hi, integers);
        let (start, end) = (edges[0], edges[edges.len() - 1]);
        let side = |sorted: &[f64]| NumericSide {
            n: sorted.len(),
            ecdf: ecdf_steps(sorted, start, end, ECDF_POINTS),
            shares: bin_shares(sorted, &edges),
        };
        Some(NumericCharts {
            reference: side(reference),
            current: side(&current),
            gap: ks_gap(reference, &current),
            clipped,
            edges,
        })
    }
}

/// Value at quantile `q` of a sorted, non-empty sample (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The x axis: from the lowest side's 0.5th percentile to the highest side's 99.5th, extended to
/// the extremes when the tails are short; and whether any value lies beyond it.
fn axis_range(reference: &[f64], current: &[f64]) -> Option<(f64, f64, bool)> {
    let sides: Vec<&[f64]> = [reference, current]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let fold = |f: &dyn Fn(&[f64]) -> f64, pick: fn(f64, f64) -> f64| {
        sides.iter().map(|s| f(s)).reduce(pick)
    };
    let min = fold(&|s| s[0], f64::min)?;
    let max = fold(&|s| s[s.len() - 1], f64::max)?;
    let mut lo = fold(&|s| quantile(s, TAIL_QUANTILE), f64::min)?;
    let mut hi = fold(&|s| quantile(s, 1.0 - TAIL_QUANTILE), f64::max)?;
    if lo - min <= SHORT_TAIL * (hi - lo) {
        lo = min;
    }
    if max - hi <= SHORT_TAIL * (hi - lo) {
        hi = max;
    }
    let clipped = lo > min || hi < max;
    if hi <= lo {
        let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        return Some((lo - pad, hi + pad, clipped));
    }
    Some((lo, hi, clipped))
}

/// Bin edges over `[lo, hi]`: whole units centred on the values for integer data (so that bins
/// never alternate between holding one value and two), else equal widths.
fn bin_edges(lo: f64, hi: f64, integers: bool) -> Vec<f64> {
    if integers && lo.fract() == 0.0 && hi.fract() == 0.0 {
        let values = hi - lo + 1.0;
        let width = if values <= UNIT_BINS_MAX {
            1.0
        } else {
            (values / HISTOGRAM_BINS as f64).ceil()
        };
        let bins = (values / width).ceil() as usize;
        return (0..=bins).map(|k| lo - 0.5 + k as f64 * width).collect();
    }
    let width = (hi - lo) / HISTOGRAM_BINS as f64;
    (0..=HISTOGRAM_BINS)
        .map(|k| lo + k as f64 * width)
        .collect()
}

/// Share of `sorted` in each bin; values below the first edge count in the first bin and values
/// above the last in the last.
fn bin_shares(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    let n = sorted.len();
    if n == 0 {
        return vec![0.0; edges.len() - 1];
    }
    let mut bounds: Vec<usize> = edges[1..edges.len() - 1]
        .iter()
        .map(|&e| sorted.partition_point(|&x| x < e))
        .collect();
    bounds.insert(0, 0);
    bounds.push(n);
    bounds
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / n as f64)
        .collect()
}

/// The ECDF of `sorted` on `[lo, hi]` as at most `max_points + 2` step corners: first
/// `(lo, F(lo⁻))`, then true points `(x, F(x))` of the ECDF at some of the values, the last one
/// at the largest value ≤ `hi`. A corner is kept once the line has moved `1/(max_points/2)` of
/// the axis to the right or up since the previous one, so every drawn step is a real step and the
/// line between corners is within that share of the true ECDF. Values come from integer counts.
pub(super) fn ecdf_steps(sorted: &[f64], lo: f64, hi: f64, max_points: usize) -> Vec<EcdfPoint> {
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let half = (max_points / 2).max(1);
    let dx = (hi - lo) / half as f64;
    let dk = n.div_ceil(half);
    let f = |count: usize| count as f64 / n as f64;
    let start = sorted.partition_point(|&x| x < lo);
    let end = sorted.partition_point(|&x| x <= hi);
    let mut points = vec![EcdfPoint { x: lo, f: f(start) }];
    let (mut count, mut last_x) = (start, lo);
    while count < end {
        // The first value far enough right, or far enough up, whichever comes first.
        let by_x = sorted.partition_point(|&x| x < last_x + dx).max(count);
        let by_count = count + dk - 1;
        let i = by_x.min(by_count).min(end - 1);
        let x = sorted[i];
        count = count + sorted[count..].partition_point(|&v| v <= x);
        last_x = x;
        points.push(EcdfPoint { x, f: f(count) });
    }
    points
}

/// Where `|F_reference − F_current|` is largest, from integer counts (`c_r·m − c_c·n`). The
/// supremum is reached at or just before one of the current values, so only those are visited.
fn ks_gap(reference: &[f64], current: &[f64]) -> Option<KsGap> {
    let (n, m) = (reference.len(), current.len());
    if n == 0 || m == 0 {
        return None;
    }
    let gap = |r: usize, c: usize| (r as i128 * m as i128 - c as i128 * n as i128).abs();
    let mut best: Option<(i128, f64, usize, usize)> = None;
    let (mut i, mut r_below) = (0, 0);
    while i < m {
        let x = current[i];
        let c_end = i + gallop(&current[i..], |v| v <= x);
        // Counts strictly below x (just before the step), then up to and including x.
        r_below += gallop(&reference[r_below..], |v| v < x);
        let r_end = r_below + gallop(&reference[r_below..], |v| v <= x);
        for (r, c) in [(r_below, i), (r_end, c_end)] {
            let g = gap(r, c);
            if best.is_none_or(|b| g > b.0) {
                best = Some((g, x, r, c));
            }
        }
        i = c_end;
    }
    best.map(|(_, x, r, c)| KsGap {
        x,
        reference: r as f64 / n as f64,
        current: c as f64 / m as f64,
    })
}

/// `sorted.partition_point(pred)` found by doubling from the start: O(log k) for a partition
/// point at k, so walking a long sample in many short hops costs far less than binary searches
/// over all of it.
fn gallop(sorted: &[f64], pred: impl Fn(f64) -> bool) -> usize {
    let mut bound = 1;
    while bound < sorted.len() && pred(sorted[bound - 1]) {
        bound *= 2;
    }
    let start = bound / 2;
    let end = bound.min(sorted.len());
    start + sorted[start..end].partition_point(|&v| pred(v))
}

/// One category's shares on each side.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CategoryShare {
    pub name: String,
    pub reference: f64,
    pub current: f64,
    /// In CURRENT but never in the reference.
    pub unseen: bool,
    /// For the "other" bucket: how many categories it holds, and how many of them are unseen.
    pub bucket: Option<(usize, usize)>,
}

/// Every category of either side with its shares, in no particular order.
pub(super) fn category_shares(
    reference: &[(String, u64)],
    current: &[(String, u64)],
) -> Vec<CategoryShare> {
    let mut counts: HashMap<&str, (u64, u64)> = HashMap::new();
    for (name, count) in reference {
        counts.entry(name).or_default().0 += count;
    }
    for (name, count) in current {
        counts.entry(name).or_default().1 += count;
    }
    let total = |pick: fn(&(u64, u64)) -> u64| counts.values().map(pick).sum::<u64>();
    let (total_r, total_c) = (total(|c| c.0), total(|c| c.1));
    let share = |count: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        }
    };
    counts
        .iter()
        .filter(|(_, (r, c))| *r + *c > 0)
        .map(|(name, &(r, c))| CategoryShare {
            name: (*name).to_string(),
            reference: share(r, total_r),
            current: share(c, total_c),
            unseen: r == 0 && c > 0,
            bucket: None,
        })
        .collect()
}

/// The rows of the bar chart: the `max_rows` categories with the largest share on either side
/// (so a large unseen category always shows), ordered by reference share, then the rest summed
/// into one "other" row.
pub(super) fn chart_rows(mut all: Vec<CategoryShare>, max_rows: usize) -> Vec<CategoryShare> {
    let larger = |c: &CategoryShare| c.reference.max(c.current);
    all.sort_by(|a, b| larger(b).total_cmp(&larger(a)).then(a.name.cmp(&b.name)));
    // An "other" row for a single category would hide it for nothing.
    let keep = if all.len() <= max_rows + 1 {
        all.len()
    } else {
        max_rows
    };
    let rest = all.split_off(keep);
    all.sort_by(|a, b| {
        (b.reference.total_cmp(&a.reference))
            .then(b.current.total_cmp(&a.current))
            .then(a.name.cmp(&b.name))
    });
    if !rest.is_empty() {
        all.push(CategoryShare {
            name: "other".to_string(),
            reference: rest.iter().map(|c| c.reference).sum(),
            current: rest.iter().map(|c| c.current).sum(),
            unseen: false,
            bucket: Some((rest.len(), rest.iter().filter(|c| c.unseen).count())),
        });
    }
    all
}

/// The `count` categories whose share changed most, largest change first.
pub(super) fn largest_shifts(all: &[CategoryShare], count: usize) -> Vec<CategoryShare> {
    let mut shifts = all.to_vec();
    let change = |c: &CategoryShare| (c.current - c.reference).abs();
    shifts.sort_by(|a, b| change(b).total_cmp(&change(a)).then(a.name.cmp(&b.name)));
    shifts.truncate(count);
    shifts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecdf_at(sorted: &[f64], x: f64) -> f64 {
        sorted.iter().filter(|&&v| v <= x).count() as f64 / sorted.len() as f64
    }

    #[test]
    fn ecdf_steps_are_true_points_within_one_percent() {
        let sorted: Vec<f64> = (0..100_000)
            .map(|i| ((i as f64) / 1000.0).powi(2).floor())
            .collect();
        let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
        let points = ecdf_steps(&sorted, lo, hi, ECDF_POINTS);
        assert!(points.len() <= ECDF_POINTS + 2, "{} points", points.len());
        for p in &points[1..] {
            assert_eq!(p.f, ecdf_at(&sorted, p.x), "corner at {}", p.x);
        }
        // Between corners the drawn line (the left corner's value) is within 1 % of the ECDF.
        for w in points.windows(2) {
            let inside = sorted.iter().filter(|&&v| v > w[0].x && v < w[1].x);
            for &v in inside {
                assert!(ecdf_at(&sorted, v) - w[0].f <= 0.01 + 1e-12, "at {v}");
            }
        }
    }

    #[test]
    fn ecdf_of_a_clipped_range_starts_above_zero() {
        let sorted: Vec<f64> = (0..1000).map(f64::from).collect();
        let points = ecdf_steps(&sorted, 100.0, 899.5, ECDF_POINTS);
        assert_eq!(points[0], EcdfPoint { x: 100.0, f: 0.1 });
        assert_eq!(points[points.len() - 1], EcdfPoint { x: 899.0, f: 0.9 });
    }

    #[test]
    fn ks_gap_matches_a_brute_force_search() {
        let mut reference: Vec<f64> = (0..500).map(|i| f64::from(i % 50)).collect();
        reference.sort_by(f64::total_cmp);
        let current: Vec<f64> = (0..300).map(|i| f64::from(i % 40) + 7.5).collect();
        let mut sorted = current.clone();
        sorted.sort_by(f64::total_cmp);
        let gap = ks_gap(&reference, &sorted).expect("both sides have values");
        let brute = (0..1000)
            .map(|i| f64::from(i) / 10.0 - 5.0)
            .map(|x| (ecdf_at(&reference, x) - ecdf_at(&sorted, x)).abs())
            .fold(0.0, f64::max);
        assert!(((gap.reference - gap.current).abs() - brute).abs() < 1e-12);
    }

    #[test]
    fn integer_data_gets_unit_bins_and_clamped_tails() {
        let mut reference: Vec<f64> = (0..1000).map(|i| f64::from(i % 10)).collect();
        reference.sort_by(f64::total_cmp);
        let current = [3.0, 4.0, f64::NAN, 5.0];
        let charts = NumericCharts::new(&reference, &current).expect("values");
        assert_eq!(charts.edges.len(), 11);
        assert_eq!(charts.edges[0], -0.5);
        assert!((charts.reference.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(charts.current.n, 3);

        let mut wide: Vec<f64> = (0..10_000).map(|i| f64::from(i) / 10_000.0).collect();
        wide.push(1e9);
        let charts = NumericCharts::new(&wide, &[0.5]).expect("values");
        assert!(charts.clipped);
        assert!(charts.edges[charts.edges.len() - 1] < 2.0);
        assert!((charts.reference.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn other_bucket_collects_the_smallest_categories() {
        let reference: Vec<(String, u64)> = (0..30).map(|i| (format!("c{i}"), 100 - i)).collect();
        let current = vec![("c0".to_string(), 10), ("brand_new".to_string(), 40)];
        let rows = chart_rows(category_shares(&reference, &current), 20);
        assert_eq!(rows.len(), 21);
        assert_eq!(rows[0].name, "c0");
        let new = rows.iter().find(|r| r.name == "brand_new").expect("shown");
        assert!(new.unseen);
        let other = &rows[20];
        assert_eq!(other.bucket, Some((11, 0)));
        let total: f64 = rows.iter().map(|r| r.reference).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}
