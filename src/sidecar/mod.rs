//! `drifttap serve`: the sidecar assembled — the tap, the ingest API, the feed, the engine and
//! the admin server around one [`Shared`] state — and its lifecycle: readiness once the
//! listeners are bound, hot reload of the baseline (SIGHUP or a change of its files), and a
//! graceful stop (SIGTERM: unready, stop accepting, drain in-flight requests within the grace
//! period, stop the threads).
//!
//! - [`config`]: the configuration (YAML, environment, flags), validated all at once.
//! - [`state`]: what the servers and the engine share, and readiness.
//! - [`tap`]: the reverse proxy in front of the model that forwards unchanged and observes.
//! - [`ingest`]: the observation queue, the ingest API, the payload decoders and the feed.
//! - [`window`]: bounded ring buffers of recent feature values, and their snapshots.
//! - [`engine`]: the evaluation loop on its own thread: snapshot, evaluate, decide, publish.
//! - [`metrics`]: every Prometheus metric `serve` exports, with closed label sets.
//! - [`admin`]: `/metrics`, `/healthz`, `/readyz`, `/v1/status`, on their own listener.
//! - [`notify`]: the retraining webhook's sender: a bounded queue, retries, a cooldown.

pub mod admin;
pub mod config;
pub mod engine;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod state;
pub mod tap;
pub mod window;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::baseline::compile::{Baseline, BuildOptions, DEFAULT_MMD_ROWS};
use crate::baseline::open::{OpenError, open};
use crate::detect::Transition;
pub use crate::http::BindError;
use crate::http::bind;
use crate::sidecar::admin::Admin;
use crate::sidecar::config::Config;
use crate::sidecar::engine::Engine;
use crate::sidecar::ingest::feed;
use crate::sidecar::ingest::queue::{Bounds, bounded};
use crate::sidecar::ingest::server::Ingest;
use crate::sidecar::metrics::{ClosedSets, Metrics, ModelLabels};
use crate::sidecar::notify::{NotifyError, Pod};
use crate::sidecar::state::{Component, HealthBounds, Shared};
use crate::sidecar::tap::Tap;
use crate::stats::Compute;

/// The closed label sets the subsystems define, for [`Metrics::initialise`].
pub const CLOSED_SETS: ClosedSets<'static> = ClosedSets {
    decode_errors: &ingest::decode::DecodeError::REASONS,
    upstream_errors: &tap::UPSTREAM_ERROR_REASONS,
    webhook_outcomes: &notify::OUTCOMES,
};

/// Why the baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(
        "{path}: columns, exclude, numeric and categorical apply to a Parquet baseline; a compiled baseline's features were fixed by `drifttap baseline build`",
        path = .0.display()
    )]
    SelectionOnCompiled(PathBuf),
}

/// Loads the configured baseline: a compiled one as it is, Parquet compiled with the
/// configured selection (and the default MMD sample).
pub fn load_baseline(config: &Config) -> Result<Baseline, LoadError> {
    let compute = Compute::detect().with_threads(config.evaluation.threads);
    let options = BuildOptions {
        mmd_rows: if config.evaluation.mmd {
            DEFAULT_MMD_ROWS
        } else {
            0
        },
        seed: 0,
    };
    let opened = open(&config.baseline, &config.selection, &options, &compute)?;
    if opened.compiled && config.selection != Default::default() {
        return Err(LoadError::SelectionOnCompiled(config.baseline.clone()));
    }
    Ok(opened.baseline)
}

/// Why [`run`] could not start the sidecar. Whatever had started is stopped again first.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The webhook's secret or CA file cannot be used.
    #[error("webhook: {0}")]
    Webhook(#[from] NotifyError),
    /// The operating system refused a thread (out of memory or of its thread limit).
    #[error("cannot start the {} thread: {source}", .component.as_str())]
    Thread {
        component: Component,
        #[source]
        source: std::io::Error,
    },
}

