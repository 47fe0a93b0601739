//! The bounded in-memory queue of Jobs the API server could not take yet (no connection, a
//! timeout, 429, a 5xx), and when to try each again: capped exponential backoff with jitter.
//! No I/O and no clock of its own: the caller passes the time, so tests need no sleeping.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use tokio::time::Instant;

/// How many Jobs may wait. Drift makes about one episode per model at a time, so 64 outlasts
/// any realistic outage of the API server; each holds a Job whose `DRIFTTAP_PAYLOAD` is at most
/// a notification body (1 MiB), which bounds the queue's memory at 64 MiB in the worst case.
pub const PENDING_CAPACITY: usize = 64;
/// The wait before the second attempt; it doubles with each failure up to the configured cap.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// A Job waiting for the API server.
#[derive(Debug, Clone)]
pub struct PendingJob {
    pub job: Job,
    pub name: String,
    pub model: String,
    /// Attempts made so far (the first one, from the notification, included).
    pub attempts: u32,
    pub next_attempt: Instant,
}

/// The queue is full; the Job was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{PENDING_CAPACITY} Jobs already wait for the Kubernetes API server")]
pub struct QueueFull;

/// Jobs waiting, in the order they came.
#[derive(Debug)]
pub struct PendingQueue {
    jobs: Vec<PendingJob>,
    max_backoff: Duration,
}

impl PendingQueue {
    pub fn new(max_backoff: Duration) -> Self {
        PendingQueue {
            jobs: Vec::new(),
            max_backoff,
        }
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.jobs.iter().any(|p| p.name == name)
    }

    /// The names waiting, for a log line.
    pub fn names(&self) -> Vec<String> {
        self.jobs.iter().map(|p| p.name.clone()).collect()
    }

    /// Keeps a Job whose first attempt failed at `now`; a Job of the same name is kept once.
    pub fn push(
        &mut self,
        job: Job,
        name: String,
        model: String,
        now: Instant,
    ) -> Result<(), QueueFull> {
        if self.contains(&name) {
            return Ok(());
        }
        if self.jobs.len() >= PENDING_CAPACITY {
            return Err(QueueFull);
        }
        let next_attempt = now + backoff(1, self.max_backoff, jitter());
        self.jobs.push(PendingJob {
            job,
            name,
            model,
            attempts: 1,
            next_attempt,
        });
        Ok(())
    }

    /// When the next Job is due, if any waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.jobs.iter().map(|p| p.next_attempt).min()
    }

    /// The Jobs due at `now` (copies: they stay queued until [`PendingQueue::done`]).
    pub fn due(&self, now: Instant) -> Vec<PendingJob> {
        self.jobs
            .iter()
            .filter(|p| p.next_attempt <= now)
            .cloned()
            .collect()
    }

    /// Makes every Job due at `now` (the API server is back).
    pub fn all_due(&mut self, now: Instant) {
        for p in &mut self.jobs {
            p.next_attempt = now;
        }
    }

    /// Another attempt at `name` failed at `now`: wait longer.
    pub fn failed(&mut self, name: &str, now: Instant) {
        let max = self.max_backoff;
        if let Some(p) = self.jobs.iter_mut().find(|p| p.name == name) {
            p.attempts += 1;
            p.next_attempt = now + backoff(p.attempts, max, jitter());
        }
    }

    /// `name` is settled (created, found, or failed for good): forget it. Returns it.
    pub fn done(&mut self, name: &str) -> Option<PendingJob> {
        let at = self.jobs.iter().position(|p| p.name == name)?;
        Some(self.jobs.remove(at))
    }
}

/// The wait after `attempts` failed attempts: [`FIRST_BACKOFF`] doubled per further attempt,
/// capped at `max`, then scaled by `jitter` in [0.5, 1] ("equal jitter"), so retrainers that
/// lost the API server together do not come back in step.
pub fn backoff(attempts: u32, max: Duration, jitter: f64) -> Duration {
    let unit = (jitter.clamp(0.5, 1.0) - 0.5) * 2.0;
    crate::http::backoff::backoff(attempts, FIRST_BACKOFF, max, unit)
}

/// A random factor in [0.5, 1].
fn jitter() -> f64 {
    0.5 + crate::http::backoff::jitter() / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_the_cap_with_jitter_at_most_halving() {
        let max = Duration::from_secs(30);
        let secs = |attempts| backoff(attempts, max, 1.0).as_secs_f64();
        assert_eq!(
            [1, 2, 3, 4, 7, 8, 100].map(secs),
            [0.5, 1.0, 2.0, 4.0, 30.0, 30.0, 30.0]
        );
        assert_eq!(backoff(3, max, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(3, max, 0.0), Duration::from_secs(1), "clamped");
        for _ in 0..100 {
            let j = jitter();
            assert!((0.5..=1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn the_queue_keeps_a_name_once_is_bounded_and_hands_out_due_jobs() {
        let now = Instant::now();
        let mut queue = PendingQueue::new(Duration::from_secs(30));
        let push = |q: &mut PendingQueue, name: &str| {
            q.push(Job::default(), name.into(), "credit".into(), now)
        };
        assert_eq!(push(&mut queue, "a"), Ok(()));
        assert_eq!(push(&mut queue, "a"), Ok(()));
        assert_eq!(queue.len(), 1);
        assert!(queue.due(now).is_empty(), "the first retry waits");
        let later = now + Duration::from_secs(1);
        assert_eq!(queue.due(later).len(), 1);
        queue.failed("a", later);
        let pending = &queue.due(later + Duration::from_secs(2))[0];
        assert_eq!(pending.attempts, 2);
        assert!(queue.next_due().is_some_and(|t| t > later));
        queue.all_due(later);
        assert_eq!(queue.due(later).len(), 1);
        assert_eq!(queue.done("a").map(|p| p.attempts), Some(2));
        assert!(queue.is_empty() && queue.next_due().is_none());
        for i in 0..PENDING_CAPACITY {
            assert_eq!(push(&mut queue, &format!("job-{i}")), Ok(()));
        }
        assert_eq!(push(&mut queue, "one-more"), Err(QueueFull));
        assert_eq!(push(&mut queue, "job-0"), Ok(()), "already kept");
    }
}
