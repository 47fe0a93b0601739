//! The retrainer's side of the Kubernetes API: the client (a kubeconfig, or the pod's service
//! account), the three requests it makes — list a model's Jobs, create a Job, and a probe
//! (list with `limit=1`) — and what their failures mean: a closed-set reason for metrics, the
//! Kubernetes reason for the caller, and whether a retry may help.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::retrain::job::model_selector;

/// How long one API request may take before it counts as a (transient) timeout. The handler
/// waits for it, so it is kept well under the senders' own timeouts (Alertmanager's and
/// drifttap's default to 10 s or more).
pub const API_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the client's configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterConfig {
    /// Kubeconfig files (`--kubeconfig`, or `KUBECONFIG`'s list), merged in order; their
    /// current context.
    Kubeconfig(Vec<PathBuf>),
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, the mounted token and CA).
    InCluster,
}

/// Why no client could be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("kubeconfig {}: {source}", .path.display())]
    Kubeconfig {
        path: PathBuf,
        source: kube::config::KubeconfigError,
    },
    #[error("kubeconfig: {0}")]
    Merge(kube::config::KubeconfigError),
    #[error("no --kubeconfig or KUBECONFIG, and not in a cluster: {0}")]
    InCluster(kube::config::InClusterError),
    #[error("cannot build the Kubernetes client: {0}")]
    Client(kube::Error),
}

/// The Jobs API of one namespace.
#[derive(Clone)]
pub struct Cluster {
    api: Api<Job>,
    pub namespace: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// A successful create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    /// 409: a Job of that name exists.
    Exists,
}

impl Cluster {
    /// Builds the client. kube's own retries are off: the retrainer keeps a failed Job and
    /// retries it itself, and a probe must see a failure when it happens.
    pub async fn connect(source: &ClusterConfig, namespace: &str) -> Result<Cluster, ClientError> {
        let mut config = match source {
            ClusterConfig::Kubeconfig(paths) => {
                let mut merged: Option<Kubeconfig> = None;
                for path in paths {
                    let file =
                        Kubeconfig::read_from(path).map_err(|source| ClientError::Kubeconfig {
                            path: path.clone(),
                            source,
                        })?;
                    merged = Some(match merged {
                        None => file,
                        Some(before) => before.merge(file).map_err(ClientError::Merge)?,
                    });
                }
                Config::from_custom_kubeconfig(
                    merged.unwrap_or_default(),
                    &KubeConfigOptions::default(),
                )
                .await
                .map_err(ClientError::Merge)?
            }
            ClusterConfig::InCluster => Config::incluster().map_err(ClientError::InCluster)?,
        };
        config.default_retry = false;
        config.connect_timeout = Some(API_TIMEOUT);
        let client = Client::try_from(config).map_err(ClientError::Client)?;
        Ok(Cluster {
            api: Api::namespaced(client, namespace),
            namespace: namespace.into(),
        })
    }

    /// The Jobs drifttap created for `model`.
    pub async fn list_model(&self, model: &str) -> Result<Vec<Job>, ApiFailure> {
        let params = ListParams::default().labels(&model_selector(model));
        let list = within_timeout(self.api.list(&params)).await?;
        Ok(list.items)
    }

    /// Creates `job`; a 409 means it exists.
    pub async fn create(&self, job: &Job) -> Result<Created, ApiFailure> {
        match within_timeout(self.api.create(&PostParams::default(), job)).await {
            Ok(_) => Ok(Created::Created),
            Err(failure) if failure.code == Some(409) => Ok(Created::Exists),
            Err(failure) => Err(failure),
        }
    }

    /// Whether the API server answers: a list of at most one Job in the namespace (which
    /// the retrainer's Role allows).
    pub async fn probe(&self) -> Result<(), ApiFailure> {
        within_timeout(self.api.list(&ListParams::default().limit(1)))
            .await
            .map(|_| ())
    }
}

async fn within_timeout<T>(
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, ApiFailure> {
    match tokio::time::timeout(API_TIMEOUT, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ApiFailure::from_error(&error)),
        Err(_) => Err(ApiFailure::timeout()),
    }
}

/// Whether a Job is still running: it has no `Complete` or `Failed` condition that is true.
pub fn is_active(job: &Job) -> bool {
    let finished = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| matches!(c.type_.as_str(), "Complete" | "Failed") && c.status == "True")
        });
    !finished
}

/// A failed API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// A code from [`ApiFailure::REASONS`], for metrics.
    pub reason: &'static str,
    /// The Kubernetes reason (`Forbidden`, `Invalid`, …), or what went wrong before an answer
    /// (`ConnectionError`, `Timeout`).
    pub kubernetes_reason: String,
    pub message: String,
    /// The HTTP status, when the API server answered.
    pub code: Option<u16>,
}

impl ApiFailure {
    /// Every [`ApiFailure::reason`].
    pub const REASONS: [&'static str; 13] = [
        "connect",
        "timeout",
        "too_many_requests",
        "internal_error",
        "service_unavailable",
        "server_timeout",
        "unauthorized",
        "forbidden",
        "not_found",
        "invalid",
        "bad_request",
        "other",
        "invalid_response",
    ];

