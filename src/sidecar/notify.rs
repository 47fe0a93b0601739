//! The retraining webhook's sender: when a model's drift verdict turns on, `serve` POSTs a
//! signed [`DriftNotification`] to the configured URL.
//!
//! Delivery never blocks evaluation: the engine hands the notification over with a
//! non-blocking `try_send` into a bounded queue, and one task delivers it — one attempt at a
//! time, each with a timeout, retried with capped exponential backoff and jitter while the
//! receiver is down or answers 408, 425, 429 or 5xx, for up to `give_up_after`. Every attempt
//! of an episode carries the same idempotency key (and is signed afresh, with the time of that
//! attempt). Another 4xx is a refusal no retry will change: counted as `rejected` and logged.
//! After a delivery, later episodes of the model are suppressed for the cooldown.
//!
//! Pending episodes live in memory: a sidecar that stops while its receiver is down loses
//! them (it logs their keys); the retrainer's Alertmanager path covers that case.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use crate::http::backoff::{backoff, jitter};
use crate::protocol::secret::read_secret;
use crate::protocol::webhook::{
    BaselineRef, DriftNotification, DriftingFeature, MultivariateResult, PAYLOAD_VERSION,
    SIGNATURE_HEADER, TIMESTAMP_HEADER, WindowSpan, episode_key, sign,
};
use crate::sidecar::config::WebhookConfig;
use crate::sidecar::engine::Evaluation;
use crate::sidecar::metrics::{Metrics, ModelLabels, OutcomeLabels};

/// The `outcome` label of `drifttap_webhook_deliveries_total`: an episode `delivered` (2xx),
/// an attempt that failed and will be `retried`, an episode `rejected` (a 4xx that is not
/// worth retrying), `failed` (given up after `give_up_after`), `dropped` (the queue was
/// full), `suppressed` (within the cooldown after a delivery).
pub const OUTCOMES: [&str; 6] = [
    "delivered",
    "retried",
    "rejected",
    "failed",
    "dropped",
    "suppressed",
];

/// The pod's namespace, from the downward API (`fieldRef: metadata.namespace`).
pub const POD_NAMESPACE_ENV: &str = "DRIFTTAP_POD_NAMESPACE";
/// The pod's name, from the downward API (`fieldRef: metadata.name`).
pub const POD_NAME_ENV: &str = "DRIFTTAP_POD_NAME";

/// The header repeating the payload's idempotency key, for receivers that deduplicate on a
/// header without parsing the body.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The longest answer body read (and logged) from the receiver.
const MAX_ANSWER_BYTES: usize = 4096;

/// Where the sidecar runs, as the notification names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pod {
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Pod {
    /// From [`POD_NAMESPACE_ENV`] and [`POD_NAME_ENV`] (unset or empty: unknown).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Pod {
        let get = |name| env(name).filter(|v| !v.is_empty());
        Pod {
            namespace: get(POD_NAMESPACE_ENV),
            name: get(POD_NAME_ENV),
        }
    }
}

/// Unix seconds of `t` (0 before the epoch).
fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The notification for `model`, whose verdict turned on in `evaluation`: the features
/// drifting after hysteresis with their statistics, the MMD result, the window. `sent_at` is
/// 0; each delivery attempt sets it.
pub fn notification(model: &str, pod: &Pod, evaluation: &Evaluation<'_>) -> DriftNotification {
    let started = unix(evaluation.at);
    let (start, end) = evaluation
        .span
        .map_or((started, started), |(a, b)| (unix(a), unix(b)));
    let features = evaluation
        .report
        .features
        .iter()
        .filter(|f| evaluation.verdicts.feature(&f.name))
        .map(|f| DriftingFeature {
            name: f.name.clone(),
            kind: f.kind,
            test: f.test,
            statistic: f.statistic,
            p_value: f.p_value,
            wasserstein_normed: f.wasserstein_normed,
            psi: f.psi,
            jensen_shannon: f.jensen_shannon,
            missing_reference: f.missing_reference,
            missing_current: f.missing_current,
            missing_p_value: f.missing_p_value,
            missing_drift: f.missing_drift,
        })
        .collect();
    let multivariate = evaluation
        .report
        .multivariate
        .as_ref()
        .map(|m| MultivariateResult {
            test: m.test,
            statistic: m.statistic,
            p_value: m.p_value,
            sigma: m.sigma,
            permutations: m.permutations,
            drift: evaluation.verdicts.multivariate.drifting,
        });
    let version = &evaluation.baseline.version;
    DriftNotification {
        version: PAYLOAD_VERSION.into(),
        idempotency_key: episode_key(model, version, started),
        model: model.into(),
        namespace: pod.namespace.clone(),
        pod: pod.name.clone(),
        baseline: BaselineRef {
            version: version.clone(),
            path: evaluation.baseline_path.into(),
        },
        window: WindowSpan {
            samples: evaluation.samples,
            start,
            end,
        },
        drift_started_at: started,
        sent_at: 0,
        features,
        multivariate,
    }
}

