//! The retrainer's metrics, registered in one place. Every label comes from a closed set, and
//! every series of it exists from the start at zero (so `rate()` and alerts see the first
//! increment). No `model` label: one retrainer serves every model, and the Jobs it creates
//! carry the model.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::protocol::webhook::VerifyError;
use crate::retrain::job::Source;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    /// `drift` or `alertmanager`.
    pub source: String,
    /// [`Notification`]'s codes.
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// [`JobOutcome`]'s codes.
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

/// What became of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    /// Authenticated and valid, with at least one episode to act on.
    Accepted,
    /// Refused as unauthenticated (401).
    Refused,
    /// Authenticated and valid, but nothing to retrain for (resolved, or no drift alert).
    Ignored,
    /// Authenticated but unreadable: not JSON, another version, too large.
    Invalid,
}

impl Notification {
    pub const ALL: [Notification; 4] = [
        Notification::Accepted,
        Notification::Refused,
        Notification::Ignored,
        Notification::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Notification::Accepted => "accepted",
            Notification::Refused => "refused",
            Notification::Ignored => "ignored",
            Notification::Invalid => "invalid",
        }
    }
}

/// What became of one episode's Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOutcome {
    /// The API server created it.
    Created,
    /// A Job of that name exists: this episode was already handled.
    Exists,
    /// Another retraining Job of the model is still active; nothing was created.
    AlreadyRunning,
    /// `--dry-run`: printed, not created.
    DryRun,
    /// Queued for a retry after a transient API error (not counted: it ends as another outcome).
    Pending,
    /// A permanent API error, or the pending queue was full.
    Failed,
}

impl JobOutcome {
    /// The outcomes counted in `drifttap_retrainer_jobs_total`.
    pub const COUNTED: [JobOutcome; 5] = [
        JobOutcome::Created,
        JobOutcome::Exists,
        JobOutcome::AlreadyRunning,
        JobOutcome::DryRun,
        JobOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Created => "created",
            JobOutcome::Exists => "exists",
            JobOutcome::AlreadyRunning => "already_running",
            JobOutcome::DryRun => "dry_run",
            JobOutcome::Pending => "pending",
            JobOutcome::Failed => "failed",
        }
    }
}

/// The refusal reasons of `POST /v1/alertmanager`.
pub const BEARER_REASONS: [&str; 2] = ["missing_authorization", "wrong_authorization"];

/// Every [`VerifyError`] but `InvalidPayload`, which is counted as an invalid notification:
/// the reasons `POST /v1/drift` refuses with.
pub const VERIFY_REFUSALS: [VerifyError; 6] = [
    VerifyError::MissingSignature,
    VerifyError::MalformedSignature,
    VerifyError::WrongSignature,
    VerifyError::MissingTimestamp,
    VerifyError::StaleTimestamp,
    VerifyError::TimestampMismatch,
];

/// The retrainer's metric families.
#[derive(Debug, Clone, Default)]
pub struct RetrainerMetrics {
    pub notifications: Family<NotificationLabels, Counter>,
    pub refusals: Family<ReasonLabels, Counter>,
    pub jobs: Family<OutcomeLabels, Counter>,
    pub api_errors: Family<ReasonLabels, Counter>,
    pub pending_jobs: Gauge,
    pub api_reachable: Gauge,
    pub accept_errors: Family<ListenerLabels, Counter>,
    pub connections: Family<ListenerLabels, Gauge>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// `retrainer` or `admin`.
    pub listener: String,
}

impl RetrainerMetrics {
    /// The counters of the listener called `listener`, created at zero.
    pub fn listener(&self, listener: &str) -> crate::http::ListenerStats {
        let labels = ListenerLabels {
            listener: listener.into(),
        };
        crate::http::ListenerStats::of(&self.accept_errors, &self.connections, &labels)
    }

    /// Creates and registers every family, each closed label set at zero.
    pub fn register(registry: &mut Registry) -> Self {
        let m = RetrainerMetrics::default();
        registry.register(
            "drifttap_retrainer_notifications",
            "Notifications received, by source (drift, alertmanager) and outcome (accepted, refused, ignored, invalid)",
            m.notifications.clone(),
        );
        registry.register(
            "drifttap_retrainer_refusals",
            "Notifications refused as unauthenticated, by reason",
            m.refusals.clone(),
        );
        registry.register(
            "drifttap_retrainer_jobs",
            "Retraining Jobs by outcome (created, exists, already_running, dry_run, failed)",
            m.jobs.clone(),
        );
        registry.register(
            "drifttap_retrainer_api_errors",
            "Failed Kubernetes API requests, by reason",
            m.api_errors.clone(),
        );
        registry.register(
            "drifttap_retrainer_pending_jobs",
            "Jobs waiting for a retry after a transient API error",
            m.pending_jobs.clone(),
        );
        registry.register(
            "drifttap_retrainer_api_reachable",
            "1 when the Kubernetes API server answered the last request",
            m.api_reachable.clone(),
        );
        registry.register(
            "drifttap_retrainer_accept_errors",
            "Failed accepts on a listener (retrainer, admin), such as running out of file descriptors",
            m.accept_errors.clone(),
        );
        registry.register(
            "drifttap_retrainer_connections",
            "Client connections open on a listener (retrainer, admin)",
            m.connections.clone(),
        );
        for source in Source::ALL {
            for outcome in Notification::ALL {
                m.notification(source, outcome, 0);
            }
        }
        let reasons = VERIFY_REFUSALS.iter().map(|e| e.reason());
        for reason in reasons.chain(BEARER_REASONS) {
            m.refused(reason, 0);
        }
        for outcome in JobOutcome::COUNTED {
            m.job(outcome, 0);
        }
        for reason in crate::retrain::cluster::ApiFailure::REASONS {
            m.api_error(reason, 0);
        }
        m
    }

    pub fn notification(&self, source: Source, outcome: Notification, by: u64) {
        self.notifications
            .get_or_create(&NotificationLabels {
                source: source.as_str().into(),
                outcome: outcome.as_str().into(),
            })
            .inc_by(by);
    }

    pub fn refused(&self, reason: &str, by: u64) {
        self.refusals
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc_by(by);
    }

    /// Counts a Job outcome; `Pending` is not counted (the Job ends as another outcome).
    pub fn job(&self, outcome: JobOutcome, by: u64) {
        if outcome != JobOutcome::Pending {
            self.jobs
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.as_str().into(),
                })
                .inc_by(by);
        }
    }

    pub fn api_error(&self, reason: &str, by: u64) {
        self.api_errors
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc_by(by);
    }
}
