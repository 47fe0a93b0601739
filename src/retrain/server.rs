//! The retrainer's servers: `POST /v1/drift` and `POST /v1/alertmanager` on one listener,
//! `/metrics`, `/healthz` and `/readyz` on another; the Job launched once per episode (list the
//! model's Jobs, then create); the retry loop of pending Jobs and the probe that keeps
//! `/readyz` honest; and the lifecycle (SIGTERM: unready, drain, stop).

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use k8s_openapi::api::batch::v1::Job;
use prometheus_client::registry::Registry;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::http::{BindError, Body, bind, error, respond};
use crate::protocol::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, VerifyError, verify};
use crate::retrain::alertmanager;
use crate::retrain::cluster::{ApiFailure, Cluster, Created, is_active};
use crate::retrain::config::RetrainerConfig;
use crate::retrain::job::{Episode, JobTemplate, Source, build_job};
use crate::retrain::metrics::{JobOutcome, Notification, RetrainerMetrics};
use crate::retrain::pending::PendingQueue;

mod background;

/// Where Jobs go.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per process, held in an Arc"
)]
pub enum Jobs {
    /// To the API server.
    Cluster(Cluster),
    /// `--dry-run`: printed to standard output as YAML, one document per Job.
    DryRun,
}

/// The retrainer's two listeners, bound before anything is served.
#[derive(Debug)]
pub struct Listeners {
    pub notifications: TcpListener,
    pub admin: TcpListener,
}

impl Listeners {
    pub async fn bind(config: &RetrainerConfig) -> Result<Listeners, BindError> {
        Ok(Listeners {
            notifications: bind("retrainer", config.listen).await?,
            admin: bind("admin", config.admin).await?,
        })
    }
}

/// The handlers' shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Retrainer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    namespace: String,
    template: JobTemplate,
    /// HMAC-SHA256 keyed with the secret, over [`BEARER_CONTEXT`]: what a bearer token's own
    /// HMAC must equal, compared in constant time by `hmac`.
    bearer_tag: Vec<u8>,
    secret: Vec<u8>,
    max_body_bytes: usize,
    jobs: Jobs,
    metrics: RetrainerMetrics,
    registry: Registry,
    /// Held from the list to the create, so that two notifications for one model cannot both
    /// find no active Job and both create one (within this process; run one replica).
    launch: tokio::sync::Mutex<()>,
    pending: Mutex<PendingQueue>,
    /// Wakes the retry loop: a Job was queued, or the API server is back.
    retry: Notify,
    health: Mutex<Health>,
}

#[derive(Debug)]
struct Health {
    /// `None` before the first request to the API server.
    reachable: Option<bool>,
    why: String,
    stopping: bool,
}

/// What a bearer token and the secret are each hashed over before the comparison.
const BEARER_CONTEXT: &[u8] = b"drifttap retrainer bearer token";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bearer_mac(key: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(BEARER_CONTEXT);
    mac
}

/// What became of one episode, as the caller is told.
#[derive(Debug, Clone)]
struct JobReport {
    model: String,
    episode: String,
    job: String,
    outcome: JobOutcome,
    /// The active Job that made this one wait (`already_running`).
    running: Option<String>,
    /// Why it failed: the Kubernetes reason and a message.
    problem: Option<(String, String)>,
}

impl JobReport {
    fn json(&self, namespace: &str) -> serde_json::Value {
        let mut value = serde_json::json!({
            "model": self.model,
            "episode": self.episode,
            "job": self.job,
            "namespace": namespace,
            "outcome": self.outcome,
        });
        if let Some(running) = &self.running {
            value["running"] = running.clone().into();
        }
        if let Some((reason, message)) = &self.problem {
            value["reason"] = reason.clone().into();
            value["error"] = message.clone().into();
        }
        value
    }
}

/// The Kubernetes-style reason given when the pending queue is full.
const QUEUE_FULL_REASON: &str = "PendingQueueFull";

