//! The calibration suite: false-alarm rates, the MMD level across baselines, power and
//! hysteresis, measured by simulation through drifttap's own evaluation code (see `sim/`).
//!
//! `cargo bench --bench calibration` runs every table at medium size (a few minutes on two
//! cores); `-- --full` at the size the README's numbers come from (under an hour);
//! `-- --table family` (repeatable) runs some tables only; `-- --json PATH` writes every cell.
//! Tables go to stdout as markdown, progress to stderr.

#[allow(
    dead_code,
    reason = "the CI subset uses parts of the simulation this binary does not"
)]
mod sim;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

use sim::replicate::{Progress, compute};
use sim::{Measurement, Sizes, delay, family, fleet, hysteresis, output, power, spread};

/// Replications run on this many threads unless told: the machines this runs on are shared,
/// and each evaluation keeps to one thread.
const DEFAULT_THREADS: usize = 2;

#[derive(Debug, Parser)]
#[command(about = "drifttap's calibration simulation")]
struct Args {
    /// The full run (the README's numbers, under an hour); without it, a medium run.
    #[arg(long)]
    full: bool,
    /// Only this table (repeatable): family, spread, power, hysteresis, fleet or delay.
    #[arg(long = "table", value_name = "NAME")]
    tables: Vec<Measurement>,
    /// Also write every cell to this JSON file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Replications in parallel.
    #[arg(long, default_value_t = DEFAULT_THREADS)]
    threads: usize,
    /// Rows of each training draw.
    #[arg(long)]
    training_rows: Option<usize>,
    /// Null windows per family cell.
    #[arg(long)]
    replications: Option<usize>,
    /// The seed every stream derives from.
    #[arg(long)]
    seed: Option<u64>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut sizes = if args.full {
        Sizes::full()
    } else {
        Sizes::medium()
    };
    if let Some(rows) = args.training_rows {
        sizes.training_rows = rows;
    }
    if let Some(replications) = args.replications {
        sizes.family_replications = replications;
    }
    if let Some(seed) = args.seed {
        sizes.seed = seed;
    }
    let mut chosen = if args.tables.is_empty() {
        Measurement::ALL.to_vec()
    } else {
        args.tables.clone()
    };
    chosen.sort_unstable();
    chosen.dedup();
    let threads = args.threads.max(1);
    let backend = compute().backend.name().to_string();
    eprintln!(
        "calibration: {} run on {threads} threads, backend {backend}, seed {}",
        sizes.name, sizes.seed
    );
    let started = Instant::now();
    let mut document = output::Document {
        sizes: sizes.clone(),
        backend,
        threads,
        family: Vec::new(),
        spread: Vec::new(),
        power: Vec::new(),
        hysteresis: Vec::new(),
        fleet: None,
        delay: Vec::new(),
        seconds: BTreeMap::new(),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "# drifttap calibration ({} run)\n\nBaselines from {} training rows; MMD pool {} rows, a fresh reference per evaluation, permutations for the threshold; seed {}.\n",
        sizes.name,
        sizes.training_rows,
        drifttap::baseline::compile::DEFAULT_MMD_ROWS,
        sizes.seed
    )?;
    for measurement in chosen {
        let table = match measurement {
            Measurement::Family => {
                let plan = sizes.family();
                let progress = Progress::new("family", plan.steps());
                document.family = family::run(&plan, threads, &progress);
                progress.finish();
                document
                    .seconds
                    .insert(measurement, progress.elapsed().as_secs_f64());
                output::family(&document.family)
            }
            Measurement::Spread => {
                let plans = sizes.spread();
                let steps = plans.iter().map(|p| p.baselines).sum();
                let progress = Progress::new("spread", steps);
                document.spread = plans
                    .iter()
                    .map(|plan| spread::run(plan, threads, &progress))
                    .collect();
                progress.finish();
                document
                    .seconds
                    .insert(measurement, progress.elapsed().as_secs_f64());
                output::spread(&document.spread)
            }
            Measurement::Power => {
                let plan = sizes.power();
                let progress = Progress::new("power", plan.steps());
                document.power = power::run(&plan, threads, &progress);
                progress.finish();
                document
                    .seconds
                    .insert(measurement, progress.elapsed().as_secs_f64());
                output::power(&document.power)
            }
            Measurement::Hysteresis => {
                let plan = sizes.hysteresis();
                let progress = Progress::new("hysteresis", plan.steps());
                document.hysteresis = hysteresis::run(&plan, threads, &progress);
                progress.finish();
                document
                    .seconds
                    .insert(measurement, progress.elapsed().as_secs_f64());
                output::hysteresis(&document.hysteresis, &plan)
            }
            Measurement::Fleet => {
                let plan = sizes.fleet();
                let progress = Progress::new("fleet", plan.steps());
                let result = fleet::run(&plan, threads, &progress);
                progress.finish();
                document
                    .seconds
                    .insert(measurement, progress.elapsed().as_secs_f64());
                let table = output::fleet(&result, &plan);
                document.fleet = Some(result);
                table
            }
            Measurement::Delay => {
                let plan = sizes.delay();
                let progress = Progress::new("delay", plan.steps());
                document.delay = delay::run(&plan, threads, &progress);
                progress.finish();
                document
                    .seconds
                    .insert(measurement, progress.elapsed().as_secs_f64());
                output::delay(&document.delay, &plan)
            }
        };
        writeln!(stdout, "{table}")?;
        stdout.flush()?;
    }
    eprintln!(
        "calibration: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&document)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
