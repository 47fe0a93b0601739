//! The observation queue between the servers (tap, ingest API) and the decoder: bodies go in
//! with `try_send` and never block a request; a full queue drops the payload and counts it.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use bytes::Bytes;

use crate::metrics::{Metrics, ReasonLabels};

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

/// The sending side, cloned into every server.
#[derive(Debug, Clone)]
pub struct Observer {
    sender: SyncSender<Observation>,
    metrics: Arc<Metrics>,
    /// Shared, not copied: an observer is cloned for every request the tap forwards.
    model: Arc<str>,
}

/// A queue of `capacity` payloads: the observer for the servers and the receiver for the
/// decoder.
pub fn queue(
    capacity: usize,
    model: String,
    metrics: Arc<Metrics>,
) -> (Observer, Receiver<Observation>) {
    let (sender, receiver) = sync_channel(capacity.max(1));
    (
        Observer {
            sender,
            metrics,
            model: model.into(),
        },
        receiver,
    )
}

impl Observer {
    /// Queues a payload if there is room; otherwise drops it and counts it. Returns whether it
    /// was queued.
    pub fn offer(&self, observation: Observation) -> bool {
        match self.sender.try_send(observation) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.count_drop("queue_full", 1);
                false
            }
            Err(TrySendError::Disconnected(_)) => {
                self.count_drop("shutting_down", 1);
                false
            }
        }
    }

    /// Counts payloads left out before decoding (`queue_full`, `body_too_large`,
    /// `shutting_down`).
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
        assert!(observer.offer(observation()));
        assert!(!observer.offer(observation()));
        let text = crate::metrics::encode(&registry);
        assert!(
            text.contains(r#"drifttap_payloads_dropped_total{model="m",reason="queue_full"} 1"#),
            "{text}"
        );
        drop(receiver);
        assert!(!observer.offer(observation()));
    }
}
