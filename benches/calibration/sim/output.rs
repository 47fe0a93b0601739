//! The results as markdown tables (stdout) and as one JSON document (`--json`).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::family::{self, Table};
use super::generate::FeatureType;
use super::interval::{Interval, Proportion};
use super::{Measurement, Sizes, delay, fleet, hysteresis, power, spread};

/// Every result of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Document {
    pub sizes: Sizes,
    /// The statistics backend the evaluations ran on.
    pub backend: String,
    pub threads: usize,
    pub family: Vec<family::Cell>,
    pub spread: Vec<spread::Spread>,
    pub power: Vec<power::Cell>,
    pub hysteresis: Vec<hysteresis::Row>,
    pub fleet: Option<fleet::Fleet>,
    pub delay: Vec<delay::Cell>,
    /// Wall-clock seconds per measurement run.
    pub seconds: BTreeMap<Measurement, f64>,
}

fn ci(interval: &Interval, digits: usize) -> String {
    format!("[{:.digits$}, {:.digits$}]", interval.low, interval.high)
}

fn rate_ci(p: &Proportion, digits: usize) -> String {
    format!("{:.digits$} {}", p.rate(), ci(&p.clopper_pearson(), digits))
}

/// Measurement 1: one table per threshold.
pub fn family(cells: &[family::Cell]) -> String {
    let mut out = String::from("## 1. Family rate under the null\n\n");
    out += "The share of null windows whose report says `drift` (any feature after the Bonferroni \
            correction, or the MMD test), with its 95 % Clopper–Pearson interval; the target range \
            is [0.6·α, 1.1·α] ([0.030, 0.055] at 0.05). \"feature tests\" and \"MMD\" are the \
            shares where each part alone drifted. Tables:\n\n";
    for table in Table::ALL {
        let _ = writeln!(out, "- `{}`: {}", table.as_str(), table.describe());
    }
    if let Some(cell) = cells.first() {
        let _ = writeln!(
            out,
            "\nEach cell: {} windows over {} baselines.",
            cell.family.trials, cell.baselines
        );
    }
    let mut alphas: Vec<f64> = cells.iter().map(|c| c.alpha).collect();
    alphas.sort_by(|a, b| b.total_cmp(a));
    alphas.dedup();
    for alpha in alphas {
        let (low, high) = family::target(alpha);
        let digits = if alpha < 0.05 { 4 } else { 3 };
        let _ = writeln!(
            out,
            "\n### p_val = {alpha} (target [{low:.digits$}, {high:.digits$}])\n"
        );
        out += "| table | features | window | rate | 95 % CI | CI consistent with target | feature tests | MMD | windows |\n";
        out += "|---|---:|---:|---:|---|---|---:|---:|---:|\n";
        for c in cells.iter().filter(|c| c.alpha == alpha) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.digits$} | {} | {} | {:.digits$} | {:.digits$} | {} |",
                c.table,
                c.features,
                c.window_rows,
                c.family.rate(),
                ci(&c.interval, digits),
                c.agreement.as_str(),
                c.any_feature.rate(),
                c.mmd.rate(),
                c.family.trials
            );
        }
    }
    out
}

/// Measurement 2.
pub fn spread(results: &[spread::Spread]) -> String {
    let mut out = String::from("## 2. Spread of the MMD level across baselines\n\n");
    out += "Each baseline from its own training draw and build seed; the MMD test alone \
            (`ks: false, chi2: false`) on null windows, each with its own seed. \"binomial floor\" \
            is the sd a perfectly calibrated test would still show with this many windows per \
            baseline (estimated from the rates; `√(α(1−α)/R)` beside it); \"excess sd\" removes \
            it, with a bootstrap interval over baselines. Target: excess sd ≤ 0.02 at α = 0.05.\n\n";
    out += "| scenario | window | α | baselines | windows each | mean level [95 % CI] | sd | binomial floor (nominal) | excess sd [95 % CI] | min | max | share > 0.10 | excess sd ≤ 0.02 |\n";
    out += "|---|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---|\n";
    for s in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.4} {} | {:.4} | {:.4} ({:.4}) | {:.4} {} | {:.3} | {:.3} | {:.2} | {} |",
            s.label,
            s.window_rows,
            s.alpha,
            s.rates.len(),
            s.windows,
            s.mean,
            ci(&s.mean_interval, 4),
            s.sd,
            s.floor,
            s.nominal_floor,
            s.excess_sd,
            ci(&s.excess_sd_interval, 4),
            s.min,
            s.max,
            s.above_high,
            if s.target_met { "yes" } else { "no" },
        );
    }
    out
}

