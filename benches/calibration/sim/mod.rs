//! The calibration simulation: drifttap's own evaluation ([`drifttap::evaluate::Prepared`])
//! and verdict ([`drifttap::detect::Verdicts`]) run on windows drawn from the baseline's own
//! distribution and on known changes, with every rate given its 95 % interval. It is the
//! evidence behind what the README says about false alarms and power.
//!
//! The bench binary (`benches/calibration/main.rs`) runs it at medium or full size and prints
//! the tables; the CI subset (`tests/it/calibration.rs`) runs small plans of the same code.
//!
//! - [`generate`]: feature types, their deterministic samplers, tables and changes.
//! - [`replicate`]: a baseline from a training draw, one evaluation, the replication loop.
//! - [`interval`]: Clopper–Pearson, Wilson and Poisson intervals.
//! - [`family`]: the per-evaluation family rate under the null.
//! - [`spread`]: the MMD test's level across baselines.
//! - [`power`]: detection of known shifts and of a correlation change.
//! - [`hysteresis`]: the verdict on overlapping windows.
//! - [`fleet`]: false alerts per model-day across replicas under the shipped rule.
//! - [`delay`]: detection delay at the default false-alarm budget.
//! - [`output`]: markdown tables and the JSON document.

pub mod delay;
pub mod family;
pub mod fleet;
pub mod generate;
pub mod hysteresis;
pub mod interval;
pub mod output;
pub mod power;
pub mod replicate;
pub mod spread;

use std::time::Duration;

use drifttap::detect::{Budget, Policy};
use drifttap::evaluate::Options;
use drifttap::settings::alerts::AlertsConfig;

use generate::{FeatureType, TableSpec};

/// The six measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measurement {
    Family,
    Spread,
    Power,
    Hysteresis,
    Fleet,
    Delay,
}

impl Measurement {
    pub const ALL: [Measurement; 6] = [
        Measurement::Family,
        Measurement::Spread,
        Measurement::Power,
        Measurement::Hysteresis,
        Measurement::Fleet,
        Measurement::Delay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Measurement::Family => "family",
            Measurement::Spread => "spread",
            Measurement::Power => "power",
            Measurement::Hysteresis => "hysteresis",
            Measurement::Fleet => "fleet",
            Measurement::Delay => "delay",
        }
    }
}

impl std::str::FromStr for Measurement {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Measurement::ALL
            .into_iter()
            .find(|m| m.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Measurement::ALL.iter().map(|m| m.as_str()).collect();
                format!("no table `{name}` (tables: {})", names.join(", "))
            })
    }
}

/// How big a run is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sizes {
    pub name: &'static str,
    /// Rows of each training draw a baseline is compiled from.
    pub training_rows: usize,
    /// Null windows per family cell.
    pub family_replications: usize,
    /// Baselines each family or power cell cycles through.
    pub baselines: usize,
    /// Baselines of the MMD spread, and null windows for each.
    pub spread_baselines: usize,
    pub spread_windows: usize,
    /// Windows per power scenario.
    pub power_replications: usize,
    /// Evaluations per slide of the hysteresis table, over all its streams.
    pub hysteresis_evaluations: usize,
    pub hysteresis_streams: usize,
    /// Counted null evaluations measuring the fleet's per-evaluation rate, and model-days
    /// simulated per fleet cell.
    pub fleet_evaluations: usize,
    pub fleet_days: usize,
    /// Streams per delay cell.
    pub delay_replications: usize,
    pub seed: u64,
}

/// The sidecar's default budget: 30 days between false verdicts, an evaluation every 30 s,
/// hysteresis 3.
pub fn default_budget() -> Budget {
    Budget {
        period: Duration::from_secs(30 * 86_400),
        interval: Duration::from_secs(30),
        hysteresis: 3,
    }
}

/// Training rows unless configured: the README's example baseline is of this order.
pub const TRAINING_ROWS: usize = 20_000;

impl Sizes {
    /// The default run, a few minutes on two cores: every cell, fewer replications.
    pub fn medium() -> Sizes {
        Sizes {
            name: "medium",
            training_rows: TRAINING_ROWS,
            family_replications: 100,
            baselines: 5,
            spread_baselines: 30,
            spread_windows: 150,
            power_replications: 60,
            hysteresis_evaluations: 1_200,
            hysteresis_streams: 4,
            fleet_evaluations: 600,
            fleet_days: 20_000,
            delay_replications: 30,
            seed: 1,
        }
    }

