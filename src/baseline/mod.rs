//! Baselines: training data read from Parquet into columns the statistics engine can test.
//!
//! - [`read`]: one file, several files, or a directory of part files (Hive-style partitions
//!   become columns) into typed in-memory columns, with every problem reported against the
//!   file and column it concerns.
//! - [`select`]: which columns are features and whether each is tested as numeric or
//!   categorical (`--columns`, `--exclude`, `--numeric`, `--categorical`).
//! - [`compiled`]: the compiled baseline (sorted columns, category counts, MMD sample, content
//!   hash) and its on-disk form, a directory of Parquet files with a JSON manifest.
//! - [`open`]: a reference in either form — compiled, or Parquet compiled in memory.

pub mod compiled;
pub mod open;
pub mod read;
pub mod select;