/// What the receiver's answer means for the episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Delivered,
    /// Worth another attempt, after at least the receiver's `Retry-After` when it gave one.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Refused; another attempt would be refused too.
    Rejected {
        reason: String,
    },
}

/// Classifies an HTTP answer: 2xx delivered; 408, 425, 429 and 5xx retried (honouring a
/// `Retry-After` in seconds); any other status rejected.
pub fn classify(status: http::StatusCode, retry_after: Option<&str>, body: &str) -> Answer {
    let code = status.as_u16();
    let reason = if body.is_empty() {
        format!("HTTP {code}")
    } else {
        format!("HTTP {code}: {body}")
    };
    if status.is_success() {
        Answer::Delivered
    } else if matches!(code, 408 | 425 | 429) || status.is_server_error() {
        Answer::Retry {
            reason,
            retry_after: retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        }
    } else {
        Answer::Rejected { reason }
    }
}

/// Why the notifier cannot start.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Secret(#[from] crate::protocol::secret::SecretError),
    #[error("webhook.ca_file {}: {reason}", path.display())]
    CaFile {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("cannot build the webhook's HTTP client: {0}")]
    Client(String),
}

/// The engine's handle: hands notifications to the delivery task without waiting.
#[derive(Debug, Clone)]
pub struct Notifier {
    sender: mpsc::Sender<DriftNotification>,
    metrics: Metrics,
    model: String,
}

impl Notifier {
    /// Queues `notification`; when the queue is full it is dropped and counted.
    pub fn notify(&self, notification: DriftNotification) {
        let key = notification.idempotency_key.clone();
        match self.sender.try_send(notification) {
            Ok(()) => {
                self.metrics
                    .webhook_pending
                    .get_or_create(&self.labels())
                    .inc();
                tracing::info!(key, "drift episode queued for the retraining webhook");
            }
            Err(_) => {
                self.count("dropped");
                tracing::error!(key, "webhook queue full: drift episode dropped");
            }
        }
    }

    fn labels(&self) -> ModelLabels {
        ModelLabels {
            model: self.model.clone(),
        }
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .webhook_deliveries
            .get_or_create(&OutcomeLabels {
                model: self.model.clone(),
                outcome: outcome.into(),
            })
            .inc();
    }

    fn failing(&self, failing: bool) {
        self.metrics
            .webhook_failing
            .get_or_create(&self.labels())
            .set(i64::from(failing));
    }
}

/// Checks the secret file and builds the client, then spawns the delivery task on the current
/// Tokio runtime. The task runs until `stop` resolves; pending episodes are logged then.
pub fn start(
    config: &WebhookConfig,
    model: &str,
    metrics: Metrics,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(Notifier, tokio::task::JoinHandle<()>), NotifyError> {
    let secret = read_secret(&config.secret_file)?;
    let client = client(config)?;
    let (sender, receiver) = mpsc::channel(config.queue_capacity);
    let notifier = Notifier {
        sender,
        metrics,
        model: model.into(),
    };
    let delivery = Delivery {
        config: config.clone(),
        client,
        secret,
        notifier: notifier.clone(),
        last_delivered: None,
    };
    let task = tokio::spawn(delivery.run(receiver, stop));
    Ok((notifier, task))
}

/// Installs the process's TLS crypto provider (ring) once; reqwest and kube need one.
pub fn install_crypto_provider() {
    // An error means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn client(config: &WebhookConfig) -> Result<reqwest::Client, NotifyError> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .user_agent(concat!("drifttap/", env!("CARGO_PKG_VERSION")))
        // A webhook that redirects is misconfigured; following it would re-send the signed
        // body to a place nobody named.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = &config.ca_file {
        builder = builder.tls_certs_merge(ca_certificates(path)?);
    }
    builder
        .build()
        .map_err(|e| NotifyError::Client(e.to_string()))
}

fn ca_certificates(path: &Path) -> Result<Vec<reqwest::Certificate>, NotifyError> {
    let ca_error = |reason: String| NotifyError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
    if certificates.is_empty() {
        return Err(ca_error("no PEM certificate in it".into()));
    }
    Ok(certificates)
}

