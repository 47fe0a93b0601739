//! Opening a reference for testing, whatever its form: a compiled baseline is loaded as it is;
//! training data in Parquet (a file or a directory of part files) is read and compiled in
//! memory with the column selection applied. `check` and `serve` share this.

use std::path::{Path, PathBuf};

use super::compiled::store::{StoreError, is_compiled};
use super::compiled::{Baseline, BuildError, BuildOptions, Quiet};
use super::read::{ReadError, read_tables};
use super::select::Selection;
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
    let table = read_tables(&[path.to_path_buf()], &selection.named())?;
    tracing::debug!(rows = table.rows, "reference read");
    let baseline =
        Baseline::build(&table, selection, options, compute, &Quiet).map_err(|source| {
            OpenError::Build {
                path: path.to_path_buf(),
                source,
            }
        })?;
    Ok(Opened {
        baseline,
        compiled: false,
    })
}
