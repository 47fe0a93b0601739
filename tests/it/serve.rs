//! `drifttap serve` end to end: the binary in front of a stub model, fed the bundled example's
//! traffic through the tap, the ingest API and CloudEvents, scraped like Prometheus would.

use std::time::Duration;

use hyper::StatusCode;

use crate::harness::{TempDir, drifttap, example};
use crate::sidecar::{Sidecar, StubModel, evaluations, get, post, readme_metrics, v1_requests};

/// The example's features that drift in `current-drifted.parquet` (baselines/credit/README.md):
/// `months_employed` by its missing share alone.
const DRIFTING: [&str; 6] = [
    "annual_income",
    "loan_amount",
    "credit_score",
    "card_utilisation",
    "months_employed",
    "loan_purpose",
];
const STABLE: [&str; 6] = [
    "age",
    "term_months",
    "debt_to_income",
    "open_accounts",
    "home_ownership",
    "employment_type",
];

/// A stub model answering after `delay`, and the sidecar's tap in front of it, started with
/// `flags` besides the tap's own.
async fn model_behind_tap(delay: Duration, flags: &[&str]) -> (StubModel, Sidecar) {
    let model = StubModel::start(delay).await;
    let upstream = format!("http://{}", model.address);
    let mut args = vec![
        "--upstream",
        upstream.as_str(),
        "--tap-listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(flags);
    let sidecar = Sidecar::start("", &args);
    (model, sidecar)
}

/// Asserts that each of `features` has `drifttap_feature_drift` at `value` (1 drifting, 0 not).
fn assert_feature_drift(m: &crate::sidecar::Metrics, features: &[&str], value: f64, why: &str) {
    for feature in features {
        assert_eq!(
            m.value("drifttap_feature_drift", &[("feature", feature)]),
            Some(value),
            "{feature} {why}"
        );
    }
}

/// Waits until each of the `sent` payloads of 100 rows from `source` is decoded, skipped by
/// sampling or dropped for a full queue (skipped ones are counted at the feed's next adjustment,
/// a quarter second later), and returns the metrics then.
async fn every_payload_accounted_for(
    sidecar: &Sidecar,
    source: &str,
    sent: usize,
) -> crate::sidecar::Metrics {
    let accounted = |m: &crate::sidecar::Metrics| {
        let value = |name, labels: &[(&str, &str)]| m.value(name, labels).unwrap_or(0.0);
        value("drifttap_samples_ingested_total", &[("source", source)]) / 100.0
            + value("drifttap_payloads_skipped_total", &[])
            + value(
                "drifttap_payloads_dropped_total",
                &[("reason", "queue_full")],
            )
    };
    let m = sidecar
        .metrics_until(Duration::from_secs(10), |m| accounted(m) == sent as f64)
        .await;
    assert_eq!(accounted(&m), sent as f64, "{}", m.0);
    m
}

/// Four clients sending bodies round and round, each through `send` with an id of its own,
/// 10 ms apart: about 400 requests a second, 20 times what a window of 1 000 evaluated every
/// second takes, with CPU left for the engine, which only gets what forwarding leaves.
struct PacedClients<T> {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<T>>>,
}

impl<T: Send + 'static> PacedClients<T> {
    fn start<F, Fut>(bodies: Vec<String>, send: F) -> Self
    where
        F: Fn(String, String) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = T> + Send,
    {
        let bodies = std::sync::Arc::new(bodies);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = (0..4)
            .map(|client| {
                let (bodies, stop, send) = (bodies.clone(), stop.clone(), send.clone());
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    for (i, body) in bodies.iter().cycle().skip(client * 7).enumerate() {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            break;
                        }
                        answers.push(send(body.clone(), format!("{client}-{i}")).await);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    answers
                })
            })
            .collect();
        PacedClients { stop, tasks }
    }

    /// Stops the clients; what every request was answered.
    async fn stop(self) -> Vec<T> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut answers = Vec::new();
        for task in self.tasks {
            answers.extend(task.await.expect("client"));
        }
        answers
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_traffic_is_sampled_every_request_still_reaches_the_model_and_drift_is_found() {
    // A window of 1 000 evaluated every second takes 2 000 rows a second; the traffic below
    // brings 100 rows per request, many times that.
    let flags = ["--window-size", "1000", "--eval-interval", "1s"];
    let (model, sidecar) = model_behind_tap(Duration::ZERO, &flags).await;
    let tap = sidecar.tap.expect("tap listening");
    let clients = PacedClients::start(
        v1_requests("current-drifted.parquet", 100),
        move |body, _id| async move {
            let json = [("content-type", "application/json")];
            let (status, text) = post(tap, "/v1/models/credit:predict", &json, body).await;
            assert_eq!(status, StatusCode::OK, "{text}");
        },
    );
    let drifting = |m: &crate::sidecar::Metrics| {
        m.value("drifttap_model_drift", &[("model", "credit")]) == Some(1.0)
            && DRIFTING
                .iter()
                .all(|f| m.value("drifttap_feature_drift", &[("feature", f)]) == Some(1.0))
    };
    let m = sidecar
        .metrics_until(Duration::from_secs(60), |m| {
            drifting(m)
                && m.value("drifttap_payloads_skipped_total", &[])
                    .unwrap_or(0.0)
                    > 0.0
                && m.value("drifttap_sampling_ratio", &[])
                    .is_some_and(|r| r < 1.0)
        })
        .await;
    let sent = clients.stop().await.len();
    assert!(drifting(&m), "{}\n{}", m.0, sidecar.log());
    assert_feature_drift(&m, &STABLE, 0.0, "does not drift");
    assert!(
        m.value("drifttap_sampling_ratio", &[])
            .is_some_and(|r| r < 1.0),
        "{}",
        m.0
    );
    assert_eq!(
        model.requests.load(std::sync::atomic::Ordering::SeqCst),
        sent,
        "every request reaches the model, sampled or not"
    );
    let m = every_payload_accounted_for(&sidecar, "tap", sent).await;
    let decoded = m
        .value("drifttap_samples_ingested_total", &[("source", "tap")])
        .unwrap_or(0.0);
    assert!(
        decoded < 100.0 * sent as f64 / 2.0,
        "most of the traffic is skipped: {decoded} rows of {sent} requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kserve_logger_events_are_sampled_like_the_taps_traffic() {
    let sidecar = Sidecar::start("", &["--window-size", "1000", "--eval-interval", "1s"]);
    let ingest = sidecar.ingest.expect("ingest");
    // What each event was answered: queued, sampled out, or refused for a full queue.
    #[derive(PartialEq)]
    enum Answer {
        Queued,
        SampledOut,
        Full,
    }
    let clients = PacedClients::start(
        v1_requests("current-stable.parquet", 100),
        move |body, id| async move {
            let headers = [
                ("content-type", "application/json"),
                ("ce-specversion", "1.0"),
                ("ce-type", "org.kubeflow.serving.inference.request"),
                ("ce-source", "http://localhost:9081/"),
                ("ce-id", id.as_str()),
            ];
            let (status, text) = post(ingest, "/", &headers, body).await;
            match status {
                StatusCode::ACCEPTED if text.contains(r#""sampled_out":true"#) => {
                    Answer::SampledOut
                }
                StatusCode::ACCEPTED => Answer::Queued,
                StatusCode::SERVICE_UNAVAILABLE => Answer::Full,
                other => panic!("{other}: {text}"),
            }
        },
    );
    let m = sidecar
        .metrics_until(Duration::from_secs(60), |m| {
            m.value("drifttap_payloads_skipped_total", &[])
                .unwrap_or(0.0)
                > 200.0
        })
        .await;
    let answers = clients.stop().await;
    let sent = answers.len();
    let count = |answer| answers.iter().filter(|a| **a == answer).count();
    let (sampled_out, full) = (count(Answer::SampledOut), count(Answer::Full));
    assert!(sampled_out > 0, "{}\n{}", m.0, sidecar.log());
    let m = every_payload_accounted_for(&sidecar, "cloudevents", sent).await;
    assert_eq!(
        m.value("drifttap_payloads_skipped_total", &[]),
        Some(sampled_out as f64),
        "every skipped event was answered as such"
    );
    assert_eq!(
        m.value(
            "drifttap_payloads_dropped_total",
            &[("reason", "queue_full")]
        ),
        Some(full as f64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traffic_reaches_the_model_and_is_counted() {
    let (model, sidecar) = model_behind_tap(Duration::ZERO, &[]).await;
    let tap = sidecar.tap.expect("tap");
    let json = [("content-type", "application/json")];
    let payloads: [&'static str; 3] = [
        "{not json",
        r#"{"instances": [{"age": "thirty", "credit_score": 700, "shoe_size": 42}]}"#,
        r#"{"instances": [{"age": 41, "annual_income": 1e999}]}"#,
    ];
    for body in payloads {
        let (status, _) = post(tap, "/v1/models/credit:predict", &json, body).await;
        assert_eq!(status, StatusCode::OK, "{body} reaches the model");
    }
    let bodies = model.bodies.lock().expect("lock").clone();
    assert_eq!(
        bodies.iter().map(|b| &b[..]).collect::<Vec<_>>(),
        payloads.iter().map(|p| p.as_bytes()).collect::<Vec<_>>(),
        "forwarded unchanged"
    );
    let m = sidecar
        .metrics_until(Duration::from_secs(10), |m| {
            m.value("drifttap_samples_ingested_total", &[("source", "tap")]) == Some(2.0)
        })
        .await;
    assert_eq!(
        m.value(
            "drifttap_decode_errors_total",
            &[("reason", "invalid_json")]
        ),
        Some(1.0),
        "{}",
        m.0
    );
    assert_eq!(
        m.value(
            "drifttap_samples_dropped_total",
            &[("reason", "wrong_type")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.value(
            "drifttap_samples_dropped_total",
            &[("reason", "non_finite")]
        ),
        Some(1.0)
    );
    assert_eq!(m.value("drifttap_unknown_fields_total", &[]), Some(1.0));
    assert_eq!(
        m.value("drifttap_samples_ingested_total", &[("source", "tap")]),
        Some(2.0),
        "rows with a bad value still count for their other features"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_model_gives_502_and_the_sidecar_stays_healthy() {
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("address");
    let upstream = format!("http://{dead}");
    let sidecar = Sidecar::start(
        "",
        &["--upstream", &upstream, "--tap-listen", "127.0.0.1:0"],
    );
    let (status, text) = post(sidecar.tap.expect("tap"), "/predict", &[], "{}").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{text}");
    assert_eq!(get(sidecar.admin, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(sidecar.admin, "/readyz").await.0, StatusCode::OK);
    let m = sidecar.metrics().await;
    assert_eq!(
        m.value(
            "drifttap_tap_upstream_errors_total",
            &[("reason", "connect")]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.value("drifttap_tap_requests_total", &[("code", "5xx")]),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_exits_0() {
    let (_model, mut sidecar) = model_behind_tap(Duration::from_millis(800), &[]).await;
    let tap = sidecar.tap.expect("tap");
    let in_flight = tokio::spawn(async move { post(tap, "/predict", &[], "{}").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    sidecar.signal("TERM");
    let (status, _) = in_flight.await.expect("joined");
    assert_eq!(status, StatusCode::OK, "the in-flight request completes");
    let exit = tokio::task::block_in_place(|| sidecar.wait(Duration::from_secs(10)));
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}", sidecar.log());
    assert!(
        tokio::net::TcpStream::connect(tap).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_api_and_cloudevents_feed_the_window() {
    let sidecar = Sidecar::start("", &[]);
    let ingest = sidecar.ingest.expect("ingest");
    // Open Inference Protocol (KServe V2), one tensor per feature.
    let v2 = r#"{"inputs": [
        {"name": "age", "shape": [2], "datatype": "FP64", "data": [31, 45]},
        {"name": "loan_purpose", "shape": [2], "datatype": "BYTES", "data": ["car", "medical"]}
    ]}"#;
    let (status, text) = post(
        ingest,
        "/v1/ingest",
        &[("content-type", "application/json")],
        v2,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    // KServe's payload logger: a binary-mode CloudEvent carrying a V1 request.
    let (status, _) = post(
        ingest,
        "/",
        &[
            ("content-type", "application/json"),
            ("ce-specversion", "1.0"),
            ("ce-type", "org.kubeflow.serving.inference.request"),
            ("ce-source", "http://localhost:9081/"),
            ("ce-id", "2f9a7c1e"),
            ("ce-inferenceservicename", "credit"),
        ],
        r#"{"instances": [{"age": 52, "home_ownership": "rent"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Its response event is not a sample of the inputs.
    let (status, _) = post(
        ingest,
        "/",
        &[
            ("content-type", "application/json"),
            ("ce-specversion", "1.0"),
            ("ce-type", "org.kubeflow.serving.inference.response"),
            ("ce-source", "http://localhost:9081/"),
            ("ce-id", "2f9a7c1e"),
        ],
        r#"{"predictions": [0.2]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let m = sidecar
        .metrics_until(Duration::from_secs(10), |m| {
            m.value("drifttap_window_samples", &[]) == Some(3.0)
        })
        .await;
    assert_eq!(
        m.value("drifttap_samples_ingested_total", &[("source", "ingest")]),
        Some(2.0),
        "{}",
        m.0
    );
    assert_eq!(
        m.value(
            "drifttap_samples_ingested_total",
            &[("source", "cloudevents")]
        ),
        Some(1.0)
    );
    assert_eq!(m.value("drifttap_window_samples", &[]), Some(3.0));
    // Not POST, not an endpoint.
    assert_eq!(
        get(ingest, "/v1/ingest").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        post(ingest, "/nowhere", &[], "{}").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_readme_documents_is_exported_with_its_labels() {
    let documented = readme_metrics("### Metrics");
    assert!(documented.len() >= 20, "{documented:?}");
    let (_model, sidecar) = model_behind_tap(Duration::ZERO, &[]).await;
    sidecar
        .replay(&v1_requests("current-stable.parquet", 500))
        .await;
    let m = sidecar
        .metrics_until(Duration::from_secs(60), |m| evaluations(m) >= 1.0)
        .await;
    m.assert_documented(&documented);
}

#[test]
fn bad_configuration_exits_64_naming_every_problem() {
    let out = drifttap(&[
        "serve",
        "--eval-interval",
        "soon",
        "--window-size",
        "1",
        "--admin",
        "nowhere",
    ]);
    assert_eq!(out.status.code(), Some(64));
    let text = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "baseline: required",
        "evaluation.interval",
        "window.size",
        "admin",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let out = drifttap(&["serve", "--no-such-flag"]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "usage errors are configuration errors"
    );
}

#[test]
fn a_baseline_that_cannot_be_loaded_exits_66_naming_it() {
    let out = drifttap(&["serve", "--baseline", "/nonexistent/train.parquet"]);
    assert_eq!(out.status.code(), Some(66));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("/nonexistent/train.parquet"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_reloads_on_sighup_and_on_change_and_a_broken_one_is_kept_out() {
    let dir = TempDir::new("reload");
    let baseline = dir.path("train.parquet");
    std::fs::copy(example("reference.parquet"), &baseline).expect("copied");
    let sidecar = Sidecar::start_on(&baseline, "baseline_poll: 200ms\n", &[]);
    let version = |m: &crate::sidecar::Metrics| {
        let series = m.series("drifttap_baseline_info");
        assert_eq!(series.len(), 1, "one baseline in use: {series:?}");
        series[0].0.clone()
    };
    let first = version(&sidecar.metrics().await);

    // A broken file in its place: counted, and the baseline in use stays.
    std::fs::write(&baseline, b"PAR1 not really").expect("written");
    let m = sidecar
        .metrics_until(Duration::from_secs(10), |m| {
            m.value("drifttap_baseline_load_errors_total", &[]) == Some(1.0)
        })
        .await;
    assert_eq!(
        m.value("drifttap_baseline_load_errors_total", &[]),
        Some(1.0),
        "{}",
        sidecar.log()
    );
    assert_eq!(version(&m), first);
    assert_eq!(get(sidecar.admin, "/readyz").await.0, StatusCode::OK);

    // New training data (same features): picked up by the file poll.
    std::fs::copy(example("current-stable.parquet"), &baseline).expect("copied");
    let m = sidecar
        .metrics_until(Duration::from_secs(10), |m| version(m) != first)
        .await;
    let second = version(&m);
    assert_ne!(second, first, "{}", sidecar.log());

    // SIGHUP reloads at once, even when the files look unchanged.
    sidecar.signal("HUP");
    let log_has = |needle: &str| sidecar.log().contains(needle);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !log_has("baseline unchanged") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log_has("SIGHUP"), "{}", sidecar.log());
    assert!(log_has("baseline unchanged"), "{}", sidecar.log());
}

/// The first ```yaml block after `heading` in the README.
fn readme_yaml(heading: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = &readme[readme.find(heading).expect("heading")..];
    let start = section.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = start + section[start..].find("```").expect("closed");
    section[start..end].to_string()
}

#[test]
fn the_configuration_the_readme_shows_is_valid() {
    use drifttap::sidecar::config::{Overrides, RawConfig};
    let config = RawConfig::from_yaml(&readme_yaml("### Configuration"), "README")
        .expect("parses")
        .resolve(Overrides::default())
        .expect("valid");
    assert_eq!(config.model, "credit");
    assert!(config.tap.is_some());
    let alerts = RawConfig::from_yaml(&readme_yaml("## Alert rules"), "README")
        .expect("parses")
        .alert_settings(None)
        .expect("valid");
    assert_eq!(alerts.1, drifttap::sidecar::config::AlertsConfig::default());
}
