//! `drifttap serve` at the binary's edge: configuration from the file, the environment and the
//! flags; the baseline; the listeners; the runtime and the signals.

use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::ServeArgs;
use drifttap::sidecar::config::{CONFIG_ENV, Overrides, RawConfig};
use drifttap::sidecar::{Listeners, RunError, load_baseline, run};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

use super::{EXIT_BASELINE, EXIT_CONFIG};

pub fn run_serve(args: &ServeArgs) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let raw = match args
        .config
        .clone()
        .or_else(|| env(CONFIG_ENV).map(Into::into))
    {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) => match RawConfig::from_yaml(&text, &path.display().to_string()) {
                Ok(raw) => raw,
                Err(e) => return config_error(&e.to_string()),
            },
            Err(e) => return config_error(&format!("cannot read {}: {e}", path.display())),
        },
        None => RawConfig::default(),
    };
    let config = match raw.resolve(Overrides::from_env(Overrides::from(args), &env)) {
        Ok(config) => config,
        Err(e) => return config_error(&e.to_string()),
    };
    let baseline = match load_baseline(&config) {
        Ok(baseline) => baseline,
        Err(e) => {
            eprintln!("drifttap serve: baseline: {e}");
            return ExitCode::from(EXIT_BASELINE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("drifttap-io")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("drifttap serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listeners = match Listeners::bind(&config).await {
            Ok(listeners) => listeners,
            Err(e) => {
                eprintln!("drifttap serve: {e}");
                return ExitCode::FAILURE;
            }
        };
        let handlers = signal(SignalKind::terminate()).and_then(|t| {
            Ok((
                t,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
            ))
        });
        let (mut terminate, mut interrupt, mut hangup) = match handlers {
            Ok(handlers) => handlers,
            Err(e) => {
                eprintln!("drifttap serve: cannot install signal handlers: {e}");
                return ExitCode::FAILURE;
            }
        };
        let reload = Arc::new(Notify::new());
        let on_hangup = reload.clone();
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the baseline");
                on_hangup.notify_one();
            }
        });
        let shutdown = async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM"),
                _ = interrupt.recv() => tracing::info!("SIGINT"),
            }
        };
        match run(config, baseline, listeners, shutdown, reload).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ RunError::Webhook(_)) => config_error(&e.to_string()),
            Err(e @ RunError::Thread { .. }) => {
                eprintln!("drifttap serve: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn config_error(message: &str) -> ExitCode {
    eprintln!("drifttap serve: {message}");
    ExitCode::from(EXIT_CONFIG)
}
