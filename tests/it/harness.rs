//! What the integration tests share: the binary, the bundled example, Parquet fixtures written
//! by code, temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;

/// A file of the bundled credit example.
pub fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("baselines/credit")
        .join(name)
        .display()
        .to_string()
}

/// Writes one record batch to a Parquet file.
pub fn write_batch(path: &Path, batch: &RecordBatch) {
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).expect("writable"),
        batch.schema(),
        None,
    )
    .expect("writer");
    writer.write(batch).expect("written");
    writer.close().expect("closed");
}

/// Writes `columns` (name, nullable f64 values) to a Parquet file.
pub fn write_numbers(path: &Path, columns: &[(&str, Vec<Option<f64>>)]) {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, v)| Arc::new(Float64Array::from(v.clone())) as ArrayRef)
        .collect();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, _)| Field::new(*n, arrow_schema::DataType::Float64, true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("valid batch");
    write_batch(path, &batch);
}

/// Runs the `drifttap` binary.
pub fn drifttap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drifttap"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory under the system's temp directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("drifttap-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir is writable");
        TempDir(path)
    }

    /// A path inside, as a string for the command line.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
