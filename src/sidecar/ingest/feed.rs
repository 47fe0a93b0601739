//! The feed: one thread that takes observed payloads off the queue, decodes them against the
//! baseline's features and appends the rows to the window.
//!
//! Decoding runs here, never on the request workers, and outside the window's lock; the lock
//! is held once per payload, to append its rows. A payload decoded against a baseline that was
//! replaced meanwhile is decoded again against the new one, so rows never land in a window
//! whose features are in another order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::decode::{Decoded, Schema, decode};
use super::sampling::{Adjusted, Sampling};
use crate::baseline::compile::Baseline;
use crate::sidecar::ingest::queue::{Direction, Observation, Receiver, Source};
use crate::sidecar::metrics::{ModelLabels, ReasonLabels, SourceLabels};
use crate::sidecar::state::{Component, Shared};

/// While payloads arrive, the feed drains the queue every `BUSY_POLL`, taking all that came
/// meanwhile at once; the request path never wakes it. 5 ms delays a sample by at most that,
/// which no evaluation notices.
const BUSY_POLL: Duration = Duration::from_millis(5);
/// Empty polls after which the feed polls every `IDLE_POLL` instead (an idle sidecar sleeps).
const IDLE_POLLS: u32 = 200;
/// The longest the feed sleeps between two looks at the queue, and so between two heartbeats
/// while idle.
pub const IDLE_POLL: Duration = Duration::from_millis(100);

/// The schema of a baseline's features, in baseline order, decoding at most `max_rows` rows of
/// a payload (the window's size: a window keeps no more of one payload anyway).
pub fn schema(baseline: &Baseline, max_rows: usize) -> Schema {
    Schema::of(baseline.schema()).with_max_rows(max_rows)
}

/// Decodes payloads from `receiver` into `shared`'s window until `stop` is set or every sender
/// is gone. Responses are decoded only when `observe_responses` is set (prediction drift);
/// otherwise a response (for example one of KServe's logger events) is passed over. With
/// `sample_to` (rows a second), the share of the traffic's payloads taken follows the traffic
/// (see [`super::sampling`]); without, every one is taken. Beats the feed's heartbeat on every
/// poll and for every payload.
pub fn run(
    shared: &Shared,
    receiver: &Receiver,
    observe_responses: bool,
    sample_to: Option<f64>,
    stop: &AtomicBool,
) {
    let mut current = shared.baseline();
    let capacity = || shared.lock_window().capacity();
    let mut current_schema = schema(&current, capacity());
    let mut empty_polls = 0u32;
    let mut batch = Vec::new();
    let sampler = receiver.sampler();
    let mut sampling = sample_to.map(|target| Sampling::new(target, sampler, Instant::now()));
    let adjust = |sampling: &mut Option<Sampling>, force: bool| {
        if let Some(adjusted) = sampling
            .as_mut()
            .and_then(|s| s.adjust(sampler, Instant::now(), force))
        {
            count_sampling(shared, adjusted);
        }
    };
    loop {
        shared.heartbeats.beat(Component::Feed);
        adjust(&mut sampling, false);
        if stop.load(Ordering::Relaxed) || receiver.drain(&mut batch).is_err() {
            adjust(&mut sampling, true);
            return;
        }
        if batch.is_empty() {
            empty_polls = empty_polls.saturating_add(1);
            std::thread::sleep(if empty_polls < IDLE_POLLS {
                BUSY_POLL
            } else {
                IDLE_POLL
            });
            continue;
        }
        empty_polls = 0;
        for observation in batch.drain(..) {
            shared.heartbeats.beat(Component::Feed);
            crate::stats::pace::checkpoint(crate::sidecar::engine::YIELD_EVERY);
            let latest = shared.baseline();
            if !Arc::ptr_eq(&latest, &current) {
                current_schema = schema(&latest, capacity());
                current = latest;
            }
            let rows = feed_one(
                shared,
                &observation,
                &mut current,
                &mut current_schema,
                observe_responses,
            );
            if let Some(sampling) = &mut sampling
                && matches!(observation.source, Source::Tap | Source::CloudEvents)
            {
                sampling.add_payload(rows);
            }
        }
    }
}

/// Decodes one payload and appends its rows; counts what happened. Returns the rows appended.
pub fn feed_one(
    shared: &Shared,
    observation: &Observation,
    baseline: &mut Arc<Baseline>,
    schema: &mut Schema,
    observe_responses: bool,
) -> usize {
    let model = &shared.model;
    let decoded = match decode_observation(schema, observation) {
        Ok(decoded) => decoded,
        Err(reason) => {
            count_error(shared, reason);
            return 0;
        }
    };
    if decoded.direction.unwrap_or(observation.direction) == Direction::Response
        && !observe_responses
    {
        return 0;
    }
    let mut decoded = decoded;
    let rows = {
        let mut window = shared.lock_window();
        let latest = shared.baseline();
        if !Arc::ptr_eq(&latest, baseline) {
            // Replaced while decoding: decode again (rare) for the new feature order.
            *schema = self::schema(&latest, window.capacity());
            *baseline = latest;
            decoded = match decode_observation(schema, observation) {
                Ok(decoded) => decoded,
                Err(reason) => {
                    drop(window);
                    count_error(shared, reason);
                    return 0;
                }
            };
        }
        let now = Instant::now();
        let width = schema.len();
        for row in decoded.rows(width) {
            window.push(row, now);
        }
        decoded.rows
    };
    let metrics = &shared.metrics;
    metrics
        .samples_ingested
        .get_or_create(&SourceLabels {
            model: model.clone(),
            source: observation.source.name().into(),
        })
        .inc_by(rows as u64);
    for (reason, count) in decoded.dropped.by_reason() {
        metrics.dropped(model, reason, count);
    }
    if decoded.unknown_fields > 0 {
        metrics
            .unknown_fields
            .get_or_create(&ModelLabels {
                model: model.clone(),
            })
            .inc_by(decoded.unknown_fields);
    }
    rows
}

fn count_sampling(shared: &Shared, adjusted: Adjusted) {
    let labels = ModelLabels {
        model: shared.model.clone(),
    };
    let metrics = &shared.metrics;
    metrics
        .sampling_ratio
        .get_or_create(&labels)
        .set(adjusted.ratio);
    metrics
        .payloads_skipped
        .get_or_create(&labels)
        .inc_by(adjusted.skipped);
}

fn decode_observation(schema: &Schema, observation: &Observation) -> Result<Decoded, &'static str> {
    decode(
        schema,
        observation.content_type.as_deref(),
        observation.headers.as_ref(),
        &observation.body,
    )
    .map_err(|e| e.reason())
}

fn count_error(shared: &Shared, reason: &'static str) {
    shared
        .metrics
        .decode_errors
        .get_or_create(&ReasonLabels {
            model: shared.model.clone(),
            reason: reason.into(),
        })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sidecar::ingest::queue::queue;
    use crate::sidecar::state::tests::shared;

    #[test]
    fn the_feed_beats_while_the_queue_is_empty_and_stops_with_its_senders() {
        let shared = shared();
        let (observer, receiver) = queue(4, "credit".into(), Arc::new(shared.metrics.clone()));
        let before = shared.heartbeats.last_beat(Component::Feed);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || run(&shared, &receiver, false, None, &stop))
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while shared.heartbeats.last_beat(Component::Feed) == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(shared.heartbeats.last_beat(Component::Feed) > before);
        drop(observer);
        thread
            .join()
            .expect("the feed returns once every sender is gone");
    }
}
