//! Command-line definitions (clap), and their conversion into the library's plain requests.

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
    /// Compiled baselines.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Run the sidecar: tap the model's traffic (or take pushed payloads and KServe's
    /// CloudEvents), keep windows of recent feature values, test them against the baseline at
    /// every interval, and export the verdicts on /metrics.
    ///
    /// Flags override `DRIFTTAP_*` environment variables, which override the YAML file. Exit
    /// status: 0 after a clean stop (SIGTERM), 64 bad configuration or usage, 66 the baseline
    /// cannot be loaded, 1 any other failure to start (such as an address in use).
    Serve(ServeArgs),
    /// Print the Prometheus alert rules for drifttap's metrics, with the thresholds of a
    /// configuration file (`alerts:`), as a rule file or a prometheus-operator PrometheusRule.
    Rules(RulesArgs),
    /// Turn drift notifications into Kubernetes Jobs, one per drift episode: drifttap's
    /// signed webhook on POST /v1/drift, Alertmanager's on POST /v1/alertmanager (bearer
    /// token); /metrics, /healthz and /readyz on the admin address.
    ///
    /// Flags override `DRIFTTAP_RETRAINER_*` environment variables. Exit status: 0 after a
    /// clean stop (SIGTERM, SIGINT), 64 bad configuration or usage, 1 any other failure to
    /// start (such as an address in use).
    Retrainer(RetrainerArgs),
}

/// Arguments of `drifttap retrainer`; each but `--dry-run` also has an environment variable
/// (`DRIFTTAP_RETRAINER_` and the flag's name in capitals, `-` as `_`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RetrainerArgs {
    /// Address of POST /v1/drift and POST /v1/alertmanager (default 0.0.0.0:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Address of /metrics, /healthz and /readyz (default 0.0.0.0:9091).
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<String>,
    /// Namespace the Jobs are created in (required).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// The batch/v1 Job to build retraining Jobs from (required; e.g. k8s/retrain-job.yaml).
    #[arg(long, value_name = "FILE")]
    pub job_template: Option<String>,
    /// kubeconfig file (default: `KUBECONFIG`, else the pod's service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// File holding the shared secret: the webhook's HMAC key and Alertmanager's bearer token
    /// (required; surrounding white space is ignored).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<String>,
    /// Print each Job to standard output (YAML) instead of creating it; no cluster needed.
    #[arg(long)]
    pub dry_run: bool,
    /// Time in-flight notifications get to finish on SIGTERM (default 15s).
    #[arg(long, value_name = "DURATION")]
    pub shutdown_grace: Option<String>,
    /// Time between two probes of the API server for /readyz (default 10s).
    #[arg(long, value_name = "DURATION")]
    pub probe_interval: Option<String>,
    /// The longest wait between two attempts at a pending Job (default 30s).
    #[arg(long, value_name = "DURATION")]
    pub retry_max_backoff: Option<String>,
}

/// Arguments of `drifttap rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// The sidecar's YAML configuration (its `model` and `alerts` sections); defaults without.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Scope the rules to this model (default: the configuration's `model`; rules for every
    /// model when neither names one).
    #[arg(long)]
    pub model: Option<String>,
    /// Rules for every model, whatever the configuration names.
    #[arg(long, conflicts_with = "model")]
    pub all_models: bool,
    /// `rules`: a Prometheus rule file; `prometheus-rule`: a prometheus-operator object.
    #[arg(long, value_enum, default_value_t = RulesFormat::Rules)]
    pub format: RulesFormat,
    /// `metadata.name` of the PrometheusRule.
    #[arg(long, default_value = "drifttap")]
    pub name: String,
    /// `metadata.namespace` of the PrometheusRule.
    #[arg(long)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Rules,
    PrometheusRule,
}

/// Arguments of `drifttap serve`. Each is optional; see the README for the YAML file.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// YAML configuration file (also `DRIFTTAP_CONFIG`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The model's name, the `model` label of every metric.
    #[arg(long)]
    pub model: Option<String>,
    /// Compiled baseline directory, or training data in Parquet (file or directory).
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// The model's URL (`http://127.0.0.1:8080`); starts the tap in front of it.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Address of the tap (default 0.0.0.0:9472).
    #[arg(long, value_name = "ADDR")]
    pub tap_listen: Option<String>,
    /// Address of the ingest API and CloudEvents endpoint (default 0.0.0.0:9471; `off`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Address of /metrics, /healthz, /readyz and /v1/status (default 0.0.0.0:9470).
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<String>,
    /// Time between evaluations, e.g. `1s`, `30s` (default 30s).
    #[arg(long, value_name = "DURATION")]
    pub eval_interval: Option<String>,
    /// Samples kept in the window (default 10000).
    #[arg(long, value_name = "N")]
    pub window_size: Option<String>,
    /// `auto`: decode only as much of heavy traffic as keeps the window renewed; `all`: every
    /// payload (default auto).
    #[arg(long, value_name = "auto|all")]
    pub sampling: Option<String>,
    /// Bytes of a body copied for decoding, and the ingest API's body limit (default 1 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<String>,
    /// Where drift notifications are POSTed when the model's verdict turns on (off unless set).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// File with the secret notifications are signed with (HMAC-SHA256).
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Compile training data into a baseline that loads without re-sorting: a directory of
    /// Parquet files (sorted numeric columns, category counts, MMD reference sample) and a JSON
    /// manifest whose `version` is a content hash.
    ///
    /// Exit status: 0 built, 2 bad input or usage.
    Build(BuildArgs),
}