/// The delivery task's state.
#[derive(Debug)]
struct Delivery {
    config: WebhookConfig,
    client: reqwest::Client,
    /// The last secret read; kept when a later read fails.
    secret: Vec<u8>,
    notifier: Notifier,
    last_delivered: Option<Instant>,
}

impl Delivery {
    async fn run(
        mut self,
        mut receiver: mpsc::Receiver<DriftNotification>,
        stop: impl Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        loop {
            let notification = tokio::select! {
                () = &mut stop => break,
                next = receiver.recv() => match next {
                    Some(notification) => notification,
                    None => break,
                },
            };
            let key = notification.idempotency_key.clone();
            tokio::select! {
                () = &mut stop => {
                    tracing::warn!(key, "stopping with a drift episode undelivered");
                    break;
                }
                () = self.deliver(notification) => (),
            }
            self.notifier
                .metrics
                .webhook_pending
                .get_or_create(&self.notifier.labels())
                .dec();
        }
        receiver.close();
        while let Ok(notification) = receiver.try_recv() {
            tracing::warn!(
                key = notification.idempotency_key,
                "stopping with a drift episode undelivered"
            );
        }
    }

    /// Delivers one episode, retrying until it is delivered, rejected or given up.
    async fn deliver(&mut self, mut notification: DriftNotification) {
        let key = notification.idempotency_key.clone();
        if let Some(at) = self.last_delivered
            && at.elapsed() < self.config.cooldown
        {
            self.notifier.count("suppressed");
            tracing::info!(
                key,
                cooldown = %crate::sidecar::config::format_duration(self.config.cooldown),
                "drift episode not sent: within the cooldown after the last delivery"
            );
            return;
        }
        let first = Instant::now();
        let mut retry = 0;
        loop {
            match self.attempt(&mut notification).await {
                Answer::Delivered => {
                    self.notifier.count("delivered");
                    self.notifier.failing(false);
                    self.last_delivered = Some(Instant::now());
                    tracing::info!(key, attempts = retry + 1, "drift episode delivered");
                    return;
                }
                Answer::Rejected { reason } => {
                    self.notifier.count("rejected");
                    self.notifier.failing(true);
                    tracing::error!(key, %reason, "the retraining webhook refused the drift episode");
                    return;
                }
                Answer::Retry {
                    reason,
                    retry_after,
                } => {
                    retry += 1;
                    let delay = backoff(
                        retry,
                        self.config.retry_initial_interval,
                        self.config.retry_max_interval,
                        jitter(),
                    )
                    .max(
                        retry_after
                            .unwrap_or_default()
                            .min(self.config.retry_max_interval),
                    );
                    self.notifier.failing(true);
                    if first.elapsed() + delay > self.config.give_up_after {
                        self.notifier.count("failed");
                        tracing::error!(
                            key,
                            %reason,
                            attempts = retry,
                            "drift episode given up: the retraining webhook did not take it in time"
                        );
                        return;
                    }
                    self.notifier.count("retried");
                    tracing::warn!(key, %reason, retry_in = ?delay, "webhook delivery failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt: signs the notification with the current time and POSTs it.
    async fn attempt(&mut self, notification: &mut DriftNotification) -> Answer {
        match read_secret(&self.config.secret_file) {
            Ok(secret) => self.secret = secret,
            Err(error) => {
                tracing::warn!(%error, "cannot read the webhook secret again; signing with the previous one")
            }
        }
        notification.sent_at = unix(SystemTime::now());
        let body = match serde_json::to_vec(&*notification) {
            Ok(body) => body,
            Err(e) => {
                return Answer::Rejected {
                    reason: format!("cannot serialise the notification: {e}"),
                };
            }
        };
        let sent = self
            .client
            .post(self.config.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(&self.secret, &body))
            .header(TIMESTAMP_HEADER, notification.sent_at.to_string())
            .header(IDEMPOTENCY_HEADER, &notification.idempotency_key)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = if status.is_success() {
                    String::new()
                } else {
                    answer_text(response).await
                };
                classify(status, retry_after.as_deref(), &body)
            }
            Err(error) => Answer::Retry {
                reason: transport_reason(&error),
                retry_after: None,
            },
        }
    }
}

/// The start of an answer's body, for the log.
async fn answer_text(mut response: reqwest::Response) -> String {
    let mut out = Vec::new();
    while out.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(MAX_ANSWER_BYTES);
    String::from_utf8_lossy(&out).trim().to_string()
}

fn transport_reason(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "transport error"
    };
    // reqwest's Display leaves out the cause; the chain says what happened.
    let mut reason = format!("{kind}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    reason
}

#[cfg(test)]
mod tests;
