//! [`Extremes`]: what the KS count walk keeps, shared by the scalar and SIMD walks and the
//! test that reads D from it. A leaf: the kernels use it without depending on the test.

/// The running extremes of `c1·m − c2·n` over the pooled values, kept by the count walk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Extremes {
    /// `max (c1·m − c2·n)` (≥ 0) and where it is first reached.
    pub plus: i64,
    pub plus_at: f64,
    /// `max (c2·n − c1·m)` (≥ 0) and where it is first reached.
    pub minus: i64,
    pub minus_at: f64,
}

impl Default for Extremes {
    /// Below any difference, so the first point observed sets both extremes.
    fn default() -> Self {
        Extremes {
            plus: i64::MIN,
            plus_at: f64::NAN,
            minus: i64::MIN,
            minus_at: f64::NAN,
        }
    }
}

impl Extremes {
    /// Records the difference at pooled value `at`; points must come in ascending order, so
    /// the strict comparison keeps the first point reaching each extreme.
    #[inline(always)]
    pub(crate) fn observe(&mut self, diff: i64, at: f64) {
        if diff > self.plus {
            self.plus = diff;
            self.plus_at = at;
        }
        if -diff > self.minus {
            self.minus = -diff;
            self.minus_at = at;
        }
    }

    /// Merges the extremes of a later stretch of the walk (strictly greater wins, so the first
    /// location is kept).
    #[inline(always)]
    pub(crate) fn observe_extremes(&mut self, later: &Extremes) {
        if later.plus > self.plus {
            (self.plus, self.plus_at) = (later.plus, later.plus_at);
        }
        if later.minus > self.minus {
            (self.minus, self.minus_at) = (later.minus, later.minus_at);
        }
    }

    /// The difference is 0 past the largest pooled value (`at`), so neither extreme is below
    /// 0; a walk that never went above it ends there.
    pub(crate) fn finish(mut self, last: f64) -> Self {
        if self.plus < 0 {
            (self.plus, self.plus_at) = (0, last);
        }
        if self.minus < 0 {
            (self.minus, self.minus_at) = (0, last);
        }
        self
    }
}
