//! The retraining Job, built from a template the user edits: the template's parsing and
//! checks, the drift episode it is built for, the deterministic Job name, and the labels,
//! annotations, environment and defaults drifttap adds. Pure: no I/O but reading the template.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, EnvVar};
use sha2::{Digest, Sha256};

use crate::protocol::webhook::DriftNotification;

/// Label on every Job and pod drifttap creates, and in the list selector.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const MANAGED_BY: &str = "drifttap";
/// Label holding the model's name as a label value ([`label_value`]).
pub const MODEL_LABEL: &str = "drifttap.dev/model";
/// Label holding the episode's idempotency key as a label value.
pub const EPISODE_LABEL: &str = "drifttap.dev/episode";
/// Annotations with the exact model name and key (labels may have had to shorten them).
pub const MODEL_ANNOTATION: &str = "drifttap.dev/model";
pub const KEY_ANNOTATION: &str = "drifttap.dev/idempotency-key";
/// Annotation naming where the notification came from (`drift`, `alertmanager`).
pub const SOURCE_ANNOTATION: &str = "drifttap.dev/source";

/// `ttlSecondsAfterFinished` when the template has none: seven days. A finished Job is what
/// makes a repeated notification of its episode a no-op (the name is taken), so it must outlive
/// the episode's re-notifications (Alertmanager repeats a firing alert every
/// `repeat_interval`); a week covers any sensible interval and still cleans up.
pub const DEFAULT_TTL_SECONDS_AFTER_FINISHED: i32 = 7 * 24 * 3600;
/// `backoffLimit` when the template has none: one retry of a failed pod. A training run that
/// fails twice on the same data needs a person, not a third GPU-hour.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 1;
/// `activeDeadlineSeconds` when the template has none: 12 hours, so a hung run does not hold
/// a GPU forever.
pub const DEFAULT_ACTIVE_DEADLINE_SECONDS: i64 = 12 * 3600;

/// The longest name or label value Kubernetes accepts (a Job's name becomes its pods'
/// `job-name` label, so it is held to a label's length, not a resource name's 253).
pub const MAX_NAME: usize = 63;
/// Hex digits of the key's hash in a Job name: 40 bits, so two episodes of one model collide
/// with a chance of about one in a trillion.
const NAME_HASH_HEX: usize = 10;
/// The Job name's prefix.
const NAME_PREFIX: &str = "retrain-";

/// Where a notification came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// drifttap's own webhook (`POST /v1/drift`).
    Drift,
    /// Alertmanager's webhook (`POST /v1/alertmanager`).
    Alertmanager,
}

impl Source {
    pub const ALL: [Source; 2] = [Source::Drift, Source::Alertmanager];

    /// The `source` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Drift => "drift",
            Source::Alertmanager => "alertmanager",
        }
    }
}

/// One drift episode of one model: what a retraining Job is created for, once.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The idempotency key (`drift-` and 32 hex digits); the Job's name derives from it.
    pub key: String,
    pub model: String,
    pub source: Source,
    /// The baseline's content hash, when the notification names it.
    pub baseline_version: Option<String>,
    /// The drifting features, when the notification names them.
    pub drifting_features: Vec<String>,
    /// The notification as JSON (for Alertmanager, narrowed to this model's alerts).
    pub payload: String,
}

impl Episode {
    /// The episode of a verified drifttap notification.
    pub fn from_notification(notification: &DriftNotification) -> Episode {
        Episode {
            key: notification.idempotency_key.clone(),
            model: notification.model.clone(),
            source: Source::Drift,
            baseline_version: Some(notification.baseline.version.clone()),
            drifting_features: notification
                .features
                .iter()
                .map(|f| f.name.clone())
                .collect(),
            payload: serde_json::to_string(notification)
                .expect("a notification serialises (it was just deserialised)"),
        }
    }
}

/// Why a Job template cannot be used: the file, the field (when one is at fault) and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{problem}", .field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct TemplateError {
    pub file: String,
    pub field: Option<String>,
    pub problem: String,
}

/// A checked `batch/v1` Job to build retraining Jobs from.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTemplate {
    pub job: Job,
    /// Where it was read from, for messages.
    pub file: String,
}