/// Measurement 3.
pub fn power(cells: &[power::Cell]) -> String {
    let mut out = String::from("## 3. Power\n\n");
    let _ = writeln!(
        out,
        "Rejection rates with 95 % Clopper–Pearson intervals at p_val = 0.05, default options. \
         \"feature test\" is the changed feature's own test after the correction (for a \
         correlation change: any feature's). Shifts are in the feature's standard deviation: \
         added to a continuous value, to the probability of a one ({}), to the Poisson mean \
         ({}).\n",
        FeatureType::Binary.describe(),
        FeatureType::Poisson.describe()
    );
    if let Some(cell) = cells.first() {
        let _ = writeln!(out, "Each row: {} windows.\n", cell.family.trials);
    }
    out += "| reference | change | window | family rate [95 % CI] | feature test [95 % CI] | MMD [95 % CI] |\n";
    out += "|---|---|---:|---|---|---|\n";
    for c in cells {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            c.reference,
            c.change,
            c.window_rows,
            rate_ci(&c.family, 3),
            rate_ci(&c.feature, 3),
            rate_ci(&c.mmd, 3),
        );
    }
    out
}

/// Measurement 4.
pub fn hysteresis(rows: &[hysteresis::Row], plan: &hysteresis::Plan) -> String {
    let mut out = String::from("## 4. Hysteresis on overlapping windows\n\n");
    let _ = writeln!(
        out,
        "A ring of {} rows over an endless null stream ({}, every type in turn), evaluated \
         after every `slide` new rows as the engine does (default options, a seed per evaluation, only \
         fresh windows counted) and decided by `Verdicts::decide` with the default policy (hysteresis {}); {} \
         streams with a baseline each. \"independent\" is what independent evaluations with \
         the same raw rate would give. Turn-on intervals are Poisson intervals of the count; \
         time on is over completed episodes (\"censored\": still on at a stream's end). The raw \
         rate has no interval: overlapping windows are not independent trials.\n",
        plan.window_rows, plan.label, plan.policy.hysteresis, plan.streams
    );
    out += "| slide | evaluations | raw rate | turn-ons | turn-on rate per evaluation [95 % CI] | independent | turn-ons per 10⁶ rows [95 % CI] | mean time on, evaluations [95 % CI] | independent | mean time on, rows | censored | share of evaluations on |\n";
    out += "|---|---:|---:|---:|---|---:|---|---|---:|---:|---:|---:|\n";
    for r in rows {
        let (time_on, time_on_rows) = match &r.time_on {
            Some(m) => (
                match &m.interval {
                    Some(i) => format!("{:.1} {} (n = {})", m.mean, ci(i, 1), m.count),
                    None => format!("{:.1} (n = 1)", m.mean),
                },
                format!("{:.0}", m.mean * r.slide_rows as f64),
            ),
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            out,
            "| {} rows ({:.0} %) | {} | {:.3} | {} | {:.5} {} | {:.5} | {:.1} {} | {} | {:.1} | {} | {} | {:.3} |",
            r.slide_rows,
            r.slide_share * 100.0,
            r.evaluations,
            r.raw.rate(),
            r.turn_ons,
            r.turn_on_rate,
            ci(&r.turn_on_interval, 5),
            r.independent_turn_on_rate,
            r.per_million_rows,
            ci(&r.per_million_rows_interval, 1),
            time_on,
            r.independent_time_on,
            time_on_rows,
            r.censored,
            r.on_share,
        );
    }
    out
}

