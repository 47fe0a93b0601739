//! Opening a reference for testing, whatever its form: a compiled baseline is loaded as it is;
//! training data in Parquet (a file or a directory of part files) is read and compiled in
//! memory with the column selection applied. `check` and `serve` share this.

use std::path::{Path, PathBuf};

use super::compile::{Baseline, BuildError, BuildOptions, Quiet};
use super::parquet::{self, ReadError};
use super::select::Selection;
use super::store::{StoreError, is_compiled};
use crate::stats::Compute;

/// A reference, and whether it came compiled.
#[derive(Debug)]
pub struct Opened {
    pub baseline: Baseline,
    /// A compiled baseline: its features and roles were fixed by `baseline build`.
    pub compiled: bool,
}

/// Why a reference could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{}: {source}", .path.display())]
    Build { path: PathBuf, source: BuildError },
}

/// Opens `path`. `selection` is applied when Parquet is compiled here; a compiled baseline is
/// returned whole (narrowing it is the caller's choice).
pub fn open(
    path: &Path,
    selection: &Selection,
    options: &BuildOptions,
    compute: &Compute,
) -> Result<Opened, OpenError> {
    if is_compiled(path) {
        return Ok(Opened {
            baseline: Baseline::load(path, compute.threads.get())?,
            compiled: true,
        });
    }
    let dataset = parquet::read(&[path.to_path_buf()], &selection.named())?;
    tracing::debug!(rows = dataset.frame.rows(), "reference read");
    let mut baseline = Baseline::build(&dataset.frame, selection, options, compute, &Quiet)
        .map_err(|source| OpenError::Build {
            path: path.to_path_buf(),
            source,
        })?;
    baseline.sources = dataset.files;
    Ok(Opened {
        baseline,
        compiled: false,
    })
}
