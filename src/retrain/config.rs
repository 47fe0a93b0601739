//! `retrainer`'s configuration: flags, then `DRIFTTAP_RETRAINER_*` environment variables, then
//! defaults; the Job template and the secret read and checked; every problem reported at once.
//! The environment is read through a lookup function, so tests never touch the process's.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::protocol::secret::read_secret;
use crate::retrain::cluster::ClusterConfig;
use crate::retrain::job::{JobTemplate, is_dns_label};
use crate::settings::{ConfigError, parse_duration};

/// Default `--listen`: the notifications (`/v1/drift`, `/v1/alertmanager`).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Default `--admin`: `/metrics`, `/healthz`, `/readyz`, apart from the notifications so a
/// flood of them never starves the probes.
pub const DEFAULT_ADMIN: &str = "0.0.0.0:9091";
/// Default `--shutdown-grace`: in-flight notifications wait at most one API timeout per
/// request (two requests each), well inside Kubernetes' default 30 s termination grace.
pub const DEFAULT_SHUTDOWN_GRACE: &str = "15s";
/// Default `--probe-interval`: how often `/readyz` re-checks the API server.
pub const DEFAULT_PROBE_INTERVAL: &str = "10s";
/// Default `--retry-max-backoff`: the longest wait between two attempts at a pending Job.
pub const DEFAULT_RETRY_MAX_BACKOFF: &str = "30s";
/// The environment variable kube clients read kubeconfig files from (a path list).
pub const KUBECONFIG_ENV: &str = "KUBECONFIG";

