//! A fake Kubernetes API server, enough of `batch/v1` Jobs in one namespace for the retrainer:
//! list (with `labelSelector` equality terms and `limit`) and create (201, or 409
//! `AlreadyExists` as a real `Status` when the name is taken). It checks what it is sent —
//! the method and path, a bearer token, a body that is a `batch/v1` Job for this namespace —
//! records every request, and answers anything else 404 and notes it as unexpected. It can be
//! taken down (connections closed without an answer) or made to fail with a status.
//!
//! ```ignore
//! let kube = FakeKube::start("ml").await;
//! let kubeconfig = kube.write_kubeconfig(&dir.0);          // points kube-rs here
//! // drifttap retrainer --kubeconfig <kubeconfig> --namespace ml ...
//! kube.until(Duration::from_secs(10), |k| k.jobs().len() == 1).await;
//! kube.set_mode(Mode::Unreachable);
//! assert!(kube.unexpected().is_empty());
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use tokio::net::TcpListener;

/// The token the kubeconfig gives the client; every request must carry it.
pub const TOKEN: &str = "fake-kube-token";

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As an API server would.
    Up,
    /// Every connection is closed without an answer, as with an API server that went away.
    Unreachable,
    /// Every request gets this status with a `Status` body of this reason (e.g. 503
    /// `ServiceUnavailable`, 403 `Forbidden`).
    Failing(u16, &'static str),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

struct State {
    mode: Mode,
    /// Created Jobs by name, as they were sent (JSON).
    jobs: BTreeMap<String, serde_json::Value>,
    requests: Vec<Recorded>,
    /// What did not look like what a kube client sends the retrainer's API calls.
    unexpected: Vec<String>,
}

/// The fake API server, serving until dropped with the test's runtime.
#[derive(Clone)]
pub struct FakeKube {
    pub address: SocketAddr,
    pub namespace: String,
    state: Arc<Mutex<State>>,
}

impl FakeKube {
    /// Starts it on a free loopback port, for `namespace`.
    pub async fn start(namespace: &str) -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let fake = FakeKube {
            address: listener.local_addr().expect("address"),
            namespace: namespace.into(),
            state: Arc::new(Mutex::new(State {
                mode: Mode::Up,
                jobs: BTreeMap::new(),
                requests: Vec::new(),
                unexpected: Vec::new(),
            })),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| server.clone().answer(request));
                    // A connection closed by `Mode::Unreachable` ends in an error: expected.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        fake
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a kubeconfig pointing at this server (`http://`, bearer [`TOKEN`], namespace)
    /// into `dir`; returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster:
      server: http://{address}
contexts:
  - name: fake
    context: {{cluster: fake, user: fake, namespace: {namespace}}}
current-context: fake
users:
  - name: fake
    user:
      token: {TOKEN}
",
            address = self.address,
            namespace = self.namespace
        );
        std::fs::write(&path, text).expect("kubeconfig written");
        path
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state().mode = mode;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// The create requests so far (whatever their answer).
    pub fn creates(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }

    /// The Jobs created, in name order.
    pub fn jobs(&self) -> Vec<Job> {
        self.state()
            .jobs
            .values()
            .map(|j| serde_json::from_value(j.clone()).expect("stored Jobs are Jobs"))
            .collect()
    }

    /// Requests that were not what the retrainer should send (wrong path, method, token or
    /// body).
    pub fn unexpected(&self) -> Vec<String> {
        self.state().unexpected.clone()
    }

    /// Stores a Job as if someone else had created it.
    pub fn insert(&self, job: &Job) {
        let name = job.metadata.name.clone().expect("a name");
        let value = serde_json::to_value(job).expect("serialises");
        self.state().jobs.insert(name, value);
    }

    /// Marks the Job `name` finished with `condition` (`Complete` or `Failed`).
    pub fn finish(&self, name: &str, condition: &str) {
        let mut state = self.state();
        let job = state.jobs.get_mut(name).expect("a stored Job");
        job["status"] = serde_json::to_value(JobStatus {
            conditions: Some(vec![JobCondition {
                type_: condition.into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .expect("serialises");
    }

    /// Polls (every 20 ms) until `done` holds, at most `limit`; whether it did.
    pub async fn until(&self, limit: Duration, done: impl Fn(&FakeKube) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn answer(
        self,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::io::Error> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let recorded = Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            body: String::from_utf8_lossy(&body).into_owned(),
            authorization: parts
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let mut state = self.state();
        state.requests.push(recorded.clone());
        match state.mode {
            Mode::Up => {}
            Mode::Unreachable => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "down",
                ));
            }
            Mode::Failing(code, reason) => {
                return Ok(status(
                    code,
                    reason,
                    &format!("the fake API server fails with {reason}"),
                ));
            }
        }
        if recorded.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
            state
                .unexpected
                .push(format!("no bearer token: {recorded:?}"));
            return Ok(status(401, "Unauthorized", "Unauthorized"));
        }
        let jobs_path = format!("/apis/batch/v1/namespaces/{}/jobs", self.namespace);
        if recorded.path != jobs_path {
            state.unexpected.push(format!("path: {recorded:?}"));
            return Ok(status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        }
        match parts.method {
            Method::GET => Ok(list(&state.jobs, &recorded.query)),
            Method::POST => Ok(create(&mut state, &self.namespace, &body)),
            _ => {
                state.unexpected.push(format!("method: {recorded:?}"));
                Ok(status(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method",
                ))
            }
        }
    }
}

fn json(code: u16, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = StatusCode::from_u16(code).expect("a status code");
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A `Status` failure, as the API server sends it.
fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    json(
        code,
        &serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code,
        }),
    )
}

/// The query parameter `name`, percent-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JobList of the stored Jobs matching the `labelSelector` (comma-separated `key=value`
/// terms), at most `limit` of them.
fn list(jobs: &BTreeMap<String, serde_json::Value>, query: &str) -> Response<Full<Bytes>> {
    let selector = query_param(query, "labelSelector").unwrap_or_default();
    let terms: Vec<(&str, &str)> = selector
        .split(',')
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.split_once('='))
        .collect();
    let limit = query_param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let items: Vec<&serde_json::Value> = jobs
        .values()
        .filter(|job| {
            terms
                .iter()
                .all(|(k, v)| job["metadata"]["labels"][*k].as_str() == Some(*v))
        })
        .take(limit)
        .collect();
    json(
        200,
        &serde_json::json!({
            "kind": "JobList", "apiVersion": "batch/v1",
            "metadata": {"resourceVersion": "1"}, "items": items,
        }),
    )
}

