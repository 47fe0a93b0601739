//! Alertmanager's webhook message (version 4) and the drift episodes in it. Pure.
//!
//! Only firing alerts labelled `drifttap_retrain="true"` with a `model` label count (drifttap's
//! `DrifttapModelDrift` carries both); a resolved notification, and every other alert, asks for
//! nothing. A group gives one episode per distinct model. The episode's key has the shape of
//! [`episode_key`]: SHA-256 over the model, `alertmanager/<fingerprint>` and the Unix second
//! the alert started, so Alertmanager's repeated notifications of a firing alert (every
//! `repeat_interval`, and after its own restarts) map to the same Job, and an alert that
//! resolves and fires again is a new episode.

use std::collections::BTreeMap;

use crate::protocol::webhook::episode_key;
use crate::retrain::job::{Episode, Source};

/// The only message version Alertmanager has sent since 0.8.
pub const VERSION: &str = "4";
/// The label an alert must carry, with value `true`, to ask for retraining.
pub const RETRAIN_LABEL: &str = "drifttap_retrain";
/// The label naming the model.
pub const MODEL_LABEL: &str = "model";
/// The label naming a feature, on per-feature alerts.
pub const FEATURE_LABEL: &str = "feature";

/// A webhook message. Fields Alertmanager adds later are ignored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub version: String,
    #[serde(default)]
    pub group_key: String,
    /// How many alerts `max_alerts` left out.
    #[serde(default)]
    pub truncated_alerts: u64,
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL", default)]
    pub external_url: String,
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// One alert of a message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

/// Why a body is not a message this receiver reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("not an Alertmanager webhook message: {0}")]
    InvalidJson(String),
    #[error("Alertmanager webhook version {0:?}; this receiver reads version \"4\"")]
    UnsupportedVersion(String),
}

impl MessageError {
    /// A closed-set code for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            MessageError::InvalidJson(_) => "invalid_json",
            MessageError::UnsupportedVersion(_) => "unsupported_version",
        }
    }
}

/// Parses a webhook body.
pub fn parse(body: &[u8]) -> Result<Message, MessageError> {
    let message: Message =
        serde_json::from_slice(body).map_err(|e| MessageError::InvalidJson(e.to_string()))?;
    if message.version != VERSION {
        return Err(MessageError::UnsupportedVersion(message.version));
    }
    Ok(message)
}

impl Alert {
    fn asks_for_retraining(&self) -> Option<&str> {
        let model = self.labels.get(MODEL_LABEL)?;
        (self.status == "firing"
            && self.labels.get(RETRAIN_LABEL).map(String::as_str) == Some("true")
            && !model.is_empty())
        .then_some(model.as_str())
    }
}

/// The drift episodes a message asks to retrain for: none when the group is resolved; else
/// one per model among its firing retrain alerts (with a valid `startsAt`), in model order.
/// An episode starts with its model's earliest alert (ties: the smallest fingerprint), whose
/// fingerprint and start make the key; its payload is the message narrowed to that model's
/// alerts, and its features are their `feature` labels.
pub fn episodes(message: &Message) -> Vec<Episode> {
    if message.status != "firing" {
        return Vec::new();
    }
    let mut by_model: BTreeMap<&str, Vec<(u64, &Alert)>> = BTreeMap::new();
    for alert in &message.alerts {
        if let (Some(model), Some(started)) =
            (alert.asks_for_retraining(), unix_seconds(&alert.starts_at))
        {
            by_model.entry(model).or_default().push((started, alert));
        }
    }
    by_model
        .into_iter()
        .map(|(model, mut alerts)| {
            alerts
                .sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.fingerprint.cmp(&y.fingerprint)));
            let (started, first) = alerts[0];
            let key = episode_key(
                model,
                &format!("alertmanager/{}", first.fingerprint),
                started,
            );
            let mut features: Vec<String> = alerts
                .iter()
                .filter_map(|(_, a)| a.labels.get(FEATURE_LABEL).cloned())
                .collect();
            features.sort();
            features.dedup();
            let narrowed = Message {
                alerts: alerts.iter().map(|(_, a)| (*a).clone()).collect(),
                ..message.clone()
            };
            Episode {
                key,
                model: model.to_string(),
                source: Source::Alertmanager,
                baseline_version: None,
                drifting_features: features,
                payload: serde_json::to_string(&narrowed).expect("a message serialises"),
            }
        })
        .collect()
}

