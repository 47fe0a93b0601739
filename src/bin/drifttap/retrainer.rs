//! `drifttap retrainer` at the binary's edge: configuration from the flags, the environment and
//! the files; the Kubernetes client; the listeners; the runtime and the signals.

use std::process::ExitCode;

use crate::cli::RetrainerArgs;
use drifttap::retrain::cluster::Cluster;
use drifttap::retrain::config::RetrainerConfig;
use drifttap::retrain::server::{Jobs, Listeners, run};
use tokio::signal::unix::{SignalKind, signal};

use super::EXIT_CONFIG;

pub fn run_retrainer(args: &RetrainerArgs) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let config = match RetrainerConfig::resolve(&args.into(), &env) {
        Ok(config) => config,
        Err(e) => return config_error(&e.to_string()),
    };
    // kube's client builds a rustls connector, which needs a process-wide crypto provider; a
    // second installation (none happens here) would only report that one exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("drifttap-retrainer")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("drifttap retrainer: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let jobs = match &config.cluster {
            None => Jobs::DryRun,
            Some(source) => match Cluster::connect(source, &config.namespace).await {
                Ok(cluster) => Jobs::Cluster(cluster),
                Err(e) => return config_error(&e.to_string()),
            },
        };
        let listeners = match Listeners::bind(&config).await {
            Ok(listeners) => listeners,
            Err(e) => {
                eprintln!("drifttap retrainer: {e}");
                return ExitCode::FAILURE;
            }
        };
        let (mut terminate, mut interrupt) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => (t, i),
            _ => {
                eprintln!("drifttap retrainer: cannot install signal handlers");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM"),
                _ = interrupt.recv() => tracing::info!("SIGINT"),
            }
        };
        run(config, jobs, listeners, shutdown).await;
        ExitCode::SUCCESS
    })
}

fn config_error(message: &str) -> ExitCode {
    eprintln!("drifttap retrainer: {message}");
    ExitCode::from(EXIT_CONFIG)
}
