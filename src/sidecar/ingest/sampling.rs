//! How much of the model's traffic the feed decodes.
//!
//! The window keeps the last `window.size` rows, and an evaluation reads it once per interval:
//! rows that newer rows push out before the next evaluation are never seen by one. When the
//! traffic brings more rows than that, decoding all of it spends the pod's CPU on rows that are
//! thrown away (at 100 000 requests a second of 8 rows each, a window of 5 000 evaluated every
//! second uses 0.6 % of them). So the feed measures the traffic's rate and sets the
//! [`Sampler`]'s ratio to bring the window about twice its size per interval (or per
//! `window.max_age`, if shorter), and the servers skip the other payloads before they copy them.
//! The window then holds a uniform random sample of the last moments of traffic, and decoding
//! costs the same at any request rate.

use std::time::{Duration, Instant};

use crate::sidecar::ingest::queue::Sampler;
use crate::sidecar::window::WindowConfig;

/// How often the ratio follows the traffic.
pub const ADJUST_EVERY: Duration = Duration::from_millis(250);

/// The shortest time a rate is measured over: when the rows decoded since the last adjustment
/// already exceed what [`ADJUST_EVERY`] needs (traffic that just rose, or the first burst after
/// start), the ratio follows after this instead, before the queue fills.
const ADJUST_SOONEST: Duration = Duration::from_millis(10);

/// Windows filled per interval at the target rate: twice, so that the window is renewed well
/// within an interval even as the traffic's rate changes between two adjustments.
const REFILLS_PER_INTERVAL: f64 = 2.0;

/// The weight of the past in the running rates (halved every adjustment), which smooths the
/// estimates at low rates without lagging by more than a second or so.
const DECAY: f64 = 0.5;

/// The smallest ratio set: one payload in a million.
const MIN_RATIO: f64 = 1e-6;

/// Rows a second that keep a window renewed: [`REFILLS_PER_INTERVAL`] times its size per
/// evaluation interval, or per `max_age` when that is shorter.
pub fn target_rows_per_second(window: &WindowConfig, interval: Duration) -> f64 {
    let period = window.max_age.map_or(interval, |age| age.min(interval));
    REFILLS_PER_INTERVAL * window.size as f64 / period.as_secs_f64().max(1e-3)
}

/// The share of payloads to take so that `target` rows a second reach the window, when
/// `payloads_per_second` arrive with `rows_per_payload` rows each.
pub fn ratio(target: f64, payloads_per_second: f64, rows_per_payload: f64) -> f64 {
    let offered = payloads_per_second * rows_per_payload;
    if offered.is_finite() && offered > target {
        (target / offered).max(MIN_RATIO)
    } else {
        1.0
    }
}

/// The feed's side of sampling: the rates it measures and the ratio it sets.
#[derive(Debug)]
pub struct Sampling {
    target: f64,
    last: Instant,
    /// The sampler's counts at the last adjustment.
    seen: u64,
    taken: u64,
    /// Rows and payloads decoded from the traffic since the last adjustment.
    rows: u64,
    decoded: u64,
    /// Decayed sums of rows and payloads decoded, for the rows per payload. Counted where they
    /// are decoded, not where they are taken: while the decoder waits for the CPU, payloads taken
    /// but not yet decoded would make the rows per payload look smaller than they are.
    rows_sum: f64,
    decoded_sum: f64,
}

/// What an adjustment changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adjusted {
    /// The ratio now.
    pub ratio: f64,
    /// Payloads the sampler skipped since the last adjustment.
    pub skipped: u64,
}

impl Sampling {
    /// Sampling towards `target` rows a second, starting at `now` with the sampler as it is.
    pub fn new(target: f64, sampler: &Sampler, now: Instant) -> Self {
        let (seen, taken) = sampler.counts();
        Sampling {
            target,
            last: now,
            seen,
            taken,
            rows: 0,
            decoded: 0,
            rows_sum: 0.0,
            decoded_sum: 0.0,
        }
    }

    /// Counts a payload of the traffic decoded into `rows` rows (0 for one that failed).
    pub fn add_payload(&mut self, rows: usize) {
        self.rows += rows as u64;
        self.decoded += 1;
    }

