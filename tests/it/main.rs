//! Integration tests, one binary (link once).

mod baseline;
mod check;
mod credit_example;
mod e2e;
mod fake_kube;
mod harness;
mod k8s;
mod monitoring;
mod retrainer;
mod rules;
mod serve;
mod sidecar;
mod tap;
mod webhook;
