//! Measurement 5: false drift alerts per model-day when a model is scaled out to `R` replicas,
//! under the shipped alert rule.
//!
//! Two stages.
//!
//! 1. **One counted evaluation.** drifttap's evaluation runs on disjoint null windows at the
//!    level the default false-alarm budget derives (`Budget::alpha`: 0.0226 at 30 days, 30 s,
//!    hysteresis 3), each with its own seed, as the engine runs it; an outcome is raw drift
//!    when any feature counts as drifting under the policy or the MMD test drifts — what feeds
//!    the model's verdict. Counted windows are disjoint, so under the null their outcomes are
//!    independent (measurement 4 checks it against the same formula). The upper end of the
//!    outcome rate's 95 % interval is the rate stage 2 uses, so its numbers err high.
//! 2. **Model-days.** `R` replicas, each evaluating every 30 s and counting one evaluation in
//!    `⌈1/slide⌉` (the fresh-window rule with `slide` of the window new per interval), each at
//!    its own phase, each with a real [`Latch`] fed independent outcomes at that rate. On top,
//!    the shipped rule as Prometheus evaluates it at every tick: its condition (more than
//!    `quorum` of the replicas drifting; any one for quorum 0), pending until it has held for
//!    `drift_for`, then firing until `keep_firing_for` after it clears (a condition back within
//!    that is the same alert). Firings per model-day carry exact Poisson intervals.
//!
//! Stage 2 also runs at fixed outcome rates (`extra_rates`: a user's `p_val: 0.05` with the
//! budget off, say), where false verdicts are frequent enough to show what scaling out does
//! under each rule.

use std::sync::Arc;
use std::time::Duration;

use drifttap::baseline::compile::Baseline;
use drifttap::detect::{Budget, Latch, Policy};
use drifttap::evaluate::{Options, Prepared};
use drifttap::settings::alerts::AlertsConfig;
use drifttap::stats::synth;

use super::generate::{TableSpec, name_tag, stream};
use super::interval::{self, Interval, Proportion};
use super::replicate::{Progress, baseline, compute, parallel};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub label: String,
    pub spec: TableSpec,
    pub window_rows: usize,
    /// Stage 1: counted evaluations, over all streams.
    pub evaluations: usize,
    /// Stage 1: independent streams, each with its own baseline.
    pub streams: usize,
    pub training_rows: usize,
    pub budget: Budget,
    pub policy: Policy,
    pub alerts: AlertsConfig,
    /// Shares of the window new per evaluation.
    pub slides: Vec<f64>,
    pub replicas: Vec<usize>,
    /// Rule quorums: 0 (any replica, the rule before quorums) and the shipped default.
    pub quorums: Vec<f64>,
    /// Simulated model-days per cell.
    pub days: usize,
    /// Outcome rates stage 2 also runs at.
    pub extra_rates: Vec<f64>,
    pub seed: u64,
}

impl Plan {
    /// Progress steps: one per baseline and per stage-1 evaluation, one per stage-2 cell.
    pub fn steps(&self) -> usize {
        self.streams
            + self.per_stream() * self.streams
            + (1 + self.extra_rates.len())
                * self.slides.len()
                * self.replicas.len()
                * self.quorums.len()
    }

    fn per_stream(&self) -> usize {
        self.evaluations.div_ceil(self.streams)
    }
}

/// Stage 1's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Level {
    pub alpha: f64,
    pub hysteresis: u32,
    /// Counted null evaluations whose outcome was raw drift.
    pub raw: Proportion,
    pub raw_interval: Interval,
}

/// One stage-2 cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cell {
    /// The outcome rate simulated, and where it came from (`measured` or `fixed`).
    pub rate: f64,
    pub source: &'static str,
    pub slide_share: f64,
    pub replicas: usize,
    pub quorum: f64,
    pub days: usize,
    pub alerts: u64,
    pub per_day: f64,
    pub per_day_interval: Interval,
    /// Share of the time an alert was firing.
    pub firing_share: f64,
    /// Turn-ons of single replicas' verdicts per replica-day.
    pub verdicts_per_replica_day: f64,
}

