//! Measurement 4: what hysteresis does when windows overlap.
//!
//! A sidecar keeps a ring of the last `W` rows and evaluates every interval; with steady
//! traffic, each evaluation comes after `s` new rows. This models that on an endless null
//! stream: evaluation `e` sees rows `e·s .. e·s + W`, decided as the sidecar's engine does:
//! one [`Prepared`] per baseline, a seed per evaluation, and only evaluations whose window is
//! all rows newer than the last counted one reach [`Verdicts::decide`]. Counted windows are
//! then disjoint and independent, so the table's rates (per counted evaluation) should match
//! what independent evaluations with the same raw rate give, at every slide; times on are in
//! evaluations (ticks).
//!
//! For independent evaluations with raw rate `p` and hysteresis `k`, the verdict alternates
//! between waits for `k` drifting evaluations in a row (mean `E_k(p)`) and for `k` clean ones
//! (mean `E_k(1 − p)`), with `E_k(x) = (1 − xᵏ) / ((1 − x)·xᵏ)`: a turn-on rate of
//! `1 / (E_k(p) + E_k(1 − p))` per evaluation and a mean time on of `E_k(1 − p)`.

use std::sync::Arc;

use drifttap::baseline::compile::Baseline;
use drifttap::detect::{Policy, Verdicts};
use drifttap::evaluate::{Options, Prepared};

use super::generate::{TableSpec, name_tag, stream};
use super::interval::{self, Interval, Mean, Proportion};
use super::replicate::{Progress, baseline, compute, parallel};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub label: String,
    pub spec: TableSpec,
    pub window_rows: usize,
    /// Rows between evaluations, as shares of the window.
    pub slides: Vec<f64>,
    /// Evaluations per slide, over all streams.
    pub evaluations: usize,
    /// Independent streams, each with its own baseline (shared across slides).
    pub streams: usize,
    pub training_rows: usize,
    pub policy: Policy,
    pub seed: u64,
}

impl Plan {
    /// Progress steps: one per baseline and per evaluation.
    pub fn steps(&self) -> usize {
        self.streams + self.slides.len() * self.per_stream() * self.streams
    }

    fn per_stream(&self) -> usize {
        self.evaluations.div_ceil(self.streams)
    }
}

/// One slide's outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    pub slide_rows: usize,
    pub slide_share: f64,
    pub window_rows: usize,
    pub hysteresis: u32,
    pub evaluations: u64,
    /// Evaluations whose report says `drift` (correlated when windows overlap).
    pub raw: Proportion,
    pub turn_ons: u64,
    /// Turn-ons per evaluation, with the Poisson interval of the count.
    pub turn_on_rate: f64,
    pub turn_on_interval: Interval,
    /// What independent evaluations with the same raw rate would give.
    pub independent_turn_on_rate: f64,
    /// Turn-ons per million rows of traffic.
    pub per_million_rows: f64,
    pub per_million_rows_interval: Interval,
    /// Lengths of the episodes that ended, in evaluations.
    pub time_on: Option<Mean>,
    pub independent_time_on: f64,
    /// Episodes still on when their stream ended (left out of `time_on`).
    pub censored: u64,
    /// Share of evaluations with the verdict on.
    pub on_share: f64,
}

/// What one stream of one slide saw.
#[derive(Debug, Default)]
struct Tally {
    evaluations: u64,
    /// Evaluations that counted (fresh windows).
    counted: u64,
    raw: u64,
    on: u64,
    turn_ons: u64,
    episodes: Vec<f64>,
    censored: u64,
}

/// `E_k(x)`: the mean wait for `k` successes in a row of probability `x`.
fn wait_for_run(x: f64, k: u32) -> f64 {
    if x >= 1.0 {
        return f64::from(k);
    }
    let xk = x.powi(k as i32);
    (1.0 - xk) / ((1.0 - x) * xk)
}

/// Turn-on rate per evaluation and mean time on (evaluations) for independent evaluations.
pub fn independent(raw_rate: f64, k: u32) -> (f64, f64) {
    let k = k.max(1);
    let off = wait_for_run(raw_rate, k);
    let on = wait_for_run(1.0 - raw_rate, k);
    (1.0 / (off + on), on)
}

