//! A harness for `drifttap serve` as users run it: the binary as a child process on loopback
//! ports it reports in its JSON log ([`Service`]), a stub model, traffic made from the bundled
//! example's Parquet files, and a matcher for scraped metrics.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;

use drifttap::baseline::parquet;
use drifttap::data::{MISSING, Values};
use drifttap::http::{Admission, Body, respond, serve};

use crate::harness::{Service, TempDir, example, unique};

/// A running `drifttap serve`.
pub struct Sidecar {
    pub service: Service,
    pub admin: SocketAddr,
    pub ingest: Option<SocketAddr>,
    pub tap: Option<SocketAddr>,
    _dir: TempDir,
}

/// The YAML configuration of the tests: evaluations every 200 ms once 1 000 samples are in,
/// a window the size of one example file, verdicts after two agreeing evaluations.
pub const CONFIG: &str = "\
model: credit
exclude: [application_id, defaulted]
window:
  size: 5000
evaluation:
  interval: 200ms
  min_samples: 1000
  hysteresis: 2
  permutations: 50
shutdown_grace: 5s
";

impl Sidecar {
    /// Starts the sidecar on the example's reference with `CONFIG` plus `extra` YAML and the
    /// given flags, and waits until it has logged every listener it binds.
    pub fn start(extra_yaml: &str, flags: &[&str]) -> Sidecar {
        Sidecar::start_on(&example("reference.parquet"), extra_yaml, flags)
    }

    /// As [`Sidecar::start`], with another baseline.
    pub fn start_on(reference: &str, extra_yaml: &str, flags: &[&str]) -> Sidecar {
        Sidecar::start_with(reference, extra_yaml, flags, &[])
    }

    /// As [`Sidecar::start_on`], with environment variables set for the process.
    pub fn start_with(
        reference: &str,
        extra_yaml: &str,
        flags: &[&str],
        env: &[(&str, &str)],
    ) -> Sidecar {
        Sidecar::start_limited(reference, extra_yaml, flags, env, None)
    }

    /// As [`Sidecar::start_with`], under a soft limit of `open_files` descriptors.
    pub fn start_limited(
        reference: &str,
        extra_yaml: &str,
        flags: &[&str],
        env: &[(&str, &str)],
        open_files: Option<u64>,
    ) -> Sidecar {
        let dir = TempDir::new(&format!("serve-{}", unique()));
        let config = dir.path("drifttap.yaml");
        std::fs::write(&config, format!("{CONFIG}{extra_yaml}")).expect("config written");
        let mut args = vec![
            "serve",
            "--config",
            &config,
            "--baseline",
            reference,
            "--admin",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(flags);
        let service = Service::start_limited("sidecar", &args, env, open_files);
        Sidecar {
            admin: service.address("admin"),
            ingest: service.addresses.get("ingest").copied(),
            tap: service.addresses.get("tap").copied(),
            service,
            _dir: dir,
        }
    }

    /// `/metrics`, parsed.
    pub async fn metrics(&self) -> Metrics {
        scrape(self.admin).await
    }

    /// Polls `/metrics` until `done` holds, at most `limit`; the last scrape either way.
    pub async fn metrics_until(&self, limit: Duration, done: impl Fn(&Metrics) -> bool) -> Metrics {
        scrape_until(self.admin, limit, done).await
    }

    /// Sends every request through the tap, one after another (the window keeps arrival
    /// order), each answered 200 by the model.
    pub async fn replay(&self, requests: &[String]) {
        let tap = self.tap.expect("tap listening");
        for body in requests {
            let (status, text) = post(
                tap,
                "/v1/models/credit:predict",
                &[("content-type", "application/json")],
                body.clone(),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{text}");
        }
    }

    /// Replays `requests` round after round until `done` holds, at most `rounds` times. After
    /// each round it waits for two more evaluations, so that one of them began after the
    /// round's last row: only an evaluation of a window of rows none counted before moves the
    /// verdicts. The last scrape either way.
    pub async fn replay_until(
        &self,
        requests: &[String],
        rounds: usize,
        done: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        let mut m = self.metrics().await;
        for _ in 0..rounds {
            self.replay(requests).await;
            let seen = evaluations(&self.metrics().await);
            m = self
                .metrics_until(Duration::from_secs(30), |m| {
                    done(m) || evaluations(m) >= seen + 2.0
                })
                .await;
            if done(&m) {
                break;
            }
        }
        m
    }
}

/// Evaluations that ran to a report.
pub fn evaluations(m: &Metrics) -> f64 {
    m.value("drifttap_evaluations_total", &[("outcome", "ok")])
        .unwrap_or(0.0)
}

impl std::ops::Deref for Sidecar {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.service
    }
}

impl std::ops::DerefMut for Sidecar {
    fn deref_mut(&mut self) -> &mut Service {
        &mut self.service
    }
}

/// `/metrics` at `admin`, parsed.
pub async fn scrape(admin: SocketAddr) -> Metrics {
    let (status, text) = get(admin, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    Metrics(text)
}

/// Polls `/metrics` at `admin` until `done` holds, at most `limit`; the last scrape either way.
pub async fn scrape_until(
    admin: SocketAddr,
    limit: Duration,
    done: impl Fn(&Metrics) -> bool,
) -> Metrics {
    let deadline = Instant::now() + limit;
    loop {
        let metrics = scrape(admin).await;
        if done(&metrics) || Instant::now() > deadline {
            return metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The metrics table after `heading` in the README: each row's name (`drifttap_…`) and its
/// labels (the third column).
pub fn readme_metrics(heading: &str) -> Vec<(String, Vec<String>)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    // The metrics table: rows of `| `name` | type | labels | meaning |`.
    let section = readme
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("a {heading} section in the README"));
    section
        .lines()
        .take_while(|l| !l.starts_with("## ") && !l.starts_with("### "))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells
                .get(1)?
                .strip_prefix("`drifttap_")?
                .strip_suffix('`')?;
            let labels = cells
                .get(3)?
                .split(',')
                .map(|s| s.trim().trim_matches('`').to_string())
                .filter(|s| !s.is_empty() && s != "—")
                .collect();
            Some((format!("drifttap_{name}"), labels))
        })
        .collect()
}

/// Scraped OpenMetrics text.
pub struct Metrics(pub String);

impl Metrics {
    /// Asserts that every `(name, labels)` is exported, with each of its labels.
    pub fn assert_documented(&self, documented: &[(String, Vec<String>)]) {
        for (name, labels) in documented {
            // A histogram's series are its `_bucket`, `_sum` and `_count`.
            let series = match self.series(name) {
                s if s.is_empty() => self.series(&format!("{name}_count")),
                s => s,
            };
            assert!(!series.is_empty(), "{name} is not exported:\n{}", self.0);
            for label in labels {
                assert!(
                    series
                        .iter()
                        .any(|(l, _)| l.contains(&format!("{label}=\""))),
                    "{name} has no label {label}: {series:?}"
                );
            }
        }
    }