/// The whole measurement.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fleet {
    pub level: Level,
    pub cells: Vec<Cell>,
}

/// Seconds between evaluations (and rule evaluations) in stage 2.
const TICK: Duration = Duration::from_secs(30);

pub fn run(plan: &Plan, threads: usize, progress: &Progress) -> Fleet {
    let level = measure_level(plan, threads, progress);
    let measured = level.raw_interval.high;
    let mut cells = Vec::new();
    let rates: Vec<(f64, &'static str)> = std::iter::once((measured, "measured"))
        .chain(plan.extra_rates.iter().map(|&r| (r, "fixed")))
        .collect();
    for (ri, &(rate, source)) in rates.iter().enumerate() {
        for (si, &slide) in plan.slides.iter().enumerate() {
            for &replicas in &plan.replicas {
                for &quorum in &plan.quorums {
                    // One stream of replicas per (rate, slide, R): the quorums see the same
                    // verdicts, so the rules are compared on the same days.
                    let seed = stream(
                        plan.seed,
                        &[name_tag("fleet"), ri as u64, si as u64, replicas as u64],
                    );
                    cells.push(simulate(
                        plan, rate, source, slide, replicas, quorum, seed, threads,
                    ));
                    progress.step();
                }
            }
        }
    }
    Fleet { level, cells }
}

/// Stage 1: disjoint null windows at the budget's level.
fn measure_level(plan: &Plan, threads: usize, progress: &Progress) -> Level {
    let tag = name_tag("fleet");
    let label = name_tag(&plan.label);
    let alpha = plan.budget.alpha();
    let baselines: Vec<Arc<Baseline>> = parallel(plan.streams, threads, progress, |k| {
        let seed = stream(plan.seed, &[tag, label, name_tag("training"), k as u64]);
        baseline(&plan.spec, plan.training_rows, seed)
    });
    let per_stream = plan.per_stream();
    let outcomes = parallel(
        plan.streams * per_stream,
        threads,
        &Progress::silent(),
        |i| {
            let (k, e) = (i / per_stream, (i % per_stream) as u64);
            let prepared = Prepared::new(
                Arc::clone(&baselines[k]),
                Options {
                    p_val: alpha,
                    ..Options::default()
                },
                &compute(),
            )
            .expect("the simulated baseline prepares");
            let data = stream(plan.seed, &[tag, label, name_tag("stream"), k as u64]);
            let w = plan.window_rows as u64;
            let window = plan.spec.frame(data, e * w..(e + 1) * w);
            let report = prepared
                .evaluate_seeded(&window, 0..window.rows(), synth::bits(data, e))
                .expect("a simulated window evaluates");
            progress.step();
            report.features.iter().any(|f| plan.policy.raw_drift(f))
                || report.multivariate.as_ref().is_some_and(|m| m.drift)
        },
    );
    let raw = Proportion::of(outcomes);
    Level {
        alpha,
        hysteresis: plan.policy.hysteresis,
        raw,
        raw_interval: raw.clopper_pearson(),
    }
}

/// The ticks (of [`TICK`]) during which one replica's verdict was on, as half-open ranges,
/// over `ticks` ticks: a counted evaluation every `every` ticks from `phase`, each raw drift
/// with probability `rate`, fed to a [`Latch`].
pub fn verdict_spans(
    rate: f64,
    hysteresis: u32,
    every: u64,
    phase: u64,
    ticks: u64,
    seed: u64,
) -> (Vec<(u64, u64)>, u64) {
    let mut latch = Latch::default();
    let mut spans = Vec::new();
    let mut on_since = None;
    let mut draw = 0u64;
    let mut uniform = || {
        draw += 1;
        // In (0, 1]: a logarithm below never sees 0.
        1.0 - synth::uniform(seed, draw)
    };
    let counted = (ticks.saturating_sub(phase)).div_ceil(every);
    let log_clean = (1.0 - rate).ln();
    let mut j = 0u64;
    let mut turn_ons = 0;
    while j < counted {
        let raw = if latch.drifting {
            uniform() <= rate
        } else {
            // Off: skip to the next drifting outcome. The clean ones before it reset the
            // streak, which one clean outcome does as well as many.
            let clean = if rate <= 0.0 {
                u64::MAX
            } else if rate >= 1.0 {
                0
            } else {
                (uniform().ln() / log_clean).floor() as u64
            };
            if clean > 0 {
                latch.update(false, hysteresis);
                j = j.saturating_add(clean);
                if j >= counted {
                    break;
                }
            }
            true
        };
        if latch.update(raw, hysteresis) {
            let tick = phase + j * every;
            if latch.drifting {
                on_since = Some(tick);
                turn_ons += 1;
            } else if let Some(since) = on_since.take() {
                spans.push((since, tick));
            }
        }
        j += 1;
    }
    if let Some(since) = on_since {
        spans.push((since, ticks));
    }
    (spans, turn_ons)
}

#[allow(clippy::too_many_arguments)]
fn simulate(
    plan: &Plan,
    rate: f64,
    source: &'static str,
    slide: f64,
    replicas: usize,
    quorum: f64,
    seed: u64,
    threads: usize,
) -> Cell {
    let ticks_per_day = 86_400 / TICK.as_secs();
    let ticks = plan.days as u64 * ticks_per_day;
    let every = (1.0 / slide).round().max(1.0) as u64;
    let hysteresis = plan.policy.hysteresis;
    let replica_spans = parallel(replicas, threads, &Progress::silent(), |r| {
        let phase = synth::bits(seed, r as u64) % every;
        verdict_spans(
            rate,
            hysteresis,
            every,
            phase,
            ticks,
            stream(seed, &[r as u64]),
        )
    });
    let turn_ons: u64 = replica_spans.iter().map(|(_, n)| n).sum();
    // The number of replicas drifting, as a step function of the tick.
    let mut events: Vec<(u64, i64)> = replica_spans
        .iter()
        .flat_map(|(spans, _)| spans.iter().flat_map(|&(a, b)| [(a, 1), (b, -1)]))
        .collect();
    events.sort_unstable();
    let needed = |drifting: i64| {
        if quorum == 0.0 {
            drifting >= 1
        } else {
            drifting as f64 / replicas as f64 > quorum
        }
    };
    // Spans of ticks where the rule's condition holds.
    let mut conditions: Vec<(u64, u64)> = Vec::new();
    let mut drifting = 0i64;
    let mut since = None;
    let mut i = 0;
    while i < events.len() {
        let tick = events[i].0;
        while i < events.len() && events[i].0 == tick {
            drifting += events[i].1;
            i += 1;
        }
        match (needed(drifting), since) {
            (true, None) => since = Some(tick),
            (false, Some(a)) => {
                conditions.push((a, tick));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(a) = since {
        conditions.push((a, ticks));
    }
    let hold = plan.alerts.drift_for.as_secs().div_ceil(TICK.as_secs());
    let keep = plan
        .alerts
        .keep_firing_for
        .as_secs()
        .div_ceil(TICK.as_secs());
    let mut alerts = 0u64;
    let mut firing_ticks = 0u64;
    // The tick until which the current alert fires (its condition's end plus keep).
    let mut firing_until: Option<u64> = None;
    for &(a, b) in &conditions {
        match firing_until {
            // Back within keep_firing_for: the same alert goes on.
            Some(until) if a < until => {
                firing_ticks += (b + keep).min(ticks).saturating_sub(until.min(ticks));
                firing_until = Some(b + keep);
            }
            _ => {
                // Pending from `a`; fires at the evaluation `hold` ticks later if it holds.
                if b - a > hold {
                    alerts += 1;
                    let fire = a + hold;
                    firing_ticks += (b + keep).min(ticks).saturating_sub(fire);
                    firing_until = Some(b + keep);
                }
            }
        }
    }
    let days = plan.days as f64;
    Cell {
        rate,
        source,
        slide_share: slide,
        replicas,
        quorum,
        days: plan.days,
        alerts,
        per_day: alerts as f64 / days,
        per_day_interval: interval::poisson(alerts).scaled(1.0 / days),
        firing_share: firing_ticks as f64 / ticks as f64,
        verdicts_per_replica_day: turn_ons as f64 / (days * replicas as f64),
    }
}