/// Seconds since the Unix epoch of an RFC 3339 time (`2025-11-24T16:00:00.123456789Z`, or
/// with an offset such as `+01:00`), fractions dropped; `None` when it is not one or is before
/// 1970.
pub fn unix_seconds(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let digits = text.get(from..from + len)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if bytes.len() < 20
        || separators.iter().any(|&(at, sep)| bytes[at] != sep)
        || !matches!(bytes[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let (h, m) = (number_in(rest, 1)?, number_in(rest, 4)?);
            sign * (h * 3600 + m * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}

fn number_in(text: &str, from: usize) -> Option<i64> {
    let digits = text.get(from..from + 2)?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())?
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message as Alertmanager 0.25 sends it for drifttap's `DrifttapModelDrift`.
    fn message(status: &str, alerts: &[(&str, &str, &str, &str)]) -> Message {
        let alerts: Vec<serde_json::Value> = alerts
            .iter()
            .map(|(status, model, starts_at, fingerprint)| {
                serde_json::json!({
                    "status": status,
                    "labels": {"alertname": "DrifttapModelDrift", "model": model,
                               "drifttap_retrain": "true", "severity": "critical"},
                    "annotations": {"summary": "drift"},
                    "startsAt": starts_at,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
                    "fingerprint": fingerprint,
                })
            })
            .collect();
        let body = serde_json::json!({
            "version": "4",
            "groupKey": "{}/{drifttap_retrain=\"true\"}:{alertname=\"DrifttapModelDrift\"}",
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "drifttap-retrainer",
            "groupLabels": {"alertname": "DrifttapModelDrift"},
            "commonLabels": {"alertname": "DrifttapModelDrift"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
            "future_field": {"ignored": true},
        });
        parse(body.to_string().as_bytes()).expect("a valid message")
    }

    const T0: &str = "2025-11-24T16:00:00.123456789Z";

    #[test]
    fn a_firing_drift_alert_is_one_episode_with_a_stable_key() {
        let m = message("firing", &[("firing", "credit", T0, "a1b2")]);
        let found = episodes(&m);
        assert_eq!(found.len(), 1);
        let e = &found[0];
        assert_eq!(e.model, "credit");
        assert_eq!(e.source, Source::Alertmanager);
        assert_eq!(
            e.key,
            episode_key("credit", "alertmanager/a1b2", 1_764_000_000)
        );
        // Alertmanager repeats the notification: same episode.
        assert_eq!(episodes(&m), found);
        let payload: Message = serde_json::from_str(&e.payload).expect("payload is a message");
        assert_eq!(payload.alerts.len(), 1);
        assert_eq!(payload.receiver, "drifttap-retrainer");
        // The alert fired again after resolving: a new episode.
        let again = message(
            "firing",
            &[("firing", "credit", "2025-11-25T09:00:00Z", "a1b2")],
        );
        assert_ne!(episodes(&again)[0].key, e.key);
    }

    #[test]
    fn resolved_notifications_and_resolved_alerts_ask_for_nothing() {
        assert!(episodes(&message("resolved", &[("resolved", "credit", T0, "a")])).is_empty());
        let mixed = message(
            "firing",
            &[
                ("resolved", "credit", T0, "a"),
                ("firing", "fraud", T0, "b"),
            ],
        );
        let found = episodes(&mixed);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].model, "fraud");
    }

    #[test]
    fn alerts_without_the_retrain_label_or_a_model_are_ignored() {
        let mut m = message(
            "firing",
            &[
                ("firing", "credit", T0, "a"),
                ("firing", "fraud", T0, "b"),
                ("firing", "", T0, "c"),
            ],
        );
        m.alerts[0]
            .labels
            .insert(RETRAIN_LABEL.into(), "false".into());
        m.alerts[1].labels.remove(RETRAIN_LABEL);
        assert!(episodes(&m).is_empty());
        let mut no_model = message("firing", &[("firing", "credit", T0, "a")]);
        no_model.alerts[0].labels.remove(MODEL_LABEL);
        assert!(episodes(&no_model).is_empty());
        let bad_time = message("firing", &[("firing", "credit", "yesterday", "a")]);
        assert!(episodes(&bad_time).is_empty());
    }

    #[test]
    fn a_group_gives_one_episode_per_model_started_by_its_earliest_alert() {
        let mut m = message(
            "firing",
            &[
                ("firing", "fraud", T0, "f1"),
                ("firing", "credit", "2025-11-24T17:00:00Z", "c2"),
                ("firing", "credit", T0, "c1"),
            ],
        );
        m.alerts[1]
            .labels
            .insert(FEATURE_LABEL.into(), "income".into());
        m.alerts[2]
            .labels
            .insert(FEATURE_LABEL.into(), "age".into());
        let found = episodes(&m);
        let models: Vec<&str> = found.iter().map(|e| e.model.as_str()).collect();
        assert_eq!(models, ["credit", "fraud"]);
        assert_eq!(
            found[0].key,
            episode_key("credit", "alertmanager/c1", 1_764_000_000)
        );
        assert_eq!(found[0].drifting_features, ["age", "income"]);
        let payload: Message = serde_json::from_str(&found[0].payload).expect("message");
        assert_eq!(payload.alerts.len(), 2);
        assert!(payload.alerts.iter().all(|a| a.labels["model"] == "credit"));
    }

    #[test]
    fn other_versions_and_non_json_are_refused_with_a_reason() {
        let v3 = br#"{"version":"3","status":"firing","alerts":[]}"#;
        assert_eq!(
            parse(v3).map(|_| ()),
            Err(MessageError::UnsupportedVersion("3".into()))
        );
        assert_eq!(parse(b"{").map_err(|e| e.reason()), Err("invalid_json"));
    }

    #[test]
    fn rfc3339_times_convert_to_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2025-11-24T16:00:00Z"), Some(1_764_000_000));
        assert_eq!(unix_seconds(T0), Some(1_764_000_000));
        assert_eq!(
            unix_seconds("2025-11-24T17:00:00+01:00"),
            Some(1_764_000_000)
        );
        assert_eq!(
            unix_seconds("2025-11-24T15:30:00-00:30"),
            Some(1_764_000_000)
        );
        // 2000 was a leap year: 29 February exists.
        assert_eq!(unix_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        for bad in [
            "",
            "2025-11-24",
            "2025-13-01T00:00:00Z",
            "2025-11-24T16:00:00",
            "2025-11-24T16:00:00.Z",
            "1969-12-31T23:59:59Z",
            "2025-11-24T16:00:00+0100",
            "0001-01-01T00:00:00Z",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad:?}");
        }
    }
}