    /// The run the README's numbers come from, under an hour on two cores.
    pub fn full() -> Sizes {
        Sizes {
            name: "full",
            family_replications: 1_000,
            baselines: 20,
            spread_baselines: 100,
            spread_windows: 400,
            power_replications: 400,
            hysteresis_evaluations: 12_000,
            fleet_evaluations: 4_000,
            fleet_days: 200_000,
            delay_replications: 200,
            ..Sizes::medium()
        }
    }

    /// Measurement 1 at every table type, 10 and 50 features, 1 000- and 5 000-row windows.
    pub fn family(&self) -> family::Plan {
        family::Plan {
            tables: family::Table::ALL.to_vec(),
            features: vec![10, 50],
            windows: vec![1_000, 5_000],
            alphas: family::ALPHAS.to_vec(),
            replications: self.family_replications,
            baselines: self.baselines,
            training_rows: self.training_rows,
            options: Options::default(),
            seed: self.seed,
        }
    }

    /// Measurement 2 on ten normal features and 1 000-row windows.
    pub fn spread(&self) -> Vec<spread::Plan> {
        vec![spread::Plan {
            label: "10 normal".into(),
            spec: TableSpec::uniform(FeatureType::Normal, 10),
            window_rows: 1_000,
            baselines: self.spread_baselines,
            windows: self.spread_windows,
            training_rows: self.training_rows,
            alpha: 0.05,
            seed: self.seed,
        }]
    }

    /// Measurement 3: the standard scenarios, numeric shifts at 1 000 and 5 000 rows.
    pub fn power(&self) -> power::Plan {
        power::Plan {
            scenarios: power::scenarios(&[1_000, 5_000]),
            replications: self.power_replications,
            baselines: self.baselines,
            training_rows: self.training_rows,
            alpha: 0.05,
            seed: self.seed,
        }
    }

    /// Measurement 4 on ten mixed features, a 1 000-row ring, slides of 1, 5, 25 and 100 %.
    pub fn hysteresis(&self) -> hysteresis::Plan {
        hysteresis::Plan {
            label: "10 mixed".into(),
            spec: TableSpec::mixed(10, 0.0),
            window_rows: 1_000,
            slides: vec![0.01, 0.05, 0.25, 1.0],
            evaluations: self.hysteresis_evaluations,
            streams: self.hysteresis_streams,
            training_rows: self.training_rows,
            policy: Policy::default(),
            seed: self.seed,
        }
    }

    /// Measurement 5 on ten mixed features, a 1 000-row window, slides of 1, 5 and 25 %, 1, 3,
    /// 10 and 30 replicas, any replica and the shipped quorum; also at outcome rates of 0.05
    /// and 0.10 per counted evaluation.
    pub fn fleet(&self) -> fleet::Plan {
        let alerts = AlertsConfig::default();
        fleet::Plan {
            label: "10 mixed".into(),
            spec: TableSpec::mixed(10, 0.0),
            window_rows: 1_000,
            evaluations: self.fleet_evaluations,
            streams: self.hysteresis_streams,
            training_rows: self.training_rows,
            budget: default_budget(),
            policy: Policy::default(),
            slides: vec![0.01, 0.05, 0.25],
            replicas: vec![1, 3, 10, 30],
            quorums: vec![0.0, alerts.replica_quorum],
            alerts,
            days: self.fleet_days,
            extra_rates: vec![0.05, 0.10],
            seed: self.seed,
        }
    }

    /// Measurement 6: 0.2 and 0.5 sd shifts in one of 20 features and a correlation change,
    /// 1 000- and 5 000-row windows.
    pub fn delay(&self) -> delay::Plan {
        delay::Plan {
            scenarios: delay::scenarios(),
            windows: vec![1_000, 5_000],
            replications: self.delay_replications,
            baselines: self.baselines,
            training_rows: self.training_rows,
            budget: default_budget(),
            policy: Policy::default(),
            max_evaluations: 60,
            seed: self.seed,
        }
    }
}
