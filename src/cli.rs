//! Command-line definitions (clap); no logic.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// drifttap: data-drift detection for machine-learning models.
#[derive(Debug, Parser)]
#[command(name = "drifttap", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare a current data set with the reference (training) data and report drift.
    ///
    /// Exit status: 0 no drift, 1 drift found, 2 bad input or usage.
    Check(CheckArgs),
}

/// Arguments of `drifttap check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Reference data: a Parquet file or a directory of part files.
    pub reference: PathBuf,
    /// Current data: a Parquet file or a directory of part files.
    pub current: PathBuf,
    /// Tests to run.
    #[arg(long, value_delimiter = ',', default_value = "ks,chi2,mmd")]
    pub tests: Vec<TestName>,
    /// KS p-value method (as scipy's ks_2samp).
    #[arg(long, value_enum, default_value_t = KsMethodArg::Auto)]
    pub ks_method: KsMethodArg,
    /// Multiple-testing correction across features.
    #[arg(long, value_enum, default_value_t = CorrectionArg::Bonferroni)]
    pub correction: CorrectionArg,
    /// p-value threshold, before correction.
    #[arg(long, default_value_t = 0.05)]
    pub p_val: f64,
    /// Permutations of the MMD test.
    #[arg(long, default_value_t = 100)]
    pub permutations: usize,
    /// Seed of the MMD permutations and row sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only these columns (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Leave these columns out (ids, labels).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Test these columns as numbers.
    #[arg(long, value_delimiter = ',')]
    pub numeric: Vec<String>,
    /// Test these columns as categories (e.g. integer codes).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Threads the tests may use.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestName {
    Ks,
    Chi2,
    Mmd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KsMethodArg {
    Auto,
    Exact,
    Asymp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CorrectionArg {
    Bonferroni,
    Fdr,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}
