//! Integration tests, one binary (link once).

/// The binary's command line, compiled into the tests so they can parse manifests' `args`.
#[path = "../../src/bin/drifttap/cli.rs"]
#[allow(dead_code, reason = "the tests use the parsing, not every conversion")]
mod cli;

mod baseline;
mod calibration;
mod check;
mod conformance;
mod credit_example;
mod e2e;
mod fake_kube;
mod grpc;
mod harness;
mod health;
mod k8s;
mod layering;
mod monitoring;
mod retrainer;
mod rules;
mod serve;
mod sidecar;
mod tap;
mod tap_limits;
mod webhook;
mod websocket;
