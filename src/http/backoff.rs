//! Retry delays, shared by the webhook's sender and the retrainer's pending Jobs: exponential
//! backoff capped at a maximum, with "equal jitter" (never less than half the nominal delay),
//! so that many sidecars or retrainers that lost their peer together do not retry in step.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The delay before retry `retry` (1 for the first): `initial × 2^(retry−1)`, at most `max`,
/// scaled by `0.5 + jitter / 2` with `jitter` in [0, 1] (clamped).
pub fn backoff(retry: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = retry.saturating_sub(1).min(30);
    let nominal = initial.saturating_mul(1 << doublings).min(max);
    nominal.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// A random number in [0, 1): the standard library's per-process random hash keys, hashed
/// once more. Its quality does not matter, only that processes do not agree.
pub fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}
