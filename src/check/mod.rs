//! `drifttap check` and `drifttap baseline build`, as library functions: paths and options in,
//! a report (or a compiled baseline) out. The binary parses flags into a request, calls
//! [`run`] or [`build`], renders, and maps drift to its exit status.
//!
//! - [`report`]: the renderers — a terminal table and a self-contained HTML page (the JSON
//!   document is [`crate::evaluate::json`], shared with the sidecar's status).

pub mod report;

use std::path::PathBuf;
use std::sync::Arc;

use crate::baseline::compile::{Baseline, BuildError, BuildOptions, DEFAULT_MMD_ROWS, Progress};
use crate::baseline::hash::frame_hash;
use crate::baseline::open::{OpenError, open};
use crate::baseline::parquet::{self, Dataset, ReadError};
use crate::baseline::select::Selection;
use crate::baseline::store::StoreError;
use crate::data::Frame;
use crate::data::Kind;
use crate::evaluate::{ChunkReport, EvaluateError, Options, Prepared, Report};
use crate::stats::Compute;

/// What `drifttap check` compares, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    /// The reference: a compiled baseline, or training data in Parquet (file or directory).
    pub reference: PathBuf,
    /// The current data in Parquet (file or directory).
    pub current: PathBuf,
    /// The tests, the selection and the decision. With a Parquet reference the selection is
    /// applied when it is compiled; a compiled baseline is selected from.
    pub options: Options,
    /// Also evaluate CURRENT in consecutive chunks of this many rows (the last one partial).
    pub chunk_size: Option<usize>,
    /// Threads the tests may use (all cores when `None`).
    pub threads: Option<usize>,
}

/// A finished check: the report, and what it compared (for the renderers).
#[derive(Debug)]
pub struct CheckOutcome {
    pub report: Report,
    pub baseline: Arc<Baseline>,
    /// CURRENT as read.
    pub current: Dataset,
    /// The content hash of CURRENT's columns that the baseline has.
    pub current_version: String,
}

/// Why a check could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    #[error("--p-val must be in (0, 1), got {0}")]
    PValue(f64),
    #[error("--chunk-size must be at least 1")]
    ChunkSize,
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(
        "--{option} names `{column}`, which is not a feature of the baseline (features: {available})"
    )]
    UnknownFeature {
        option: &'static str,
        column: String,
        available: String,
    },
    #[error(
        "column `{column}` was compiled as {compiled}; rebuild the baseline with --{requested} {column} to test it that way"
    )]
    RoleConflict {
        column: String,
        compiled: Kind,
        requested: Kind,
    },
    #[error("no features left to test after --columns and --exclude")]
    NothingSelected,
    #[error(transparent)]
    Evaluate(EvaluateError),
}

/// The selection's refusals in the words of the command line (`--columns`, `--categorical`),
/// which is how a `check` user chose them; the rest as the evaluation says them.
impl From<EvaluateError> for CheckError {
    fn from(error: EvaluateError) -> Self {
        match error {
            EvaluateError::UnknownFeature {
                option,
                column,
                available,
            } => CheckError::UnknownFeature {
                option,
                column,
                available,
            },
            EvaluateError::RoleConflict {
                column,
                compiled,
                requested,
            } => CheckError::RoleConflict {
                column,
                compiled,
                requested,
            },
            EvaluateError::NothingSelected => CheckError::NothingSelected,
            other => CheckError::Evaluate(other),
        }
    }
}

/// The thread budget: `threads`, or every core.
pub fn compute(threads: Option<usize>) -> Compute {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Compute::detect().with_threads(threads)
}

