//! `drifttap retrainer` as it runs in a cluster: the binary as a child process, a fake
//! Kubernetes API server it reaches through a kubeconfig, notifications signed with
//! `drifttap::protocol::webhook::sign` or carrying Alertmanager's bearer token; and the shipped
//! manifests checked against the flags they pass.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use hyper::StatusCode;
use k8s_openapi::api::batch::v1::Job;

use drifttap::protocol::webhook::{
    BaselineRef, DriftNotification, DriftingFeature, PAYLOAD_VERSION, SIGNATURE_HEADER,
    TIMESTAMP_HEADER, WindowSpan, episode_key, sign,
};
use drifttap::retrain::job::job_name;

use crate::fake_kube::{FakeKube, Mode};
use crate::harness::{Service, TempDir, container_cli, drifttap, unique};
use crate::sidecar::{Metrics, get, post, readme_metrics, scrape, scrape_until};

pub const SECRET: &str = "s3cret";
pub const NAMESPACE: &str = "ml";
const WAIT: Duration = Duration::from_secs(20);

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// A running retrainer and its temporary directory (secret, kubeconfig); other test modules
/// (an end-to-end test with Alertmanager) can start one the same way.
pub struct Retrainer {
    pub service: Service,
    _dir: TempDir,
}

impl Retrainer {
    /// Starts it against `kube` (or with none, for `--dry-run`) with the shipped template, a
    /// 200 ms probe and retries at most 1 s apart, plus `flags`.
    pub fn start(kube: Option<&FakeKube>, flags: &[&str]) -> Retrainer {
        let dir = TempDir::new(&format!("retrainer-{}", unique()));
        let secret = dir.path("secret");
        std::fs::write(&secret, format!("{SECRET}\n")).expect("secret written");
        let kubeconfig = kube.map(|k| k.write_kubeconfig(&dir.0).display().to_string());
        let template = repo("k8s/retrain-job.yaml");
        let mut args = vec![
            "retrainer",
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
            "--namespace",
            NAMESPACE,
            "--job-template",
            &template,
            "--secret-file",
            &secret,
            "--probe-interval",
            "200ms",
            "--retry-max-backoff",
            "1s",
            "--shutdown-grace",
            "5s",
        ];
        if let Some(path) = &kubeconfig {
            args.extend(["--kubeconfig", path.as_str()]);
        }
        args.extend_from_slice(flags);
        let service = tokio::task::block_in_place(|| Service::start("retrainer", &args, &[]));
        Retrainer { service, _dir: dir }
    }

    pub fn api(&self) -> SocketAddr {
        self.service.address("retrainer")
    }

    pub fn admin(&self) -> SocketAddr {
        self.service.address("admin")
    }

    pub async fn metrics(&self) -> Metrics {
        scrape(self.admin()).await
    }

