use std::sync::Arc;

use hyper::StatusCode;
use prometheus_client::registry::Registry;

use super::*;
use crate::baseline::compile::{Baseline, BuildOptions, Quiet};
use crate::baseline::select::Selection;
use crate::data::{Column, Frame, Values};
use crate::detect::{Policy, Transition, Verdicts};
use crate::evaluate::{Options, Prepared};
use crate::stats::{Compute, synth};
use crate::testing::ScriptedReceiver;

fn table(rows: usize, income_shift: f64, seed: u64) -> Frame {
    Frame::new(
        rows,
        vec![
            Column {
                name: "income".into(),
                values: Values::Numeric(synth::normal(seed, rows, income_shift, 1.0)),
            },
            Column {
                name: "age".into(),
                values: Values::Numeric(synth::normal(seed * 7919 + 104_729, rows, 0.0, 1.0)),
            },
        ],
    )
    .expect("consistent columns")
}

#[test]
fn the_notification_names_the_features_drifting_after_hysteresis_and_the_window() {
    let compute = Compute::detect();
    let baseline = Baseline::build(
        &table(5_000, 0.0, 1),
        &Selection::default(),
        &BuildOptions::default(),
        &compute,
        &Quiet,
    )
    .expect("builds");
    // The default permutations: enough for the MMD test's share of the level (20 could not
    // reach its threshold, 1/21 > 0.025).
    let options = Options::default();
    let baseline = Arc::new(baseline);
    let current = table(1_000, 0.6, 10);
    let report = Prepared::new(Arc::clone(&baseline), options, &compute)
        .and_then(|prepared| prepared.evaluate(&current, 0..current.rows()))
        .expect("checks");
    let mut verdicts = Verdicts::default();
    let policy = Policy {
        hysteresis: 1,
        ..Policy::default()
    };
    let transitions = verdicts.decide(&report, &policy);
    assert_eq!(transitions[0], Transition::Model { drifting: true });
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
    let evaluation = Evaluation {
        report: &report,
        verdicts: &verdicts,
        baseline: &baseline,
        baseline_path: "/baselines/credit",
        samples: 1_000,
        span: Some((at - Duration::from_secs(600), at - Duration::from_secs(1))),
        at,
    };
    let pod = Pod::from_env(&|name| match name {
        POD_NAMESPACE_ENV => Some("credit".into()),
        POD_NAME_ENV => Some(String::new()),
        _ => None,
    });
    let n = notification("credit", &pod, &evaluation);
    assert_eq!(n.version, PAYLOAD_VERSION);
    assert_eq!(
        n.idempotency_key,
        episode_key("credit", &baseline.version, 1_764_000_000)
    );
    assert_eq!(n.namespace.as_deref(), Some("credit"));
    assert_eq!(n.pod, None, "an empty variable is unknown");
    assert_eq!(n.baseline.version, baseline.version);
    assert_eq!(n.baseline.path, "/baselines/credit");
    assert_eq!(
        (n.window.samples, n.window.start, n.window.end),
        (1_000, 1_763_999_400, 1_763_999_999)
    );
    assert_eq!(n.drift_started_at, 1_764_000_000);
    let names: Vec<&str> = n.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["income"], "only the shifted feature drifts");
    let income = &n.features[0];
    assert_eq!(
        (income.kind.as_str(), income.test.as_str()),
        ("numeric", "ks")
    );
    assert!(
        income.p_value.is_some_and(|p| p < 1e-10) && income.statistic.is_some_and(|s| s > 0.1),
        "{income:?}"
    );
    assert!(income.wasserstein_normed.is_some_and(|w| w > 0.3));
    let mmd = n.multivariate.as_ref().expect("MMD ran");
    assert_eq!((mmd.test.as_str(), mmd.permutations), ("mmd", 399));
    assert!(mmd.drift);
}