/// Runs `drifttap check`: opens the reference, reads CURRENT, evaluates it whole and, with a
/// chunk size, in chunks.
pub fn run(request: &CheckRequest) -> Result<CheckOutcome, CheckError> {
    let options = &request.options;
    if !(options.p_val > 0.0 && options.p_val < 1.0) {
        return Err(CheckError::PValue(options.p_val));
    }
    if request.chunk_size == Some(0) {
        return Err(CheckError::ChunkSize);
    }
    let compute = compute(request.threads);
    tracing::info!(backend = compute.backend.name(), threads = %compute.threads, "compute");
    let build = BuildOptions {
        // No MMD reference sample when the MMD test is not run.
        mmd_rows: if options.mmd { DEFAULT_MMD_ROWS } else { 0 },
        seed: options.seed,
    };
    let opened = open(&request.reference, &options.selection, &build, &compute)?;
    // A raw reference was compiled with the selection applied; a compiled one is selected from.
    let selection = if opened.compiled {
        options.selection.clone()
    } else {
        Selection::default()
    };
    tracing::info!(version = %opened.baseline.version, "reference ready");
    let current = parquet::read(std::slice::from_ref(&request.current), &[])?;
    tracing::debug!(rows = current.frame.rows(), "current read");
    let prepared = Prepared::new(
        opened.baseline,
        Options {
            selection,
            ..options.clone()
        },
        &compute,
    )?;
    let report = compare(&prepared, &current.frame, request.chunk_size)?;
    let baseline = Arc::clone(prepared.baseline());
    let current_version = current_version(&current.frame, &baseline);
    Ok(CheckOutcome {
        report,
        baseline,
        current,
        current_version,
    })
}

/// Evaluates the whole of `current` and, with a chunk size, each chunk of it on its own; the
/// verdict is drift in the whole or in any chunk.
pub fn compare(
    prepared: &Prepared,
    current: &Frame,
    chunk_size: Option<usize>,
) -> Result<Report, CheckError> {
    let rows = current.rows();
    let mut report = prepared.evaluate(current, 0..rows)?;
    if let Some(size) = chunk_size {
        if size == 0 {
            return Err(CheckError::ChunkSize);
        }
        let mut chunks = Vec::new();
        for (index, start) in (0..rows).step_by(size).enumerate() {
            let end = (start + size).min(rows);
            let chunk = prepared.evaluate(current, start..end)?;
            chunks.push(ChunkReport {
                index,
                start,
                end,
                drift: chunk.drift,
                threshold: chunk.threshold,
                features: chunk.features,
                multivariate: chunk.multivariate,
            });
        }
        report.drift |= chunks.iter().any(|c| c.drift);
        report.chunks = Some(chunks);
    }
    Ok(report)
}

/// The content hash of CURRENT's columns that the baseline has.
fn current_version(current: &Frame, baseline: &Baseline) -> String {
    let columns: Vec<_> = current
        .columns()
        .iter()
        .filter(|c| baseline.feature(&c.name).is_some())
        .collect();
    frame_hash(&columns, current.rows())
}

/// What `drifttap baseline build` compiles.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRequest {
    /// Parquet files or directories of part files.
    pub inputs: Vec<PathBuf>,
    /// The compiled baseline's directory.
    pub output: PathBuf,
    pub selection: Selection,
    /// Rows of the MMD reference sample (0: none).
    pub mmd_rows: usize,
    /// Seed of the MMD sample.
    pub seed: u64,
    /// Threads (all cores when `None`).
    pub threads: Option<usize>,
}

/// Why a baseline could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildFailure {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A written baseline, and the columns left out because of their type.
#[derive(Debug)]
pub struct Built {
    pub baseline: Baseline,
    pub skipped: Vec<(String, String)>,
}

/// Runs `drifttap baseline build`: reads the inputs, compiles, writes the baseline.
pub fn build(request: &BuildRequest, progress: &dyn Progress) -> Result<Built, BuildFailure> {
    let compute = compute(request.threads);
    let names = request.selection.named();
    let what = match request.inputs.as_slice() {
        [one] => one.display().to_string(),
        many => format!("{} inputs", many.len()),
    };
    progress.stage(&format!("reading {what}"), 0);
    let dataset = parquet::read(&request.inputs, &names)?;
    let options = BuildOptions {
        mmd_rows: request.mmd_rows,
        seed: request.seed,
    };
    let mut baseline = Baseline::build(
        &dataset.frame,
        &request.selection,
        &options,
        &compute,
        progress,
    )?;
    baseline.sources = dataset.files;
    progress.stage("writing", 0);
    baseline.write(&request.output)?;
    Ok(Built {
        baseline,
        skipped: dataset.skipped,
    })
}
