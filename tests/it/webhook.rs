//! The retraining webhook from `serve`: drifted traffic through the tap turns the model's
//! verdict on, and the sidecar delivers one signed notification to a receiver that checks it —
//! through the receiver's failures, with the same key on every attempt.

use std::time::Duration;

use drifttap::testing::ScriptedReceiver;

use crate::harness::{TempDir, example};
use crate::sidecar::{Metrics, Sidecar, StubModel, v1_requests};

/// The example's features that drift in `current-drifted.parquet` (baselines/credit/README.md).
const DRIFTING: [&str; 6] = [
    "annual_income",
    "card_utilisation",
    "credit_score",
    "loan_amount",
    "loan_purpose",
    "months_employed",
];

/// The sidecar's YAML for a webhook to `url`, signing with the secret written in `dir`.
pub fn webhook_yaml(dir: &TempDir, url: &str, secret: &str) -> String {
    let secret_file = dir.path("webhook-secret");
    // A trailing newline, as `kubectl create secret --from-file` of an echoed file has.
    std::fs::write(&secret_file, format!("{secret}\n")).expect("secret written");
    format!(
        "webhook:\n  url: {url}\n  secret_file: {secret_file}\n  retry_initial_interval: 100ms\n  retry_max_interval: 300ms\n"
    )
}

/// A sidecar tapping a stub model, with `extra_yaml` and `env`.
pub async fn tapped_sidecar(extra_yaml: &str, env: &[(&str, &str)]) -> (Sidecar, StubModel) {
    let model = StubModel::start(Duration::ZERO).await;
    let upstream = format!("http://{}", model.address);
    let sidecar = Sidecar::start_with(
        &example("reference.parquet"),
        extra_yaml,
        &["--upstream", &upstream, "--tap-listen", "127.0.0.1:0"],
        env,
    );
    (sidecar, model)
}

/// The sidecar's metrics once it has delivered `n` episodes (or `limit` has passed).
pub async fn delivered(sidecar: &Sidecar, n: f64, limit: Duration) -> Metrics {
    sidecar
        .metrics_until(limit, |m| {
            m.value(
                "drifttap_webhook_deliveries_total",
                &[("outcome", "delivered")],
            ) == Some(n)
        })
        .await
}

/// Drives the example's drifted traffic through `sidecar`'s tap until its verdict turns: a
/// fresh window per counted evaluation.
pub async fn drift(sidecar: &Sidecar) {
    let m = sidecar
        .replay_until(&v1_requests("current-drifted.parquet", 100), 4, |m| {
            m.value("drifttap_model_drift", &[("model", "credit")]) == Some(1.0)
        })
        .await;
    assert_eq!(
        m.value("drifttap_model_drift", &[("model", "credit")]),
        Some(1.0),
        "{}",
        sidecar.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_delivered_once_signed_through_the_receivers_failures() {
    let receiver = ScriptedReceiver::start(b"s3cret", &[503, 200]).await;
    let dir = TempDir::new("webhook-serve");
    let (sidecar, _model) = tapped_sidecar(
        &webhook_yaml(&dir, &receiver.url, "s3cret"),
        &[
            ("DRIFTTAP_POD_NAMESPACE", "credit"),
            ("DRIFTTAP_POD_NAME", "credit-7d9f-abcde"),
        ],
    )
    .await;
    drift(&sidecar).await;
    receiver.until(2, Duration::from_secs(60)).await;
    let m = delivered(&sidecar, 1.0, Duration::from_secs(10)).await;
    assert_eq!(
        m.value(
            "drifttap_webhook_deliveries_total",
            &[("outcome", "retried")]
        ),
        Some(1.0),
        "{}",
        sidecar.log()
    );
    assert_eq!(
        m.value("drifttap_webhook_failing", &[("model", "credit")]),
        Some(0.0)
    );
    assert_eq!(
        m.value("drifttap_webhook_pending", &[("model", "credit")]),
        Some(0.0)
    );
    let version = m
        .series("drifttap_baseline_info")
        .into_iter()
        .find_map(|(labels, _)| {
            labels
                .split("version=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        })
        .expect("baseline version");

    let payloads = receiver.payloads();
    assert_eq!(payloads.len(), 2);
    assert_eq!(
        payloads[0].idempotency_key, payloads[1].idempotency_key,
        "a retry carries the episode's key"
    );
    let n = &payloads[1];
    assert_eq!(n.model, "credit");
    assert_eq!(n.namespace.as_deref(), Some("credit"));
    assert_eq!(n.pod.as_deref(), Some("credit-7d9f-abcde"));
    assert_eq!(n.baseline.version, version);
    assert_eq!(
        n.idempotency_key,
        drifttap::protocol::webhook::episode_key("credit", &version, n.drift_started_at)
    );
    assert!(
        n.window.samples >= 1000 && n.window.samples <= 5000,
        "{:?}",
        n.window
    );
    assert!(n.window.start <= n.window.end && n.window.end <= n.drift_started_at + 1);
    let mut names: Vec<&str> = n.features.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    // The verdict turns on the first evaluation with drift; the rest of the five follow (the
    // status shows them); the first is always one of them.
    assert!(!names.is_empty(), "no drifting feature in {n:?}");
    for name in &names {
        assert!(DRIFTING.contains(name), "{name} is not a drifting feature");
    }
    // months_employed drifts by its missing share alone, and the payload says so.
    if let Some(f) = n.features.iter().find(|f| f.name == "months_employed") {
        assert!(
            f.missing_drift && f.missing_current > f.missing_reference,
            "{f:?}"
        );
    }
    let mmd = n.multivariate.as_ref().expect("MMD ran");
    assert_eq!(mmd.test, drifttap::evaluate::Test::Mmd);

    // The episode goes on: more drifted traffic sends nothing new.
    drift(&sidecar).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 2, "{}", sidecar.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_with_another_secret_refuses_and_the_sidecar_says_so() {
    let receiver = ScriptedReceiver::start(b"the-other-secret", &[401]).await;
    let dir = TempDir::new("webhook-refused");
    let (sidecar, _model) = tapped_sidecar(&webhook_yaml(&dir, &receiver.url, "s3cret"), &[]).await;
    drift(&sidecar).await;
    receiver.until(1, Duration::from_secs(60)).await;
    let m = sidecar
        .metrics_until(Duration::from_secs(10), |m| {
            m.value("drifttap_webhook_failing", &[("model", "credit")]) == Some(1.0)
        })
        .await;
    assert_eq!(
        m.value(
            "drifttap_webhook_deliveries_total",
            &[("outcome", "rejected")]
        ),
        Some(1.0),
        "{}",
        sidecar.log()
    );
    let seen = receiver.received();
    assert_eq!(
        seen[0].checked.as_ref().err().map(String::as_str),
        Some("the signature does not match the body and secret")
    );
    assert!(sidecar.log().contains("refused the drift episode"));
}

#[test]
fn a_webhook_without_a_readable_secret_exits_64() {
    let dir = TempDir::new("webhook-no-secret");
    let missing = dir.path("missing-secret");
    let out = crate::harness::drifttap(&[
        "serve",
        "--baseline",
        &example("reference.parquet"),
        "--admin",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
        "--webhook-url",
        "http://127.0.0.1:1/v1/drift",
        "--webhook-secret-file",
        &missing,
    ]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = crate::harness::stderr(&out);
    assert!(stderr.contains(&missing), "{stderr}");
}
