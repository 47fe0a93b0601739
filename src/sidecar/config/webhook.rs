//! `webhook:`: the retraining webhook.

use std::path::PathBuf;
use std::time::Duration;

use super::{format_duration, parse_duration};

/// `webhook.timeout`.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// `webhook.retry_initial_interval`.
pub const RETRY_INITIAL_INTERVAL: Duration = Duration::from_secs(1);
/// `webhook.retry_max_interval`.
pub const RETRY_MAX_INTERVAL: Duration = Duration::from_secs(60);
/// `webhook.give_up_after`.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// `webhook.cooldown`.
pub const COOLDOWN: Duration = Duration::from_secs(3600);
/// `webhook.queue_capacity`.
pub const QUEUE_CAPACITY: usize = 16;

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// Where drift notifications are POSTed, e.g.
    /// `http://drifttap-retrainer.mlops.svc:8080/v1/drift`. The webhook is off unless set.
    pub url: Option<String>,
    /// File holding the shared secret the body is signed with (HMAC-SHA256). Required with
    /// `url`. Read again before every delivery, so a rotated Kubernetes Secret takes effect
    /// without a restart; surrounding whitespace (a trailing newline) is not part of it.
    pub secret_file: Option<PathBuf>,
    /// PEM file of extra CA certificates trusted for an `https://` URL, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Time one delivery attempt may take. Default `10s`.
    pub timeout: Option<String>,
    /// The first retry's delay; each further retry doubles it, with jitter. Default `1s`.
    pub retry_initial_interval: Option<String>,
    /// The longest delay between retries. Default `1m`.
    pub retry_max_interval: Option<String>,
    /// How long an undelivered episode is retried before it is given up (and counted as
    /// `failed`). Default `24h`.
    pub give_up_after: Option<String>,
    /// After an episode is delivered, later episodes of the model are not sent for this long
    /// (counted as `suppressed`), so a flapping verdict does not start one retraining after
    /// another. Default `1h`.
    pub cooldown: Option<String>,
    /// Episodes waiting for delivery; when full, a new one is dropped (and counted). Default 16.
    pub queue_capacity: Option<usize>,
}

/// The validated webhook settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: reqwest::Url,
    pub secret_file: PathBuf,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub retry_initial_interval: Duration,
    pub retry_max_interval: Duration,
    pub give_up_after: Duration,
    pub cooldown: Duration,
    pub queue_capacity: usize,
}

impl RawWebhook {
    /// Validated, defaults filled in, `None` when no URL is set; problems are added to
    /// `problems`.
    pub(super) fn resolve(
        self,
        url: Option<String>,
        secret_file: Option<PathBuf>,
        problems: &mut Vec<String>,
    ) -> Option<WebhookConfig> {
        let url = url.or(self.url);
        let secret_file = secret_file.or(self.secret_file);
        let Some(url) = url else {
            if secret_file.is_some() {
                problems.push("webhook.secret_file: set, but webhook.url is not".into());
            }
            return None;
        };
        let url = match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(_) => {
                problems.push(format!(
                    "webhook.url: `{url}` must be an http:// or https:// URL with a host"
                ));
                None
            }
            Err(e) => {
                problems.push(format!("webhook.url: `{url}` is not a URL ({e})"));
                None
            }
        };
        if secret_file.is_none() {
            problems.push(
                "webhook.secret_file: required with webhook.url (--webhook-secret-file, DRIFTTAP_WEBHOOK_SECRET_FILE); notifications are always signed".into(),
            );
        }
        let mut positive = |name: &str, value: Option<String>, default: Duration| {
            let Some(text) = value else {
                return Some(default);
            };
            match parse_duration(&text) {
                Ok(d) if d > Duration::ZERO => Some(d),
                Ok(_) => {
                    problems.push(format!("webhook.{name}: must be more than 0, got {text}"));
                    None
                }
                Err(e) => {
                    problems.push(format!("webhook.{name}: {e}"));
                    None
                }
            }
        };
        let timeout = positive("timeout", self.timeout, TIMEOUT);
        let initial = positive(
            "retry_initial_interval",
            self.retry_initial_interval,
            RETRY_INITIAL_INTERVAL,
        );
        let max = positive(
            "retry_max_interval",
            self.retry_max_interval,
            RETRY_MAX_INTERVAL,
        );
        let give_up_after = positive("give_up_after", self.give_up_after, GIVE_UP_AFTER);
        // A zero cooldown is allowed: every episode is sent.
        let cooldown = super::duration_or(problems, "webhook.cooldown", self.cooldown, COOLDOWN);
        if let (Some(initial), Some(max)) = (initial, max)
            && initial > max
        {
            problems.push(format!(
                "webhook.retry_initial_interval ({}) is longer than webhook.retry_max_interval ({})",
                format_duration(initial),
                format_duration(max)
            ));
        }
        let queue_capacity = self.queue_capacity.unwrap_or(QUEUE_CAPACITY);
        if queue_capacity == 0 {
            problems.push("webhook.queue_capacity: must be at least 1".into());
        }
        Some(WebhookConfig {
            url: url?,
            secret_file: secret_file?,
            ca_file: self.ca_file,
            timeout: timeout?,
            retry_initial_interval: initial?,
            retry_max_interval: max?,
            give_up_after: give_up_after?,
            cooldown: cooldown?,
            queue_capacity,
        })
    }
}
