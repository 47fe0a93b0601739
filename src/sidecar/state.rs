//! What the servers and the engine share: the window (a short mutex hold per pushed batch and
//! per snapshot), the baseline and its prepared evaluation (swapped whole on reload), the
//! latest status, the metrics, and readiness and liveness: the listeners, and the heartbeats of
//! the feed and the engine threads.
//!
//! # Heartbeats
//! The feed and the engine beat on every turn of their loops, idle waits included: the feed at
//! least every 100 ms (its idle poll) and once per payload, the engine at least every 100 ms
//! while it waits for the next interval and once per evaluation. A thread that returns or
//! panics marks its heartbeat stopped ([`Heartbeats::alive`]). [`Shared::readiness`] fails when
//! a thread has stopped or has not beaten for its [`Bound::ready`], [`Shared::liveness`] when it
//! has stopped or not beaten for its [`Bound::live`] (see [`HealthBounds`] for the values).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::baseline::compile::{Baseline, FeatureData};
use crate::sidecar::config::Config;
use crate::sidecar::metrics::{Metrics, ModelLabels};
use crate::sidecar::window::{Window, WindowConfig, WindowFeature};

/// What the servers and the engine share.
#[derive(Debug)]
pub struct Shared {
    pub model: String,
    pub baseline: RwLock<Arc<Baseline>>,
    /// Where the baseline was loaded from (shown in the status).
    pub baseline_path: String,
    pub window: Mutex<Window>,
    /// The latest evaluation, as `check`'s JSON document; `None` before the first.
    pub status: RwLock<Option<String>>,
    pub metrics: Metrics,
    /// Set once the listeners are bound; cleared when a drain starts.
    pub listening: AtomicBool,
    /// The feed's and the engine's signs of life.
    pub heartbeats: Heartbeats,
}

impl Shared {
    pub fn new(
        model: String,
        baseline: Baseline,
        baseline_path: String,
        window: WindowConfig,
        metrics: Metrics,
    ) -> Self {
        let labels = ModelLabels {
            model: model.clone(),
        };
        metrics
            .window_capacity
            .get_or_create(&labels)
            .set(window.size as i64);
        metrics.baseline(&model, &baseline.version);
        Shared {
            window: Mutex::new(Window::new(&window_features(&baseline), window)),
            baseline: RwLock::new(Arc::new(baseline)),
            baseline_path,
            model,
            status: RwLock::new(None),
            metrics,
            listening: AtomicBool::new(false),
            heartbeats: Heartbeats::new(Instant::now()),
        }
    }

    /// Whether the sidecar should get traffic at `now`: listening, and the feed and the engine
    /// beating within their [`Bound::ready`]. Every reason it should not, otherwise.
    pub fn readiness(&self, bounds: &HealthBounds, now: Instant) -> Result<(), Vec<Unhealthy>> {
        if !self.listening.load(Ordering::Acquire) {
            return Err(vec![Unhealthy::NotListening]);
        }
        self.heartbeats
            .check(now, |component| bounds.of(component).ready)
    }

    /// Whether the process is worth keeping at `now`: the feed and the engine beating within
    /// their [`Bound::live`]. While not listening (a drain, at whose end the threads stop) it
    /// is.
    pub fn liveness(&self, bounds: &HealthBounds, now: Instant) -> Result<(), Vec<Unhealthy>> {
        if !self.listening.load(Ordering::Acquire) {
            return Ok(());
        }
        self.heartbeats
            .check(now, |component| bounds.of(component).live)
    }

    /// The state `serve` starts from for `config`, with `baseline` loaded from it.
    pub fn for_config(config: &Config, baseline: Baseline, metrics: Metrics) -> Self {
        Shared::new(
            config.model.clone(),
            baseline,
            config.baseline.display().to_string(),
            config.window,
            metrics,
        )
    }

