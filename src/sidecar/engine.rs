//! The evaluation loop: every interval, snapshot the window, test it against the baseline,
//! decide, publish.
//!
//! The engine runs on its own OS thread with an explicit thread budget for the statistics
//! ([`Compute`]), never on the async workers that serve requests: an evaluation of a wide model
//! can take a good fraction of a second, and requests must not wait behind it. What it shares
//! with the servers lives in [`Shared`]: the window (a short mutex hold per pushed batch and per
//! snapshot), the baseline (swapped whole on reload), the latest status, and the metrics.
//!
//! The engine prepares the evaluation once per baseline ([`Prepared`]) and again only when a
//! reload swaps the baseline. Each evaluation takes its own seed (a per-process random base and
//! the evaluation's number), so no evaluation and no replica inherits another's MMD reference
//! sample; the status reports it.
//!
//! **Only fresh windows count** (see [`crate::detect`]): an evaluation moves the verdicts only
//! when every row of its window arrived after the newest row of the last counted one. Others
//! still publish their statistics, and `drifttap_window_stale` says they did not count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::baseline::compile::Baseline;
use crate::detect::{Policy, Transition, Verdicts};
use crate::evaluate::{self, EvaluateError, Options, Prepared, Report};
use crate::sidecar::config::EvaluationConfig;
use crate::sidecar::metrics::{
    FeatureLabels, FeatureTestLabels, Metrics, ModelLabels, OutcomeLabels,
};
use crate::sidecar::state::{Component, Shared};
use crate::stats::Compute;

/// How long the feed and the engine compute before offering their CPU to the request workers
/// (see [`crate::stats::pace`]): the longest a request waits for them when they share a CPU.
/// An offer that finds nothing waiting costs about a microsecond, 1 % of this.
pub const YIELD_EVERY: Duration = Duration::from_micros(100);

/// The longest the engine sleeps while it waits for the next evaluation: how soon it sees
/// `stop`, and how often it beats its heartbeat while idle.
pub const WAIT_TICK: Duration = Duration::from_millis(100);

/// The result of one tick of the engine.
#[derive(Debug)]
pub enum Tick {
    /// Too few samples in the window.
    Skipped {
        samples: usize,
    },
    Evaluated {
        report: Box<Report>,
        transitions: Vec<Transition>,
        elapsed: Duration,
        /// The baseline the window was tested against.
        baseline: Arc<Baseline>,
        /// Samples in the window evaluated, and the wall-clock times of its oldest and newest.
        samples: usize,
        span: Option<(SystemTime, SystemTime)>,
        /// Whether it counted toward the verdicts (its window was all fresh rows).
        counted: bool,
    },
    Failed {
        error: String,
    },
}

/// An evaluation, as the engine hands it to whoever acts on a verdict change.
#[derive(Debug)]
pub struct Evaluation<'a> {
    /// The raw report (before hysteresis).
    pub report: &'a Report,
    /// The verdicts after this evaluation.
    pub verdicts: &'a Verdicts,
    pub baseline: &'a Baseline,
    pub baseline_path: &'a str,
    /// Samples in the window, and the wall-clock times of its oldest and newest.
    pub samples: usize,
    pub span: Option<(SystemTime, SystemTime)>,
    /// When the evaluation finished.
    pub at: SystemTime,
}

/// The evaluation loop's state.
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    config: EvaluationConfig,
    policy: Policy,
    compute: Compute,
    verdicts: Verdicts,
    /// The evaluation prepared for the baseline in use; prepared again when it is swapped.
    prepared: Option<Prepared>,
    /// The window's count of pushed rows at the last counted evaluation.
    counted_at: Option<u64>,
    /// Evaluations run so far, and the random base of their seeds.
    evaluations: u64,
    seed_base: u64,
}

/// A random 64-bit value that differs between processes (and replicas).
fn process_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(u64::from(std::process::id()));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

impl Engine {
    pub fn new(shared: Arc<Shared>, config: EvaluationConfig, policy: Policy) -> Self {
        let compute = Compute::detect()
            .with_threads(config.threads)
            .yielding_every(Some(YIELD_EVERY));
        shared
            .metrics
            .evaluation_interval
            .get_or_create(&ModelLabels {
                model: shared.model.clone(),
            })
            .set(config.interval.as_secs_f64());
        let labels = ModelLabels {
            model: shared.model.clone(),
        };
        let metrics = &shared.metrics;
        metrics
            .evaluation_alpha
            .get_or_create(&labels)
            .set(config.p_val);
        metrics
            .evaluation_hysteresis
            .get_or_create(&labels)
            .set(i64::from(policy.hysteresis));
        metrics
            .false_alarm_budget
            .get_or_create(&labels)
            .set(config.budget.map_or(0.0, |b| b.period.as_secs_f64()));
        drop(metrics.window_stale.get_or_create(&labels));
        Engine {
            shared,
            config,
            policy,
            compute,
            verdicts: Verdicts::default(),
            prepared: None,
            counted_at: None,
            evaluations: 0,
            seed_base: process_seed(),
        }
    }

