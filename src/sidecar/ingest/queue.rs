//! The observation queue between the servers (tap, ingest API) and the decoder: bodies go in
//! with [`Observer::offer`] and never wait for the decoder; a full queue drops the payload and
//! counts it.
//!
//! Payloads of the model's traffic (the tap's, KServe's logger's) pass a [`Sampler`] first:
//! when the traffic brings more rows than the window can use before the next evaluation, only a
//! random share of them is copied and queued, and the decoder sets that share (see
//! `ingest::feed`). Payloads pushed to the ingest API are all taken.
//!
//! The queue is bounded twice: by payloads (`queue_capacity`) and by the bytes of their bodies
//! (`queue_max_bytes`), so that bodies piling up behind a slow decoder cannot outgrow the
//! container however large each one is. A payload that would pass either bound is dropped and
//! counted (`queue_full`, `queue_bytes_full`); its bytes count from the offer until the feed
//! takes it off the queue.
//!
//! The queue is a vector behind a mutex that the decoder empties by swapping it for its own, so
//! each side holds the lock for a push or a swap only. The decoder runs at a lower priority than
//! the request workers; a lock-free channel whose senders spin while a preempted receiver
//! finishes a slot (as bounded array channels do) would make the request workers wait on it,
//! while a blocked mutex hands the CPU to the holder at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use prometheus_client::metrics::counter::Counter;

use crate::sidecar::metrics::{Metrics, ReasonLabels};

/// Where a payload came from (the `source` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Tap,
    Ingest,
    CloudEvents,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Tap => "tap",
            Source::Ingest => "ingest",
            Source::CloudEvents => "cloudevents",
        }
    }
}

/// Whether a payload is what the model was asked or what it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// A body to decode.
#[derive(Debug, Clone)]
pub struct Observation {
    pub source: Source,
    pub direction: Direction,
    pub content_type: Option<String>,
    /// The request headers, for CloudEvents in binary mode.
    pub headers: Option<http::HeaderMap>,
    pub body: Bytes,
}

/// What waits for the decoder: the payloads, oldest first, and the bytes of their bodies.
#[derive(Debug, Default)]
struct Pending {
    items: Vec<Observation>,
    bytes: usize,
}

#[derive(Debug)]
struct Queue {
    pending: Mutex<Pending>,
    bounds: Bounds,
    /// The receiver is gone.
    closed: AtomicBool,
    sampler: Sampler,
}

/// Which of the traffic's payloads are taken for decoding: each with the same probability, the
/// decoder's [`Sampler::set_ratio`], decided from a hash of its sequence number (random enough
/// that no periodic pattern in the traffic lines up with it, and no lock or random state per
/// thread).
#[derive(Debug)]
pub struct Sampler {
    /// The probability of taking a payload, in units of 2⁻³²; [`EVERY`] takes every one.
    threshold: AtomicU64,
    /// Payloads that asked, and those taken.
    seen: AtomicU64,
    taken: AtomicU64,
}

/// The threshold of a ratio of 1.
const EVERY: u64 = 1 << 32;

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            threshold: AtomicU64::new(EVERY),
            seen: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        }
    }
}

impl Sampler {
    /// Whether to take the next payload.
    pub fn take(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        let threshold = self.threshold.load(Ordering::Relaxed);
        let take = threshold >= EVERY || (mix(n) >> 32) < threshold;
        if take {
            self.taken.fetch_add(1, Ordering::Relaxed);
        }
        take
    }

    /// Takes each payload with probability `ratio` (clamped to (0, 1]) from now on.
    pub fn set_ratio(&self, ratio: f64) {
        let threshold = (ratio.clamp(0.0, 1.0) * EVERY as f64).round() as u64;
        self.threshold.store(threshold.max(1), Ordering::Relaxed);
    }

    /// The probability of taking a payload now.
    pub fn ratio(&self) -> f64 {
        self.threshold.load(Ordering::Relaxed) as f64 / EVERY as f64
    }

    /// Payloads seen and taken so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.seen.load(Ordering::Relaxed),
            self.taken.load(Ordering::Relaxed),
        )
    }
}

