//! The compiled baseline on disk: a directory other tools can read.
//!
//! ```text
//! credit.baseline/
//!   baseline.json        manifest: format, version (content hash), rows, sources, per-feature
//!                        summary (kind, missing, present, min, max, mean, std), MMD sample facts
//!   numeric.parquet      one Float64 column per numeric feature, `rows` long: the present values
//!                        ascending, then nulls (one per missing value)
//!   categorical.parquet  long form: feature (string), category (string), count (uint64)
//!   mmd-sample.parquet   the MMD reference sample: raw values, one column per feature, no nulls
//! ```
//!
//! pandas, pyarrow, DuckDB or Spark read every file as is. Loading does not sort: it checks that
//! each column is ascending and finite (one pass) and that the counts agree with the manifest.
//! The version is not recomputed on load (hashing a large baseline takes longer than reading
//! it); it identifies the content the builder hashed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::compile::{Baseline, BaselineFeature, FeatureData, MmdSample, ValueType};
use crate::stats::ks::SortedSample;

/// The manifest's file name; its presence makes a directory a compiled baseline.
pub const MANIFEST: &str = "baseline.json";
const NUMERIC: &str = "numeric.parquet";
const CATEGORICAL: &str = "categorical.parquet";
const MMD_SAMPLE: &str = "mmd-sample.parquet";
/// The value of the manifest's `format` field.
pub const FORMAT: &str = "drifttap-baseline";
/// Bumped when a reader of the previous layout could misread the new one.
pub const FORMAT_VERSION: u32 = 1;
/// Rows per written and read batch: large enough that per-batch overhead vanishes, small
/// enough that a batch of a 100-column baseline stays around 50 MiB.
const BATCH_ROWS: usize = 64 * 1024;

/// Why a baseline could not be written or loaded. Every variant names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a drifttap baseline manifest ({reason})")]
    Manifest { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Parquet { path: PathBuf, reason: String },
    #[error("{path}: column `{column}`: {reason}")]
    Column {
        path: PathBuf,
        column: String,
        reason: String,
    },
    #[error("{path} exists and is not a compiled baseline; refusing to replace it")]
    Occupied { path: PathBuf },
}

/// The manifest, `baseline.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Always `drifttap-baseline`.
    pub format: String,
    pub format_version: u32,
    /// Content hash of everything a test reads.
    pub version: String,
    /// The drifttap release that compiled it.
    pub drifttap_version: String,
    /// Rows of training data.
    pub rows: usize,
    /// The Parquet files it was compiled from.
    pub sources: Vec<String>,
    pub features: Vec<ManifestFeature>,
    pub mmd: Option<ManifestMmd>,
}

/// One feature in the manifest: enough to know the baseline without opening the Parquet files.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManifestFeature {
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    /// What the training column held: `numbers` or `text`.
    pub values: String,
    pub missing: usize,
    pub present: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<usize>,
}

/// The MMD sample in the manifest; its values are in `mmd-sample.parquet`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManifestMmd {
    pub features: Vec<String>,
    pub rows: usize,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub sigma: f64,
    pub seed: u64,
}

