//! The retrainer's background loops: pending Jobs retried when due, and the probe that keeps
//! `/readyz` honest.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{Retrainer, lock, log_outcome};
use crate::retrain::cluster::Cluster;
use crate::retrain::metrics::JobOutcome;

impl Retrainer {
    /// Retries pending Jobs when they are due (or at once when the API server comes back),
    /// until `stop` turns true.
    pub(super) async fn retry_pending(self, cluster: Cluster, mut stop: watch::Receiver<bool>) {
        let inner = &self.inner;
        loop {
            let next = lock(&inner.pending).next_due();
            let wait = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => return,
                () = inner.retry.notified() => {}
                () = wait => {}
            }
            let due = lock(&inner.pending).due(Instant::now());
            for entry in due {
                if *stop.borrow() {
                    return;
                }
                let result = self.attempt(&cluster, &entry.model, &entry.job).await;
                let mut pending = lock(&inner.pending);
                match result {
                    Err(failure) if failure.is_transient() => {
                        pending.failed(&entry.name, Instant::now());
                        tracing::debug!(job = %entry.name, attempts = entry.attempts + 1, %failure, "retry failed");
                    }
                    settled => {
                        pending.done(&entry.name);
                        let attempts = entry.attempts + 1;
                        match settled {
                            Ok((outcome, running)) => {
                                inner.metrics.job(outcome, 1);
                                log_outcome(
                                    outcome,
                                    &entry.model,
                                    &entry.name,
                                    running.as_deref(),
                                    attempts,
                                );
                            }
                            Err(failure) => {
                                inner.metrics.job(JobOutcome::Failed, 1);
                                tracing::error!(model = %entry.model, job = %entry.name, reason = %failure.kubernetes_reason, %failure, attempts, "the pending Job cannot be created; dropped");
                            }
                        }
                    }
                }
                inner.metrics.pending_jobs.set(pending.len() as i64);
            }
        }
    }

    /// Asks the API server every `interval` whether it answers, until `stop` turns true.
    pub(super) async fn probe(
        self,
        cluster: Cluster,
        interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let _ = self.observe(cluster.probe().await);
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