    /// Seeds evaluations from `base` instead of a random value: the same windows then give the
    /// same reports (for tests and simulations).
    pub fn with_seed(mut self, base: u64) -> Self {
        self.seed_base = base;
        self
    }

    /// One evaluation now.
    pub fn tick(&mut self) -> Tick {
        let shared = Arc::clone(&self.shared);
        let labels = ModelLabels {
            model: shared.model.clone(),
        };
        let outcome = |name: &str| OutcomeLabels {
            model: shared.model.clone(),
            outcome: name.into(),
        };
        let started = Instant::now();
        let wall = SystemTime::now();
        let (snapshot, span, counted) = {
            let mut window = shared.lock_window();
            window.expire(started);
            shared
                .metrics
                .window_samples
                .get_or_create(&labels)
                .set(window.len() as i64);
            if window.len() < self.config.min_samples.max(2) {
                shared
                    .metrics
                    .evaluations
                    .get_or_create(&outcome("skipped"))
                    .inc();
                return Tick::Skipped {
                    samples: window.len(),
                };
            }
            // Arrival instants as wall-clock times, measured back from now.
            let ago = |t: Instant| wall - started.saturating_duration_since(t);
            let span = window
                .span()
                .map(|(oldest, newest)| (ago(oldest), ago(newest)));
            // Fresh: every row in the window arrived after the last counted evaluation.
            let pushed = window.pushed();
            let fresh = self
                .counted_at
                .is_none_or(|at| pushed - at >= window.len() as u64);
            (window.snapshot(), span, fresh.then_some(pushed))
        };
        let baseline = shared.baseline();
        let seed = crate::stats::rng::bits(self.seed_base, self.evaluations);
        self.evaluations += 1;
        let evaluated = self
            .prepared(&baseline)
            .and_then(|prepared| prepared.evaluate_seeded(&snapshot, 0..snapshot.rows(), seed));
        let report = match evaluated {
            Ok(report) => report,
            Err(e) => {
                shared
                    .metrics
                    .evaluations
                    .get_or_create(&outcome("error"))
                    .inc();
                return Tick::Failed {
                    error: e.to_string(),
                };
            }
        };
        let transitions = match counted {
            Some(pushed) => {
                self.counted_at = Some(pushed);
                self.verdicts.decide(&report, &self.policy)
            }
            None => Vec::new(),
        };
        shared
            .metrics
            .window_stale
            .get_or_create(&labels)
            .set(i64::from(counted.is_none()));
        let elapsed = started.elapsed();
        publish(&shared.metrics, &shared.model, &report, &self.verdicts);
        shared
            .metrics
            .evaluation_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        shared
            .metrics
            .evaluations
            .get_or_create(&outcome("ok"))
            .inc();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        shared
            .metrics
            .last_evaluation
            .get_or_create(&labels)
            .set(now);
        let status = self.status_json(&report, &baseline, snapshot.rows(), counted.is_some());
        *shared
            .status
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(status);
        Tick::Evaluated {
            report: Box::new(report),
            transitions,
            elapsed,
            baseline,
            samples: snapshot.rows(),
            span,
            counted: counted.is_some(),
        }
    }

    /// The evaluation prepared for `baseline`: the one kept if it is for the same baseline,
    /// else prepared now (once per baseline: at the first evaluation, and after a reload).
    fn prepared(&mut self, baseline: &Arc<Baseline>) -> Result<&Prepared, EvaluateError> {
        let current = self
            .prepared
            .take()
            .filter(|p| Arc::ptr_eq(p.baseline(), baseline));
        let prepared = match current {
            Some(p) => p,
            None => {
                let options = Options {
                    ks: self.config.ks,
                    chi2: self.config.chi2,
                    mmd: self.config.mmd,
                    correction: self.config.correction,
                    p_val: self.config.p_val,
                    permutations: self.config.permutations,
                    mmd_max_rows: self.config.mmd_max_rows,
                    compat: self.config.compat,
                    ..Options::default()
                };
                Prepared::new(Arc::clone(baseline), options, &self.compute)?
            }
        };
        Ok(self.prepared.insert(prepared))
    }