#[test]
fn backoff_doubles_up_to_the_cap_and_never_falls_below_half() {
    let (initial, max) = (Duration::from_secs(1), Duration::from_secs(60));
    let nominal: Vec<u64> = (1..=9)
        .map(|r| backoff(r, initial, max, 1.0).as_secs())
        .collect();
    assert_eq!(nominal, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(backoff(3, initial, max, 0.0), Duration::from_secs(2));
    assert_eq!(backoff(3, initial, max, 0.5), Duration::from_secs(3));
    // Far beyond the cap, no overflow.
    assert_eq!(backoff(u32::MAX, initial, max, 1.0), max);
    for _ in 0..1_000 {
        let j = jitter();
        assert!((0.0..1.0).contains(&j), "{j}");
    }
}

#[test]
fn answers_are_delivered_retried_or_rejected_by_status() {
    assert_eq!(classify(StatusCode::OK, None, ""), Answer::Delivered);
    assert_eq!(classify(StatusCode::ACCEPTED, None, ""), Answer::Delivered);
    for code in [408, 425, 429, 500, 502, 503, 504] {
        let status = StatusCode::from_u16(code).expect("status");
        assert!(
            matches!(classify(status, None, ""), Answer::Retry { .. }),
            "{code}"
        );
    }
    assert_eq!(
        classify(StatusCode::SERVICE_UNAVAILABLE, Some("30"), "busy"),
        Answer::Retry {
            reason: "HTTP 503: busy".into(),
            retry_after: Some(Duration::from_secs(30)),
        }
    );
    for code in [400, 401, 403, 404, 413, 422] {
        let status = StatusCode::from_u16(code).expect("status");
        assert!(
            matches!(classify(status, None, ""), Answer::Rejected { .. }),
            "{code}"
        );
    }
}

/// Each request as these tests check it: signed and valid, with the idempotency header naming
/// the body's key.
fn checked(receiver: &ScriptedReceiver) -> Vec<Result<DriftNotification, String>> {
    receiver
        .received()
        .into_iter()
        .map(|r| {
            r.checked.and_then(|n| {
                if r.idempotency_header.as_deref() == Some(n.idempotency_key.as_str()) {
                    Ok(n)
                } else {
                    Err(format!(
                        "{IDEMPOTENCY_HEADER} {:?} is not the body's key",
                        r.idempotency_header
                    ))
                }
            })
        })
        .collect()
}

struct Setup {
    notifier: Notifier,
    registry: Registry,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: TempSecret,
}

struct TempSecret(std::path::PathBuf);

impl Drop for TempSecret {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(url: &str, dir: &Path) -> WebhookConfig {
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "s3cret\n").expect("secret written");
    WebhookConfig {
        url: reqwest::Url::parse(url).expect("URL"),
        secret_file,
        ca_file: None,
        timeout: Duration::from_secs(5),
        retry_initial_interval: Duration::from_millis(20),
        retry_max_interval: Duration::from_millis(100),
        give_up_after: Duration::from_secs(30),
        cooldown: Duration::from_secs(3600),
        queue_capacity: 4,
    }
}

fn setup(config_for: impl FnOnce(&Path) -> WebhookConfig) -> Setup {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "drifttap-notify-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = config_for(&dir);
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry, "test");
    metrics.initialise("credit", &crate::sidecar::CLOSED_SETS);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (notifier, task) = start(&config, "credit", metrics, async move {
        let _ = stopped.await;
    })
    .expect("starts");
    Setup {
        notifier,
        registry,
        stop,
        task,
        _dir: TempSecret(dir),
    }
}

fn episode(started_at: u64) -> DriftNotification {
    DriftNotification {
        version: PAYLOAD_VERSION.into(),
        idempotency_key: episode_key("credit", "sha256:00", started_at),
        model: "credit".into(),
        namespace: None,
        pod: None,
        baseline: BaselineRef {
            version: "sha256:00".into(),
            path: "/baselines/credit".into(),
        },
        window: WindowSpan {
            samples: 1_000,
            start: started_at - 60,
            end: started_at,
        },
        drift_started_at: started_at,
        sent_at: 0,
        features: Vec::new(),
        multivariate: None,
    }
}

/// The value of `name{model="credit"[,outcome=...]}` in the registry.
fn value(registry: &Registry, name: &str, outcome: Option<&str>) -> f64 {
    let labels = match outcome {
        Some(o) => format!("{{model=\"credit\",outcome=\"{o}\"}}"),
        None => "{model=\"credit\"}".into(),
    };
    let prefix = format!("{name}{labels} ");
    crate::http::admin::encode(registry)
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix}"))
}