/// Runs every slide of `plan`.
pub fn run(plan: &Plan, threads: usize, progress: &Progress) -> Vec<Row> {
    let tag = name_tag("hysteresis");
    let label = name_tag(&plan.label);
    let baselines: Vec<Arc<Baseline>> = parallel(plan.streams, threads, progress, |k| {
        let seed = stream(plan.seed, &[tag, label, name_tag("training"), k as u64]);
        baseline(&plan.spec, plan.training_rows, seed)
    });
    let quiet = Progress::silent();
    plan.slides
        .iter()
        .map(|&share| {
            let slide_rows = ((share * plan.window_rows as f64).round() as usize).max(1);
            let tallies = parallel(plan.streams, threads, &quiet, |k| {
                let data = stream(plan.seed, &[tag, label, name_tag("stream"), k as u64]);
                run_stream(plan, &baselines[k], data, slide_rows, progress)
            });
            row(plan, slide_rows, share, &tallies)
        })
        .collect()
}

/// One stream at one slide, as the engine evaluates it.
fn run_stream(
    plan: &Plan,
    baseline: &Arc<Baseline>,
    data: u64,
    slide_rows: usize,
    progress: &Progress,
) -> Tally {
    // The engine's decision: each evaluation with its own seed, and only windows whose every
    // row is newer than the last counted one move the verdict (the engine still evaluates the
    // others for its gauges; they change nothing here, so they are not run).
    let prepared = Prepared::new(Arc::clone(baseline), Options::default(), &compute())
        .expect("the simulated baseline prepares");
    let mut verdicts = Verdicts::default();
    let mut tally = Tally::default();
    let mut on_since: Option<u64> = None;
    let mut counted_at: Option<u64> = None;
    for e in 0..plan.per_stream() as u64 {
        let start = e * slide_rows as u64;
        let fresh = counted_at.is_none_or(|at| start >= at + plan.window_rows as u64);
        if fresh {
            counted_at = Some(start);
            let window = plan
                .spec
                .frame(data, start..start + plan.window_rows as u64);
            let seed = drifttap::stats::rng::bits(data, e);
            let report = prepared
                .evaluate_seeded(&window, 0..window.rows(), seed)
                .expect("a simulated window evaluates");
            verdicts.decide(&report, &plan.policy);
            tally.counted += 1;
            tally.raw += u64::from(report.drift);
        }
        tally.evaluations += 1;
        let on = verdicts.model.drifting;
        tally.on += u64::from(on);
        match (on, on_since) {
            (true, None) => {
                tally.turn_ons += 1;
                on_since = Some(e);
            }
            (false, Some(since)) => {
                tally.episodes.push((e - since) as f64);
                on_since = None;
            }
            _ => {}
        }
        progress.step();
    }
    tally.censored = u64::from(on_since.is_some());
    tally
}

fn row(plan: &Plan, slide_rows: usize, share: f64, tallies: &[Tally]) -> Row {
    // Rates are per counted evaluation: only those can move the verdict.
    let evaluations: u64 = tallies.iter().map(|t| t.counted).sum();
    let raw = Proportion {
        successes: tallies.iter().map(|t| t.raw).sum(),
        trials: evaluations,
    };
    let turn_ons: u64 = tallies.iter().map(|t| t.turn_ons).sum();
    let episodes: Vec<f64> = tallies
        .iter()
        .flat_map(|t| t.episodes.iter().copied())
        .collect();
    let k = plan.policy.hysteresis;
    let (independent_turn_on_rate, independent_time_on) = independent(raw.rate(), k);
    let count_interval = interval::poisson(turn_ons);
    let rows = evaluations as f64 * slide_rows as f64;
    Row {
        slide_rows,
        slide_share: share,
        window_rows: plan.window_rows,
        hysteresis: k,
        evaluations,
        raw,
        turn_ons,
        turn_on_rate: turn_ons as f64 / evaluations as f64,
        turn_on_interval: count_interval.scaled(1.0 / evaluations as f64),
        independent_turn_on_rate,
        per_million_rows: turn_ons as f64 / rows * 1e6,
        per_million_rows_interval: count_interval.scaled(1e6 / rows),
        time_on: interval::mean(&episodes),
        independent_time_on,
        censored: tallies.iter().map(|t| t.censored).sum(),
        on_share: tallies.iter().map(|t| t.on).sum::<u64>() as f64 / evaluations as f64,
    }
}