    /// The baseline in use.
    pub fn baseline(&self) -> Arc<Baseline> {
        self.baseline
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps in a new baseline. The window is kept when the features are the same; otherwise it
    /// starts empty with the new features.
    pub fn replace_baseline(&self, baseline: Baseline, window: WindowConfig) {
        let features = window_features(&baseline);
        let same = window_features(&self.baseline()) == features;
        self.metrics.baseline(&self.model, &baseline.version);
        *self
            .baseline
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(baseline);
        if !same {
            *self.lock_window() = Window::new(&features, window);
        }
    }

    /// The window, even if a thread panicked while holding it (its data stays consistent: every
    /// write is a whole row).
    pub fn lock_window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The window's features: the baseline's, in order, categorical ones seeded with the
/// baseline's categories.
pub fn window_features(baseline: &Baseline) -> Vec<WindowFeature> {
    baseline
        .features
        .iter()
        .map(|f| WindowFeature {
            name: f.name.clone(),
            kind: f.kind(),
            categories: match &f.data {
                FeatureData::Categorical { counts } => {
                    counts.iter().map(|(name, _)| name.clone()).collect()
                }
                FeatureData::Numeric { .. } => Vec::new(),
            },
        })
        .collect()
}

/// The threads whose heartbeats readiness and liveness follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The thread that decodes queued payloads into the window.
    Feed,
    /// The evaluation loop.
    Engine,
}

impl Component {
    pub const ALL: [Component; 2] = [Component::Feed, Component::Engine];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Feed => "feed",
            Component::Engine => "engine",
        }
    }
}

/// How long a thread may go without a beat before the sidecar is unready, and before it is
/// not live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub ready: Duration,
    pub live: Duration,
}

/// Each thread's [`Bound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthBounds {
    pub feed: Bound,
    pub engine: Bound,
}

/// Readiness fails after this many of a thread's periods without a beat...
pub const READY_PERIODS: u32 = 3;
/// ...and never sooner than this: both threads run under `SCHED_IDLE` and get only the CPU that
/// forwarding leaves, and an evaluation does not beat until it ends; a sidecar at its CPU limit
/// evaluated 5 to 8 times in 17 s instead of 17 (see the README's benchmarks). 30 s of no beat
/// at all is a thread that is stuck or gone, not one that is slow.
pub const READY_FLOOR: Duration = Duration::from_secs(30);
/// Liveness fails after this many times the readiness bound without a beat: readiness takes a
/// stuck pod out of its Service first, and a restart (which empties the window) comes only
/// when the thread has not recovered in the meantime.
pub const LIVE_FACTOR: u32 = 4;

impl HealthBounds {
    /// The bounds for an engine that evaluates every `eval_interval` and a feed that polls at
    /// least every `feed_period`: `ready` is [`READY_PERIODS`] periods, at least
    /// [`READY_FLOOR`]; `live` is [`LIVE_FACTOR`] times `ready`. With the defaults (a 30 s
    /// interval, the feed's 100 ms poll): the feed 30 s and 2 min, the engine 90 s and 6 min.
    pub fn new(eval_interval: Duration, feed_period: Duration) -> HealthBounds {
        let bound = |period: Duration| {
            let ready = period.saturating_mul(READY_PERIODS).max(READY_FLOOR);
            Bound {
                ready,
                live: ready.saturating_mul(LIVE_FACTOR),
            }
        };
        HealthBounds {
            feed: bound(feed_period),
            engine: bound(eval_interval),
        }
    }

    pub fn of(&self, component: Component) -> Bound {
        match component {
            Component::Feed => self.feed,
            Component::Engine => self.engine,
        }
    }
}

/// Why the sidecar is not ready, or not live.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unhealthy {
    #[error("not listening: starting, or draining after SIGTERM")]
    NotListening,
    #[error("{}: the thread has stopped", .0.as_str())]
    Stopped(Component),
    #[error(
        "{}: no heartbeat for {:.1}s (the bound is {:.0}s)",
        component.as_str(),
        silent.as_secs_f64(),
        bound.as_secs_f64()
    )]
    Stale {
        component: Component,
        silent: Duration,
        bound: Duration,
    },
}

