//! The retraining webhook's contract: the versioned JSON payload a sidecar sends when a
//! model's drift verdict turns on, the drift episode's idempotency key, and the signature
//! (HMAC-SHA256 of the body with a shared secret, plus a timestamp against replay) that the
//! receiver checks. `alerts/webhook-payload.schema.json` is the payload's JSON Schema.
//!
//! Pure: no I/O. The sender and the receiver share these functions.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::data::Kind;
use crate::evaluate::Test;

/// The payload's `version`; a receiver rejects versions it does not know.
pub const PAYLOAD_VERSION: &str = "drifttap.webhook/v1";

/// Header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "x-drifttap-signature";
/// Header carrying the Unix time (seconds) the body was signed at; the body's `sent_at` holds
/// the same value, so the signature covers it.
pub const TIMESTAMP_HEADER: &str = "x-drifttap-timestamp";
/// How far a timestamp may be from the receiver's clock before a request is refused as a
/// replay (or a badly skewed clock). Five minutes, as common webhook senders use.
pub const TIMESTAMP_TOLERANCE_SECS: u64 = 300;

/// What a drift notification says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftNotification {
    /// [`PAYLOAD_VERSION`].
    pub version: String,
    /// Identifies the drift episode; the same for every retry and every replica's view of the
    /// same episode start, so a receiver acts once per key.
    pub idempotency_key: String,
    pub model: String,
    /// The pod's namespace and name (Kubernetes downward API), when known.
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub baseline: BaselineRef,
    pub window: WindowSpan,
    /// Unix time (seconds) the model's verdict turned drifting.
    pub drift_started_at: u64,
    /// Unix time (seconds) this body was signed; equals the timestamp header.
    pub sent_at: u64,
    /// The features that drift, with their statistics.
    pub features: Vec<DriftingFeature>,
    /// The multivariate MMD test, when it ran.
    pub multivariate: Option<MultivariateResult>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineRef {
    /// The baseline's content hash (`sha256:…`).
    pub version: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpan {
    /// Samples in the evaluated window.
    pub samples: usize,
    /// Unix times (seconds) of its oldest and newest sample.
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftingFeature {
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: Kind,
    /// `ks`, `chi2`, or `none` for a feature without values in the window.
    pub test: Test,
    /// The distribution test's statistic and p-value (`null` with test `none`).
    pub statistic: Option<f64>,
    pub p_value: Option<f64>,
    pub wasserstein_normed: Option<f64>,
    pub psi: Option<f64>,
    pub jensen_shannon: Option<f64>,
    /// The missing shares of the baseline and of the window.
    #[serde(default)]
    pub missing_reference: f64,
    #[serde(default)]
    pub missing_current: f64,
    /// Fisher's exact test of the missing share (`null` when neither side misses a value).
    #[serde(default)]
    pub missing_p_value: Option<f64>,
    /// Whether the missing share drifts (in the evaluation that turned the verdict on).
    #[serde(default)]
    pub missing_drift: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultivariateResult {
    /// `mmd`.
    pub test: Test,
    /// MMD².
    pub statistic: f64,
    pub p_value: f64,
    pub sigma: f64,
    pub permutations: usize,
    pub drift: bool,
}

/// The idempotency key of a drift episode: `drift-` and 32 hex digits of SHA-256 over the
/// model, the baseline version and the Unix second the episode started. Deterministic, so a
/// retry, a restart that resumes the episode, or a second replica reporting the same start
/// gives the same key; short and lower-case, so a Job name can derive from it.
pub fn episode_key(model: &str, baseline_version: &str, started_at: u64) -> String {
    let mut hash = Sha256::new();
    for part in [model.as_bytes(), baseline_version.as_bytes()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(started_at.to_be_bytes());
    let digest = hash.finalize();
    format!("drift-{}", hex(&digest[..16]))
}

/// The signature header's value for `body`: `sha256=` and the hex HMAC-SHA256.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex(&mac(secret, body).finalize().into_bytes()))
}

/// Why a notification was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no {SIGNATURE_HEADER} header")]
    MissingSignature,
    #[error("the {SIGNATURE_HEADER} header is not `sha256=<64 hex digits>`")]
    MalformedSignature,
    #[error("the signature does not match the body and secret")]
    WrongSignature,
    #[error("no valid {TIMESTAMP_HEADER} header")]
    MissingTimestamp,
    #[error("the timestamp is more than {TIMESTAMP_TOLERANCE_SECS} s from the receiver's clock")]
    StaleTimestamp,
    #[error("the body is not a {PAYLOAD_VERSION} payload")]
    InvalidPayload,
    #[error("the body's sent_at differs from the timestamp header")]
    TimestampMismatch,
}

impl VerifyError {
    /// A closed-set code for metrics.
    pub fn reason(self) -> &'static str {
        match self {
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::MalformedSignature => "malformed_signature",
            VerifyError::WrongSignature => "wrong_signature",
            VerifyError::MissingTimestamp => "missing_timestamp",
            VerifyError::StaleTimestamp => "stale_timestamp",
            VerifyError::InvalidPayload => "invalid_payload",
            VerifyError::TimestampMismatch => "timestamp_mismatch",
        }
    }
}

/// Checks a received notification: the signature (in constant time) over the body, then the
/// timestamp against `now` (Unix seconds), then the payload, whose `sent_at` must equal the
/// timestamp. Returns the payload.
pub fn verify(
    secret: &[u8],
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: u64,
) -> Result<DriftNotification, VerifyError> {
    let signature = signature.ok_or(VerifyError::MissingSignature)?;
    let given = signature
        .strip_prefix("sha256=")
        .and_then(unhex)
        .filter(|bytes| bytes.len() == 32)
        .ok_or(VerifyError::MalformedSignature)?;
    mac(secret, body)
        .verify_slice(&given)
        .map_err(|_| VerifyError::WrongSignature)?;
    let timestamp: u64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(VerifyError::MissingTimestamp)?;
    if now.abs_diff(timestamp) > TIMESTAMP_TOLERANCE_SECS {
        return Err(VerifyError::StaleTimestamp);
    }
    let payload: DriftNotification =
        serde_json::from_slice(body).map_err(|_| VerifyError::InvalidPayload)?;
    if payload.version != PAYLOAD_VERSION {
        return Err(VerifyError::InvalidPayload);
    }
    if payload.sent_at != timestamp {
        return Err(VerifyError::TimestampMismatch);
    }
    Ok(payload)
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(sent_at: u64) -> DriftNotification {
        DriftNotification {
            version: PAYLOAD_VERSION.into(),
            idempotency_key: episode_key("credit", "sha256:4be02faf7d2a1475", 1_764_000_000),
            model: "credit".into(),
            namespace: Some("credit".into()),
            pod: Some("credit-7d9f-abcde".into()),
            baseline: BaselineRef {
                version: "sha256:4be02faf7d2a1475".into(),
                path: "/baselines/credit".into(),
            },
            window: WindowSpan {
                samples: 5000,
                start: 1_763_999_000,
                end: 1_764_000_000,
            },
            drift_started_at: 1_764_000_000,
            sent_at,
            features: vec![DriftingFeature {
                name: "annual_income".into(),
                kind: crate::data::Kind::Numeric,
                test: crate::evaluate::Test::Ks,
                statistic: Some(0.107),
                p_value: Some(1.3e-45),
                wasserstein_normed: Some(0.254),
                psi: Some(0.065),
                jensen_shannon: Some(0.108),
                missing_reference: 0.0,
                missing_current: 0.0,
                missing_p_value: None,
                missing_drift: false,
            }],
            multivariate: Some(MultivariateResult {
                test: crate::evaluate::Test::Mmd,
                statistic: 0.0065,
                p_value: 0.0,
                sigma: 2.87,
                permutations: 100,
                drift: true,
            }),
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signed_payload_verifies_and_anything_else_is_refused() {
        let now = 1_764_000_100;
        let body = serde_json::to_vec(&payload(now)).expect("serialises");
        let signature = sign(b"s3cret", &body);
        let ts = now.to_string();
        assert_eq!(
            verify(b"s3cret", Some(&signature), Some(&ts), &body, now + 10),
            Ok(payload(now))
        );
        let check = |secret: &[u8], sig: Option<&str>, ts: Option<&str>, body: &[u8], at: u64| {
            verify(secret, sig, ts, body, at).map(|_| ())
        };
        assert_eq!(
            check(b"s3cret", None, Some(&ts), &body, now),
            Err(VerifyError::MissingSignature)
        );
        assert_eq!(
            check(b"s3cret", Some("md5=00"), Some(&ts), &body, now),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            check(b"wrong", Some(&signature), Some(&ts), &body, now),
            Err(VerifyError::WrongSignature)
        );
        let mut tampered = body.clone();
        let at = tampered.iter().position(|b| *b == b'5').expect("a digit");
        tampered[at] = b'6';
        assert_eq!(
            check(b"s3cret", Some(&signature), Some(&ts), &tampered, now),
            Err(VerifyError::WrongSignature)
        );
        assert_eq!(
            check(b"s3cret", Some(&signature), None, &body, now),
            Err(VerifyError::MissingTimestamp)
        );
        assert_eq!(
            check(b"s3cret", Some(&signature), Some(&ts), &body, now + 301),
            Err(VerifyError::StaleTimestamp)
        );
        // A replay with a fresh timestamp header: the signed body still says when it was sent.
        let later = (now + 600).to_string();
        assert_eq!(
            check(b"s3cret", Some(&signature), Some(&later), &body, now + 600),
            Err(VerifyError::TimestampMismatch)
        );
    }

    #[test]
    fn episode_keys_are_deterministic_and_name_safe() {
        let key = episode_key("credit", "sha256:4be02faf7d2a1475", 1_764_000_000);
        assert_eq!(
            key,
            episode_key("credit", "sha256:4be02faf7d2a1475", 1_764_000_000)
        );
        assert_ne!(
            key,
            episode_key("credit", "sha256:4be02faf7d2a1475", 1_764_000_001)
        );
        assert_ne!(
            key,
            episode_key("credi", "tsha256:4be02faf7d2a1475", 1_764_000_000)
        );
        assert_eq!(key.len(), "drift-".len() + 32);
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }

    #[test]
    fn the_json_schema_lists_every_field() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../alerts/webhook-payload.schema.json"))
                .expect("valid JSON");
        let body = serde_json::to_value(payload(1)).expect("serialises");
        let fields = |v: &serde_json::Value| {
            let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(fields(&schema["properties"]), fields(&body));
        let mut required: Vec<String> = schema["required"]
            .as_array()
            .expect("required")
            .iter()
            .map(|v| v.as_str().expect("name").to_string())
            .collect();
        required.sort();
        assert_eq!(required, fields(&body));
        for (name, nested) in [
            ("baseline", "baseline"),
            ("window", "window"),
            ("features", "feature"),
            ("multivariate", "multivariate"),
        ] {
            let value = match &body[name] {
                serde_json::Value::Array(items) => items[0].clone(),
                other => other.clone(),
            };
            assert_eq!(
                fields(&schema["$defs"][nested]["properties"]),
                fields(&value),
                "{name}"
            );
        }
        assert_eq!(schema["properties"]["version"]["const"], PAYLOAD_VERSION);
    }
}