/// Whether `path` is a compiled baseline (a directory with a manifest, or the manifest itself).
pub fn is_compiled(path: &Path) -> bool {
    path.join(MANIFEST).is_file() || path.file_name().is_some_and(|n| n == MANIFEST)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn parquet_error(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> StoreError + '_ {
    move |e| StoreError::Parquet {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl Baseline {
    /// The manifest describing this baseline.
    pub fn manifest(&self) -> Manifest {
        let features = self
            .features
            .iter()
            .map(|f| {
                let mut entry = ManifestFeature {
                    name: f.name.clone(),
                    kind: String::new(),
                    values: f.values.name().into(),
                    missing: f.missing,
                    present: f.present(),
                    min: None,
                    max: None,
                    mean: None,
                    std: None,
                    categories: None,
                };
                match &f.data {
                    FeatureData::Numeric { sorted, mean, std } => {
                        entry.kind = "numeric".into();
                        if let Some(s) = sorted {
                            entry.min = s.values().first().copied();
                            entry.max = s.values().last().copied();
                            entry.mean = Some(*mean);
                            entry.std = Some(*std);
                        }
                    }
                    FeatureData::Categorical { counts } => {
                        entry.kind = "categorical".into();
                        entry.categories = Some(counts.len());
                    }
                }
                entry
            })
            .collect();
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            version: self.version.clone(),
            drifttap_version: env!("CARGO_PKG_VERSION").into(),
            rows: self.rows,
            sources: self
                .sources
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            features,
            mmd: self.mmd.as_ref().map(|m| ManifestMmd {
                features: m.features.clone(),
                rows: m.rows(),
                mean: m.mean.clone(),
                std: m.std.clone(),
                sigma: m.sigma,
                seed: m.seed,
            }),
        }
    }

    /// Writes the baseline as the directory `path`, replacing a compiled baseline already there
    /// (the new one is written beside it and renamed into place).
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        if path.exists() && !is_compiled(path) {
            return Err(StoreError::Occupied { path: path.into() });
        }
        let staging = sibling(path, "tmp");
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let written = self.write_files(&staging);
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        if path.exists() {
            let old = sibling(path, "old");
            std::fs::rename(path, &old).map_err(io(path))?;
            std::fs::rename(&staging, path).map_err(io(path))?;
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            std::fs::rename(&staging, path).map_err(io(path))?;
        }
        Ok(())
    }

    fn write_files(&self, dir: &Path) -> Result<(), StoreError> {
        let numeric: Vec<(&str, &[f64])> = self
            .features
            .iter()
            .filter_map(|f| match &f.data {
                FeatureData::Numeric { sorted, .. } => Some((
                    f.name.as_str(),
                    sorted.as_ref().map_or(&[][..], SortedSample::values),
                )),
                FeatureData::Categorical { .. } => None,
            })
            .collect();
        if !numeric.is_empty() {
            write_sorted(&dir.join(NUMERIC), &numeric, self.rows)?;
        }
        let mut rows: Vec<(&str, &str, u64)> = Vec::new();
        for f in &self.features {
            if let FeatureData::Categorical { counts } = &f.data {
                rows.extend(
                    counts
                        .iter()
                        .map(|(c, n)| (f.name.as_str(), c.as_str(), *n)),
                );
            }
        }
        if self
            .features
            .iter()
            .any(|f| f.kind() == crate::data::Kind::Categorical)
        {
            let column = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
            let batch = RecordBatch::try_from_iter([
                ("feature", column(rows.iter().map(|r| r.0).collect())),
                ("category", column(rows.iter().map(|r| r.1).collect())),
                (
                    "count",
                    Arc::new(UInt64Array::from(
                        rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                    )) as ArrayRef,
                ),
            ])
            .map_err(|e| StoreError::Parquet {
                path: dir.join(CATEGORICAL),
                reason: e.to_string(),
            })?;
            write_batches(&dir.join(CATEGORICAL), batch.schema(), [batch])?;
        }
        if let Some(mmd) = &self.mmd {
            write_mmd(&dir.join(MMD_SAMPLE), mmd)?;
        }
        let manifest_path = dir.join(MANIFEST);
        let text =
            serde_json::to_string_pretty(&self.manifest()).map_err(|e| StoreError::Manifest {
                path: manifest_path.clone(),
                reason: e.to_string(),
            })?;
        std::fs::write(&manifest_path, text + "\n").map_err(io(&manifest_path))
    }

    /// Loads a compiled baseline from its directory (or its manifest's path), reading the
    /// numeric columns on up to `threads` threads.
    pub fn load(path: &Path, threads: usize) -> Result<Baseline, StoreError> {
        let dir = if path.file_name().is_some_and(|n| n == MANIFEST) {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        let manifest_path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
        let bad = |reason: String| StoreError::Manifest {
            path: manifest_path.clone(),
            reason,
        };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(bad(format!("format is `{}`", manifest.format)));
        }
        if manifest.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} (this drifttap reads version {FORMAT_VERSION}; it was built by drifttap {})",
                manifest.format_version, manifest.drifttap_version
            )));
        }
        let numeric_names: Vec<&str> = manifest
            .features
            .iter()
            .filter(|f| f.kind == "numeric")
            .map(|f| f.name.as_str())
            .collect();
        let mut sorted = if numeric_names.is_empty() {
            Vec::new()
        } else {
            read_sorted(&dir.join(NUMERIC), &numeric_names, manifest.rows, threads)?
        }
        .into_iter();
        let mut counts = if manifest.features.iter().any(|f| f.kind == "categorical") {
            read_counts(&dir.join(CATEGORICAL))?
        } else {
            Vec::new()
        };
        let mut features = Vec::with_capacity(manifest.features.len());
        for entry in &manifest.features {
            let column_error = |file: &str, reason: String| StoreError::Column {
                path: dir.join(file),
                column: entry.name.clone(),
                reason,
            };
            let data = match entry.kind.as_str() {
                "numeric" => {
                    let values = sorted.next().unwrap_or_default();
                    if values.len() != entry.present {
                        return Err(column_error(
                            NUMERIC,
                            format!(
                                "{} values, but the manifest says {}",
                                values.len(),
                                entry.present
                            ),
                        ));
                    }
                    let sorted = if values.is_empty() {
                        None
                    } else {
                        Some(
                            SortedSample::from_sorted(values)
                                .map_err(|e| column_error(NUMERIC, e.to_string()))?,
                        )
                    };
                    FeatureData::Numeric {
                        sorted,
                        mean: entry.mean.unwrap_or(0.0),
                        std: entry.std.unwrap_or(0.0),
                    }
                }
                "categorical" => {
                    let mine: Vec<(String, u64)> = counts
                        .iter_mut()
                        .filter(|(f, _, _)| *f == entry.name)
                        .map(|(_, c, n)| (std::mem::take(c), *n))
                        .collect();
                    let total: u64 = mine.iter().map(|(_, n)| n).sum();
                    if total as usize != entry.present {
                        return Err(column_error(
                            CATEGORICAL,
                            format!(
                                "counts add up to {total}, but the manifest says {}",
                                entry.present
                            ),
                        ));
                    }
                    let mut mine = mine;
                    mine.sort();
                    FeatureData::Categorical { counts: mine }
                }
                other => return Err(bad(format!("feature `{}` has kind `{other}`", entry.name))),
            };
            let values = match entry.values.as_str() {
                "numbers" => ValueType::Number,
                "text" => ValueType::Text,
                other => {
                    return Err(bad(format!(
                        "feature `{}` has values `{other}`",
                        entry.name
                    )));
                }
            };
            features.push(BaselineFeature {
                name: entry.name.clone(),
                values,
                missing: entry.missing,
                data,
            });
        }
        let mmd = match &manifest.mmd {
            Some(m) => Some(read_mmd(&dir.join(MMD_SAMPLE), m)?),
            None => None,
        };
        Ok(Baseline {
            version: manifest.version,
            rows: manifest.rows,
            sources: manifest.sources.iter().map(PathBuf::from).collect(),
            features,
            mmd,
        })
    }
}