    /// The status document: `check`'s JSON for the window, with the verdicts after hysteresis.
    fn status_json(
        &self,
        report: &Report,
        baseline: &Baseline,
        rows: usize,
        counted: bool,
    ) -> String {
        let mut decided = report.clone();
        decided.drift = self.verdicts.model.drifting;
        for f in &mut decided.features {
            f.drift = self.verdicts.feature(&f.name);
        }
        if let Some(m) = &mut decided.multivariate {
            m.drift = self.verdicts.multivariate.drifting;
        }
        let document = evaluate::json(
            &decided,
            evaluate::Source {
                path: &self.shared.baseline_path,
                rows: baseline.rows,
                version: Some(&baseline.version),
            },
            evaluate::Source {
                path: "window",
                rows,
                version: None,
            },
        );
        // The decision around the tests: what the verdict promises and whether this one
        // counted.
        let decision = serde_json::json!({
            "counted": counted,
            "alpha": self.config.p_val,
            "hysteresis": self.policy.hysteresis,
            "false_alarm_budget_seconds": self.config.budget.map(|b| b.period.as_secs_f64()),
            "false_alarms_per_day_at_most": self.config.budget.map(|b| b.false_alarms_per_day(self.config.p_val)),
            "compat": self.config.compat.as_str(),
        });
        match serde_json::from_str::<serde_json::Value>(&document) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.insert("decision".into(), decision);
                serde_json::to_string_pretty(&map).unwrap_or(document)
            }
            _ => document,
        }
    }

    /// Evaluates every interval until `stop` is set, logging each outcome and passing each
    /// transition, with the evaluation that caused it, to `on_transition`. Beats the engine's
    /// heartbeat on every turn: at least every [`WAIT_TICK`] while it waits, and after each
    /// evaluation.
    pub fn run(
        mut self,
        stop: &AtomicBool,
        mut on_transition: impl FnMut(&Transition, &Evaluation<'_>),
    ) {
        let mut next = Instant::now() + self.config.interval;
        while !stop.load(Ordering::Relaxed) {
            self.shared.heartbeats.beat(Component::Engine);
            let now = Instant::now();
            if now < next {
                std::thread::sleep((next - now).min(WAIT_TICK));
                continue;
            }
            next += self.config.interval;
            if next < Instant::now() {
                // An evaluation overran the interval: skip the missed ticks.
                next = Instant::now() + self.config.interval;
            }
            match self.tick() {
                Tick::Skipped { samples } => {
                    tracing::debug!(samples, "evaluation skipped: too few samples")
                }
                Tick::Failed { error } => tracing::warn!(%error, "evaluation failed"),
                Tick::Evaluated {
                    report,
                    transitions,
                    elapsed,
                    baseline,
                    samples,
                    span,
                    counted,
                } => {
                    tracing::info!(
                        drift = self.verdicts.model.drifting,
                        raw_drift = report.drift,
                        counted,
                        elapsed_ms = elapsed.as_secs_f64() * 1e3,
                        "evaluated"
                    );
                    let evaluation = Evaluation {
                        report: &report,
                        verdicts: &self.verdicts,
                        baseline: &baseline,
                        baseline_path: &self.shared.baseline_path,
                        samples,
                        span,
                        at: SystemTime::now(),
                    };
                    for t in &transitions {
                        tracing::warn!(transition = ?t, "verdict changed");
                        on_transition(t, &evaluation);
                    }
                }
            }
        }
    }
}