/// One thread's sign of life.
#[derive(Debug, Default)]
struct Heartbeat {
    /// When it last beat, in nanoseconds after [`Heartbeats::epoch`] (a monotonic clock).
    last: AtomicU64,
    /// It returned or panicked.
    stopped: AtomicBool,
}

/// The feed's and the engine's heartbeats: one atomic store per beat, no lock.
#[derive(Debug)]
pub struct Heartbeats {
    epoch: Instant,
    feed: Heartbeat,
    engine: Heartbeat,
}

impl Heartbeats {
    /// Heartbeats that last beat at `epoch` (so a thread is given its bound to start).
    pub fn new(epoch: Instant) -> Heartbeats {
        Heartbeats {
            epoch,
            feed: Heartbeat::default(),
            engine: Heartbeat::default(),
        }
    }

    fn of(&self, component: Component) -> &Heartbeat {
        match component {
            Component::Feed => &self.feed,
            Component::Engine => &self.engine,
        }
    }

    /// `component` is alive now.
    pub fn beat(&self, component: Component) {
        self.beat_at(component, Instant::now());
    }

    fn beat_at(&self, component: Component, at: Instant) {
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        self.of(component)
            .last
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// When `component` last beat.
    pub fn last_beat(&self, component: Component) -> Instant {
        self.epoch + Duration::from_nanos(self.of(component).last.load(Ordering::Relaxed))
    }

    /// Whether `component`'s thread has returned or panicked.
    pub fn stopped(&self, component: Component) -> bool {
        self.of(component).stopped.load(Ordering::Acquire)
    }

    /// A guard held by `component`'s thread for as long as it runs: dropped when the thread
    /// returns or unwinds from a panic, it marks the heartbeat stopped.
    pub fn alive(&self, component: Component) -> Alive<'_> {
        Alive {
            heartbeats: self,
            component,
        }
    }