    fn timeout() -> ApiFailure {
        ApiFailure {
            reason: "timeout",
            kubernetes_reason: "Timeout".into(),
            message: format!("no answer within {API_TIMEOUT:?}"),
            code: None,
        }
    }

    /// Classifies a kube-rs error.
    pub fn from_error(error: &kube::Error) -> ApiFailure {
        match error {
            kube::Error::Api(status) => {
                let reason = match (status.reason.as_str(), status.code) {
                    ("TooManyRequests", _) | (_, 429) => "too_many_requests",
                    ("ServiceUnavailable", _) | (_, 503) => "service_unavailable",
                    ("ServerTimeout" | "Timeout", _) | (_, 504) => "server_timeout",
                    ("InternalError", _) | (_, 500..=599) => "internal_error",
                    ("Unauthorized", _) | (_, 401) => "unauthorized",
                    ("Forbidden", _) | (_, 403) => "forbidden",
                    ("NotFound", _) | (_, 404) => "not_found",
                    ("Invalid", _) | (_, 422) => "invalid",
                    ("BadRequest", _) | (_, 400) => "bad_request",
                    _ => "other",
                };
                // A body that was not a Status gets kube's placeholder reason; say what the
                // HTTP status says instead.
                let kubernetes_reason =
                    if status.reason.is_empty() || status.reason == "Failed to parse error data" {
                        http::StatusCode::from_u16(status.code)
                            .ok()
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("Unknown")
                            .replace(' ', "")
                    } else {
                        status.reason.clone()
                    };
                ApiFailure {
                    reason,
                    kubernetes_reason,
                    message: status.message.clone(),
                    code: (status.code != 0).then_some(status.code),
                }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => ApiFailure {
                reason: "connect",
                kubernetes_reason: "ConnectionError".into(),
                message: error_chain(error),
                code: None,
            },
            kube::Error::SerdeError(_) | kube::Error::FromUtf8(_) => ApiFailure {
                reason: "invalid_response",
                kubernetes_reason: "InvalidResponse".into(),
                message: error_chain(error),
                code: None,
            },
            _ => ApiFailure {
                reason: "other",
                kubernetes_reason: "ClientError".into(),
                message: error_chain(error),
                code: None,
            },
        }
    }

    /// Whether retrying may help: no answer, 429, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self.code {
            Some(code) => code == 429 || code >= 500,
            None => matches!(self.reason, "connect" | "timeout"),
        }
    }

    /// Whether the API server is reachable after this failure: it answered, and not with a
    /// 5xx.
    pub fn api_reachable(&self) -> bool {
        self.code.is_some_and(|code| code < 500)
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} ({code}): {}", self.kubernetes_reason, self.message),
            None => write!(f, "{}: {}", self.kubernetes_reason, self.message),
        }
    }
}

/// An error and its sources, `: `-separated (hyper's connection errors say little at the top).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
    use kube::core::Status;

    fn api_error(code: u16, reason: &str) -> ApiFailure {
        let status = Status::failure("no", reason).with_code(code);
        ApiFailure::from_error(&kube::Error::Api(status.boxed()))
    }

    #[test]
    fn api_errors_are_classified_by_reason_and_code() {
        let forbidden = api_error(403, "Forbidden");
        assert_eq!(forbidden.reason, "forbidden");
        assert_eq!(forbidden.kubernetes_reason, "Forbidden");
        assert!(!forbidden.is_transient());
        assert!(forbidden.api_reachable());
        let invalid = api_error(422, "Invalid");
        assert_eq!((invalid.reason, invalid.is_transient()), ("invalid", false));
        let throttled = api_error(429, "TooManyRequests");
        assert!(throttled.is_transient() && throttled.api_reachable());
        let unavailable = api_error(503, "ServiceUnavailable");
        assert!(unavailable.is_transient() && !unavailable.api_reachable());
        // A proxy's plain-text 502: kube's placeholder reason is replaced by the HTTP one.
        let proxy = api_error(502, "Failed to parse error data");
        assert_eq!(proxy.reason, "internal_error");
        assert_eq!(proxy.kubernetes_reason, "BadGateway");
        assert!(proxy.is_transient());
        assert_eq!(api_error(418, "").reason, "other");
        for failure in [
            forbidden,
            invalid,
            throttled,
            unavailable,
            proxy,
            ApiFailure::timeout(),
        ] {
            assert!(ApiFailure::REASONS.contains(&failure.reason));
        }
        assert!(ApiFailure::timeout().is_transient());
        assert!(!ApiFailure::timeout().api_reachable());
    }

    #[test]
    fn a_job_is_active_until_it_completes_or_fails() {
        let with = |type_: &str, status: &str| Job {
            status: Some(JobStatus {
                conditions: Some(vec![JobCondition {
                    type_: type_.into(),
                    status: status.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(is_active(&Job::default()));
        assert!(is_active(&with("Suspended", "True")));
        assert!(is_active(&with("Complete", "False")));
        assert!(!is_active(&with("Complete", "True")));
        assert!(!is_active(&with("Failed", "True")));
    }
}
