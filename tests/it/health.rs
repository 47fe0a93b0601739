//! Readiness and liveness of `drifttap serve`: a running sidecar stays ready and live while it
//! evaluates, and a feed or engine thread that stops turns `/readyz` and `/healthz` to `503`
//! naming it (issue 15: a dead thread left `/readyz` green).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::StatusCode;

use drifttap::sidecar::admin::Admin;
use drifttap::sidecar::config::{Overrides, RawConfig};
use drifttap::sidecar::load_baseline;
use drifttap::sidecar::metrics::Metrics;
use drifttap::sidecar::state::{Component, HealthBounds, Shared};

use crate::harness::example;
use crate::sidecar::{Sidecar, get, post, v1_requests};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_sidecar_stays_ready_and_live_while_it_evaluates() {
    let sidecar = Sidecar::start("", &[]);
    let ingest = sidecar.ingest.expect("ingest listening");
    for body in v1_requests("current-stable.parquet", 500) {
        let json = [("content-type", "application/json")];
        let (status, text) = post(ingest, "/v1/ingest", &json, body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    }
    let m = sidecar
        .metrics_until(Duration::from_secs(60), |m| {
            m.value("drifttap_evaluations_total", &[("outcome", "ok")])
                .is_some_and(|n| n >= 2.0)
        })
        .await;
    assert!(
        m.value("drifttap_evaluations_total", &[("outcome", "ok")])
            .is_some_and(|n| n >= 2.0),
        "{}\n{}",
        m.0,
        sidecar.log()
    );
    assert_eq!(
        m.value(
            "drifttap_evaluation_interval_seconds",
            &[("model", "credit")]
        ),
        Some(0.2)
    );
    assert_eq!(
        get(sidecar.admin, "/readyz").await,
        (StatusCode::OK, "ready\n".into())
    );
    assert_eq!(
        get(sidecar.admin, "/healthz").await,
        (StatusCode::OK, "ok\n".into())
    );
}

/// The sidecar's shared state on the example's baseline, and its admin server on a loopback
/// port, listening.
async fn admin() -> (Arc<Shared>, std::net::SocketAddr) {
    let yaml = format!(
        "model: credit\nbaseline: {}\nexclude: [application_id, defaulted]\n",
        example("reference.parquet")
    );
    let config = RawConfig::from_yaml(&yaml, "test.yaml")
        .expect("parses")
        .resolve(Overrides::default())
        .expect("valid");
    let baseline = load_baseline(&config).expect("loads");
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Metrics::register(&mut registry, "test");
    let shared = Arc::new(Shared::for_config(&config, baseline, metrics));
    let admin = Admin {
        shared: shared.clone(),
        registry: Arc::new(registry),
        health: HealthBounds::new(config.evaluation.interval, Duration::from_millis(100)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(drifttap::http::serve(
        listener,
        drifttap::http::Admission::with_defaults("admin"),
        move |request| admin.clone().handle(request),
        std::future::pending(),
        Duration::ZERO,
    ));
    shared.listening.store(true, Ordering::Release);
    (shared, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_feed_or_engine_turns_readyz_and_healthz_503_naming_it() {
    let (shared, address) = admin().await;
    assert_eq!(
        get(address, "/readyz").await,
        (StatusCode::OK, "ready\n".into())
    );

    // The feed's thread ends (a panic unwinds the same way): its guard is dropped.
    let feed = shared.clone();
    std::thread::spawn(move || {
        let _alive = feed.heartbeats.alive(Component::Feed);
    })
    .join()
    .expect("joined");
    assert_eq!(
        get(address, "/readyz").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "feed: the thread has stopped\n".into()
        )
    );
    assert_eq!(
        get(address, "/healthz").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "feed: the thread has stopped\n".into()
        )
    );

    drop(shared.heartbeats.alive(Component::Engine));
    let (status, text) = get(address, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        text,
        "feed: the thread has stopped\nengine: the thread has stopped\n"
    );

    // Draining: unready for that reason, and live (the threads stop at the end of a drain).
    shared.listening.store(false, Ordering::Release);
    assert_eq!(
        get(address, "/readyz").await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not listening: starting, or draining after SIGTERM\n".into()
        )
    );
    assert_eq!(get(address, "/healthz").await.0, StatusCode::OK);
    assert_eq!(
        get(address, "/metrics").await.0,
        StatusCode::OK,
        "the rest of the admin server is unchanged"
    );
}