/// The largest notification body read: 1 MiB. drifttap's payload lists the drifting features
/// (a few hundred bytes each) and Alertmanager's is capped by `max_alerts`; a larger body is
/// refused (413) before it is parsed.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What the command line sets (`None` or `false` where a flag was not given); the binary's
/// flags convert into it, so this module knows nothing of how they are parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetrainerOverrides {
    /// `--listen`: the notifications' address.
    pub listen: Option<String>,
    /// `--admin`: `/metrics`, `/healthz` and `/readyz`.
    pub admin: Option<String>,
    /// `--namespace`: where the Jobs are created.
    pub namespace: Option<String>,
    /// `--job-template`: the `batch/v1` Job retraining Jobs are built from.
    pub job_template: Option<String>,
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--secret-file`: the shared secret.
    pub secret_file: Option<String>,
    /// `--dry-run`: print each Job instead of creating it.
    pub dry_run: bool,
    /// `--shutdown-grace`.
    pub shutdown_grace: Option<String>,
    /// `--probe-interval`.
    pub probe_interval: Option<String>,
    /// `--retry-max-backoff`.
    pub retry_max_backoff: Option<String>,
}

/// Where a flag's environment variable lands.
type EnvField = fn(&mut RetrainerOverrides) -> &mut Option<String>;

/// Each flag's environment variable (`--kubeconfig` falls back to `KUBECONFIG` instead).
pub const ENV: [(&str, EnvField); 8] = [
    ("DRIFTTAP_RETRAINER_LISTEN", |a| &mut a.listen),
    ("DRIFTTAP_RETRAINER_ADMIN", |a| &mut a.admin),
    ("DRIFTTAP_RETRAINER_NAMESPACE", |a| &mut a.namespace),
    ("DRIFTTAP_RETRAINER_JOB_TEMPLATE", |a| &mut a.job_template),
    ("DRIFTTAP_RETRAINER_SECRET_FILE", |a| &mut a.secret_file),
    ("DRIFTTAP_RETRAINER_SHUTDOWN_GRACE", |a| {
        &mut a.shutdown_grace
    }),
    ("DRIFTTAP_RETRAINER_PROBE_INTERVAL", |a| {
        &mut a.probe_interval
    }),
    ("DRIFTTAP_RETRAINER_RETRY_MAX_BACKOFF", |a| {
        &mut a.retry_max_backoff
    }),
];
/// `--dry-run`'s environment variable: `true` or `false`.
pub const DRY_RUN_ENV: &str = "DRIFTTAP_RETRAINER_DRY_RUN";

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct RetrainerConfig {
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    pub namespace: String,
    pub template: JobTemplate,
    /// The shared secret: the drifttap webhook's HMAC key and Alertmanager's bearer token.
    pub secret: Vec<u8>,
    /// `None` with `--dry-run`: nothing is sent to a cluster.
    pub cluster: Option<ClusterConfig>,
    pub shutdown_grace: Duration,
    pub probe_interval: Duration,
    pub retry_max_backoff: Duration,
    pub max_body_bytes: usize,
}

impl RetrainerConfig {
    /// Resolves `flags` over the environment (`env`) and the defaults, reads the template and
    /// the secret, and collects every problem.
    pub fn resolve(
        flags: &RetrainerOverrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RetrainerConfig, ConfigError> {
        let mut args = flags.clone();
        for (name, field) in ENV {
            let slot = field(&mut args);
            if slot.is_none() {
                *slot = env(name);
            }
        }
        let mut problems = Vec::new();
        let dry_run = flags.dry_run
            || match env(DRY_RUN_ENV).as_deref() {
                None | Some("false" | "0" | "") => false,
                Some("true" | "1") => true,
                Some(other) => {
                    problems.push(format!("{DRY_RUN_ENV}: `{other}` is not `true` or `false`"));
                    false
                }
            };
        let mut address = |what: &str, value: Option<String>, default: &str| {
            let value = value.unwrap_or_else(|| default.into());
            value
                .parse::<SocketAddr>()
                .map_err(|e| problems.push(format!("{what}: `{value}` is not an address ({e})")))
                .ok()
        };
        let listen = address("--listen", args.listen.clone(), DEFAULT_LISTEN);
        let admin = address("--admin", args.admin.clone(), DEFAULT_ADMIN);
        let mut duration = |what: &str, value: Option<String>, default: &str| {
            let value = value.unwrap_or_else(|| default.into());
            match parse_duration(&value) {
                Ok(d) if d.is_zero() => {
                    problems.push(format!("{what}: must be more than zero"));
                    None
                }
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(format!("{what}: {e}"));
                    None
                }
            }
        };
        let shutdown_grace = duration(
            "--shutdown-grace",
            args.shutdown_grace.clone(),
            DEFAULT_SHUTDOWN_GRACE,
        );
        let probe_interval = duration(
            "--probe-interval",
            args.probe_interval.clone(),
            DEFAULT_PROBE_INTERVAL,
        );
        let retry_max_backoff = duration(
            "--retry-max-backoff",
            args.retry_max_backoff.clone(),
            DEFAULT_RETRY_MAX_BACKOFF,
        );
        let namespace = match args.namespace.clone() {
            Some(ns) if is_dns_label(&ns) => Some(ns),
            Some(ns) => {
                problems.push(format!(
                    "--namespace: `{ns}` is not a namespace name (lower-case letters, digits and `-`, at most 63)"
                ));
                None
            }
            None => {
                problems.push(
                    "--namespace: required (or DRIFTTAP_RETRAINER_NAMESPACE): where the Jobs are created".into(),
                );
                None
            }
        };
        let template = match args.job_template.as_deref() {
            Some(path) => JobTemplate::read(path.as_ref())
                .map_err(|e| problems.push(format!("--job-template: {e}")))
                .ok(),
            None => {
                problems.push(
                    "--job-template: required (or DRIFTTAP_RETRAINER_JOB_TEMPLATE): the batch/v1 Job to build from".into(),
                );
                None
            }
        };
        let secret = match args.secret_file.as_deref() {
            // The same reading as the sender's (surrounding whitespace is not part of it), so
            // both sides sign with the same bytes.
            Some(path) => read_secret(std::path::Path::new(path))
                .map_err(|e| problems.push(format!("--secret-file: {e}")))
                .ok(),
            None => {
                problems.push(
                    "--secret-file: required (or DRIFTTAP_RETRAINER_SECRET_FILE): the shared secret of the webhook and of Alertmanager's bearer token".into(),
                );
                None
            }
        };
        let cluster = if dry_run {
            None
        } else if let Some(path) = &args.kubeconfig {
            Some(ClusterConfig::Kubeconfig(vec![path.clone()]))
        } else {
            let paths: Vec<PathBuf> = env(KUBECONFIG_ENV)
                .map(|list| {
                    std::env::split_paths(&list)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default();
            Some(if paths.is_empty() {
                ClusterConfig::InCluster
            } else {
                ClusterConfig::Kubeconfig(paths)
            })
        };
        match (
            listen,
            admin,
            namespace,
            template,
            secret,
            shutdown_grace,
            probe_interval,
            retry_max_backoff,
        ) {
            (
                Some(listen),
                Some(admin),
                Some(namespace),
                Some(template),
                Some(secret),
                Some(shutdown_grace),
                Some(probe_interval),
                Some(retry_max_backoff),
            ) if problems.is_empty() => Ok(RetrainerConfig {
                listen,
                admin,
                namespace,
                template,
                secret,
                cluster,
                shutdown_grace,
                probe_interval,
                retry_max_backoff,
                max_body_bytes: MAX_BODY_BYTES,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/k8s/retrain-job.yaml");

    fn secret_file(tag: &str, text: &str) -> String {
        let path = std::env::temp_dir().join(format!(
            "drifttap-retrainer-secret-{tag}-{}",
            std::process::id()
        ));
        std::fs::write(&path, text).expect("temp file");
        path.display().to_string()
    }

    fn args() -> RetrainerOverrides {
        RetrainerOverrides {
            namespace: Some("ml".into()),
            job_template: Some(TEMPLATE.into()),
            ..Default::default()
        }
    }

    #[test]
    fn flags_win_over_the_environment_and_defaults_fill_the_rest() {
        let secret = secret_file("ok", "s3cret\n");
        let env = |name: &str| match name {
            "DRIFTTAP_RETRAINER_SECRET_FILE" => Some(secret.clone()),
            "DRIFTTAP_RETRAINER_NAMESPACE" => Some("ignored".into()),
            "DRIFTTAP_RETRAINER_LISTEN" => Some("127.0.0.1:9000".into()),
            "KUBECONFIG" => Some("/a/config:/b/config".into()),
            _ => None,
        };
        let config = RetrainerConfig::resolve(&args(), &env).expect("valid");
        assert_eq!(config.namespace, "ml");
        assert_eq!(config.listen, "127.0.0.1:9000".parse().expect("address"));
        assert_eq!(config.admin, DEFAULT_ADMIN.parse().expect("address"));
        assert_eq!(config.secret, b"s3cret");
        assert_eq!(config.shutdown_grace, Duration::from_secs(15));
        assert_eq!(
            config.cluster,
            Some(ClusterConfig::Kubeconfig(vec![
                "/a/config".into(),
                "/b/config".into()
            ]))
        );
        let in_cluster = RetrainerConfig::resolve(&args(), &|name: &str| {
            (name == "DRIFTTAP_RETRAINER_SECRET_FILE").then(|| secret.clone())
        })
        .expect("valid");
        assert_eq!(in_cluster.cluster, Some(ClusterConfig::InCluster));
        let dry = RetrainerConfig::resolve(&args(), &|name: &str| match name {
            "DRIFTTAP_RETRAINER_SECRET_FILE" => Some(secret.clone()),
            "DRIFTTAP_RETRAINER_DRY_RUN" => Some("true".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(dry.cluster, None);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let empty = secret_file("empty", " \n");
        let flags = RetrainerOverrides {
            listen: Some("localhost".into()),
            namespace: Some("ML_Team".into()),
            job_template: Some("/no/such/template.yaml".into()),
            secret_file: Some(empty),
            probe_interval: Some("0s".into()),
            retry_max_backoff: Some("soon".into()),
            ..Default::default()
        };
        let env = |name: &str| (name == DRY_RUN_ENV).then(|| "yes".to_string());
        let problems = RetrainerConfig::resolve(&flags, &env)
            .expect_err("invalid")
            .problems;
        let starts = [
            "DRIFTTAP_RETRAINER_DRY_RUN",
            "--listen",
            "--probe-interval",
            "--retry-max-backoff",
            "--namespace",
            "--job-template: /no/such/template.yaml",
            "--secret-file",
        ];
        assert_eq!(problems.len(), starts.len(), "{problems:#?}");
        for (problem, start) in problems.iter().zip(starts) {
            assert!(problem.starts_with(start), "{problem}");
        }
    }
}