/// Sets the gauges of one evaluation and the verdicts after it.
fn publish(metrics: &Metrics, model: &str, report: &Report, verdicts: &Verdicts) {
    let labels = || ModelLabels {
        model: model.into(),
    };
    metrics
        .model_drift
        .get_or_create(&labels())
        .set(i64::from(verdicts.model.drifting));
    for f in &report.features {
        let feature = || FeatureLabels {
            model: model.into(),
            feature: f.name.clone(),
        };
        metrics
            .feature_drift
            .get_or_create(&feature())
            .set(i64::from(verdicts.feature(&f.name)));
        metrics
            .feature_missing_ratio
            .get_or_create(&feature())
            .set(f.missing_current);
        if let (Some(statistic), Some(p)) = (f.statistic, f.p_value) {
            let test = FeatureTestLabels {
                model: model.into(),
                feature: f.name.clone(),
                test: f.test.as_str().into(),
            };
            metrics
                .feature_statistic
                .get_or_create(&test)
                .set(statistic);
            metrics.feature_p_value.get_or_create(&test).set(p);
        }
        if let Some(w) = f.wasserstein_normed {
            metrics
                .feature_wasserstein_normed
                .get_or_create(&feature())
                .set(w);
        }
        if let Some(psi) = f.psi {
            metrics.feature_psi.get_or_create(&feature()).set(psi);
        }
    }
    if let Some(m) = &report.multivariate {
        metrics
            .mmd_statistic
            .get_or_create(&labels())
            .set(m.statistic);
        metrics.mmd_p_value.get_or_create(&labels()).set(m.p_value);
    }
    metrics
        .mmd_drift
        .get_or_create(&labels())
        .set(i64::from(verdicts.multivariate.drifting));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sidecar::state::tests::shared;
    use crate::sidecar::window::Sample;
    use crate::stats::correction::Correction;
    use crate::stats::synth;

    struct Number(f64);

    impl Sample for Number {
        fn number(&self) -> Option<f64> {
            Some(self.0)
        }
        fn category(&self) -> Option<&str> {
            None
        }
    }

    fn config() -> EvaluationConfig {
        EvaluationConfig {
            interval: Duration::from_secs(1),
            min_samples: 100,
            threads: 1,
            ks: true,
            chi2: true,
            mmd: true,
            p_val: 0.05,
            budget: None,
            correction: Correction::Bonferroni,
            permutations: Some(20),
            mmd_max_rows: crate::evaluate::MMD_MAX_ROWS,
            compat: crate::evaluate::Compat::Drifttap,
        }
    }

    #[test]
    fn drift_turns_the_verdict_after_hysteresis_and_the_status_shows_it() {
        let shared = shared();
        let policy = Policy {
            hysteresis: 2,
            ..Policy::default()
        };
        let mut engine = Engine::new(shared.clone(), config(), policy).with_seed(1);
        assert!(matches!(engine.tick(), Tick::Skipped { samples: 0 }));
        let now = Instant::now();
        let push = |seed| {
            for v in synth::normal(seed, 1_000, 0.5, 1.0) {
                shared.lock_window().push(&[Number(v)], now);
            }
        };
        push(2);
        let Tick::Evaluated {
            transitions,
            counted,
            ..
        } = engine.tick()
        else {
            panic!("evaluated")
        };
        assert!(counted);
        assert!(
            transitions.is_empty(),
            "one drifting evaluation is not enough"
        );
        // The same window again: stale, it does not count, however often it drifts.
        for _ in 0..3 {
            let Tick::Evaluated {
                transitions,
                counted,
                report,
                ..
            } = engine.tick()
            else {
                panic!("evaluated")
            };
            assert!(report.drift && !counted && transitions.is_empty());
        }
        let stale = |shared: &Shared| {
            shared
                .metrics
                .window_stale
                .get_or_create(&ModelLabels {
                    model: "credit".into(),
                })
                .get()
        };
        assert_eq!(stale(&shared), 1);
        // 999 new rows leave one counted row in the window: still stale.
        for v in synth::normal(3, 999, 0.5, 1.0) {
            shared.lock_window().push(&[Number(v)], now);
        }
        assert!(matches!(
            engine.tick(),
            Tick::Evaluated { counted: false, .. }
        ));
        push(4);
        let Tick::Evaluated {
            transitions,
            counted,
            ..
        } = engine.tick()
        else {
            panic!("evaluated")
        };
        assert!(counted);
        assert_eq!(stale(&shared), 0);
        assert_eq!(transitions[0], Transition::Model { drifting: true });
        let status = shared.status.read().expect("lock").clone().expect("status");
        let json: serde_json::Value = serde_json::from_str(&status).expect("JSON");
        assert_eq!(json["drift"], true);
        assert_eq!(json["features"][0]["name"], "income");
        assert_eq!(json["current"]["rows"], 1_000);
        assert_eq!(json["decision"]["counted"], true);
        assert_eq!(json["decision"]["alpha"], 0.05);
        assert!(json["multivariate"]["seed"].is_u64());
        assert!(
            json["reference"]["version"]
                .as_str()
                .is_some_and(|v| v.starts_with("sha256:"))
        );
    }

    #[test]
    fn the_engine_beats_while_it_waits_and_exports_its_interval() {
        let shared = shared();
        let engine = Engine::new(shared.clone(), config(), Policy::default());
        let interval = shared
            .metrics
            .evaluation_interval
            .get_or_create(&ModelLabels {
                model: "credit".into(),
            })
            .get();
        assert_eq!(interval, 1.0);
        let before = shared.heartbeats.last_beat(Component::Engine);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || engine.run(&stop, |_, _| {}))
        };
        // Within the first interval (1 s), before any evaluation: the waiting beats.
        let deadline = Instant::now() + Duration::from_secs(10);
        while shared.heartbeats.last_beat(Component::Engine) == before && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
        thread.join().expect("the engine stops");
        assert!(shared.heartbeats.last_beat(Component::Engine) > before);
    }
}