/// Stores a new Job (201) or answers 409 `AlreadyExists`; a body that is not a Job for this
/// namespace is 422 and unexpected.
fn create(state: &mut State, namespace: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let job: Job = match serde_json::from_slice(body) {
        Ok(job) => job,
        Err(e) => {
            state.unexpected.push(format!("not a Job: {e}"));
            return status(422, "Invalid", &format!("not a batch/v1 Job: {e}"));
        }
    };
    let Some(name) = job.metadata.name.clone() else {
        state.unexpected.push("a Job without a name".into());
        return status(422, "Invalid", "metadata.name: Required value");
    };
    if job
        .metadata
        .namespace
        .as_deref()
        .is_some_and(|ns| ns != namespace)
    {
        state
            .unexpected
            .push(format!("Job {name} for another namespace"));
        return status(
            400,
            "BadRequest",
            "the namespace of the object does not match",
        );
    }
    if state.jobs.contains_key(&name) {
        return json(
            409,
            &serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("jobs.batch \"{name}\" already exists"),
                "reason": "AlreadyExists",
                "details": {"name": name, "group": "batch", "kind": "jobs"},
                "code": 409,
            }),
        );
    }
    let mut stored: serde_json::Value = serde_json::from_slice(body).expect("parsed above");
    stored["metadata"]["uid"] = format!("uid-{}", state.jobs.len() + 1).into();
    stored["metadata"]["namespace"] = namespace.into();
    state.jobs.insert(name, stored.clone());
    json(201, &stored)
}
