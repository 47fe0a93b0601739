//! The `drifttap` binary: parse the command line, run a command, map the outcome to an exit
//! status (`check`: 0 no drift, 1 drift, 2 bad input or usage — like `diff`).

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use drifttap::baseline::read::read_tables;
use drifttap::baseline::select::Selection;
use drifttap::check::{CheckOptions, check};
use drifttap::cli::{CheckArgs, Cli, Command, CorrectionArg, Format, KsMethodArg, TestName};
use drifttap::report;
use drifttap::stats::Compute;
use drifttap::stats::correction::Correction;
use drifttap::stats::ks::KsMethod;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => match run_check(&args) {
            Ok(true) => ExitCode::from(1),
            Ok(false) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("drifttap check: {error:#}");
                ExitCode::from(2)
            }
        },
    }
}

/// Runs `check` and writes the report; `Ok(drift)`.
fn run_check(args: &CheckArgs) -> anyhow::Result<bool> {
    if !(args.p_val > 0.0 && args.p_val < 1.0) {
        anyhow::bail!("--p-val must be in (0, 1), got {}", args.p_val);
    }
    let selection = Selection {
        columns: args.columns.clone(),
        exclude: args.exclude.clone(),
        numeric: args.numeric.clone(),
        categorical: args.categorical.clone(),
    };
    let named = selection.named();
    let reference = read_tables(std::slice::from_ref(&args.reference), &named)?;
    let current = read_tables(std::slice::from_ref(&args.current), &named)?;
    let options = CheckOptions {
        selection,
        ks: args.tests.contains(&TestName::Ks),
        chi2: args.tests.contains(&TestName::Chi2),
        mmd: args.tests.contains(&TestName::Mmd),
        ks_method: match args.ks_method {
            KsMethodArg::Auto => KsMethod::Auto,
            KsMethodArg::Exact => KsMethod::Exact,
            KsMethodArg::Asymp => KsMethod::Asymp,
        },
        correction: match args.correction {
            CorrectionArg::Bonferroni => Correction::Bonferroni,
            CorrectionArg::Fdr => Correction::Fdr,
            CorrectionArg::None => Correction::None,
        },
        p_val: args.p_val,
        permutations: args.permutations,
        seed: args.seed,
    };
    let compute = Compute::detect().with_threads(args.threads);
    let outcome = check(&reference, &current, &options, &compute)?;
    let (ref_path, cur_path) = (
        args.reference.display().to_string(),
        args.current.display().to_string(),
    );
    let text = match args.format {
        Format::Table => report::table(&outcome, &ref_path, &cur_path),
        Format::Json => {
            let source = |path, rows| report::Source { path, rows };
            report::json(
                &outcome,
                source(&ref_path, reference.rows),
                source(&cur_path, current.rows),
            ) + "\n"
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(outcome.drift)
}