impl JobTemplate {
    /// Reads and checks the template at `path`.
    pub fn read(path: &Path) -> Result<JobTemplate, TemplateError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError {
            file: file.clone(),
            field: None,
            problem: format!("cannot read the Job template: {e}"),
        })?;
        JobTemplate::from_yaml(&text, &file)
    }

    /// Parses and checks a template; `file` names it in errors. It must be a `batch/v1` Job
    /// with at least one container, each with an image, and a pod `restartPolicy` of `Never`
    /// or `OnFailure` (`Never` when unset; a Job's pods cannot be `Always`). Fields that a
    /// Job does not have are refused rather than silently dropped (a typo such as `imagePullPolcy`
    /// would otherwise vanish). `metadata.name`, `generateName`, `namespace` and `status` are
    /// replaced for each Job.
    pub fn from_yaml(text: &str, file: &str) -> Result<JobTemplate, TemplateError> {
        let problem = |field: Option<&str>, problem: String| TemplateError {
            file: file.into(),
            field: field.map(Into::into),
            problem,
        };
        let value: serde_json::Value = serde_saphyr::from_str(text)
            .map_err(|e| problem(None, format!("not a YAML document: {e}")))?;
        if !value.is_object() {
            return Err(problem(None, "must be a YAML mapping (a Job)".into()));
        }
        for (field, expected) in [("apiVersion", "batch/v1"), ("kind", "Job")] {
            if value[field] != expected {
                return Err(problem(
                    Some(field),
                    format!("must be `{expected}`, got {}", value[field]),
                ));
            }
        }
        let mut job: Job = serde_saphyr::from_str(text)
            .map_err(|e| problem(None, format!("not a valid Job: {e}")))?;
        let read_back = serde_json::to_value(&job).expect("a Job serialises");
        if let Some(path) = dropped_field(&value, &read_back, String::new()) {
            return Err(problem(
                Some(&path),
                "not a field of a batch/v1 Job (misspelt or misplaced?)".into(),
            ));
        }
        let pod = job
            .spec
            .as_mut()
            .and_then(|spec| spec.template.spec.as_mut())
            .ok_or_else(|| problem(Some("spec.template.spec"), "required".into()))?;
        if pod.containers.is_empty() {
            return Err(problem(
                Some("spec.template.spec.containers"),
                "needs at least one container".into(),
            ));
        }
        for (i, container) in pod.containers.iter().enumerate() {
            if container.image.as_deref().is_none_or(str::is_empty) {
                return Err(problem(
                    Some(&format!("spec.template.spec.containers[{i}].image")),
                    "required".into(),
                ));
            }
        }
        match pod.restart_policy.as_deref() {
            None => pod.restart_policy = Some("Never".into()),
            Some("Never" | "OnFailure") => {}
            Some(other) => {
                return Err(problem(
                    Some("spec.template.spec.restartPolicy"),
                    format!("must be `Never` or `OnFailure` for a Job, got `{other}`"),
                ));
            }
        }
        Ok(JobTemplate {
            job,
            file: file.into(),
        })
    }
}

/// The first key of `given` (a JSON path such as `spec.template.spec.containers[0].imag`)
/// that `read_back` lacks: a field the typed Job has no place for. Null values are skipped
/// (YAML `key:` with nothing after it means "unset").
fn dropped_field(
    given: &serde_json::Value,
    read_back: &serde_json::Value,
    path: String,
) -> Option<String> {
    use serde_json::Value;
    match (given, read_back) {
        (Value::Object(given), Value::Object(read_back)) => {
            given.iter().find_map(|(key, value)| {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match read_back.get(key) {
                    None if !value.is_null() => Some(here),
                    None => None,
                    Some(back) => dropped_field(value, back, here),
                }
            })
        }
        (Value::Array(given), Value::Array(read_back)) => given
            .iter()
            .zip(read_back)
            .enumerate()
            .find_map(|(i, (g, b))| dropped_field(g, b, format!("{path}[{i}]"))),
        _ => None,
    }
}

/// The Job name of an episode: `retrain-`, the model's name made DNS-safe and cut to fit,
/// `-`, and 10 hex digits of SHA-256 over the idempotency key. At most 63 characters, a valid
/// DNS-1123 label, and the same for the same key, so a repeated notification asks for a Job
/// that already exists.
pub fn job_name(model: &str, key: &str) -> String {
    let hash = hex_sha256(key.as_bytes());
    let room = MAX_NAME - NAME_PREFIX.len() - 1 - NAME_HASH_HEX;
    let mut stem = String::with_capacity(model.len());
    for c in model.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            stem.push(c);
        } else if !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let mut stem = stem.trim_matches('-').to_string();
    stem.truncate(room);
    let stem = stem.trim_end_matches('-');
    let stem = if stem.is_empty() { "model" } else { stem };
    format!("{NAME_PREFIX}{stem}-{}", &hash[..NAME_HASH_HEX])
}

/// `value` as a Kubernetes label value: itself when it is one (at most 63 characters of
/// letters, digits, `-`, `_`, `.`, beginning and ending with a letter or digit); otherwise
/// the allowed characters kept, the others replaced by `-`, cut short and followed by 8 hex
/// digits of its SHA-256, so that two different values never share a label.
pub fn label_value(value: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let valid = is_label_value(value);
    if valid {
        return value.to_string();
    }
    let hash = hex_sha256(value.as_bytes());
    let mut kept: String = value
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .collect();
    kept.truncate(MAX_NAME - 1 - 8);
    let kept = kept.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if kept.is_empty() {
        hash[..8].to_string()
    } else {
        format!("{kept}-{}", &hash[..8])
    }
}