/// `path` with `.{suffix}` appended to its file name, in the same directory (so a rename is
/// atomic).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}-{}", std::process::id()));
    path.with_file_name(name)
}

/// Properties for every file: no dictionaries (sorted distinct floats defeat them) and no
/// compression (loading speed matters more than disk; sorted doubles compress poorly anyway).
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::UNCOMPRESSED)
        .build()
}

fn write_batches(
    path: &Path,
    schema: Arc<Schema>,
    batches: impl IntoIterator<Item = RecordBatch>,
) -> Result<(), StoreError> {
    let file = File::create(path).map_err(io(path))?;
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(properties())).map_err(parquet_error(path))?;
    for batch in batches {
        writer.write(&batch).map_err(parquet_error(path))?;
    }
    writer.close().map_err(parquet_error(path))?;
    Ok(())
}

/// One nullable Float64 column per feature, `rows` long: the values, then nulls.
fn write_sorted(path: &Path, columns: &[(&str, &[f64])], rows: usize) -> Result<(), StoreError> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, _)| Field::new(*name, DataType::Float64, true))
            .collect::<Vec<_>>(),
    ));
    let batches = (0..rows.div_ceil(BATCH_ROWS)).map(|b| {
        let (start, end) = (b * BATCH_ROWS, ((b + 1) * BATCH_ROWS).min(rows));
        let arrays = columns
            .iter()
            .map(|(_, values)| {
                let present = values.len().clamp(start, end);
                let array: Float64Array = (start..end)
                    .map(|i| (i < present).then(|| values[i]))
                    .collect();
                Arc::new(array) as ArrayRef
            })
            .collect();
        RecordBatch::try_new(schema.clone(), arrays)
    });
    let batches: Vec<RecordBatch> =
        batches
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError::Parquet {
                path: path.into(),
                reason: e.to_string(),
            })?;
    write_batches(path, schema, batches)
}

fn write_mmd(path: &Path, mmd: &MmdSample) -> Result<(), StoreError> {
    let dim = mmd.features.len();
    let arrays: Vec<(&str, ArrayRef)> = mmd
        .features
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let column: Vec<f64> = mmd.values.iter().skip(j).step_by(dim).copied().collect();
            (
                name.as_str(),
                Arc::new(Float64Array::from(column)) as ArrayRef,
            )
        })
        .collect();
    let batch =
        RecordBatch::try_from_iter_with_nullable(arrays.into_iter().map(|(n, a)| (n, a, false)))
            .map_err(|e| StoreError::Parquet {
                path: path.into(),
                reason: e.to_string(),
            })?;
    write_batches(path, batch.schema(), [batch])
}

