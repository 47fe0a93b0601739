//! Baselines: training data read from Parquet and compiled into what every evaluation reuses.
//!
//! - [`parquet`]: one file, several files, or a directory of part files (Hive-style partitions
//!   become columns) into a [`Dataset`](parquet::Dataset), with every problem reported against
//!   the file and column it concerns.
//! - [`select`]: which columns are features and whether each is tested as numeric or
//!   categorical (`--columns`, `--exclude`, `--numeric`, `--categorical`).
//! - [`compile`]: the compiled baseline (sorted columns, category counts, MMD sample).
//! - [`hash`]: the content hash that is a baseline's version.
//! - [`store`]: its on-disk form, a directory of Parquet files with a JSON manifest.
//! - [`open`]: a reference in either form — compiled, or Parquet compiled in memory.

pub mod compile;
pub mod hash;
pub mod open;
pub mod parquet;
pub mod select;
pub mod store;