    /// Polls `/readyz` until it answers `status`; whether it did within [`WAIT`].
    pub async fn readyz_until(&self, status: StatusCode) -> (bool, String) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let (got, body) = get(self.admin(), "/readyz").await;
            if got == status || std::time::Instant::now() > deadline {
                return (got == status, body);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A notification of `model`'s drift episode that started at `started_at`, sent at `sent_at`.
pub fn notification(model: &str, started_at: u64, sent_at: u64) -> DriftNotification {
    let baseline = "sha256:4be02faf7d2a1475";
    DriftNotification {
        version: PAYLOAD_VERSION.into(),
        idempotency_key: episode_key(model, baseline, started_at),
        model: model.into(),
        namespace: Some("credit".into()),
        pod: Some("credit-7d9f-abcde".into()),
        baseline: BaselineRef {
            version: baseline.into(),
            path: "/baselines/credit".into(),
        },
        window: WindowSpan {
            samples: 5000,
            start: started_at - 600,
            end: started_at,
        },
        drift_started_at: started_at,
        sent_at,
        features: ["annual_income", "age"]
            .iter()
            .map(|name| DriftingFeature {
                name: (*name).into(),
                kind: drifttap::data::Kind::Numeric,
                test: drifttap::evaluate::Test::Ks,
                statistic: Some(0.107),
                p_value: Some(1.3e-45),
                wasserstein_normed: Some(0.254),
                psi: Some(0.065),
                jensen_shannon: Some(0.108),
                missing_reference: 0.0,
                missing_current: 0.0,
                missing_p_value: None,
                missing_drift: false,
            })
            .collect(),
        multivariate: None,
    }
}

/// POSTs `payload` to `/v1/drift`, signed with `secret` and timestamped with its `sent_at`;
/// the status and the JSON answer.
pub async fn post_drift(
    api: SocketAddr,
    payload: &DriftNotification,
    secret: &str,
) -> (StatusCode, serde_json::Value) {
    let body = serde_json::to_vec(payload).expect("serialises");
    let signature = sign(secret.as_bytes(), &body);
    let timestamp = payload.sent_at.to_string();
    let headers = [
        (SIGNATURE_HEADER, signature.as_str()),
        (TIMESTAMP_HEADER, timestamp.as_str()),
        ("content-type", "application/json"),
    ];
    answer(post(api, "/v1/drift", &headers, body).await)
}

fn answer((status, body): (StatusCode, String)) -> (StatusCode, serde_json::Value) {
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, json)
}

pub fn env_of(job: &Job, name: &str) -> Option<String> {
    let pod = job.spec.as_ref()?.template.spec.as_ref()?;
    pod.containers[0]
        .env
        .iter()
        .flatten()
        .find(|v| v.name == name)
        .and_then(|v| v.value.clone())
}

fn value(m: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.value(name, labels)
        .unwrap_or_else(|| panic!("{name} {labels:?} in\n{}", m.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_drift_notification_creates_one_gpu_job_and_a_repeat_creates_none() {
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    let started = now() - 60;
    let first = notification("credit", started, now());
    let (status, body) = post_drift(retrainer.api(), &first, SECRET).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{body}\n{}",
        retrainer.service.log()
    );
    assert_eq!(body["outcome"], "created");
    let name = job_name("credit", &first.idempotency_key);
    assert_eq!(body["jobs"][0]["job"], name.as_str());

    let creates = kube.creates();
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert_eq!(creates[0].path, "/apis/batch/v1/namespaces/ml/jobs");
    let sent: Job = serde_json::from_str(&creates[0].body).expect("the body is a Job");
    assert_eq!(sent.metadata.name.as_deref(), Some(name.as_str()));
    assert!(
        name.starts_with("retrain-credit-") && name.len() <= 63,
        "{name}"
    );
    let labels = sent.metadata.labels.clone().expect("labels");
    assert_eq!(labels["drifttap.dev/model"], "credit");
    assert_eq!(labels["drifttap.dev/episode"], first.idempotency_key);
    assert_eq!(labels["app.kubernetes.io/managed-by"], "drifttap");
    let pod = sent
        .spec
        .clone()
        .and_then(|s| s.template.spec)
        .expect("pod");
    let limits = pod.containers[0]
        .resources
        .clone()
        .and_then(|r| r.limits)
        .expect("limits");
    assert_eq!(limits["nvidia.com/gpu"].0, "1");
    assert_eq!(env_of(&sent, "DRIFTTAP_MODEL").as_deref(), Some("credit"));
    assert_eq!(
        env_of(&sent, "DRIFTTAP_DRIFTING_FEATURES").as_deref(),
        Some("annual_income,age")
    );
    let payload: DriftNotification =
        serde_json::from_str(&env_of(&sent, "DRIFTTAP_PAYLOAD").expect("payload")).expect("JSON");
    assert_eq!(payload, first);
    // Before the create, a list asked for this model's drifttap Jobs (the probe's lists,
    // `limit=1`, come in between at any time).
    let requests = kube.requests();
    let create_at = requests
        .iter()
        .position(|r| r.method == "POST")
        .expect("a create");
    let selector =
        "labelSelector=drifttap.dev%2Fmodel%3Dcredit%2Capp.kubernetes.io%2Fmanaged-by%3Ddrifttap";
    assert!(
        requests[..create_at]
            .iter()
            .any(|r| r.method == "GET" && r.query.contains(selector)),
        "{requests:?}"
    );

    // The sender retries (new timestamp, same episode): answered as done, nothing created.
    let again = notification("credit", started, now());
    let (status, body) = post_drift(retrainer.api(), &again, SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::OK, Some("exists"))
    );
    // A new episode while the first Job runs: it waits for that one.
    let next = notification("credit", started + 30, now());
    let (status, body) = post_drift(retrainer.api(), &next, SECRET).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["outcome"], "already_running");
    assert_eq!(body["jobs"][0]["running"], name.as_str());
    assert_eq!(kube.creates().len(), 1);
    // Once it completes, the next episode gets its own Job.
    kube.finish(&name, "Complete");
    let (status, _) = post_drift(retrainer.api(), &next, SECRET).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(kube.jobs().len(), 2);

    let m = retrainer.metrics().await;
    let jobs = |outcome| value(&m, "drifttap_retrainer_jobs_total", &[("outcome", outcome)]);
    assert_eq!(
        ["created", "exists", "already_running", "failed"].map(jobs),
        [2.0, 1.0, 1.0, 0.0]
    );
    let accepted = [("source", "drift"), ("outcome", "accepted")];
    assert_eq!(
        value(&m, "drifttap_retrainer_notifications_total", &accepted),
        4.0
    );
    assert!(kube.unexpected().is_empty(), "{:?}", kube.unexpected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_the_same_name_is_a_409_answered_as_already_done() {
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    let payload = notification("credit", now() - 60, now());
    // Someone created the Job by hand, without drifttap's labels: the list does not show it,
    // the create gets the API server's 409.
    let mut manual = Job::default();
    manual.metadata.name = Some(job_name("credit", &payload.idempotency_key));
    kube.insert(&manual);
    let (status, body) = post_drift(retrainer.api(), &payload, SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::OK, Some("exists"))
    );
    assert_eq!(kube.creates().len(), 1, "one create, answered 409");
    let m = retrainer.metrics().await;
    assert_eq!(
        value(
            &m,
            "drifttap_retrainer_jobs_total",
            &[("outcome", "exists")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            "drifttap_retrainer_api_errors_total",
            &[("reason", "other")]
        ),
        0.0,
        "a 409 is not an error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_missing_and_stale_signatures_are_refused_with_401_and_create_nothing() {
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    let payload = notification("credit", now() - 60, now());
    let (status, body) = post_drift(retrainer.api(), &payload, "not-the-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["reason"], "wrong_signature");
    let stale = notification("credit", now() - 900, now() - 600);
    let (status, body) = post_drift(retrainer.api(), &stale, SECRET).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("stale_timestamp"))
    );
    let raw = serde_json::to_vec(&payload).expect("serialises");
    let (status, body) = answer(post(retrainer.api(), "/v1/drift", &[], raw.clone()).await);
    assert_eq!(
        (status, body["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_signature"))
    );
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("x-drifttap-signature"))
    );
    // Signed, but not a drifttap payload: invalid, not refused.
    let junk = br#"{"hello":"world"}"#.to_vec();
    let signature = sign(SECRET.as_bytes(), &junk);
    let ts = now().to_string();
    let headers = [
        (SIGNATURE_HEADER, signature.as_str()),
        (TIMESTAMP_HEADER, ts.as_str()),
    ];
    let (status, _) = post(retrainer.api(), "/v1/drift", &headers, junk).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let huge = vec![b' '; (1 << 20) + 1];
    let (status, _) = post(retrainer.api(), "/v1/drift", &[], huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    assert!(kube.creates().is_empty());
    let m = retrainer.metrics().await;
    for reason in ["wrong_signature", "stale_timestamp", "missing_signature"] {
        assert_eq!(
            value(
                &m,
                "drifttap_retrainer_refusals_total",
                &[("reason", reason)]
            ),
            1.0
        );
    }
    let drift = |outcome| {
        value(
            &m,
            "drifttap_retrainer_notifications_total",
            &[("source", "drift"), ("outcome", outcome)],
        )
    };
    assert_eq!(
        ["refused", "invalid", "accepted"].map(drift),
        [3.0, 2.0, 0.0]
    );
    assert_eq!(
        value(
            &m,
            "drifttap_retrainer_jobs_total",
            &[("outcome", "created")]
        ),
        0.0
    );
}

/// Alertmanager 0.25's webhook body for `DrifttapModelDrift` of `model`.
fn alertmanager_message(status: &str, model: &str, starts_at: &str, retrain: bool) -> String {
    let mut labels = serde_json::json!({
        "alertname": "DrifttapModelDrift", "model": model, "severity": "critical",
    });
    if retrain {
        labels["drifttap_retrain"] = "true".into();
    }
    serde_json::json!({
        "version": "4",
        "groupKey": "{}/{drifttap_retrain=\"true\"}:{model=\"credit\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "drifttap-retrainer",
        "groupLabels": {"model": model},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "drift"},
        "externalURL": "http://alertmanager.monitoring:9093",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": {"summary": "drift"},
            "startsAt": starts_at,
            "endsAt": if status == "resolved" { "2025-11-24T17:00:00Z" } else { "0001-01-01T00:00:00Z" },
            "generatorURL": "http://prometheus.monitoring:9090/graph",
            "fingerprint": "5d0c1f2e3a4b5c6d",
        }],
    })
    .to_string()
}