/// Opens `path` for reading the columns `names` (in that order of the result).
fn open_columns(
    path: &Path,
    names: &[&str],
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, StoreError> {
    let file = File::open(path).map_err(io(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error(path))?;
    let schema = builder.schema().clone();
    let mut indices = Vec::with_capacity(names.len());
    for name in names {
        let (index, field) = schema
            .column_with_name(name)
            .ok_or_else(|| StoreError::Column {
                path: path.into(),
                column: name.to_string(),
                reason: "missing from the file".into(),
            })?;
        if field.data_type() != &DataType::Float64 {
            return Err(StoreError::Column {
                path: path.into(),
                column: name.to_string(),
                reason: format!("type {}, expected Float64", field.data_type()),
            });
        }
        indices.push(index);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_error(path))
}

/// The present values of each column, on up to `threads` threads (columns split evenly).
fn read_sorted(
    path: &Path,
    names: &[&str],
    rows: usize,
    threads: usize,
) -> Result<Vec<Vec<f64>>, StoreError> {
    let groups = threads.clamp(1, names.len());
    let per_group = names.len().div_ceil(groups);
    let results: Vec<Result<Vec<Vec<f64>>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .chunks(per_group)
            .map(|group| scope.spawn(move || read_group(path, group, rows)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(StoreError::Parquet {
                        path: path.into(),
                        reason: "a reader thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(names.len());
    for group in results {
        out.extend(group?);
    }
    Ok(out)
}

fn read_group(path: &Path, names: &[&str], rows: usize) -> Result<Vec<Vec<f64>>, StoreError> {
    let reader = open_columns(path, names)?;
    let mut out: Vec<Vec<f64>> = names.iter().map(|_| Vec::with_capacity(rows)).collect();
    let mut seen = 0;
    for batch in reader {
        let batch = batch.map_err(|e| StoreError::Parquet {
            path: path.into(),
            reason: e.to_string(),
        })?;
        for ((column, values), name) in batch.columns().iter().zip(&mut out).zip(names) {
            let array = column.as_primitive::<Float64Type>();
            let present = array.len() - array.null_count();
            // Nulls only after the values: the batch's first `present` slots are all valid.
            let ordered = array
                .nulls()
                .is_none_or(|n| n.slice(0, present).null_count() == 0);
            if !ordered || (present > 0 && values.len() != seen) {
                return Err(StoreError::Column {
                    path: path.into(),
                    column: name.to_string(),
                    reason: "nulls before values (not a compiled baseline column)".into(),
                });
            }
            values.extend_from_slice(&array.values()[..present]);
        }
        seen += batch.num_rows();
    }
    if seen != rows {
        return Err(StoreError::Parquet {
            path: path.into(),
            reason: format!("{seen} rows, but the manifest says {rows}"),
        });
    }
    Ok(out)
}

/// (feature, category, count) rows of `categorical.parquet`.
fn read_counts(path: &Path) -> Result<Vec<(String, String, u64)>, StoreError> {
    let file = File::open(path).map_err(io(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(parquet_error(path))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| StoreError::Parquet {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let column = |name: &str, expected: DataType| {
            batch
                .column_by_name(name)
                .filter(|c| c.data_type() == &expected)
                .ok_or_else(|| StoreError::Column {
                    path: path.into(),
                    column: name.into(),
                    reason: format!("missing, or not of type {expected}"),
                })
        };
        let feature = column("feature", DataType::Utf8)?
            .as_string::<i32>()
            .clone();
        let category = column("category", DataType::Utf8)?
            .as_string::<i32>()
            .clone();
        let count = column("count", DataType::UInt64)?
            .as_primitive::<UInt64Type>()
            .clone();
        if feature.null_count() + category.null_count() + count.null_count() > 0 {
            return Err(StoreError::Parquet {
                path: path.into(),
                reason: "null feature, category or count".into(),
            });
        }
        for i in 0..batch.num_rows() {
            out.push((
                feature.value(i).to_string(),
                category.value(i).to_string(),
                count.value(i),
            ));
        }
    }
    Ok(out)
}

fn read_mmd(path: &Path, manifest: &ManifestMmd) -> Result<MmdSample, StoreError> {
    let names: Vec<&str> = manifest.features.iter().map(String::as_str).collect();
    let columns = read_group(path, &names, manifest.rows)?;
    let dim = names.len();
    let mut values = vec![0.0; manifest.rows * dim];
    for (j, (column, name)) in columns.iter().zip(&names).enumerate() {
        if column.len() != manifest.rows || column.iter().any(|v| !v.is_finite()) {
            return Err(StoreError::Column {
                path: path.into(),
                column: name.to_string(),
                reason: "missing or non-finite values in the MMD sample".into(),
            });
        }
        for (i, v) in column.iter().enumerate() {
            values[i * dim + j] = *v;
        }
    }
    if manifest.mean.len() != dim || manifest.std.len() != dim {
        return Err(StoreError::Manifest {
            path: path.with_file_name(MANIFEST),
            reason: "mmd.mean and mmd.std must have one entry per MMD feature".into(),
        });
    }
    Ok(MmdSample {
        features: manifest.features.clone(),
        mean: manifest.mean.clone(),
        std: manifest.std.clone(),
        values,
        sigma: manifest.sigma,
        seed: manifest.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::compile::BuildOptions;
    use crate::baseline::compile::tests::build;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "drifttap-store-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("temp dir");
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_written_baseline_loads_back_identical() {
        let dir = TempDir::new("roundtrip");
        let baseline = build(&BuildOptions {
            mmd_rows: 50,
            seed: 3,
        });
        let path = dir.0.join("model.baseline");
        baseline.write(&path).expect("writes");
        assert!(is_compiled(&path));
        for threads in [1, 2, 8] {
            let loaded = Baseline::load(&path, threads).expect("loads");
            assert_eq!(loaded, baseline);
            assert_eq!(loaded.content_hash(threads), baseline.version);
        }
        let by_manifest = Baseline::load(&path.join(MANIFEST), 1).expect("loads");
        assert_eq!(by_manifest, baseline);
        // Rewriting replaces it in place.
        baseline.write(&path).expect("rewrites");
        assert_eq!(Baseline::load(&path, 1).expect("loads"), baseline);
    }

    #[test]
    fn the_manifest_is_plain_json_with_summaries() {
        let dir = TempDir::new("manifest");
        let path = dir.0.join("b");
        build(&BuildOptions::default())
            .write(&path)
            .expect("writes");
        let text = std::fs::read_to_string(path.join(MANIFEST)).expect("manifest");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(json["format"], "drifttap-baseline");
        assert_eq!(json["features"][0]["name"], "income");
        assert_eq!(json["features"][0]["missing"], 10);
        assert_eq!(json["features"][3]["categories"], 2);
        assert_eq!(json["mmd"]["features"][1], "age");
    }

    #[test]
    fn it_refuses_to_replace_a_directory_that_is_not_a_baseline() {
        let dir = TempDir::new("occupied");
        std::fs::write(dir.0.join("keep.txt"), "data").expect("write");
        let err = build(&BuildOptions::default())
            .write(&dir.0)
            .expect_err("occupied");
        assert!(matches!(err, StoreError::Occupied { .. }), "{err}");
        assert!(dir.0.join("keep.txt").exists());
    }

    #[test]
    fn damaged_baselines_are_refused_naming_the_file() {
        let dir = TempDir::new("damaged");
        let path = dir.0.join("b");
        let baseline = build(&BuildOptions::default());
        baseline.write(&path).expect("writes");
        // A manifest that lies about the counts.
        let manifest = path.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest).expect("read");
        std::fs::write(
            &manifest,
            text.replacen("\"present\": 490", "\"present\": 491", 1),
        )
        .expect("write");
        let err = Baseline::load(&path, 1).expect_err("count mismatch");
        assert!(
            err.to_string().contains("numeric.parquet: column `income`"),
            "{err}"
        );
        // A truncated Parquet file.
        baseline.write(&path).expect("rewrites");
        let numeric = path.join(NUMERIC);
        let bytes = std::fs::read(&numeric).expect("read");
        std::fs::write(&numeric, &bytes[..bytes.len() / 2]).expect("truncate");
        let err = Baseline::load(&path, 1).expect_err("truncated");
        assert!(err.to_string().contains("numeric.parquet"), "{err}");
        // A manifest of a future format.
        baseline.write(&path).expect("rewrites");
        let text = std::fs::read_to_string(&manifest).expect("read");
        std::fs::write(
            &manifest,
            text.replace("\"format_version\": 1", "\"format_version\": 9"),
        )
        .expect("write");
        let err = Baseline::load(&path, 1).expect_err("future");
        assert!(err.to_string().contains("format version 9"), "{err}");
    }
}