    /// The value of the one series of `name` whose labels include every `labels` pair.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.series(name)
            .into_iter()
            .find(|(l, _)| {
                labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, v)| v)
    }

    /// Every series of `name` (exactly that name): its label text and value.
    pub fn series(&self, name: &str) -> Vec<(String, f64)> {
        self.0
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (head, value) = l.rsplit_once(' ')?;
                let (series, labels) = match head.split_once('{') {
                    Some((s, rest)) => (s, rest.trim_end_matches('}').to_string()),
                    None => (head, String::new()),
                };
                let value: f64 = value.parse().ok()?;
                (series == name).then_some((labels, value))
            })
            .collect()
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// GET `path`: status and body text.
pub async fn get(address: SocketAddr, path: &str) -> (StatusCode, String) {
    let request = Request::get(format!("http://{address}{path}")).body(Full::new(Bytes::new()));
    send(request.expect("request")).await
}

/// POST `body` to `path` with `headers`: status and body text.
pub async fn post(
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (StatusCode, String) {
    let mut request = Request::post(format!("http://{address}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(request.body(Full::new(body.into())).expect("request")).await
}

async fn send(request: Request<Full<Bytes>>) -> (StatusCode, String) {
    let response = client().request(request).await.expect("answered");
    drifttap::testing::status_and_text(response).await
}

/// A model that answers every request with a fixed prediction after `delay`, and counts the
/// requests and body bytes it received.
pub struct StubModel {
    pub address: SocketAddr,
    pub requests: Arc<AtomicUsize>,
    pub bodies: Arc<Mutex<Vec<Bytes>>>,
}

impl StubModel {
    pub async fn start(delay: Duration) -> StubModel {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let requests = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (count, keep) = (requests.clone(), bodies.clone());
        let handler = move |request: Request<hyper::body::Incoming>| {
            let (count, keep) = (count.clone(), keep.clone());
            async move {
                let body = drifttap::testing::body_bytes(request.into_body()).await;
                tokio::time::sleep(delay).await;
                keep.lock().expect("bodies lock").push(body);
                count.fetch_add(1, Ordering::SeqCst);
                let response: hyper::Response<Body> = respond(
                    StatusCode::OK,
                    "application/json",
                    r#"{"predictions":[0.1]}"#,
                );
                response
            }
        };
        tokio::spawn(serve(
            listener,
            Admission::with_defaults("model"),
            handler,
            std::future::pending(),
            Duration::ZERO,
        ));
        StubModel {
            address,
            requests,
            bodies,
        }
    }
}

/// The example file `name` as KServe V1 requests of `batch` rows each, rows as objects keyed
/// by column name (application_id, applied_at and defaulted left out as a client would).
pub fn v1_requests(name: &str, batch: usize) -> Vec<String> {
    let table = parquet::read(&[example(name).into()], &[])
        .expect("example reads")
        .frame;
    let mut rows: Vec<serde_json::Map<String, serde_json::Value>> =
        vec![serde_json::Map::new(); table.rows()];
    for column in table.columns() {
        if ["application_id", "defaulted"].contains(&column.name.as_str()) {
            continue;
        }
        for (i, row) in rows.iter_mut().enumerate() {
            let value = match &column.values {
                Values::Numeric(v) if v[i].is_nan() => serde_json::Value::Null,
                Values::Numeric(v) => serde_json::json!(v[i]),
                Values::Categorical { codes, .. } if codes[i] == MISSING => serde_json::Value::Null,
                Values::Categorical { names, codes } => {
                    serde_json::Value::String(names[codes[i] as usize].clone())
                }
            };
            row.insert(column.name.clone(), value);
        }
    }
    rows.chunks(batch)
        .map(|chunk| serde_json::json!({ "instances": chunk }).to_string())
        .collect()
}
