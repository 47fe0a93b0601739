//! The whole loop, with real components: drifted traffic through a `drifttap serve` tap turns
//! its gauges; a real Prometheus scrapes it and fires the shipped `DrifttapModelDrift` rule; a
//! real Alertmanager, configured from the shipped receiver example, notifies `drifttap
//! retrainer`, which creates the Job on a fake Kubernetes API server. And the direct path:
//! `serve --webhook-url` → retrainer → Job, with a second replica's episode creating nothing.

use std::time::{Duration, Instant, SystemTime};

use hyper::StatusCode;
use k8s_openapi::api::batch::v1::Job;

use crate::fake_kube::FakeKube;
use crate::harness::{TempDir, drifttap};
use crate::monitoring::{ALERTMANAGER, PROMETHEUS, alertmanager, available, prometheus};
use crate::retrainer::{NAMESPACE, Retrainer, SECRET, env_of};
use crate::sidecar::get;
use crate::webhook::{delivered, drift, tapped_sidecar, webhook_yaml};

/// How long the loop may take; it needs about 10 s (scrape and rule evaluation every second, an
/// alert `for` of 1 s, Alertmanager's 1 s group wait).
const LOOP: Duration = Duration::from_secs(90);

/// The shipped rules, printed by `drifttap rules` with test-sized thresholds.
fn fast_rules(dir: &TempDir) -> String {
    let config = dir.path("alerts.yaml");
    std::fs::write(
        &config,
        "model: credit\nalerts:\n  drift_for: 1s\n  keep_firing_for: 1m\n  rate_window: 10s\n",
    )
    .expect("written");
    let out = drifttap(&["rules", "--config", &config]);
    assert!(out.status.success(), "{}", crate::harness::stderr(&out));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `alerts/alertmanager-receiver.yaml` as shipped, pointed at `retrainer` with the token in
/// `token_file`, its waits shortened to a second (and repeats to 2 s, so the test sees a
/// repeated notification of the same episode).
fn receiver_config(retrainer: &Retrainer, token_file: &str) -> String {
    let shipped = std::fs::read_to_string(format!(
        "{}/alerts/alertmanager-receiver.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the example exists");
    let mut config = shipped.clone();
    for (from, to) in [
        (
            "http://drifttap-retrainer.mlops.svc:8080/v1/alertmanager".to_string(),
            format!("http://{}/v1/alertmanager", retrainer.api()),
        ),
        (
            "/etc/alertmanager/secrets/drifttap-retrainer/secret".to_string(),
            token_file.to_string(),
        ),
        ("group_wait: 30s".into(), "group_wait: 1s".into()),
        ("group_interval: 5m".into(), "group_interval: 1s".into()),
        ("repeat_interval: 12h".into(), "repeat_interval: 2s".into()),
    ] {
        assert!(config.contains(&from), "the example has no `{from}`");
        config = config.replace(&from, &to);
    }
    config
}

fn gpu_limit(job: &Job) -> Option<String> {
    let pod = job.spec.as_ref()?.template.spec.as_ref()?;
    let limits = pod.containers[0].resources.as_ref()?.limits.as_ref()?;
    limits.get("nvidia.com/gpu").map(|q| q.0.clone())
}

fn label(job: &Job, name: &str) -> Option<String> {
    job.metadata.labels.as_ref()?.get(name).cloned()
}

/// What Prometheus says of the alert, for failure messages.
async fn alerts(prometheus: &crate::monitoring::Process) -> String {
    get(prometheus.address, "/api/v1/alerts").await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_alertmanager_turn_sustained_drift_into_one_gpu_job() {
    if !(available(PROMETHEUS) && available(ALERTMANAGER)) {
        return;
    }
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    let dir = TempDir::new("e2e-alertmanager");
    let token_file = dir.path("alertmanager-token");
    std::fs::write(&token_file, format!("{SECRET}\n")).expect("written");
    let am = alertmanager(&receiver_config(&retrainer, &token_file)).await;
    let (sidecar, _model) = tapped_sidecar("", &[]).await;
    let prom = prometheus(&[sidecar.admin], &fast_rules(&dir), am.address).await;

    drift(&sidecar).await;
    let created = kube.until(LOOP, |k| k.jobs().len() == 1).await;
    assert!(
        created,
        "no Job within {LOOP:?}\nPrometheus alerts: {}\nAlertmanager log:\n{}\nretrainer log:\n{}",
        alerts(&prom).await,
        am.log(),
        retrainer.service.log()
    );
    let creates = kube.creates();
    assert_eq!(creates.len(), 1);
    assert_eq!(
        creates[0].path,
        format!("/apis/batch/v1/namespaces/{NAMESPACE}/jobs")
    );
    let job: Job = serde_json::from_str(&creates[0].body).expect("a Job was sent");
    assert_eq!(job.metadata.namespace.as_deref(), Some(NAMESPACE));
    assert_eq!(gpu_limit(&job).as_deref(), Some("1"), "the template's GPU");
    assert_eq!(label(&job, "drifttap.dev/model").as_deref(), Some("credit"));
    assert_eq!(
        env_of(&job, "DRIFTTAP_SOURCE").as_deref(),
        Some("alertmanager")
    );
    assert_eq!(env_of(&job, "DRIFTTAP_MODEL").as_deref(), Some("credit"));

    // Alertmanager repeats the firing group every 2 s: each repeat names the same episode and
    // creates nothing.
    let deadline = Instant::now() + LOOP;
    loop {
        let m = retrainer.metrics().await;
        let accepted = m
            .value(
                "drifttap_retrainer_notifications_total",
                &[("source", "alertmanager"), ("outcome", "accepted")],
            )
            .unwrap_or(0.0);
        if accepted >= 2.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no repeated notification\n{}",
            am.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(kube.creates().len(), 1, "a repeat created another Job");
    assert_eq!(kube.jobs().len(), 1);
    assert!(kube.unexpected().is_empty(), "{:?}", kube.unexpected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sidecars_webhook_creates_the_job_and_a_second_replicas_episode_creates_none() {
    let kube = FakeKube::start(NAMESPACE).await;
    let retrainer = Retrainer::start(Some(&kube), &[]);
    let url = format!("http://{}/v1/drift", retrainer.api());
    let dir = TempDir::new("e2e-webhook");
    let (first, _model) = tapped_sidecar(
        &webhook_yaml(&dir, &url, SECRET),
        &[
            ("DRIFTTAP_POD_NAMESPACE", NAMESPACE),
            ("DRIFTTAP_POD_NAME", "credit-a"),
        ],
    )
    .await;
    drift(&first).await;
    let created = kube.until(LOOP, |k| k.jobs().len() == 1).await;
    assert!(
        created,
        "no Job\nsidecar log:\n{}\nretrainer log:\n{}",
        first.log(),
        retrainer.service.log()
    );
    let job = &kube.jobs()[0];
    assert_eq!(gpu_limit(job).as_deref(), Some("1"));
    assert_eq!(env_of(job, "DRIFTTAP_SOURCE").as_deref(), Some("drift"));
    let payload: serde_json::Value =
        serde_json::from_str(&env_of(job, "DRIFTTAP_PAYLOAD").expect("the payload")).expect("JSON");
    assert_eq!(payload["pod"], "credit-a");
    let episode = env_of(job, "DRIFTTAP_EPISODE").expect("the episode");
    assert_eq!(payload["idempotency_key"], episode.as_str());
    let m = delivered(&first, 1.0, Duration::from_secs(10)).await;
    assert_eq!(
        m.value("drifttap_webhook_failing", &[("model", "credit")]),
        Some(0.0)
    );

    // Another replica of the model drifts too: its own episode, answered `already_running`
    // (the first Job has not finished), so nothing is created. A replica whose verdict turns in
    // the same second names the same episode (answered `exists`); the second replica starts
    // after that second, so that the test sees the other case.
    let started = payload["drift_started_at"].as_u64().expect("a start");
    while SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        <= started
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (second, _model) = tapped_sidecar(
        &webhook_yaml(&dir, &url, SECRET),
        &[
            ("DRIFTTAP_POD_NAMESPACE", NAMESPACE),
            ("DRIFTTAP_POD_NAME", "credit-b"),
        ],
    )
    .await;
    drift(&second).await;
    delivered(&second, 1.0, LOOP).await;
    let m = retrainer.metrics().await;
    assert_eq!(
        m.value(
            "drifttap_retrainer_jobs_total",
            &[("outcome", "already_running")]
        ),
        Some(1.0),
        "{}",
        retrainer.service.log()
    );
    assert_eq!(kube.creates().len(), 1);
    assert!(kube.unexpected().is_empty(), "{:?}", kube.unexpected());
    let (status, _) = get(retrainer.admin(), "/readyz").await;
    assert_eq!(status, StatusCode::OK);
}