async fn until(limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const DELIVERIES: &str = "drifttap_webhook_deliveries_total";

#[tokio::test]
async fn an_episode_is_retried_with_the_same_key_until_the_receiver_takes_it() {
    let receiver = ScriptedReceiver::start(b"s3cret", &[503, 502, 200]).await;
    let url = receiver.url.clone();
    let s = setup(|dir| config(&url, dir));
    s.notifier.notify(episode(1_764_000_000));
    until(Duration::from_secs(10), || {
        value(&s.registry, DELIVERIES, Some("delivered")) == 1.0
    })
    .await;
    let seen = checked(&receiver);
    assert_eq!(seen.len(), 3, "two failed attempts, then the delivery");
    let keys: Vec<String> = seen
        .into_iter()
        .map(|n| n.expect("signed and valid").idempotency_key)
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(value(&s.registry, DELIVERIES, Some("retried")), 2.0);
    assert_eq!(value(&s.registry, "drifttap_webhook_failing", None), 0.0);
    until(Duration::from_secs(1), || {
        value(&s.registry, "drifttap_webhook_pending", None) == 0.0
    })
    .await;

    // A second episode within the cooldown is not sent.
    s.notifier.notify(episode(1_764_000_100));
    until(Duration::from_secs(5), || {
        value(&s.registry, DELIVERIES, Some("suppressed")) == 1.0
    })
    .await;
    assert_eq!(checked(&receiver).len(), 3);
    let _ = s.stop.send(());
    s.task.await.expect("the task stops");
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_keeps_the_failing_gauge_up() {
    let receiver = ScriptedReceiver::start(b"s3cret", &[401]).await;
    let url = receiver.url.clone();
    let s = setup(|dir| config(&url, dir));
    s.notifier.notify(episode(1_764_000_000));
    until(Duration::from_secs(10), || {
        value(&s.registry, DELIVERIES, Some("rejected")) == 1.0
    })
    .await;
    assert_eq!(checked(&receiver).len(), 1);
    assert_eq!(value(&s.registry, DELIVERIES, Some("retried")), 0.0);
    assert_eq!(value(&s.registry, "drifttap_webhook_failing", None), 1.0);
    // Not delivered, so no cooldown: the next episode is sent.
    s.notifier.notify(episode(1_764_000_100));
    until(Duration::from_secs(10), || {
        value(&s.registry, DELIVERIES, Some("rejected")) == 2.0
    })
    .await;
    let _ = s.stop.send(());
    s.task.await.expect("the task stops");
}

#[tokio::test]
async fn an_unreachable_receiver_is_given_up_after_the_limit() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/v1/drift");
    let s = setup(|dir| WebhookConfig {
        give_up_after: Duration::from_millis(300),
        ..config(&url, dir)
    });
    s.notifier.notify(episode(1_764_000_000));
    until(Duration::from_secs(10), || {
        value(&s.registry, DELIVERIES, Some("failed")) == 1.0
    })
    .await;
    assert!(value(&s.registry, DELIVERIES, Some("retried")) >= 1.0);
    assert_eq!(value(&s.registry, "drifttap_webhook_failing", None), 1.0);
    let _ = s.stop.send(());
    s.task.await.expect("the task stops");
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_the_episode() {
    let url = ScriptedReceiver::start(b"s3cret", &[503]).await.url;
    let s = setup(|dir| WebhookConfig {
        queue_capacity: 1,
        retry_initial_interval: Duration::from_secs(10),
        retry_max_interval: Duration::from_secs(10),
        ..config(&url, dir)
    });
    s.notifier.notify(episode(1_764_000_001));
    // The task takes the first one and retries it; the second waits; the third is dropped.
    until(Duration::from_secs(10), || {
        value(&s.registry, DELIVERIES, Some("retried")) >= 1.0
    })
    .await;
    s.notifier.notify(episode(1_764_000_002));
    s.notifier.notify(episode(1_764_000_003));
    assert_eq!(value(&s.registry, DELIVERIES, Some("dropped")), 1.0);
    assert_eq!(value(&s.registry, "drifttap_webhook_pending", None), 2.0);
    let _ = s.stop.send(());
    s.task.await.expect("the task stops while retrying");
}

#[test]
fn a_missing_secret_file_stops_the_start() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let config = WebhookConfig {
        url: reqwest::Url::parse("http://127.0.0.1:1/").expect("URL"),
        secret_file: "/nonexistent/drifttap/secret".into(),
        ca_file: None,
        timeout: Duration::from_secs(1),
        retry_initial_interval: Duration::from_secs(1),
        retry_max_interval: Duration::from_secs(1),
        give_up_after: Duration::from_secs(1),
        cooldown: Duration::ZERO,
        queue_capacity: 1,
    };
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry, "test");
    let error = start(&config, "credit", metrics, std::future::pending())
        .expect_err("no secret")
        .to_string();
    assert!(error.contains("/nonexistent/drifttap/secret"), "{error}");
}

#[test]
fn a_ca_file_without_certificates_stops_the_start_naming_it() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let dir = TempSecret(std::env::temp_dir().join(format!("drifttap-ca-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let ca_file = dir.0.join("ca.pem");
    std::fs::write(&ca_file, "not a certificate\n").expect("written");
    let config = WebhookConfig {
        ca_file: Some(ca_file.clone()),
        ..config("https://retrainer.example/v1/drift", &dir.0)
    };
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry, "test");
    let error = start(&config, "credit", metrics, std::future::pending())
        .expect_err("no certificate")
        .to_string();
    assert!(error.contains(&ca_file.display().to_string()), "{error}");
}