/// Measurement 5: stage 1's level, then false alerts per model-day.
pub fn fleet(result: &fleet::Fleet, plan: &fleet::Plan) -> String {
    let mut out = String::from("## 5. False alerts across replicas\n\n");
    let l = &result.level;
    let _ = writeln!(
        out,
        "Stage 1: {} disjoint null windows of {} rows ({}, {} streams) evaluated at the default \
         budget's level α = {:.4} (30 days, 30 s, hysteresis {}): raw drift in {} {}. Stage 2 \
         simulates {} model-days per cell at the interval's upper end ({:.4}) and at fixed \
         rates, each replica counting one evaluation in 1/slide of 30 s and feeding a `Latch`; \
         the rule as Prometheus evaluates it every 30 s (`for` {}, `keep_firing_for` {}). \
         \"any\": the rule before quorums (`max by (model)`); \"majority\": more than half of \
         the replicas (the shipped default). Alerts per model-day with exact Poisson 95 % \
         intervals; the budget is 1 per 30 days = 0.0333.\n",
        l.raw.trials,
        plan.window_rows,
        plan.label,
        plan.streams,
        l.alpha,
        l.hysteresis,
        l.raw.successes,
        rate_ci(&l.raw, 4),
        plan.days,
        l.raw_interval.high,
        drifttap::settings::format_duration(plan.alerts.drift_for),
        drifttap::settings::format_duration(plan.alerts.keep_firing_for),
    );
    out += "| outcome rate | slide | replicas | rule | alerts | per model-day [95 % CI] | per 30 days | time firing | replica verdicts per day |\n";
    out += "|---|---:|---:|---|---:|---|---:|---:|---:|\n";
    for c in &result.cells {
        let _ = writeln!(
            out,
            "| {:.4} ({}) | {:.0} % | {} | {} | {} | {:.5} {} | {:.3} | {:.5} | {:.4} |",
            c.rate,
            c.source,
            c.slide_share * 100.0,
            c.replicas,
            if c.quorum == 0.0 {
                "any".to_string()
            } else if c.quorum == 0.5 {
                "majority".to_string()
            } else {
                format!("> {}", c.quorum)
            },
            c.alerts,
            c.per_day,
            ci(&c.per_day_interval, 5),
            c.per_day * 30.0,
            c.firing_share,
            c.verdicts_per_replica_day,
        );
    }
    out
}

/// Measurement 6: counted evaluations and rows until the verdict.
pub fn delay(cells: &[delay::Cell], plan: &delay::Plan) -> String {
    let mut out = String::from("## 6. Detection delay at the default budget\n\n");
    let _ = writeln!(
        out,
        "A change from the first row on; every counted window disjoint and changed; the \
         engine's evaluation at α = {:.4} and `Verdicts` with hysteresis {}; {} streams per cell, \
         {} baselines; a stream still off after {} evaluations is censored (counted at the \
         bound). In time: evaluations × interval / slide (30 s and a 25 % slide: 2 min per \
         evaluation).\n",
        plan.budget.alpha(),
        plan.budget.hysteresis,
        plan.replications,
        plan.baselines,
        plan.max_evaluations,
    );
    out += "| reference | change | window | evaluations until the verdict, mean [95 % CI] | median | censored | rows (mean) |\n";
    out += "|---|---|---:|---|---:|---:|---:|\n";
    for c in cells {
        let mean = match &c.evaluations {
            Some(m) => match &m.interval {
                Some(i) => format!("{:.1} {}", m.mean, ci(i, 1)),
                None => format!("{:.1}", m.mean),
            },
            None => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {} | {:.0} |",
            c.reference, c.change, c.window_rows, mean, c.median_evaluations, c.censored, c.rows
        );
    }
    out
}
