//! 95 % intervals for the measured rates.
//!
//! - [`Proportion::clopper_pearson`]: the exact binomial interval (coverage at least 95 % for
//!   every true rate), the one tables print and targets are judged by;
//! - [`Proportion::wilson`]: the score interval, closer to nominal coverage on average, in the
//!   JSON beside it;
//! - [`poisson`]: the exact (Garwood) interval of a count of rare events;
//! - [`mean`]: a normal-approximation interval of a mean, for episode lengths.
//!
//! Exact intervals invert the binomial and Poisson tails, which are regularised incomplete beta
//! and gamma functions (statrs), by bisection: 100 halvings reach the f64 resolution.

use statrs::function::beta::beta_reg;
use statrs::function::gamma::gamma_lr;

/// The standard normal 97.5 % quantile.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether the interval meets `[low, high]`.
    pub fn overlaps(&self, low: f64, high: f64) -> bool {
        self.low <= high && self.high >= low
    }

    /// The interval scaled by `factor` (a count's interval as a rate).
    pub fn scaled(self, factor: f64) -> Interval {
        Interval {
            low: self.low * factor,
            high: self.high * factor,
        }
    }
}

/// Successes out of independent trials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Proportion {
    pub successes: u64,
    pub trials: u64,
}

impl Proportion {
    /// The share of `outcomes` that are true.
    pub fn of(outcomes: impl IntoIterator<Item = bool>) -> Proportion {
        outcomes
            .into_iter()
            .fold(Proportion::default(), |p, hit| Proportion {
                successes: p.successes + u64::from(hit),
                trials: p.trials + 1,
            })
    }

    /// The observed rate (NaN without trials).
    pub fn rate(&self) -> f64 {
        self.successes as f64 / self.trials as f64
    }

    /// The Clopper–Pearson interval: `low` solves `P(X ≥ x | low) = 2.5 %`, `high` solves
    /// `P(X ≤ x | high) = 2.5 %`, with `P(X ≥ x | p) = I_p(x, n − x + 1)`.
    pub fn clopper_pearson(&self) -> Interval {
        let (x, n) = (self.successes as f64, self.trials as f64);
        let low = if self.successes == 0 {
            0.0
        } else {
            bisect(|p| beta_reg(x, n - x + 1.0, p) - 0.025)
        };
        let high = if self.successes == self.trials {
            1.0
        } else {
            bisect(|p| beta_reg(x + 1.0, n - x, p) - 0.975)
        };
        Interval { low, high }
    }

    /// The Wilson score interval.
    pub fn wilson(&self) -> Interval {
        let n = self.trials as f64;
        let p = self.rate();
        let z2 = Z_95 * Z_95;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = Z_95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        Interval {
            low: (centre - half).max(0.0),
            high: (centre + half).min(1.0),
        }
    }
}

/// The exact interval of a Poisson mean given `count` events: the 2.5 % quantile of
/// Gamma(count, 1) and the 97.5 % quantile of Gamma(count + 1, 1).
pub fn poisson(count: u64) -> Interval {
    let k = count as f64;
    let search = |shape: f64, target: f64| {
        // The quantile lies below shape + 10·√shape + 10; bisect on [0, 1] after scaling.
        let top = shape + 10.0 * shape.sqrt() + 10.0;
        top * bisect(|t| gamma_lr(shape, t * top) - target)
    };
    let low = if count == 0 { 0.0 } else { search(k, 0.025) };
    Interval {
        low,
        high: search(k + 1.0, 0.975),
    }
}

/// A mean with its 95 % normal-approximation interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Mean {
    pub mean: f64,
    pub count: usize,
    /// `None` with fewer than two values.
    pub interval: Option<Interval>,
}

/// The mean of `values` (`None` when there are none).
pub fn mean(values: &[f64]) -> Option<Mean> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let m = values.iter().sum::<f64>() / n;
    let interval = (values.len() >= 2).then(|| {
        let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
        let half = Z_95 * (var / n).sqrt();
        Interval {
            low: m - half,
            high: m + half,
        }
    });
    Some(Mean {
        mean: m,
        count: values.len(),
        interval,
    })
}

/// The root in `[0, 1]` of `f`, increasing from negative to positive.
fn bisect(f: impl Fn(f64) -> f64) -> f64 {
    let (mut low, mut high) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (low + high);
        if f(mid) < 0.0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}
