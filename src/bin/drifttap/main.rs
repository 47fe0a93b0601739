//! The `drifttap` binary: initialise logging, parse the command line, run a command, map the
//! outcome to an exit status (`check`: 0 no drift, 1 drift, 2 bad input or usage — like `diff`).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use drifttap::baseline::compile::Progress;
use drifttap::check::report;
use drifttap::check::{BuildRequest, CheckRequest};
use drifttap::data::Kind;
use drifttap::evaluate::{self, Options};
use drifttap::sidecar::config::RawConfig;

use cli::{BaselineCommand, BuildArgs, CheckArgs, Cli, Command, Format, RulesArgs, RulesFormat};

mod cli;
mod retrainer;
mod serve;

/// The log filter, as `tracing_subscriber`'s `EnvFilter` directives (e.g. `debug`,
/// `drifttap=trace`). Default `warn` (a command-line run prints its report, not a log), `info`
/// for the services, `serve` and `retrainer`.
const LOG_ENV: &str = "DRIFTTAP_LOG";

/// Exit status of `serve` and `retrainer` for bad configuration or usage (`EX_USAGE` of sysexits.h).
const EXIT_CONFIG: u8 = 64;
/// Exit status of `serve` when the baseline cannot be loaded (`EX_NOINPUT`).
const EXIT_BASELINE: u8 = 66;

fn main() -> ExitCode {
    let command = std::env::args_os().nth(1);
    let serving = command
        .as_ref()
        .is_some_and(|a| a == "serve" || a == "retrainer");
    init_tracing(match command {
        // kube-rs logs every failed request at error level; the retrainer logs each failure
        // once, with what it does about it.
        Some(a) if a == "retrainer" => "info,kube_client::client::builder=off",
        _ if serving => "info",
        _ => "warn",
    });
    if serving {
        // Every proxied connection holds two descriptors; the usual soft limit (1 024) is a
        // few hundred connections.
        match drifttap::http::raise_open_files_limit() {
            Ok(limit) => tracing::debug!(limit, "open files limit"),
            Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ if serving => ExitCode::from(EXIT_CONFIG),
                _ => ExitCode::from(2),
            };
        }
    };
    let (name, outcome) = match &cli.command {
        Command::Check(args) => ("check", run_check(args)),
        Command::Baseline(BaselineCommand::Build(args)) => {
            ("baseline build", run_build(args).map(|()| false))
        }
        Command::Serve(args) => return serve::run_serve(args),
        Command::Retrainer(args) => return retrainer::run_retrainer(args),
        Command::Rules(args) => ("rules", run_rules(args).map(|()| false)),
    };
    match outcome {
        Ok(true) => ExitCode::from(1),
        Ok(false) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("drifttap {name}: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs to standard error: human-readable on a terminal, JSON lines otherwise. `default` is
/// the filter when `DRIFTTAP_LOG` is not set.
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}

/// Runs `check` and writes the report; `Ok(drift)`.
fn run_check(args: &CheckArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let request = CheckRequest {
        reference: args.reference.clone(),
        current: args.current.clone(),
        options: Options {
            selection: args.selection.to_selection(),
            ks: args.tests.contains(&cli::TestName::Ks),
            chi2: args.tests.contains(&cli::TestName::Chi2),
            mmd: args.tests.contains(&cli::TestName::Mmd),
            ks_method: args.ks_method.into(),
            correction: args.correction.into(),
            p_val: args.p_val,
            permutations: args.permutations,
            seed: args.seed,
            mmd_max_rows: args.mmd_max_rows,
            compat: args.compat.into(),
            ..Options::default()
        },
        chunk_size: args.chunk_size,
        threads: args.threads,
    };
    let outcome = drifttap::check::run(&request)?;
    tracing::info!(elapsed = ?started.elapsed(), drift = outcome.report.drift, "checked");
    let (ref_path, cur_path) = (
        args.reference.display().to_string(),
        args.current.display().to_string(),
    );
    let sources = (
        evaluate::Source {
            path: &ref_path,
            rows: outcome.baseline.rows,
            version: Some(&outcome.baseline.version),
        },
        evaluate::Source {
            path: &cur_path,
            rows: outcome.current.frame.rows(),
            version: Some(&outcome.current_version),
        },
    );
    let text = match args.format {
        Format::Table => report::table(&outcome.report, &ref_path, &cur_path),
        Format::Json => evaluate::json(&outcome.report, sources.0, sources.1) + "\n",
        Format::Html => {
            let profiles =
                report::html::profiles(&outcome.report, &outcome.baseline, &outcome.current.frame);
            report::html::html(&outcome.report, &sources.0, &sources.1, &profiles)
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(outcome.report.drift)
}

/// Runs `rules`: prints the alert rules.
fn run_rules(args: &RulesArgs) -> anyhow::Result<()> {
    use drifttap::rules::{PrometheusRule, rules};
    use drifttap::settings::to_yaml;
    let raw = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            RawConfig::from_yaml(&text, &path.display().to_string())?
        }
        None => RawConfig::default(),
    };
    let (model, alerts) = raw.alert_settings(args.model.clone())?;
    let model = if args.all_models { None } else { model };
    let file = rules(model.as_deref(), &alerts);
    let header = format!(
        "# Prometheus alert rules for drifttap {}, printed by `drifttap rules`{}.\n",
        env!("CARGO_PKG_VERSION"),
        match &args.config {
            Some(path) => format!(" from {}", path.display()),
            None => " with the default thresholds".to_string(),
        }
    );
    let text = match args.format {
        RulesFormat::Rules => to_yaml(&file, &header),
        RulesFormat::PrometheusRule => to_yaml(
            &PrometheusRule::new(&args.name, args.namespace.as_deref(), file),
            &header,
        ),
    };
    print!("{text}");
    Ok(())
}

/// Runs `baseline build`.
fn run_build(args: &BuildArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let progress = Bar::new();
    let request = BuildRequest {
        inputs: args.inputs.clone(),
        output: args.output.clone(),
        selection: args.selection.to_selection(),
        mmd_rows: args.mmd_rows,
        seed: args.seed,
        threads: args.threads,
    };
    let built = drifttap::check::build(&request, &progress)?;
    progress.finish();
    let baseline = &built.baseline;
    let numeric = baseline
        .features
        .iter()
        .filter(|f| f.kind() == Kind::Numeric)
        .count();
    eprintln!(
        "{}: {} rows, {} features ({numeric} numeric, {} categorical), MMD sample {} rows; version {} ({:.1} s)",
        args.output.display(),
        baseline.rows,
        baseline.features.len(),
        baseline.features.len() - numeric,
        baseline.mmd.as_ref().map_or(0, |m| m.rows()),
        baseline.version,
        started.elapsed().as_secs_f64()
    );
    for (column, data_type) in &built.skipped {
        eprintln!("  skipped `{column}` ({data_type}); name it in --columns to include it");
    }
    Ok(())
}

/// A progress bar on a terminal; nothing otherwise.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        Bar(bar)
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        let style = if total == 0 {
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
        } else {
            indicatif::ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len} {elapsed}")
        };
        if let Ok(style) = style {
            self.0.set_style(style.progress_chars("=> "));
        }
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(name.to_string());
        self.0
            .enable_steady_tick(std::time::Duration::from_millis(120));
    }

    fn step(&self) {
        self.0.inc(1);
    }
}