/// Starts `body` on the thread `drifttap-{component}` from `builder`, scheduled below the
/// request workers, holding `component`'s heartbeat alive until `body` returns or panics.
fn start_thread(
    builder: std::thread::Builder,
    component: Component,
    shared: Arc<Shared>,
    body: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, RunError> {
    let name = format!("drifttap-{}", component.as_str());
    builder
        .name(name.clone())
        .spawn(move || {
            let _alive = shared.heartbeats.alive(component);
            yield_to_forwarding(&name);
            body();
        })
        .map_err(|source| RunError::Thread { component, source })
}

/// The sidecar's listeners, bound before anything is served (so a port in use fails the start
/// and tests can bind port 0).
#[derive(Debug)]
pub struct Listeners {
    pub admin: TcpListener,
    pub ingest: Option<TcpListener>,
    pub tap: Option<TcpListener>,
}

impl Listeners {
    /// Binds every configured address; the error names the one that failed.
    pub async fn bind(config: &Config) -> Result<Listeners, BindError> {
        Ok(Listeners {
            admin: bind("admin", config.admin).await?,
            ingest: match config.listen {
                Some(address) => Some(bind("ingest", address).await?),
                None => None,
            },
            tap: match &config.tap {
                Some(tap) => Some(bind("tap", tap.listen).await?),
                None => None,
            },
        })
    }

    /// The bound addresses: (`admin`, `ingest`, `tap`) with what is listening.
    pub fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut out = Vec::new();
        for (what, listener) in [
            ("admin", Some(&self.admin)),
            ("ingest", self.ingest.as_ref()),
            ("tap", self.tap.as_ref()),
        ] {
            if let Some(address) = listener.and_then(|l| l.local_addr().ok()) {
                out.push((what, address));
            }
        }
        out
    }
}

