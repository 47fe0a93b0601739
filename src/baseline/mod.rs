//! Baselines: training data read from Parquet into columns the statistics engine can test.
//!
//! - [`read`]: one file, several files, or a directory of part files (Hive-style partitions
//!   become columns) into typed in-memory columns, with every problem reported against the
//!   file and column it concerns.

pub mod read;