/// Whether `value` is a valid Kubernetes label value: empty, or at most 63 letters, digits,
/// `-`, `_` and `.`, beginning and ending with a letter or digit.
pub fn is_label_value(value: &str) -> bool {
    let ends_ok = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    value.len() <= MAX_NAME
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && ends_ok(value.chars().next())
        && ends_ok(value.chars().last())
}

/// Whether `name` is a DNS-1123 label (a Job's or a namespace's name): 1 to 63 lower-case
/// letters, digits and `-`, beginning and ending with a letter or digit.
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The label selector of the Jobs drifttap created for `model`.
pub fn model_selector(model: &str) -> String {
    format!(
        "{MODEL_LABEL}={},{MANAGED_BY_LABEL}={MANAGED_BY}",
        label_value(model)
    )
}

/// The environment variables drifttap gives every container, in this order (so the template's
/// own variables, commands and arguments can refer to them as `$(DRIFTTAP_MODEL)`).
pub const ENV_VARS: [&str; 6] = [
    "DRIFTTAP_MODEL",
    "DRIFTTAP_EPISODE",
    "DRIFTTAP_SOURCE",
    "DRIFTTAP_BASELINE_VERSION",
    "DRIFTTAP_DRIFTING_FEATURES",
    "DRIFTTAP_PAYLOAD",
];

fn episode_env(episode: &Episode) -> Vec<EnvVar> {
    let values = [
        episode.model.clone(),
        episode.key.clone(),
        episode.source.as_str().to_string(),
        episode.baseline_version.clone().unwrap_or_default(),
        episode.drifting_features.join(","),
        episode.payload.clone(),
    ];
    ENV_VARS
        .iter()
        .zip(values)
        .map(|(name, value)| EnvVar {
            name: (*name).to_string(),
            value: Some(value),
            value_from: None,
        })
        .collect()
}

/// The Job for `episode` in `namespace`: the template with its deterministic name, drifttap's
/// labels (on the Job and its pods) and annotations, the episode's environment in front of
/// every container's and init container's own (a template variable of the same name is
/// replaced), and `ttlSecondsAfterFinished`, `backoffLimit` and `activeDeadlineSeconds` where
/// the template leaves them unset (the template's values win).
pub fn build_job(template: &JobTemplate, episode: &Episode, namespace: &str) -> Job {
    let mut job = template.job.clone();
    job.status = None;
    let labels = [
        (MANAGED_BY_LABEL, MANAGED_BY.to_string()),
        (MODEL_LABEL, label_value(&episode.model)),
        (EPISODE_LABEL, label_value(&episode.key)),
    ];
    let annotations = [
        (MODEL_ANNOTATION, episode.model.clone()),
        (KEY_ANNOTATION, episode.key.clone()),
        (SOURCE_ANNOTATION, episode.source.as_str().to_string()),
    ];
    let meta = &mut job.metadata;
    meta.name = Some(job_name(&episode.model, &episode.key));
    meta.generate_name = None;
    meta.namespace = Some(namespace.into());
    meta.resource_version = None;
    meta.uid = None;
    insert(&mut meta.labels, &labels);
    insert(&mut meta.annotations, &annotations);

    let spec = job.spec.get_or_insert_with(JobSpec::default);
    spec.ttl_seconds_after_finished
        .get_or_insert(DEFAULT_TTL_SECONDS_AFTER_FINISHED);
    spec.backoff_limit.get_or_insert(DEFAULT_BACKOFF_LIMIT);
    spec.active_deadline_seconds
        .get_or_insert(DEFAULT_ACTIVE_DEADLINE_SECONDS);
    let pod_meta = spec.template.metadata.get_or_insert_with(Default::default);
    insert(&mut pod_meta.labels, &labels);
    insert(&mut pod_meta.annotations, &annotations);
    let env = episode_env(episode);
    if let Some(pod) = spec.template.spec.as_mut() {
        let init = pod.init_containers.iter_mut().flatten();
        for container in pod.containers.iter_mut().chain(init) {
            prepend_env(container, &env);
        }
    }
    job
}

fn insert(map: &mut Option<BTreeMap<String, String>>, entries: &[(&str, String)]) {
    let map = map.get_or_insert_with(BTreeMap::new);
    for (key, value) in entries {
        map.insert((*key).to_string(), value.clone());
    }
}

fn prepend_env(container: &mut Container, env: &[EnvVar]) {
    let own = container.env.take().unwrap_or_default();
    let mut merged = env.to_vec();
    merged.extend(
        own.into_iter()
            .filter(|v| !ENV_VARS.contains(&v.name.as_str())),
    );
    container.env = Some(merged);
}

fn hex_sha256(bytes: &[u8]) -> String {
    crate::protocol::webhook::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests;