/// Runs the sidecar until `shutdown` resolves; `reload` asks for the baseline to be reloaded
/// now. Returns once the servers have drained and the threads have stopped; an error when the
/// webhook's secret or CA file cannot be used or a thread cannot be started (nothing is
/// served then, and what had started is stopped).
pub async fn run(
    config: Config,
    baseline: Baseline,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
    reload: Arc<Notify>,
) -> Result<(), RunError> {
    let compute = Compute::detect().with_threads(config.evaluation.threads);
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry, compute.backend.name());
    metrics.initialise(&config.model, &CLOSED_SETS);
    let shared = Arc::new(Shared::for_config(&config, baseline, metrics));
    let metrics = Arc::new(shared.metrics.clone());
    let bounds = Bounds {
        items: config.queue_capacity,
        bytes: config.queue_max_bytes,
    };
    let (observer, receiver) = bounded(bounds, config.model.clone(), metrics.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let (notifier_stop, notifier_stopped) = watch::channel(false);
    let notifier = match &config.webhook {
        Some(webhook) => {
            let mut stopped = notifier_stopped;
            let (notifier, task) =
                notify::start(webhook, &config.model, (*metrics).clone(), async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })?;
            tracing::info!(url = %webhook.url, "retraining webhook on");
            Some((notifier, task))
        }
        None => None,
    };
    let (notifier, notifier_task) = notifier.unzip();

    // The notifier's task, stopped when the sidecar does not start after all.
    let stop_notifier = |task: Option<tokio::task::JoinHandle<()>>| async move {
        let _ = notifier_stop.send(true);
        if let Some(task) = task {
            let _ = task.await;
        }
    };
    let feed_thread = {
        let observe_responses = config.tap.as_ref().is_some_and(|t| t.observe_responses);
        let sample_to = config.sampling.then(|| {
            crate::sidecar::ingest::sampling::target_rows_per_second(
                &config.window,
                config.evaluation.interval,
            )
        });
        let (for_feed, stop) = (shared.clone(), stop.clone());
        start_thread(
            std::thread::Builder::new(),
            Component::Feed,
            shared.clone(),
            move || feed::run(&for_feed, &receiver, observe_responses, sample_to, &stop),
        )
    };
    let feed_thread = match feed_thread {
        Ok(thread) => thread,
        Err(error) => {
            stop_notifier(notifier_task).await;
            return Err(error);
        }
    };
    let engine_thread = {
        let engine = Engine::new(shared.clone(), config.evaluation.clone(), config.policy);
        let stop = stop.clone();
        let model = config.model.clone();
        let pod = Pod::from_env(&|name| std::env::var(name).ok());
        start_thread(
            std::thread::Builder::new(),
            Component::Engine,
            shared.clone(),
            move || {
                engine.run(&stop, |transition, evaluation| {
                    if let (Transition::Model { drifting: true }, Some(notifier)) =
                        (transition, &notifier)
                    {
                        notifier.notify(notify::notification(&model, &pod, evaluation));
                    }
                })
            },
        )
    };
    let engine_thread = match engine_thread {
        Ok(thread) => thread,
        Err(error) => {
            stop.store(true, Ordering::Relaxed);
            let _ = tokio::task::spawn_blocking(move || feed_thread.join()).await;
            stop_notifier(notifier_task).await;
            return Err(error);
        }
    };

    for (what, address) in listeners.addresses() {
        tracing::info!(server = what, %address, "listening");
    }
    tracing::info!(
        model = %config.model,
        baseline = %config.baseline.display(),
        version = %shared.baseline().version,
        features = shared.baseline().features.len(),
        backend = compute.backend.name(),
        "serving"
    );
    shared.listening.store(true, Ordering::Release);

    // Data servers stop on `data_stop`; the admin server stays up while they drain, so
    // `/readyz` reports the drain and `/metrics` can still be scraped.
    let (data_stop, data_stopped) = watch::channel(false);
    let (admin_stop, admin_stopped) = watch::channel(false);
    let signal = |mut receiver: watch::Receiver<bool>| async move {
        let _ = receiver.wait_for(|stopped| *stopped).await;
    };
    let grace = config.shutdown_grace;
    let admin = Admin {
        shared: shared.clone(),
        registry: Arc::new(registry),
        health: HealthBounds::new(config.evaluation.interval, feed::IDLE_POLL),
    };
    let admission = |what| {
        let stats = metrics.listener(&config.model, what);
        crate::http::Admission::new(what, config.limits, stats)
    };
    let admin_server = tokio::spawn(crate::http::serve(
        listeners.admin,
        admission("admin"),
        move |request| admin.clone().handle(request),
        signal(admin_stopped),
        grace,
    ));
    let mut data_servers = Vec::new();
    if let Some(listener) = listeners.ingest {
        let ingest = Ingest {
            observer: observer.clone(),
            max_body_bytes: config.max_body_bytes,
        };
        data_servers.push(tokio::spawn(crate::http::serve(
            listener,
            admission("ingest"),
            move |request| ingest.clone().handle(request),
            signal(data_stopped.clone()),
            grace,
        )));
    }
    if let (Some(listener), Some(tap_config)) = (listeners.tap, &config.tap) {
        let stats = metrics.listener(&config.model, "tap");
        let admission = crate::http::Admission::new("tap", tap_config.limits, stats);
        let tap = Tap::new(tap_config, config.model.clone(), observer.clone(), metrics);
        data_servers.push(tokio::spawn(crate::sidecar::tap::serve(
            listener,
            admission,
            tap,
            signal(data_stopped.clone()),
            grace,
        )));
    }
    drop(observer);
    let reloader = tokio::spawn(watch_baseline(
        config.clone(),
        shared.clone(),
        reload,
        signal(data_stopped.clone()),
    ));

    shutdown.await;
    tracing::info!(?grace, "stopping: draining in-flight requests");
    shared.listening.store(false, Ordering::Release);
    let _ = data_stop.send(true);
    for server in data_servers {
        let _ = server.await;
    }
    let _ = reloader.await;
    let _ = admin_stop.send(true);
    let _ = admin_server.await;
    stop.store(true, Ordering::Relaxed);
    // Both threads look at the flag at least every 100 ms.
    let _ = tokio::task::spawn_blocking(move || {
        let _ = feed_thread.join();
        let _ = engine_thread.join();
    })
    .await;
    // After the engine: its last evaluation may still have queued an episode.
    stop_notifier(notifier_task).await;
    tracing::info!("stopped");
    Ok(())
}