    /// Sets the sampler's ratio from the rates since the last adjustment, if
    /// [`ADJUST_EVERY`] has passed, or [`ADJUST_SOONEST`] with more rows than needed (or
    /// `force`).
    pub fn adjust(&mut self, sampler: &Sampler, now: Instant, force: bool) -> Option<Adjusted> {
        let elapsed = now.saturating_duration_since(self.last);
        let surplus = self.rows as f64 > self.target * ADJUST_EVERY.as_secs_f64();
        if !(force || elapsed >= ADJUST_EVERY || (surplus && elapsed >= ADJUST_SOONEST)) {
            return None;
        }
        let (seen, taken) = sampler.counts();
        let (new_seen, new_taken) = (seen - self.seen, taken - self.taken);
        self.rows_sum = self.rows_sum * DECAY + self.rows as f64;
        self.decoded_sum = self.decoded_sum * DECAY + self.decoded as f64;
        (self.seen, self.taken, self.rows, self.decoded, self.last) = (seen, taken, 0, 0, now);
        let ratio = if self.decoded_sum >= 1.0 && !elapsed.is_zero() {
            let rows_per_payload = self.rows_sum / self.decoded_sum;
            ratio(
                self.target,
                new_seen as f64 / elapsed.as_secs_f64(),
                rows_per_payload,
            )
        } else {
            // Nothing decoded yet to tell rows per payload: take everything.
            1.0
        };
        sampler.set_ratio(ratio);
        Some(Adjusted {
            ratio: sampler.ratio(),
            skipped: new_seen - new_taken,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_renews_the_window_twice_per_interval_or_per_max_age() {
        let window = |max_age| WindowConfig {
            size: 5000,
            max_age,
        };
        let second = Duration::from_secs(1);
        assert_eq!(target_rows_per_second(&window(None), second), 10_000.0);
        assert_eq!(
            target_rows_per_second(&window(None), Duration::from_secs(30)),
            10_000.0 / 30.0
        );
        let short = window(Some(Duration::from_millis(500)));
        assert_eq!(target_rows_per_second(&short, second), 20_000.0);
    }

    #[test]
    fn the_ratio_takes_everything_until_the_traffic_brings_more_than_the_target() {
        assert_eq!(ratio(10_000.0, 1_000.0, 8.0), 1.0);
        assert_eq!(ratio(10_000.0, 1_250.0, 8.0), 1.0);
        assert_eq!(ratio(10_000.0, 100_000.0, 8.0), 0.0125);
        assert_eq!(ratio(10_000.0, f64::INFINITY, 8.0), 1.0);
        assert_eq!(ratio(1.0, 1e12, 1e6), MIN_RATIO);
    }

    /// Traffic at `rate` payloads a second of `rows` rows each for `seconds`, decoded as the
    /// sampler lets through; returns the rows decoded in the last second.
    fn simulate(rate: u64, rows: usize, seconds: u64, target: f64) -> (u64, f64) {
        let sampler = Sampler::default();
        let start = Instant::now();
        let mut sampling = Sampling::new(target, &sampler, start);
        let step = Duration::from_millis(5);
        let per_step = rate * step.as_millis() as u64 / 1000;
        let mut last_second = 0;
        for i in 1..=seconds * 200 {
            let now = start + step * i as u32;
            for _ in 0..per_step {
                if sampler.take() {
                    sampling.add_payload(rows);
                    if i > (seconds - 1) * 200 {
                        last_second += rows as u64;
                    }
                }
            }
            sampling.adjust(&sampler, now, false);
        }
        (last_second, sampler.ratio())
    }

    #[test]
    fn heavy_traffic_is_sampled_down_to_the_target_and_light_traffic_is_not() {
        let (rows, ratio) = simulate(100_000, 8, 5, 10_000.0);
        assert!((0.011..=0.014).contains(&ratio), "ratio {ratio}");
        assert!((8_500..=11_500).contains(&rows), "rows {rows}");
        let (rows, ratio) = simulate(1_000, 8, 5, 10_000.0);
        assert_eq!(ratio, 1.0);
        assert_eq!(rows, 8_000);
    }

    #[test]
    fn a_sudden_surge_is_sampled_within_milliseconds() {
        let sampler = Sampler::default();
        let start = Instant::now();
        let mut sampling = Sampling::new(10_000.0, &sampler, start);
        // 100 000 payloads a second of 8 rows from the start: 1 000 in the first 10 ms.
        for _ in 0..1_000 {
            assert!(sampler.take());
            sampling.add_payload(8);
        }
        let adjusted = sampling
            .adjust(&sampler, start + Duration::from_millis(10), false)
            .expect("8 000 rows is more than 250 ms need");
        assert!((adjusted.ratio - 0.0125).abs() < 1e-6, "{adjusted:?}");
    }

    #[test]
    fn payloads_waiting_to_be_decoded_do_not_lower_the_rows_per_payload() {
        let sampler = Sampler::default();
        let start = Instant::now();
        let mut sampling = Sampling::new(10_000.0, &sampler, start);
        // 100 000 payloads a second of 8 rows; the decoder gets to one in ten of those taken.
        let mut ratios = Vec::new();
        for period in 1..=8u32 {
            let mut taken = 0;
            for _ in 0..25_000 {
                if sampler.take() {
                    taken += 1;
                    if taken % 10 == 0 {
                        sampling.add_payload(8);
                    }
                }
            }
            let at = start + ADJUST_EVERY * period;
            ratios.push(sampling.adjust(&sampler, at, false).expect("due").ratio);
        }
        for ratio in &ratios[1..] {
            assert!((ratio - 0.0125).abs() < 1e-3, "{ratios:?}");
        }
    }

    #[test]
    fn payloads_without_rows_do_not_turn_sampling_on() {
        // Malformed traffic decodes to nothing: every payload is still taken (and counted).
        let (_, ratio) = simulate(100_000, 0, 2, 10_000.0);
        assert_eq!(ratio, 1.0);
    }

    #[test]
    fn an_adjustment_reports_the_payloads_skipped() {
        let sampler = Sampler::default();
        let start = Instant::now();
        let mut sampling = Sampling::new(10.0, &sampler, start);
        assert_eq!(sampling.adjust(&sampler, start, false), None);
        for _ in 0..100 {
            assert!(sampler.take());
            sampling.add_payload(1);
        }
        let first = sampling
            .adjust(&sampler, start + Duration::from_secs(1), false)
            .expect("a second passed");
        assert_eq!(first.skipped, 0);
        assert!((first.ratio - 0.1).abs() < 1e-6, "{first:?}");
        let taken = (0..1000).filter(|_| sampler.take()).count() as u64;
        let second = sampling
            .adjust(&sampler, start + Duration::from_millis(1010), true)
            .expect("forced");
        assert_eq!(second.skipped, 1000 - taken);
    }
}