/// Arguments of `drifttap baseline build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Training data: Parquet files or directories of part files.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The baseline directory to write (a compiled baseline there is replaced).
    #[arg(long, short)]
    pub output: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Rows of the MMD reference sample.
    #[arg(long, default_value_t = drifttap_default_mmd_rows())]
    pub mmd_rows: usize,
    /// Seed of the MMD reference sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

const fn drifttap_default_mmd_rows() -> usize {
    drifttap::baseline::compile::DEFAULT_MMD_ROWS
}

/// Which columns are features, and how each is tested.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectionArgs {
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
}

/// Arguments of `drifttap check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Reference data: a compiled baseline (`drifttap baseline build`), a Parquet file or a
    /// directory of part files.
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
    /// The family-wise level: the chance that a comparison of data like the reference's
    /// drifts (with a correction). Each chunk is held to it too.
    #[arg(long, default_value_t = 0.05)]
    pub p_val: f64,
    /// Permutations of the MMD test (default: ten times the reciprocal of its threshold).
    #[arg(long)]
    pub permutations: Option<usize>,
    /// Rows of CURRENT (of each chunk) the MMD test uses at most.
    #[arg(long, default_value_t = drifttap::evaluate::MMD_MAX_ROWS)]
    pub mmd_max_rows: usize,
    /// `drifttap`: one family of tests under the correction; `alibi`: alibi-detect's
    /// decision (MMD at the full level on its own, its p-value, a fixed reference).
    #[arg(long, value_enum, default_value_t = CompatArg::Drifttap)]
    pub compat: CompatArg,
    /// Seed of the MMD permutations and row sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Also evaluate CURRENT in consecutive chunks of N rows (the last one partial).
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Threads the tests may use (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompatArg {
    Drifttap,
    Alibi,
}

impl From<CompatArg> for drifttap::evaluate::Compat {
    fn from(arg: CompatArg) -> Self {
        match arg {
            CompatArg::Drifttap => drifttap::evaluate::Compat::Drifttap,
            CompatArg::Alibi => drifttap::evaluate::Compat::Alibi,
        }
    }
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
    /// A table that fits a terminal.
    Table,
    /// A JSON document with a stable schema.
    Json,
    /// One self-contained HTML page with charts of each feature's distributions.
    Html,
}

impl From<&RetrainerArgs> for drifttap::retrain::config::RetrainerOverrides {
    fn from(args: &RetrainerArgs) -> Self {
        drifttap::retrain::config::RetrainerOverrides {
            listen: args.listen.clone(),
            admin: args.admin.clone(),
            namespace: args.namespace.clone(),
            job_template: args.job_template.clone(),
            kubeconfig: args.kubeconfig.clone(),
            secret_file: args.secret_file.clone(),
            dry_run: args.dry_run,
            shutdown_grace: args.shutdown_grace.clone(),
            probe_interval: args.probe_interval.clone(),
            retry_max_backoff: args.retry_max_backoff.clone(),
        }
    }
}

impl SelectionArgs {
    /// The selection these flags make.
    pub fn to_selection(&self) -> drifttap::baseline::select::Selection {
        drifttap::baseline::select::Selection {
            columns: self.columns.clone(),
            exclude: self.exclude.clone(),
            numeric: self.numeric.clone(),
            categorical: self.categorical.clone(),
        }
    }
}

impl From<KsMethodArg> for drifttap::stats::ks::KsMethod {
    fn from(arg: KsMethodArg) -> Self {
        match arg {
            KsMethodArg::Auto => drifttap::stats::ks::KsMethod::Auto,
            KsMethodArg::Exact => drifttap::stats::ks::KsMethod::Exact,
            KsMethodArg::Asymp => drifttap::stats::ks::KsMethod::Asymp,
        }
    }
}

impl From<CorrectionArg> for drifttap::stats::correction::Correction {
    fn from(arg: CorrectionArg) -> Self {
        match arg {
            CorrectionArg::Bonferroni => drifttap::stats::correction::Correction::Bonferroni,
            CorrectionArg::Fdr => drifttap::stats::correction::Correction::Fdr,
            CorrectionArg::None => drifttap::stats::correction::Correction::None,
        }
    }
}

impl From<&ServeArgs> for drifttap::sidecar::config::Overrides {
    fn from(args: &ServeArgs) -> Self {
        drifttap::sidecar::config::Overrides {
            model: args.model.clone(),
            baseline: args.baseline.clone(),
            upstream: args.upstream.clone(),
            tap_listen: args.tap_listen.clone(),
            listen: args.listen.clone(),
            admin: args.admin.clone(),
            eval_interval: args.eval_interval.clone(),
            window_size: args.window_size.clone(),
            sampling: args.sampling.clone(),
            max_body_bytes: args.max_body_bytes.clone(),
            webhook_url: args.webhook_url.clone(),
            webhook_secret_file: args.webhook_secret_file.clone(),
        }
    }
}