impl Retrainer {
    pub fn new(config: &RetrainerConfig, jobs: Jobs) -> Retrainer {
        let mut registry = Registry::default();
        let metrics = RetrainerMetrics::register(&mut registry);
        let dry_run = matches!(jobs, Jobs::DryRun);
        if dry_run {
            metrics.api_reachable.set(0);
        }
        Retrainer {
            inner: Arc::new(Inner {
                namespace: config.namespace.clone(),
                template: config.template.clone(),
                bearer_tag: bearer_mac(&config.secret).finalize().into_bytes().to_vec(),
                secret: config.secret.clone(),
                max_body_bytes: config.max_body_bytes,
                jobs,
                metrics,
                registry,
                launch: tokio::sync::Mutex::new(()),
                pending: Mutex::new(PendingQueue::new(config.retry_max_backoff)),
                retry: Notify::new(),
                health: Mutex::new(Health {
                    reachable: None,
                    why: "the Kubernetes API server has not been asked yet".into(),
                    stopping: false,
                }),
            }),
        }
    }

    /// `POST /v1/drift` and `POST /v1/alertmanager`.
    pub async fn handle(self, request: Request<Incoming>) -> Response<Body> {
        let source = match request.uri().path() {
            "/v1/drift" => Source::Drift,
            "/v1/alertmanager" => Source::Alertmanager,
            _ => {
                return error(
                    StatusCode::NOT_FOUND,
                    "not found (retrainer endpoints: POST /v1/drift, POST /v1/alertmanager)",
                );
            }
        };
        if request.method() != Method::POST {
            let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "POST only");
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
            return response;
        }
        let (parts, body) = request.into_parts();
        let limit = self.inner.max_body_bytes;
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                self.count(source, Notification::Invalid);
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("body larger than {limit} bytes"),
                );
            }
            Err(_) => return error(StatusCode::BAD_REQUEST, "incomplete request body"),
        };
        match source {
            Source::Drift => self.drift(&parts.headers, &body).await,
            Source::Alertmanager => self.alertmanager(&parts.headers, &body).await,
        }
    }

    fn count(&self, source: Source, outcome: Notification) {
        self.inner.metrics.notification(source, outcome, 1);
    }

    fn refuse(&self, source: Source, reason: &str, message: &str) -> Response<Body> {
        self.count(source, Notification::Refused);
        self.inner.metrics.refused(reason, 1);
        tracing::debug!(source = source.as_str(), reason, "notification refused");
        let body = serde_json::json!({ "error": message, "reason": reason }).to_string();
        let mut response = respond(StatusCode::UNAUTHORIZED, "application/json", body);
        if source == Source::Alertmanager {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }

    fn invalid(&self, source: Source, reason: &str, message: &str) -> Response<Body> {
        self.count(source, Notification::Invalid);
        let body = serde_json::json!({ "error": message, "reason": reason }).to_string();
        respond(StatusCode::BAD_REQUEST, "application/json", body)
    }

    async fn drift(&self, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let verified = verify(
            &self.inner.secret,
            header(SIGNATURE_HEADER),
            header(TIMESTAMP_HEADER),
            body,
            now,
        );
        match verified {
            Err(e @ VerifyError::InvalidPayload) => {
                self.invalid(Source::Drift, e.reason(), &e.to_string())
            }
            Err(e) => self.refuse(Source::Drift, e.reason(), &e.to_string()),
            Ok(notification) => {
                self.count(Source::Drift, Notification::Accepted);
                let episode = Episode::from_notification(&notification);
                let report = self.launch(&episode).await;
                self.answer(&[report])
            }
        }
    }

    async fn alertmanager(&self, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        let Some(token) = token else {
            return self.refuse(
                Source::Alertmanager,
                "missing_authorization",
                "no `Authorization: Bearer` header",
            );
        };
        if bearer_mac(token.as_bytes())
            .verify_slice(&self.inner.bearer_tag)
            .is_err()
        {
            return self.refuse(
                Source::Alertmanager,
                "wrong_authorization",
                "the bearer token is not the shared secret",
            );
        }
        let message = match alertmanager::parse(body) {
            Ok(message) => message,
            Err(e) => return self.invalid(Source::Alertmanager, e.reason(), &e.to_string()),
        };
        let episodes = alertmanager::episodes(&message);
        if episodes.is_empty() {
            self.count(Source::Alertmanager, Notification::Ignored);
            return respond(
                StatusCode::OK,
                "application/json",
                r#"{"outcome":"ignored","jobs":[]}"#,
            );
        }
        self.count(Source::Alertmanager, Notification::Accepted);
        let mut reports = Vec::with_capacity(episodes.len());
        for episode in &episodes {
            reports.push(self.launch(episode).await);
        }
        self.answer(&reports)
    }

    /// The answer to a notification: one entry per episode, and the outcome that matters
    /// most — `failed` (500 with the Kubernetes reason; 503 when the pending queue is full),
    /// `pending` (202), `created` (201), else 200.
    fn answer(&self, reports: &[JobReport]) -> Response<Body> {
        let rank = |o: JobOutcome| match o {
            JobOutcome::Failed => 0,
            JobOutcome::Pending => 1,
            JobOutcome::Created => 2,
            JobOutcome::AlreadyRunning => 3,
            JobOutcome::Exists => 4,
            JobOutcome::DryRun => 5,
        };
        let Some(first) = reports.iter().min_by_key(|r| rank(r.outcome)) else {
            return respond(
                StatusCode::OK,
                "application/json",
                r#"{"outcome":"ignored","jobs":[]}"#,
            );
        };
        let jobs: Vec<serde_json::Value> = reports
            .iter()
            .map(|r| r.json(&self.inner.namespace))
            .collect();
        let mut body = serde_json::json!({ "outcome": first.outcome, "jobs": jobs });
        let status = match first.outcome {
            JobOutcome::Failed => {
                let (reason, message) = first.problem.clone().unwrap_or_default();
                let status = if reason == QUEUE_FULL_REASON {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                };
                body["reason"] = reason.into();
                body["error"] = message.into();
                status
            }
            JobOutcome::Pending => StatusCode::ACCEPTED,
            JobOutcome::Created => StatusCode::CREATED,
            _ => StatusCode::OK,
        };
        respond(status, "application/json", body.to_string())
    }

    /// Builds the episode's Job and creates it once: printed with `--dry-run`; otherwise
    /// `pending` when it already waits, else one attempt, queued for retries when the failure
    /// is transient.
    async fn launch(&self, episode: &Episode) -> JobReport {
        let inner = &self.inner;
        let job = build_job(&inner.template, episode, &inner.namespace);
        let name = job.metadata.name.clone().unwrap_or_default();
        let mut report = JobReport {
            model: episode.model.clone(),
            episode: episode.key.clone(),
            job: name.clone(),
            outcome: JobOutcome::DryRun,
            running: None,
            problem: None,
        };
        let Jobs::Cluster(cluster) = &inner.jobs else {
            print_job(&job, episode);
            inner.metrics.job(JobOutcome::DryRun, 1);
            tracing::info!(model = %episode.model, job = %name, "dry run: Job printed");
            return report;
        };
        if lock(&inner.pending).contains(&name) {
            report.outcome = JobOutcome::Pending;
            return report;
        }
        match self.attempt(cluster, &episode.model, &job).await {
            Ok((outcome, running)) => {
                inner.metrics.job(outcome, 1);
                log_outcome(outcome, &episode.model, &name, running.as_deref(), 1);
                report.outcome = outcome;
                report.running = running;
            }
            Err(failure) if failure.is_transient() => {
                let queued = {
                    let mut pending = lock(&inner.pending);
                    let queued =
                        pending.push(job, name.clone(), episode.model.clone(), Instant::now());
                    inner.metrics.pending_jobs.set(pending.len() as i64);
                    queued
                };
                match queued {
                    Ok(()) => {
                        inner.retry.notify_one();
                        tracing::warn!(model = %episode.model, job = %name, %failure, "Kubernetes API unavailable; the Job waits for a retry");
                        report.outcome = JobOutcome::Pending;
                    }
                    Err(full) => {
                        inner.metrics.job(JobOutcome::Failed, 1);
                        tracing::error!(model = %episode.model, job = %name, %failure, "{full}; the Job was not kept");
                        report.outcome = JobOutcome::Failed;
                        report.problem = Some((
                            QUEUE_FULL_REASON.into(),
                            format!("{full}; last error: {failure}"),
                        ));
                    }
                }
            }
            Err(failure) => {
                inner.metrics.job(JobOutcome::Failed, 1);
                tracing::error!(model = %episode.model, job = %name, reason = %failure.kubernetes_reason, %failure, "the Job cannot be created");
                report.outcome = JobOutcome::Failed;
                report.problem = Some((failure.kubernetes_reason.clone(), failure.to_string()));
            }
        }
        report
    }

    /// One attempt: list the model's Jobs; ours already there is `exists`, another active one
    /// `already_running` (with its name); else create (a 409 is `exists`).
    async fn attempt(
        &self,
        cluster: &Cluster,
        model: &str,
        job: &Job,
    ) -> Result<(JobOutcome, Option<String>), ApiFailure> {
        let _one_at_a_time = self.inner.launch.lock().await;
        let existing = self.observe(cluster.list_model(model).await)?;
        let name = job.metadata.name.as_deref();
        if existing.iter().any(|j| j.metadata.name.as_deref() == name) {
            return Ok((JobOutcome::Exists, None));
        }
        if let Some(active) = existing.iter().find(|j| is_active(j)) {
            return Ok((JobOutcome::AlreadyRunning, active.metadata.name.clone()));
        }
        match self.observe(cluster.create(job).await)? {
            Created::Created => Ok((JobOutcome::Created, None)),
            Created::Exists => Ok((JobOutcome::Exists, None)),
        }
    }

    /// Records what a request to the API server says about it: a failure is counted, and
    /// readiness follows whether it answered (a 5xx counts as not reachable).
    fn observe<T>(&self, result: Result<T, ApiFailure>) -> Result<T, ApiFailure> {
        let (reachable, why) = match &result {
            Ok(_) => (true, String::new()),
            Err(failure) => {
                self.inner.metrics.api_error(failure.reason, 1);
                (failure.api_reachable(), failure.to_string())
            }
        };
        self.set_reachable(reachable, why);
        result
    }

    fn set_reachable(&self, reachable: bool, why: String) {
        let inner = &self.inner;
        let was = {
            let mut health = lock(&inner.health);
            let was = health.reachable;
            health.reachable = Some(reachable);
            health.why = why.clone();
            was
        };
        inner.metrics.api_reachable.set(i64::from(reachable));
        if was == Some(reachable) {
            return;
        }
        if reachable {
            tracing::info!(namespace = %inner.namespace, "the Kubernetes API server is reachable");
            let mut pending = lock(&inner.pending);
            if !pending.is_empty() {
                pending.all_due(Instant::now());
                inner.retry.notify_one();
            }
        } else {
            tracing::warn!(error = %why, "the Kubernetes API server is not reachable");
        }
    }

    /// `/metrics`, `/healthz`, `/readyz`.
    pub async fn admin(self, request: Request<Incoming>) -> Response<Body> {
        if let Some(response) = crate::http::admin::common(&request, &self.inner.registry) {
            return response;
        }
        match request.uri().path() {
            "/readyz" => {
                let health = lock(&self.inner.health);
                let dry_run = matches!(self.inner.jobs, Jobs::DryRun);
                if health.stopping {
                    respond(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        "shutting down\n",
                    )
                } else if dry_run || health.reachable == Some(true) {
                    respond(StatusCode::OK, "text/plain", "ready\n")
                } else {
                    respond(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        format!(
                            "the Kubernetes API server was not reachable at the last attempt: {}\n",
                            health.why
                        ),
                    )
                }
            }
            _ => error(
                StatusCode::NOT_FOUND,
                "not found (admin endpoints: /metrics, /healthz, /readyz)",
            ),
        }
    }
}