async fn post_alertmanager(
    api: SocketAddr,
    authorization: Option<&str>,
    body: String,
) -> (StatusCode, serde_json::Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = authorization {
        headers.push(("authorization", value));
    }
    answer(post(api, "/v1/alertmanager", &headers, body).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_firing_creates_one_job_and_resolved_or_unauthenticated_create_none() {
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    let bearer = format!("Bearer {SECRET}");
    let firing = alertmanager_message("firing", "credit", "2025-11-24T16:00:00.5Z", true);
    let (status, body) = post_alertmanager(retrainer.api(), None, firing.clone()).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_authorization"))
    );
    let (status, body) =
        post_alertmanager(retrainer.api(), Some("Bearer guess"), firing.clone()).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("wrong_authorization"))
    );
    assert!(kube.creates().is_empty());

    let (status, body) = post_alertmanager(retrainer.api(), Some(&bearer), firing.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let jobs = kube.jobs();
    assert_eq!(jobs.len(), 1);
    let key = episode_key("credit", "alertmanager/5d0c1f2e3a4b5c6d", 1_764_000_000);
    assert_eq!(jobs[0].metadata.name, Some(job_name("credit", &key)));
    assert_eq!(
        env_of(&jobs[0], "DRIFTTAP_SOURCE").as_deref(),
        Some("alertmanager")
    );
    assert_eq!(env_of(&jobs[0], "DRIFTTAP_EPISODE"), Some(key));
    // Alertmanager repeats the firing group: already done.
    let (status, body) = post_alertmanager(retrainer.api(), Some(&bearer), firing).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::OK, Some("exists"))
    );
    let resolved = alertmanager_message("resolved", "credit", "2025-11-24T16:00:00.5Z", true);
    let (status, body) = post_alertmanager(retrainer.api(), Some(&bearer), resolved).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    let other = alertmanager_message("firing", "fraud", "2025-11-24T16:00:00Z", false);
    let (status, body) = post_alertmanager(retrainer.api(), Some(&bearer), other).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    assert_eq!(kube.creates().len(), 1);

    let m = retrainer.metrics().await;
    let am = |outcome| {
        value(
            &m,
            "drifttap_retrainer_notifications_total",
            &[("source", "alertmanager"), ("outcome", outcome)],
        )
    };
    assert_eq!(
        ["accepted", "ignored", "refused", "invalid"].map(am),
        [2.0, 2.0, 2.0, 0.0]
    );
    assert!(kube.unexpected().is_empty(), "{:?}", kube.unexpected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_api_server_is_away_jobs_wait_and_are_created_when_it_returns() {
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    let (ready, body) = retrainer.readyz_until(StatusCode::OK).await;
    assert!(ready, "{body}");

    kube.set_mode(Mode::Unreachable);
    let (unready, body) = retrainer
        .readyz_until(StatusCode::SERVICE_UNAVAILABLE)
        .await;
    assert!(unready, "{body}");
    assert!(body.contains("not reachable"), "{body}");
    let payload = notification("credit", now() - 60, now());
    let (status, body) = post_drift(retrainer.api(), &payload, SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::ACCEPTED, Some("pending"))
    );
    // The sender retries meanwhile: still pending, kept once.
    let (status, _) = post_drift(retrainer.api(), &payload, SECRET).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let m = retrainer.metrics().await;
    assert_eq!(value(&m, "drifttap_retrainer_pending_jobs", &[]), 1.0);
    assert_eq!(value(&m, "drifttap_retrainer_api_reachable", &[]), 0.0);
    assert!(
        value(
            &m,
            "drifttap_retrainer_api_errors_total",
            &[("reason", "connect")]
        ) >= 1.0
    );

    // Back: the Job is created without another notification.
    kube.set_mode(Mode::Up);
    assert!(
        kube.until(WAIT, |k| k.jobs().len() == 1).await,
        "{}",
        retrainer.service.log()
    );
    let (ready, body) = retrainer.readyz_until(StatusCode::OK).await;
    assert!(ready, "{body}");
    let m = scrape_until(retrainer.admin(), WAIT, |m| {
        m.value("drifttap_retrainer_pending_jobs", &[]) == Some(0.0)
    })
    .await;
    assert_eq!(value(&m, "drifttap_retrainer_pending_jobs", &[]), 0.0);
    assert_eq!(
        value(
            &m,
            "drifttap_retrainer_jobs_total",
            &[("outcome", "created")]
        ),
        1.0
    );
    assert_eq!(value(&m, "drifttap_retrainer_api_reachable", &[]), 1.0);

    // A 503 from the API server is transient too.
    kube.set_mode(Mode::Failing(503, "ServiceUnavailable"));
    let fraud = notification("fraud", now() - 60, now());
    let (status, _) = post_drift(retrainer.api(), &fraud, SECRET).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    kube.set_mode(Mode::Up);
    assert!(kube.until(WAIT, |k| k.jobs().len() == 2).await);
    let m = retrainer.metrics().await;
    assert!(
        value(
            &m,
            "drifttap_retrainer_api_errors_total",
            &[("reason", "service_unavailable")]
        ) >= 1.0
    );
    assert!(kube.unexpected().is_empty(), "{:?}", kube.unexpected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_api_error_is_answered_500_with_the_kubernetes_reason() {
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    kube.set_mode(Mode::Failing(403, "Forbidden"));
    let payload = notification("credit", now() - 60, now());
    let (status, body) = post_drift(retrainer.api(), &payload, SECRET).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        (body["outcome"].as_str(), body["reason"].as_str()),
        (Some("failed"), Some("Forbidden"))
    );
    let m = retrainer.metrics().await;
    assert_eq!(
        value(
            &m,
            "drifttap_retrainer_jobs_total",
            &[("outcome", "failed")]
        ),
        1.0
    );
    assert!(
        value(
            &m,
            "drifttap_retrainer_api_errors_total",
            &[("reason", "forbidden")]
        ) >= 1.0
    );
    assert_eq!(
        value(&m, "drifttap_retrainer_pending_jobs", &[]),
        0.0,
        "not retried"
    );
    // The API server answered: the retrainer is ready, its permissions are what is wrong.
    let (ready, body) = retrainer.readyz_until(StatusCode::OK).await;
    assert!(ready, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_job_and_contacts_nothing() {
    let kube = FakeKube::start(NAMESPACE).await;
    // A kubeconfig is given, to show it is not used.
    let dir = TempDir::new(&format!("retrainer-dry-{}", unique()));
    let kubeconfig = kube.write_kubeconfig(&dir.0).display().to_string();
    let retrainer = Retrainer::start(None, &["--dry-run", "--kubeconfig", &kubeconfig]);
    let (ready, body) = retrainer.readyz_until(StatusCode::OK).await;
    assert!(ready, "{body}");
    let payload = notification("credit", now() - 60, now());
    let (status, body) = post_drift(retrainer.api(), &payload, SECRET).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (StatusCode::OK, Some("dry_run"))
    );
    let deadline = std::time::Instant::now() + WAIT;
    while !retrainer.service.stdout().contains("DRIFTTAP_PAYLOAD")
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let printed = retrainer.service.stdout();
    assert!(
        printed.starts_with("---\n# drifttap retrainer --dry-run"),
        "{printed}"
    );
    let job: Job = serde_saphyr::from_str(&printed).expect("the output is a Job in YAML");
    assert_eq!(
        job.metadata.name,
        Some(job_name("credit", &payload.idempotency_key))
    );
    assert_eq!(job.metadata.namespace.as_deref(), Some(NAMESPACE));
    assert_eq!(env_of(&job, "DRIFTTAP_MODEL").as_deref(), Some("credit"));
    assert!(kube.requests().is_empty(), "{:?}", kube.requests());
    let m = retrainer.metrics().await;
    assert_eq!(
        value(
            &m,
            "drifttap_retrainer_jobs_total",
            &[("outcome", "dry_run")]
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_accepting_and_exits_0() {
    let mut retrainer = Retrainer::start(None, &["--dry-run"]);
    let api = retrainer.api();
    retrainer.service.signal("TERM");
    let exit = tokio::task::block_in_place(|| retrainer.service.wait(Duration::from_secs(10)));
    assert_eq!(
        exit.and_then(|s| s.code()),
        Some(0),
        "{}",
        retrainer.service.log()
    );
    assert!(
        tokio::net::TcpStream::connect(api).await.is_err(),
        "no longer accepting"
    );
    assert!(retrainer.service.log().contains("SIGTERM"));
}

#[test]
fn bad_configuration_exits_64_naming_every_problem() {
    let dir = TempDir::new(&format!("retrainer-config-{}", unique()));
    let pod = dir.path("pod.yaml");
    std::fs::write(&pod, "apiVersion: v1\nkind: Pod\n").expect("written");
    let out = drifttap(&[
        "retrainer",
        "--listen",
        "everywhere",
        "--job-template",
        &pod,
        "--retry-max-backoff",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(64));
    let text = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "--listen: `everywhere`",
        "--retry-max-backoff",
        "--namespace: required",
        "pod.yaml: apiVersion: must be `batch/v1`",
        "--secret-file: required",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let secret = dir.path("secret");
    std::fs::write(&secret, "s").expect("written");
    let template = repo("k8s/retrain-job.yaml");
    let out = drifttap(&[
        "retrainer",
        "--namespace",
        "ml",
        "--job-template",
        &template,
        "--secret-file",
        &secret,
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/kubeconfig"));
    let out = drifttap(&["retrainer", "--no-such-flag"]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "usage errors are configuration errors"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_readme_documents_is_exported_with_its_labels() {
    let documented = readme_metrics("### Retrainer metrics");
    assert!(documented.len() >= 6, "{documented:?}");
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    retrainer.metrics().await.assert_documented(&documented);
}

fn manifest(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo(path)).expect("manifest exists");
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn port_of(address: &str) -> u64 {
    address
        .parse::<SocketAddr>()
        .map(|a| u64::from(a.port()))
        .unwrap_or_else(|e| panic!("{address}: {e}"))
}

#[test]
fn the_retrainer_manifests_match_its_flags_and_its_role_allows_exactly_what_it_does() {
    use crate::cli::Command;
    use drifttap::retrain::config::{DEFAULT_SHUTDOWN_GRACE, RetrainerConfig};

    let deployment = manifest("k8s/retrainer/deployment.yaml");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let cli = container_cli(container);
    let Command::Retrainer(flags) = cli.command else {
        panic!("not `retrainer`: {:?}", cli.command)
    };
    let ports = |name: &str| {
        container["ports"]
            .as_array()
            .and_then(|ports| ports.iter().find(|p| p["name"] == name))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("port {name}"))
    };
    assert_eq!(
        ports("http"),
        port_of(flags.listen.as_deref().expect("--listen"))
    );
    assert_eq!(
        ports("admin"),
        port_of(flags.admin.as_deref().expect("--admin"))
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["readinessProbe"]["httpGet"]["port"], "admin");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["env"][0]["name"], "DRIFTTAP_RETRAINER_NAMESPACE");
    let mounted = |volume: &str| {
        container["volumeMounts"]
            .as_array()
            .and_then(|mounts| mounts.iter().find(|m| m["name"] == volume))
            .and_then(|m| m["mountPath"].as_str())
            .unwrap_or_else(|| panic!("mount {volume}"))
            .to_string()
    };
    let template = flags.job_template.clone().expect("--job-template");
    assert!(
        template.starts_with(&format!("{}/", mounted("job-template"))),
        "{template}"
    );
    let secret = flags.secret_file.clone().expect("--secret-file");
    assert!(
        secret.starts_with(&format!("{}/", mounted("secret"))),
        "{secret}"
    );
    // The flags resolve (with the namespace the pod's env gives, and local files for the
    // mounted ones).
    let dir = TempDir::new(&format!("retrainer-manifest-{}", unique()));
    let local_secret = dir.path("secret");
    std::fs::write(&local_secret, "s").expect("written");
    let local = drifttap::retrain::config::RetrainerOverrides {
        job_template: Some(repo("k8s/retrain-job.yaml")),
        secret_file: Some(local_secret),
        ..(&flags).into()
    };
    let env = |name: &str| (name == "DRIFTTAP_RETRAINER_NAMESPACE").then(|| "mlops".to_string());
    let config = RetrainerConfig::resolve(&local, &env).expect("valid");
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    assert!(
        config.shutdown_grace.as_secs() < grace,
        "{DEFAULT_SHUTDOWN_GRACE} < {grace}s"
    );

    let role = manifest("k8s/retrainer/role.yaml");
    let rules = role["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0]["apiGroups"], serde_json::json!(["batch"]));
    assert_eq!(rules[0]["resources"], serde_json::json!(["jobs"]));
    let mut verbs: Vec<&str> = rules[0]["verbs"]
        .as_array()
        .expect("verbs")
        .iter()
        .map(|v| v.as_str().expect("verb"))
        .collect();
    verbs.sort_unstable();
    assert_eq!(verbs, ["create", "get", "list"]);
    let binding = manifest("k8s/retrainer/rolebinding.yaml");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["name"], pod["serviceAccountName"]);

    // Alertmanager's URL names the Service, its namespace and port, and the endpoint.
    let service = manifest("k8s/retrainer/service.yaml");
    let namespace = manifest("k8s/retrainer/kustomization.yaml")["namespace"]
        .as_str()
        .expect("namespace")
        .to_string();
    let http = service["spec"]["ports"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["targetPort"] == "http"))
        .expect("the http port");
    let receiver = manifest("alerts/alertmanager-receiver.yaml");
    let hook = &receiver["receivers"][1]["webhook_configs"][0];
    let url = format!(
        "http://{}.{namespace}.svc:{}/v1/alertmanager",
        service["metadata"]["name"].as_str().expect("name"),
        http["port"]
    );
    assert_eq!(hook["url"], url.as_str());
    assert_eq!(hook["send_resolved"], true);
    assert!(hook["http_config"]["authorization"]["credentials_file"].is_string());
    assert_eq!(
        receiver["route"]["routes"][0]["matchers"][0],
        "drifttap_retrain=\"true\""
    );
}

/// Runs `program args`, or says it was skipped when `program` is not installed.
fn run_if_installed(program: &str, args: &[&str]) -> Option<std::process::Output> {
    match std::process::Command::new(program).args(args).output() {
        Ok(out) => Some(out),
        Err(_) => {
            eprintln!("skipped: {program} is not installed");
            None
        }
    }
}

#[test]
fn amtool_accepts_the_receiver_and_kustomize_builds_the_retrainer() {
    let receiver = repo("alerts/alertmanager-receiver.yaml");
    // amtool comes with prometheus-alertmanager, which CI installs; kubectl is optional.
    if crate::monitoring::available("amtool")
        && let Some(out) = run_if_installed("amtool", &["check-config", &receiver])
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let dir = repo("k8s/retrainer");
    let args = [
        "kustomize",
        "--load-restrictor",
        "LoadRestrictionsNone",
        &dir,
    ];
    if let Some(out) = run_if_installed("kubectl", &args) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The generated ConfigMap carries the template under the name the Deployment mounts.
        assert!(text.contains("retrain-job.yaml: |"), "{text}");
        assert!(text.contains("nvidia.com/gpu"), "{text}");
    }
}
