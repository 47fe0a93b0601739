//! `drifttap retrainer`: a small service, deployed on its own, that turns drift notifications
//! into Kubernetes Jobs — exactly one per drift episode.
//!
//! It takes drifttap's signed webhook (`POST /v1/drift`) and Alertmanager's (`POST
//! /v1/alertmanager`, bearer token), builds a typed `batch/v1` Job from a template the user
//! edits, and creates it under a name derived from the episode's idempotency key, so a repeated
//! notification finds the name taken (409) and creates nothing. At most one retraining Job of a
//! model is active at a time. When the API server cannot be reached, the Job waits in a bounded
//! queue and is retried with backoff; `/readyz` says so.
//!
//! - [`job`]: pure — the template, the episode, the Job name, labels and environment.
//! - [`alertmanager`]: pure — Alertmanager's webhook message and the episodes in it.
//! - [`config`]: flags, environment and files, validated at once.
//! - [`cluster`]: the Kubernetes client and the classification of its failures.
//! - [`pending`]: the retry queue and its backoff.
//! - [`metrics`]: the `drifttap_retrainer_*` families.
//! - [`server`]: the handlers, the retry and probe loops, and the lifecycle.

pub mod alertmanager;
pub mod cluster;
pub mod config;
pub mod job;
pub mod metrics;
pub mod pending;
pub mod server;