    /// Every thread that has stopped, or not beaten within `bound(component)` of `now`.
    fn check(
        &self,
        now: Instant,
        bound: impl Fn(Component) -> Duration,
    ) -> Result<(), Vec<Unhealthy>> {
        let problems: Vec<Unhealthy> = Component::ALL
            .into_iter()
            .filter_map(|component| {
                if self.stopped(component) {
                    return Some(Unhealthy::Stopped(component));
                }
                let silent = now.saturating_duration_since(self.last_beat(component));
                let bound = bound(component);
                (silent > bound).then_some(Unhealthy::Stale {
                    component,
                    silent,
                    bound,
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// See [`Heartbeats::alive`].
#[derive(Debug)]
pub struct Alive<'a> {
    heartbeats: &'a Heartbeats,
    component: Component,
}

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.heartbeats
            .of(self.component)
            .stopped
            .store(true, Ordering::Release);
        if std::thread::panicking() {
            tracing::error!(
                thread = self.component.as_str(),
                "the thread panicked; /readyz and /healthz fail from now on"
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::baseline::compile::{BuildOptions, Quiet};
    use crate::baseline::select::Selection;
    use crate::data::{Column, Frame, Values};
    use crate::sidecar::metrics::Metrics;
    use crate::stats::{Compute, synth};

    /// A sidecar's shared state for model `credit`: a baseline of one numeric feature,
    /// `income`, 5 000 draws of N(0, 1); a window of 1 000.
    pub(crate) fn shared() -> Arc<Shared> {
        let table = Frame::new(
            5_000,
            vec![Column {
                name: "income".into(),
                values: Values::Numeric(synth::normal(1, 5_000, 0.0, 1.0)),
            }],
        )
        .expect("consistent columns");
        let baseline = Baseline::build(
            &table,
            &Selection::default(),
            &BuildOptions::default(),
            &Compute::detect(),
            &Quiet,
        )
        .expect("builds");
        let mut registry = prometheus_client::registry::Registry::default();
        Arc::new(Shared::new(
            "credit".into(),
            baseline,
            "train.parquet".into(),
            WindowConfig {
                size: 1_000,
                max_age: None,
            },
            Metrics::register(&mut registry, "test"),
        ))
    }

    const BOUNDS: HealthBounds = HealthBounds {
        feed: Bound {
            ready: Duration::from_secs(30),
            live: Duration::from_secs(120),
        },
        engine: Bound {
            ready: Duration::from_secs(90),
            live: Duration::from_secs(360),
        },
    };

    #[test]
    fn the_bounds_follow_each_threads_period_with_a_floor() {
        let bounds = HealthBounds::new(Duration::from_secs(30), Duration::from_millis(100));
        assert_eq!(bounds, BOUNDS);
        let slow = HealthBounds::new(Duration::from_secs(600), Duration::from_millis(100));
        assert_eq!(slow.engine.ready, Duration::from_secs(1_800));
        assert_eq!(slow.engine.live, Duration::from_secs(7_200));
    }

    #[test]
    fn a_heartbeat_older_than_its_bound_fails_readiness_then_liveness_naming_the_thread() {
        let shared = shared();
        let start = Instant::now();
        assert_eq!(
            shared.readiness(&BOUNDS, start),
            Err(vec![Unhealthy::NotListening]),
            "not ready before the listeners are bound"
        );
        assert_eq!(shared.liveness(&BOUNDS, start), Ok(()));
        shared.listening.store(true, Ordering::Release);
        let heartbeats = &shared.heartbeats;
        heartbeats.beat_at(Component::Feed, start);
        heartbeats.beat_at(Component::Engine, start);
        assert_eq!(shared.readiness(&BOUNDS, start), Ok(()));

        // The engine stops beating; the feed goes on.
        let at = |secs| {
            let now = start + Duration::from_secs(secs);
            heartbeats.beat_at(Component::Feed, now);
            now
        };
        assert_eq!(shared.readiness(&BOUNDS, at(90)), Ok(()), "at the bound");
        let problems = shared.readiness(&BOUNDS, at(91)).expect_err("stale");
        assert_eq!(
            problems,
            [Unhealthy::Stale {
                component: Component::Engine,
                silent: Duration::from_secs(91),
                bound: Duration::from_secs(90),
            }]
        );
        assert_eq!(
            problems[0].to_string(),
            "engine: no heartbeat for 91.0s (the bound is 90s)"
        );
        assert_eq!(shared.liveness(&BOUNDS, at(360)), Ok(()), "still live");
        assert!(matches!(
            shared
                .liveness(&BOUNDS, at(361))
                .as_ref()
                .map_err(Vec::as_slice),
            Err([Unhealthy::Stale {
                component: Component::Engine,
                ..
            }])
        ));

        // Draining: unready, and live whatever the threads do.
        shared.listening.store(false, Ordering::Release);
        assert_eq!(shared.liveness(&BOUNDS, at(1_000)), Ok(()));
    }

    #[test]
    fn a_thread_that_panics_or_returns_is_stopped_at_once() {
        let shared = shared();
        shared.listening.store(true, Ordering::Release);
        let now = Instant::now();
        let panicking = shared.clone();
        let joined = std::thread::spawn(move || {
            let _alive = panicking.heartbeats.alive(Component::Feed);
            panic!("a decoder bug");
        })
        .join();
        assert!(joined.is_err(), "the thread panicked");
        assert_eq!(
            shared.readiness(&BOUNDS, now),
            Err(vec![Unhealthy::Stopped(Component::Feed)])
        );
        drop(shared.heartbeats.alive(Component::Engine));
        let problems = shared.liveness(&BOUNDS, now).expect_err("both stopped");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "feed: the thread has stopped",
                "engine: the thread has stopped"
            ]
        );
    }
}