/// Reloads the baseline on `reload` and whenever its files change (polled every
/// `baseline_poll`), until `stop`. A baseline that fails to load is counted and logged, and the
/// one in use stays.
async fn watch_baseline(
    config: Config,
    shared: Arc<Shared>,
    reload: Arc<Notify>,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    let path = config.baseline.clone();
    let mut seen = fingerprint(&path);
    let poll = config.baseline_poll;
    loop {
        let asked = tokio::select! {
            () = &mut stop => return,
            () = reload.notified() => true,
            () = sleep_or_never(poll) => false,
        };
        let now = fingerprint(&path);
        if !asked && now == seen {
            continue;
        }
        seen = now;
        let for_load = config.clone();
        let loaded = tokio::task::spawn_blocking(move || load_baseline(&for_load)).await;
        match loaded {
            Ok(Ok(baseline)) => {
                let version = baseline.version.clone();
                if version == shared.baseline().version {
                    tracing::info!(%version, "baseline unchanged");
                    continue;
                }
                shared.replace_baseline(baseline, config.window);
                tracing::info!(%version, "baseline reloaded");
            }
            Ok(Err(error)) => {
                shared
                    .metrics
                    .baseline_load_errors
                    .get_or_create(&ModelLabels {
                        model: shared.model.clone(),
                    })
                    .inc();
                tracing::error!(%error, "baseline reload failed; the previous baseline stays in use");
            }
            Err(join) => tracing::error!(error = %join, "baseline reload panicked"),
        }
    }
}

async fn sleep_or_never(period: Option<Duration>) {
    match period {
        Some(period) => tokio::time::sleep(period).await,
        None => std::future::pending().await,
    }
}

/// What changes when a baseline's files are replaced: for every file (a compiled baseline's
/// manifest, the Parquet file, or each file of a directory) its path, length and modification
/// time. Kubernetes updates a mounted ConfigMap or volume by swapping a symlink, which this
/// follows.
fn fingerprint(path: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let manifest = path.join(crate::baseline::store::MANIFEST);
    let mut out = Vec::new();
    let mut stack = vec![if manifest.is_file() {
        manifest
    } else {
        path.to_path_buf()
    }];
    while let Some(p) = stack.pop() {
        match std::fs::metadata(&p) {
            Ok(meta) if meta.is_dir() => {
                if let Ok(entries) = std::fs::read_dir(&p) {
                    stack.extend(entries.flatten().map(|e| e.path()));
                }
            }
            Ok(meta) => out.push((p, meta.len(), meta.modified().ok())),
            Err(_) => out.push((p, 0, None)),
        }
    }
    out.sort();
    out
}

/// Schedules the calling thread (and the threads it starts) below the request workers, with
/// Linux's `SCHED_IDLE`: it runs on the CPU time the workers leave and is preempted the moment
/// one wakes (a niced thread would keep the CPU for its time slice). When the sidecar's CPU is
/// contended, forwarding keeps it: requests keep their latency, the observation queue drops
/// payloads instead (counted as `queue_full`) and evaluations take longer. Elsewhere the
/// thread keeps its priority.
fn yield_to_forwarding(thread: &str) {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        if let Err(e) = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        ) {
            tracing::warn!(thread, error = ?e, "cannot lower the thread's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = thread;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sidecar::state::tests::shared;

    #[test]
    fn a_thread_that_cannot_start_is_an_error_naming_it_and_its_cause() {
        // An exbibyte of stack: no 64-bit address space maps it, so the thread is refused.
        let builder = std::thread::Builder::new().stack_size(1 << 60);
        let error =
            start_thread(builder, Component::Engine, shared(), || {}).expect_err("no such stack");
        assert!(
            matches!(
                error,
                RunError::Thread {
                    component: Component::Engine,
                    ..
                }
            ),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.starts_with("cannot start the engine thread: ") && text.len() > 33,
            "{text}"
        );
    }

    #[test]
    fn a_started_thread_that_returns_marks_its_own_heartbeat_stopped() {
        let shared = shared();
        let thread = start_thread(
            std::thread::Builder::new(),
            Component::Feed,
            shared.clone(),
            || {},
        )
        .expect("starts");
        thread.join().expect("returns");
        assert!(shared.heartbeats.stopped(Component::Feed));
        assert!(!shared.heartbeats.stopped(Component::Engine));
    }
}