fn log_outcome(outcome: JobOutcome, model: &str, name: &str, running: Option<&str>, attempts: u32) {
    match outcome {
        JobOutcome::Created => {
            tracing::info!(model, job = name, attempts, "retraining Job created")
        }
        JobOutcome::Exists => tracing::info!(model, job = name, "the episode's Job exists already"),
        JobOutcome::AlreadyRunning => tracing::info!(
            model,
            job = name,
            running = running.unwrap_or_default(),
            "another retraining Job of the model is active; nothing created"
        ),
        _ => {}
    }
}

/// `--dry-run`: one YAML document per Job on standard output.
fn print_job(job: &Job, episode: &Episode) {
    let header = format!(
        "---\n# drifttap retrainer --dry-run: model {:?}, episode {}, from {}\n",
        episode.model,
        episode.key,
        episode.source.as_str()
    );
    let text = crate::settings::to_yaml(job, &header);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Runs the retrainer until `shutdown` resolves: the notification and admin servers, and with
/// a cluster the probe and the retry loop. On shutdown `/readyz` turns 503, the notification
/// server stops accepting and drains within the grace period, the loops stop, and Jobs still
/// pending are logged (they live in memory only).
pub async fn run(
    config: RetrainerConfig,
    jobs: Jobs,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) {
    let retrainer = Retrainer::new(&config, jobs);
    for (what, listener) in [
        ("retrainer", &listeners.notifications),
        ("admin", &listeners.admin),
    ] {
        if let Ok(address) = listener.local_addr() {
            tracing::info!(server = what, %address, "listening");
        }
    }
    let cluster = match &retrainer.inner.jobs {
        Jobs::Cluster(cluster) => Some(cluster.clone()),
        Jobs::DryRun => None,
    };
    tracing::info!(
        namespace = %config.namespace,
        template = %config.template.file,
        dry_run = cluster.is_none(),
        "serving"
    );
    let (data_stop, data_stopped) = watch::channel(false);
    let (admin_stop, admin_stopped) = watch::channel(false);
    let signal = |mut receiver: watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stopped| *stopped).await;
    };
    let grace = config.shutdown_grace;
    let admin = retrainer.clone();
    let admission = |what| {
        let stats = retrainer.inner.metrics.listener(what);
        crate::http::Admission::new(what, crate::http::Limits::default(), stats)
    };
    let admin_server = tokio::spawn(crate::http::serve(
        listeners.admin,
        admission("admin"),
        move |request| admin.clone().admin(request),
        signal(admin_stopped),
        grace,
    ));
    let handler = retrainer.clone();
    let notification_server = tokio::spawn(crate::http::serve(
        listeners.notifications,
        admission("retrainer"),
        move |request| handler.clone().handle(request),
        signal(data_stopped.clone()),
        grace,
    ));
    let mut loops = Vec::new();
    if let Some(cluster) = cluster {
        loops.push(tokio::spawn(retrainer.clone().probe(
            cluster.clone(),
            config.probe_interval,
            data_stopped.clone(),
        )));
        loops.push(tokio::spawn(
            retrainer
                .clone()
                .retry_pending(cluster, data_stopped.clone()),
        ));
    }

    shutdown.await;
    tracing::info!(?grace, "stopping: draining in-flight notifications");
    lock(&retrainer.inner.health).stopping = true;
    let _ = data_stop.send(true);
    let _ = notification_server.await;
    for task in loops {
        let _ = task.await;
    }
    let left = lock(&retrainer.inner.pending).names();
    if !left.is_empty() {
        tracing::warn!(jobs = ?left, "stopping with Jobs still pending; they are not created");
    }
    let _ = admin_stop.send(true);
    let _ = admin_server.await;
    tracing::info!("stopped");
}
