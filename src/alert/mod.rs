//! Alerting: the Prometheus alert rules for drifttap's metrics, and the retraining webhook.
//!
//! - [`rules`]: the rules built from the configuration's thresholds, as a rule file or a
//!   prometheus-operator `PrometheusRule`.
//! - [`webhook`]: the retraining webhook's payload, episode key and signature, shared by the
//!   sender and the receiver.
//! - [`notify`]: the sender in `serve`: a bounded queue, retries with backoff, a cooldown.
//! - [`secret`]: the shared secret, read from a file the same way on both sides.

pub mod notify;
pub mod rules;
pub mod secret;
pub mod webhook;