/// A bijective 64-bit mix (the SplitMix64 finaliser): consecutive inputs give uncorrelated
/// outputs.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Held for a push or a swap, which leave the payloads and their byte count whole even
        // if a thread panicked.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How much the queue holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Payloads (`queue_capacity`).
    pub items: usize,
    /// Bytes of their bodies (`queue_max_bytes`).
    pub bytes: usize,
}

impl Bounds {
    /// `items` payloads, and [`DEFAULT_MAX_BYTES`].
    pub fn items(items: usize) -> Bounds {
        Bounds {
            items,
            bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// The default bound of the queue's bytes (`queue_max_bytes`): 16 MiB. The feed takes the
/// whole queue at once and decodes it while the queue fills again, so bodies hold at most twice
/// this, 32 MiB: with the 31 MiB the sidecar holds under load, that leaves half of a 128 MiB
/// container to the tap's in-flight bodies and the decoder. 16 MiB is 16 bodies at the default
/// `max_body_bytes` and about 11 000 of 1.5 KB; the decoder, which takes the queue every 5 ms,
/// could not decode more in that time anyway, so the bound costs no samples a window would use.
pub const DEFAULT_MAX_BYTES: usize = 16 << 20;

/// The sending side, cloned into every server.
#[derive(Debug, Clone)]
pub struct Observer {
    queue: Arc<Queue>,
    metrics: Arc<Metrics>,
    /// Shared, not copied: an observer is cloned for every request the tap forwards.
    model: Arc<str>,
    /// `drifttap_payloads_dropped_total{reason="queue_full"}` and `{reason="queue_bytes_full"}`,
    /// resolved once: under overload one of them is counted for most payloads.
    queue_full: Counter,
    queue_bytes_full: Counter,
}

/// The decoder's side.
#[derive(Debug)]
pub struct Receiver {
    queue: Arc<Queue>,
}

/// No payload arrived in time, or every observer is gone and the queue is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no payload")]
pub struct Empty;

/// A queue of `capacity` payloads of at most [`DEFAULT_MAX_BYTES`] together: the observer for
/// the servers and the receiver for the decoder.
pub fn queue(capacity: usize, model: String, metrics: Arc<Metrics>) -> (Observer, Receiver) {
    bounded(Bounds::items(capacity), model, metrics)
}

/// A queue within `bounds` (each at least 1).
pub fn bounded(bounds: Bounds, model: String, metrics: Arc<Metrics>) -> (Observer, Receiver) {
    let bounds = Bounds {
        items: bounds.items.max(1),
        bytes: bounds.bytes.max(1),
    };
    let queue = Arc::new(Queue {
        pending: Mutex::new(Pending {
            items: Vec::with_capacity(bounds.items),
            bytes: 0,
        }),
        bounds,
        closed: AtomicBool::new(false),
        sampler: Sampler::default(),
    });
    let counter = |reason: &str| {
        metrics
            .payloads_dropped
            .get_or_create(&ReasonLabels {
                model: model.clone(),
                reason: reason.into(),
            })
            .clone()
    };
    let (queue_full, queue_bytes_full) = (counter("queue_full"), counter("queue_bytes_full"));
    (
        Observer {
            queue: queue.clone(),
            metrics,
            model: model.into(),
            queue_full,
            queue_bytes_full,
        },
        Receiver { queue },
    )
}

impl Observer {
    /// Whether to observe the next payload of the model's traffic (the sampler's draw); a
    /// payload not taken is neither copied nor queued. Payloads pushed to the ingest API do not
    /// ask.
    pub fn sample(&self) -> bool {
        self.queue.sampler.take()
    }

    /// Queues a payload if there is room for it, in payloads and in bytes; otherwise drops it
    /// and counts it (`queue_full`, `queue_bytes_full`). Returns whether it was queued.
    pub fn offer(&self, observation: Observation) -> bool {
        self.offer_with(|| observation)
    }

    /// Like [`Observer::offer`], but the payload is made only if there is room for one more,
    /// under the queue's lock (one lock per payload): under overload a server does not copy
    /// bodies that would be dropped. Its size is known only once made: a body larger than the
    /// bytes left is made, then dropped (at once, outside the lock) and counted.
    pub fn offer_with(&self, make: impl FnOnce() -> Observation) -> bool {
        if self.queue.closed.load(Ordering::Relaxed) {
            self.count_drop("shutting_down", 1);
            return false;
        }
        let bounds = self.queue.bounds;
        let mut pending = self.queue.lock();
        if pending.items.len() >= bounds.items {
            drop(pending);
            self.queue_full.inc();
            return false;
        }
        if pending.bytes >= bounds.bytes {
            drop(pending);
            self.queue_bytes_full.inc();
            return false;
        }
        let observation = make();
        let bytes = observation.body.len();
        if bytes > bounds.bytes - pending.bytes {
            drop(pending);
            self.queue_bytes_full.inc();
            return false;
        }
        pending.bytes += bytes;
        pending.items.push(observation);
        true
    }

    /// Counts payloads left out before decoding (`queue_full`, `queue_bytes_full`,
    /// `body_too_large`, `shutting_down`).
    pub fn count_drop(&self, reason: &str, count: u64) {
        self.metrics
            .payloads_dropped
            .get_or_create(&ReasonLabels {
                model: self.model.to_string(),
                reason: reason.into(),
            })
            .inc_by(count);
    }
}

impl Receiver {
    /// Moves every queued payload into `into` (which should be empty), oldest first, and frees
    /// their bytes in the queue. Returns `Err` when the queue is empty and every observer is
    /// gone.
    pub fn drain(&self, into: &mut Vec<Observation>) -> Result<(), Empty> {
        {
            let mut pending = self.queue.lock();
            std::mem::swap(&mut pending.items, into);
            pending.bytes = 0;
        }
        if into.is_empty() && self.disconnected() {
            return Err(Empty);
        }
        Ok(())
    }

    /// The oldest queued payload, waiting up to `timeout` for one (polling; for tests and
    /// tools, the decoder drains).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Observation, Empty> {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut pending = self.queue.lock();
                if !pending.items.is_empty() {
                    let observation = pending.items.remove(0);
                    pending.bytes = pending.bytes.saturating_sub(observation.body.len());
                    return Ok(observation);
                }
            }
            if self.disconnected() || Instant::now() >= deadline {
                return Err(Empty);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The sampler of the traffic's payloads, whose ratio the decoder sets.
    pub fn sampler(&self) -> &Sampler {
        &self.queue.sampler
    }

    /// Whether every observer is gone.
    fn disconnected(&self) -> bool {
        Arc::strong_count(&self.queue) == 1
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.queue.closed.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Arc::new(Metrics::register(&mut registry, "test"));
        let (observer, receiver) = queue(2, "m".into(), metrics);
        let observation = || Observation {
            source: Source::Ingest,
            direction: Direction::Request,
            content_type: None,
            headers: None,
            body: Bytes::from_static(b"[]"),
        };
        assert!(observer.offer(observation()));
        assert!(observer.offer_with(observation));
        let mut made = false;
        assert!(!observer.offer_with(|| {
            made = true;
            observation()
        }));
        assert!(!made, "no payload is made for a full queue");
        let text = crate::http::admin::encode(&registry);
        assert!(
            text.contains(r#"drifttap_payloads_dropped_total{model="m",reason="queue_full"} 1"#),
            "{text}"
        );
        let mut drained = Vec::new();
        receiver.drain(&mut drained).expect("an observer is alive");
        assert_eq!(drained.len(), 2);
        assert!(observer.offer(observation()));
        drop(receiver);
        assert!(!observer.offer(observation()));
        assert!(
            crate::http::admin::encode(&registry)
                .contains(r#"drifttap_payloads_dropped_total{model="m",reason="shutting_down"} 1"#)
        );
    }

    fn body(bytes: Bytes) -> Observation {
        Observation {
            source: Source::Tap,
            direction: Direction::Request,
            content_type: None,
            headers: None,
            body: bytes,
        }
    }

    fn dropped(registry: &prometheus_client::registry::Registry, reason: &str) -> String {
        let text = crate::http::admin::encode(registry);
        let series = format!(r#"drifttap_payloads_dropped_total{{model="m",reason="{reason}"}} "#);
        text.lines()
            .find_map(|line| line.strip_prefix(&series))
            .unwrap_or("absent")
            .to_string()
    }

    #[test]
    fn a_queue_full_of_bytes_drops_and_counts_and_the_feed_taking_them_frees_them() {
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Arc::new(Metrics::register(&mut registry, "test"));
        let bounds = Bounds {
            items: 10,
            bytes: 10,
        };
        let (observer, receiver) = bounded(bounds, "m".into(), metrics);
        let bytes = |n: usize| body(Bytes::from(vec![b'x'; n]));
        assert!(observer.offer(bytes(6)));
        assert!(!observer.offer(bytes(5)), "6 + 5 is over 10 bytes");
        assert!(observer.offer(bytes(4)), "6 + 4 is exactly 10");
        let mut made = false;
        assert!(!observer.offer_with(|| {
            made = true;
            bytes(1)
        }));
        assert!(!made, "no payload is made for a queue without a byte left");
        assert!(!observer.offer(bytes(11)), "larger than the whole queue");
        assert_eq!(dropped(&registry, "queue_bytes_full"), "3");
        assert_eq!(dropped(&registry, "queue_full"), "0", "room for items");

        let mut drained = Vec::new();
        receiver.drain(&mut drained).expect("an observer is alive");
        assert_eq!(drained.len(), 2);
        assert!(
            observer.offer(bytes(10)),
            "the drained bytes are free again"
        );
        assert!(!observer.offer(bytes(1)));
        let taken = receiver
            .recv_timeout(Duration::from_millis(5))
            .expect("queued");
        assert_eq!(taken.body.len(), 10);
        assert!(
            observer.offer(bytes(10)),
            "so are those of one payload taken"
        );
        assert_eq!(dropped(&registry, "queue_bytes_full"), "4");
    }

    #[test]
    fn megabyte_bodies_behind_a_stalled_decoder_stay_within_the_default_byte_bound() {
        // The count bound alone let 1 024 bodies of 1 MiB (1.07 GiB) wait for the decoder.
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Arc::new(Metrics::register(&mut registry, "test"));
        let (observer, receiver) = queue(1024, "m".into(), metrics);
        // One buffer shared by every payload: the test itself holds 1 MiB.
        let megabyte = Bytes::from(vec![b'x'; 1 << 20]);
        let queued = (0..1024)
            .filter(|_| observer.offer(body(megabyte.clone())))
            .count();
        assert_eq!(queued, DEFAULT_MAX_BYTES >> 20);
        assert_eq!(
            dropped(&registry, "queue_bytes_full"),
            (1024 - queued).to_string()
        );
        let mut drained = Vec::new();
        receiver.drain(&mut drained).expect("an observer is alive");
        let bytes: usize = drained.iter().map(|o| o.body.len()).sum();
        assert!(bytes <= DEFAULT_MAX_BYTES, "{bytes}");
    }

    #[test]
    fn the_sampler_takes_its_ratio_of_payloads_at_random() {
        let sampler = Sampler::default();
        assert!((0..1000).all(|_| sampler.take()), "every payload at first");
        sampler.set_ratio(0.1);
        let taken: Vec<bool> = (0..100_000).map(|_| sampler.take()).collect();
        let count = taken.iter().filter(|t| **t).count();
        // Binomial(100000, 0.1): sd ≈ 95, so ±600 is over 6 sd.
        assert!((9_400..=10_600).contains(&count), "{count}");
        // No period: every residue of a stride of 10 gets its share.
        for offset in 0..10 {
            let n = taken
                .iter()
                .skip(offset)
                .step_by(10)
                .filter(|t| **t)
                .count();
            assert!((800..=1_200).contains(&n), "offset {offset}: {n}");
        }
        assert_eq!(sampler.counts(), (101_000, 1_000 + count as u64));
        assert!((sampler.ratio() - 0.1).abs() < 1e-9);
        sampler.set_ratio(0.0);
        assert!(sampler.ratio() > 0.0, "never nothing at all");
        sampler.set_ratio(2.0);
        assert!((0..1000).all(|_| sampler.take()));
    }

    #[test]
    fn the_receiver_sees_when_every_observer_is_gone() {
        let mut registry = prometheus_client::registry::Registry::default();
        let metrics = Arc::new(Metrics::register(&mut registry, "test"));
        let (observer, receiver) = queue(4, "m".into(), metrics);
        let mut drained = Vec::new();
        assert_eq!(receiver.drain(&mut drained), Ok(()));
        assert_eq!(
            receiver.recv_timeout(Duration::from_millis(5)).map(|_| ()),
            Err(Empty)
        );
        drop(observer);
        assert_eq!(receiver.drain(&mut drained), Err(Empty));
    }
}
