//! Reading Parquet into columns.
//!
//! Numeric columns (every integer and float width, decimals) become `f64`; booleans, strings
//! (plain, large, view) and dictionary-encoded strings become categories. Nulls and NaN are
//! *missing*: kept as such so the share of missing values can be reported (a jump in missing
//! values is drift too) and dropped before any test. Dates and timestamps are left out unless
//! selected by name, and then read as numbers (days, or the timestamp's unit, since the epoch).
//! Nested and binary columns cannot be tested: selecting one is an error, otherwise it is
//! skipped and listed.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use crate::data::arrow::{Role, Text, for_each_number, for_each_text, role_of};
use crate::data::{Column, Frame, FrameError, MISSING, Values};

/// Why a data set could not be read. Every variant names the file (and column) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable Parquet file ({reason})")]
    NotParquet { path: PathBuf, reason: String },
    #[error("{path}: no Parquet files found")]
    NoFiles { path: PathBuf },
    #[error("{path}: column `{column}` has type {found}, but earlier files have {expected}")]
    SchemaMismatch {
        path: PathBuf,
        column: String,
        expected: String,
        found: String,
    },
    #[error("{path}: column `{column}` has type {data_type}, which cannot be tested for drift")]
    Unsupported {
        path: PathBuf,
        column: String,
        data_type: String,
    },
    #[error("{path}: no column `{column}` (columns: {available})")]
    NoSuchColumn {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("{path}: {source}")]
    Frame { path: PathBuf, source: FrameError },
}

/// A data set read from one or more Parquet files: its rows, and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub frame: Frame,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// Columns left out because of their type, with the type (e.g. timestamps, nested).
    pub skipped: Vec<(String, String)>,
}

/// Reads `inputs` — Parquet files or directories of part files — into one data set, the
/// columns of each file split over all cores. Columns named in `select` are read whatever their
/// (testable) type, dates and timestamps included; an unknown name there is an error naming
/// the columns that exist.
pub fn read(inputs: &[PathBuf], select: &[String]) -> Result<Dataset, ReadError> {
    let mut files = Vec::new();
    for input in inputs {
        let found = list_files(input)?;
        if found.is_empty() {
            return Err(ReadError::NoFiles {
                path: input.clone(),
            });
        }
        files.extend(found);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = Builder::default();
    for (file, partitions) in &files {
        builder.read_file(file, partitions, select, threads)?;
    }
    let first = files.first().map(|(p, _)| p.clone()).unwrap_or_default();
    for name in select {
        if !builder.order.contains(name) && !builder.skipped.iter().any(|(n, _)| n == name) {
            return Err(ReadError::NoSuchColumn {
                path: first,
                column: name.clone(),
                available: builder.order.join(", "),
            });
        }
    }
    builder.finish(files.into_iter().map(|(p, _)| p).collect())
}

/// A Parquet file and the Hive partition values (`key=value` directories) above it.
type PartFile = (PathBuf, Vec<(String, String)>);

/// The Parquet files under `path` (itself, if a file), sorted by path; files and directories
/// whose names start with `_` or `.` (`_SUCCESS`, `.crc` files) are not data.
fn list_files(path: &Path) -> Result<Vec<PartFile>, ReadError> {
    let meta = std::fs::metadata(path).map_err(|source| ReadError::Io {
        path: path.into(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![(path.to_path_buf(), Vec::new())]);
    }
    let mut out = Vec::new();
    let mut stack = vec![(path.to_path_buf(), Vec::<(String, String)>::new())];
    while let Some((dir, partitions)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| ReadError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ReadError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            let child = entry.path();
            if child.is_dir() {
                let mut parts = partitions.clone();
                if let Some((key, value)) = name.split_once('=') {
                    parts.push((key.to_string(), value.to_string()));
                }
                stack.push((child, parts));
            } else if name.ends_with(".parquet") || name.ends_with(".parq") || !name.contains('.') {
                out.push((child, partitions.clone()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A categorical column being read: category names in first-seen order, their codes, and the
/// codes of the rows so far.
#[derive(Default)]
struct Categories {
    names: Vec<String>,
    index: HashMap<String, u32>,
    codes: Vec<u32>,
}

#[derive(Default)]
struct Builder {
    order: Vec<String>,
    types: HashMap<String, DataType>,
    numeric: HashMap<String, Vec<f64>>,
    categorical: HashMap<String, Categories>,
    skipped: Vec<(String, String)>,
    rows: usize,
}

/// A column of one file, read on its own: numbers, or categories with file-local codes.
enum Part {
    Numeric(Vec<f64>),
    Categorical(Categories),
}

/// A column of a file to read, and how.
struct Planned {
    /// Index among the file's root fields.
    root: usize,
    name: String,
    role: Role,
    /// Compressed bytes in the file, to balance the reading threads.
    bytes: i64,
}

impl Builder {
    fn read_file(
        &mut self,
        path: &Path,
        partitions: &[(String, String)],
        select: &[String],
        threads: usize,
    ) -> Result<(), ReadError> {
        let open = || {
            File::open(path).map_err(|source| ReadError::Io {
                path: path.into(),
                source,
            })
        };
        let not_parquet = |e: parquet::errors::ParquetError| ReadError::NotParquet {
            path: path.into(),
            reason: e.to_string(),
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(not_parquet)?;
        let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let schema = builder.schema().clone();
        let plan = self.plan(path, &schema, builder.metadata(), select)?;
        // Strings are read as dictionaries: Parquet stores them dictionary-encoded, so each
        // distinct value is then interned once per page instead of once per row.
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| {
                let as_dictionary = |value: DataType| {
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(value))
                };
                let data_type = match f.data_type() {
                    DataType::Utf8 => as_dictionary(DataType::Utf8),
                    DataType::LargeUtf8 => as_dictionary(DataType::LargeUtf8),
                    other => other.clone(),
                };
                f.as_ref().clone().with_data_type(data_type)
            })
            .collect();
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new_with_metadata(
            fields,
            schema.metadata().clone(),
        )));
        let groups = balance(&plan, threads);
        let parquet_schema = builder.parquet_schema().clone();
        let read_group = |group: &[&Planned]| -> Result<Vec<Part>, ReadError> {
            let mut parts: Vec<Part> = group
                .iter()
                .map(|p| match p.role {
                    Role::Categorical => Part::Categorical(Categories::default()),
                    Role::Numeric | Role::Temporal => Part::Numeric(Vec::with_capacity(rows)),
                })
                .collect();
            let mask = ProjectionMask::roots(&parquet_schema, group.iter().map(|p| p.root));
            let reader =
                ParquetRecordBatchReaderBuilder::try_new_with_options(open()?, options.clone())
                    .and_then(|b| b.with_projection(mask).build())
                    .map_err(not_parquet)?;
            for batch in reader {
                let batch = batch.map_err(|e| ReadError::NotParquet {
                    path: path.into(),
                    reason: e.to_string(),
                })?;
                for (array, part) in batch.columns().iter().zip(&mut parts) {
                    match part {
                        Part::Numeric(values) => append_numbers(array, values),
                        Part::Categorical(c) => {
                            append_categories(array, &mut c.names, &mut c.index, &mut c.codes)
                        }
                    }
                }
            }
            Ok(parts)
        };
        // One thread per group: `balance` made as many as there are threads to use.
        let results = crate::stats::par::map_ordered(&groups, groups.len(), |g| read_group(g));
        let before = self.rows;
        for (group, parts) in groups.iter().zip(results) {
            for (planned, part) in group.iter().zip(parts?) {
                self.append(&planned.name, before, part);
            }
        }
        for (key, value) in partitions {
            if !self.types.contains_key(key) {
                self.types.insert(key.clone(), DataType::Utf8);
                self.order.push(key.clone());
            }
            let c = self.categorical.entry(key.clone()).or_default();
            c.codes.resize(before, MISSING);
            let code = intern(&mut c.names, &mut c.index, value);
            c.codes.extend(std::iter::repeat_n(code, rows));
        }
        self.rows += rows;
        Ok(())
    }

    /// The columns of a file to read, checked against the types of earlier files; columns of
    /// types that cannot be tested are skipped, or an error when selected.
    fn plan(
        &mut self,
        path: &Path,
        schema: &Schema,
        metadata: &parquet::file::metadata::ParquetMetaData,
        select: &[String],
    ) -> Result<Vec<Planned>, ReadError> {
        let mut plan = Vec::new();
        for (root, field) in schema.fields().iter().enumerate() {
            let name = field.name();
            let selected = select.iter().any(|s| s == name);
            let role = match role_of(field.data_type()) {
                Some(Role::Temporal) if !selected => None,
                Some(role) => Some(role),
                None if selected => {
                    return Err(ReadError::Unsupported {
                        path: path.into(),
                        column: name.clone(),
                        data_type: field.data_type().to_string(),
                    });
                }
                None => None,
            };
            let Some(role) = role else {
                if !self.skipped.iter().any(|(n, _)| n == name) {
                    self.skipped
                        .push((name.clone(), field.data_type().to_string()));
                }
                continue;
            };
            match self.types.get(name) {
                Some(expected)
                    if expected != field.data_type() && role_of(expected) != Some(role) =>
                {
                    return Err(ReadError::SchemaMismatch {
                        path: path.into(),
                        column: name.clone(),
                        expected: expected.to_string(),
                        found: field.data_type().to_string(),
                    });
                }
                Some(_) => {}
                None => {
                    self.types.insert(name.clone(), field.data_type().clone());
                    self.order.push(name.clone());
                }
            }
            // A root field is one leaf column for every type read here.
            let bytes = metadata
                .row_groups()
                .iter()
                .filter_map(|g| g.columns().get(root))
                .map(|c| c.compressed_size())
                .sum();
            plan.push(Planned {
                root,
                name: name.clone(),
                role,
                bytes,
            });
        }
        Ok(plan)
    }

    /// Appends a column read from a file whose rows start at `before`.
    fn append(&mut self, name: &str, before: usize, part: Part) {
        match part {
            Part::Numeric(mut read) => {
                let values = self.numeric.entry(name.to_string()).or_default();
                values.resize(before, f64::NAN);
                if values.is_empty() {
                    *values = std::mem::take(&mut read);
                } else {
                    values.append(&mut read);
                }
            }
            Part::Categorical(read) => {
                let c = self.categorical.entry(name.to_string()).or_default();
                c.codes.resize(before, MISSING);
                let global: Vec<u32> = read
                    .names
                    .iter()
                    .map(|n| intern(&mut c.names, &mut c.index, n))
                    .collect();
                c.codes.extend(
                    read.codes
                        .iter()
                        .map(|&code| global.get(code as usize).copied().unwrap_or(MISSING)),
                );
            }
        }
    }

    fn finish(mut self, files: Vec<PathBuf>) -> Result<Dataset, ReadError> {
        let rows = self.rows;
        let columns = self
            .order
            .iter()
            .map(|name| {
                let values = match self.numeric.remove(name) {
                    Some(mut v) => {
                        v.resize(rows, f64::NAN);
                        Values::Numeric(v)
                    }
                    None => {
                        let Categories {
                            names, mut codes, ..
                        } = self.categorical.remove(name).unwrap_or_default();
                        codes.resize(rows, MISSING);
                        Values::Categorical { names, codes }
                    }
                };
                Column {
                    name: name.clone(),
                    values,
                }
            })
            .collect();
        let frame = Frame::new(rows, columns).map_err(|source| ReadError::Frame {
            path: files.first().cloned().unwrap_or_default(),
            source,
        })?;
        Ok(Dataset {
            frame,
            files,
            skipped: self.skipped,
        })
    }
}

/// Splits the planned columns into at most `threads` groups of similar compressed size, each
/// in file order (the order a projected reader returns them in).
fn balance(plan: &[Planned], threads: usize) -> Vec<Vec<&Planned>> {
    let groups = threads.clamp(1, plan.len().max(1));
    let mut by_size: Vec<&Planned> = plan.iter().collect();
    by_size.sort_by_key(|p| std::cmp::Reverse(p.bytes));
    let mut out: Vec<(i64, Vec<&Planned>)> = vec![(0, Vec::new()); groups];
    for planned in by_size {
        if let Some(lightest) = out.iter_mut().min_by_key(|(bytes, _)| *bytes) {
            lightest.0 += planned.bytes;
            lightest.1.push(planned);
        }
    }
    out.into_iter()
        .filter(|(_, g)| !g.is_empty())
        .map(|(_, mut g)| {
            g.sort_by_key(|p| p.root);
            g
        })
        .collect()
}

fn intern(names: &mut Vec<String>, index: &mut HashMap<String, u32>, value: &str) -> u32 {
    if let Some(code) = index.get(value) {
        return *code;
    }
    let code = names.len() as u32;
    names.push(value.to_string());
    index.insert(value.to_string(), code);
    code
}

/// Appends a numeric (or temporal) array as f64, nulls and NaN as NaN: the array's rows start
/// NaN, and [`for_each_number`] writes the valid ones (a plain loop, inlined here, the compiler
/// vectorises when there are no nulls).
fn append_numbers(array: &ArrayRef, out: &mut Vec<f64>) {
    let start = out.len();
    let n = array.len();
    out.resize(start + n, f64::NAN);
    let Some(rows) = out.get_mut(start..start + n) else {
        return;
    };
    // role_of admits no other type here; were it one, its rows would stay missing.
    for_each_number(array.as_ref(), 0..n, |i, v| {
        if let Some(slot) = rows.get_mut(i) {
            *slot = v;
        }
    });
}

/// Appends a categorical array (booleans, strings, dictionary-encoded strings) as codes.
fn append_categories(
    array: &ArrayRef,
    names: &mut Vec<String>,
    index: &mut HashMap<String, u32>,
    out: &mut Vec<u32>,
) {
    match array.data_type() {
        DataType::Dictionary(_, _) => {
            let a = array.as_any_dictionary();
            if a.values().is_empty() {
                // No value to point at: every row is missing (arrow's `normalized_keys` panics
                // on an empty dictionary, which writers produce for an all-null column).
                out.extend(std::iter::repeat_n(MISSING, array.len()));
                return;
            }
            let keys = a.normalized_keys();
            let values = a.values();
            let mut dictionary = Vec::new();
            append_categories(values, names, index, &mut dictionary);
            let code = |k: &usize| dictionary.get(*k).copied().unwrap_or(MISSING);
            match array.logical_nulls().filter(|n| n.null_count() > 0) {
                None => out.extend(keys.iter().map(code)),
                Some(nulls) => out.extend(
                    keys.iter()
                        .zip(nulls.iter())
                        .map(|(k, valid)| if valid { code(k) } else { MISSING }),
                ),
            }
        }
        _ => {
            let start = out.len();
            let n = array.len();
            out.resize(start + n, MISSING);
            let Some(rows) = out.get_mut(start..start + n) else {
                return;
            };
            // Any type but these leaves its rows missing (role_of admits none here).
            for_each_text(array.as_ref(), 0..n, |i, text| {
                let value = match text {
                    Text::Bool(b) => {
                        if b {
                            "true"
                        } else {
                            "false"
                        }
                    }
                    Text::Str(s) => s,
                };
                if let Some(slot) = rows.get_mut(i) {
                    *slot = intern(names, index, value);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use arrow_array::RecordBatch;
    use arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
    use arrow_array::types::Int32Type as DictKey;
    use arrow_array::{
        BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int8Array,
        Int64Array, LargeStringArray, StringArray, TimestampMillisecondArray, UInt16Array,
    };
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;

    /// A fresh directory under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "drifttap-read-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("temp dir is writable");
            TempDir(dir)
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn write(path: &Path, batch: &RecordBatch) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent is writable");
        }
        let file = File::create(path).expect("file is writable");
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).expect("valid schema");
        writer.write(batch).expect("batch is written");
        writer.close().expect("file is closed");
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .expect("columns match the schema")
    }

    fn mixed_batch() -> RecordBatch {
        let mut dictionary = StringDictionaryBuilder::<DictKey>::new();
        for v in [Some("gold"), Some("silver"), None, Some("gold")] {
            match v {
                Some(s) => {
                    dictionary.append_value(s);
                }
                None => dictionary.append_null(),
            }
        }
        let mut list = ListBuilder::new(arrow_array::builder::Int32Builder::new());
        for _ in 0..4 {
            list.values().append_value(1);
            list.append(true);
        }
        batch(vec![
            (
                "i8",
                Arc::new(Int8Array::from(vec![Some(1), None, Some(-3), Some(4)])),
            ),
            ("u16", Arc::new(UInt16Array::from(vec![1, 2, 3, 65_535]))),
            ("i64", Arc::new(Int64Array::from(vec![10, 20, 30, 40]))),
            (
                "f32",
                Arc::new(Float32Array::from(vec![0.5, f32::NAN, 1.5, 2.5])),
            ),
            (
                "f64",
                Arc::new(Float64Array::from(vec![
                    Some(0.25),
                    Some(1.0),
                    None,
                    Some(-2.0),
                ])),
            ),
            (
                "amount",
                Arc::new(
                    Decimal128Array::from(vec![12_345, 100, -5, 0])
                        .with_precision_and_scale(10, 2)
                        .expect("valid"),
                ),
            ),
            (
                "flag",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                ])),
            ),
            (
                "city",
                Arc::new(StringArray::from(vec![
                    Some("Oslo"),
                    Some("Lima"),
                    Some("Oslo"),
                    None,
                ])),
            ),
            (
                "note",
                Arc::new(LargeStringArray::from(vec!["a", "b", "a", "a"])),
            ),
            ("tier", Arc::new(dictionary.finish())),
            (
                "day",
                Arc::new(Date32Array::from(vec![19_000, 19_001, 19_002, 19_003])),
            ),
            (
                "at",
                Arc::new(TimestampMillisecondArray::from(vec![1, 2, 3, 4])),
            ),
            ("tags", Arc::new(list.finish())),
        ])
    }

    #[test]
    fn an_all_null_dictionary_column_is_missing_values_not_an_arrow_panic() {
        // Keys all null over an empty dictionary, as writers produce for an all-null column:
        // arrow's `normalized_keys` panics on it.
        let array: ArrayRef = Arc::new(
            arrow_array::DictionaryArray::<DictKey>::try_new(
                arrow_array::Int32Array::from(vec![None, None, None]),
                Arc::new(StringArray::from(Vec::<&str>::new())),
            )
            .expect("valid dictionary"),
        );
        let (mut names, mut index, mut codes) = (Vec::new(), HashMap::new(), Vec::new());
        append_categories(&array, &mut names, &mut index, &mut codes);
        assert_eq!(codes, vec![MISSING; 3]);
        assert!(names.is_empty());
    }

    #[test]
    fn every_supported_type_is_read_with_its_missing_values() {
        let dir = TempDir::new();
        let path = dir.path("mixed.parquet");
        write(&path, &mixed_batch());
        let table = read(std::slice::from_ref(&path), &[]).expect("readable");
        assert_eq!(table.frame.rows(), 4);
        let numbers = |name: &str| match &table.frame.column(name).expect("column exists").values {
            Values::Numeric(v) => v.clone(),
            other => panic!("{name} is not numeric: {other:?}"),
        };
        assert_eq!(numbers("u16"), vec![1.0, 2.0, 3.0, 65_535.0]);
        assert_eq!(numbers("amount"), vec![123.45, 1.0, -0.05, 0.0]);
        let i8 = numbers("i8");
        assert!(i8[1].is_nan() && i8[2] == -3.0);
        assert_eq!(
            table.frame.column("f32").expect("exists").missing(),
            1,
            "NaN counts as missing"
        );
        assert_eq!(
            table.frame.column("f64").expect("exists").missing(),
            1,
            "null counts as missing"
        );
        match &table.frame.column("tier").expect("exists").values {
            Values::Categorical { names, codes } => {
                let decoded: Vec<Option<&str>> = codes
                    .iter()
                    .map(|c| (*c != MISSING).then(|| names[*c as usize].as_str()))
                    .collect();
                assert_eq!(
                    decoded,
                    vec![Some("gold"), Some("silver"), None, Some("gold")]
                );
            }
            other => panic!("tier is not categorical: {other:?}"),
        }
        assert_eq!(table.frame.column("flag").expect("exists").missing(), 1);
        assert_eq!(table.frame.column("city").expect("exists").missing(), 1);
        // Dates, timestamps and nested columns are left out and listed.
        assert!(
            table.frame.column("day").is_none()
                && table.frame.column("at").is_none()
                && table.frame.column("tags").is_none()
        );
        let skipped: Vec<&str> = table.skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(skipped, vec!["day", "at", "tags"]);
        // Selected by name, a date is read as days since the epoch.
        let table = read(&[path], &["day".to_string()]).expect("readable");
        assert_eq!(
            table.frame.column("day").map(|c| &c.values),
            Some(&Values::Numeric(vec![
                19_000.0, 19_001.0, 19_002.0, 19_003.0
            ]))
        );
    }

    #[test]
    fn directories_of_part_files_with_hive_partitions() {
        let dir = TempDir::new();
        let part = |v: Vec<f64>| batch(vec![("x", Arc::new(Float64Array::from(v)) as ArrayRef)]);
        write(
            &dir.path("data/region=eu/part-0.parquet"),
            &part(vec![1.0, 2.0]),
        );
        write(&dir.path("data/region=us/part-0.parquet"), &part(vec![3.0]));
        std::fs::write(dir.path("data/_SUCCESS"), b"").expect("writable");
        std::fs::write(dir.path("data/region=eu/.part-0.parquet.crc"), b"crc").expect("writable");
        let table = read(&[dir.path("data")], &[]).expect("readable");
        assert_eq!(table.files.len(), 2);
        assert_eq!(
            table.frame.column("x").map(|c| &c.values),
            Some(&Values::Numeric(vec![1.0, 2.0, 3.0]))
        );
        match &table
            .frame
            .column("region")
            .expect("partition column")
            .values
        {
            Values::Categorical { names, codes } => {
                assert_eq!(names, &vec!["eu".to_string(), "us".to_string()]);
                assert_eq!(codes, &vec![0, 0, 1]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_inputs_name_the_file_and_column() {
        let dir = TempDir::new();
        let missing = dir.path("absent.parquet");
        let err = read(std::slice::from_ref(&missing), &[]).expect_err("missing file");
        assert!(
            matches!(err, ReadError::Io { .. }) && err.to_string().contains("absent.parquet"),
            "{err}"
        );

        let text = dir.path("notes.parquet");
        std::fs::write(&text, "id,value\n1,2\n").expect("writable");
        let err = read(&[text], &[]).expect_err("not parquet");
        assert!(
            matches!(err, ReadError::NotParquet { .. })
                && err.to_string().contains("notes.parquet"),
            "{err}"
        );

        let good = dir.path("good.parquet");
        write(&good, &mixed_batch());
        let bytes = std::fs::read(&good).expect("readable");
        let truncated = dir.path("truncated.parquet");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("writable");
        let err = read(&[truncated], &[]).expect_err("truncated");
        assert!(matches!(err, ReadError::NotParquet { .. }), "{err}");

        let empty = dir.path("empty");
        std::fs::create_dir_all(&empty).expect("writable");
        let err = read(&[empty], &[]).expect_err("no files");
        assert!(matches!(err, ReadError::NoFiles { .. }), "{err}");

        let err =
            read(std::slice::from_ref(&good), &["salary".to_string()]).expect_err("unknown column");
        assert!(
            err.to_string()
                .contains("no column `salary` (columns: i8, u16, i64"),
            "{err}"
        );

        let err = read(std::slice::from_ref(&good), &["tags".to_string()]).expect_err("nested");
        assert!(
            matches!(&err, ReadError::Unsupported { column, .. } if column == "tags"),
            "{err}"
        );

        let other = dir.path("other.parquet");
        write(
            &other,
            &batch(vec![(
                "city",
                Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            )]),
        );
        let err = read(&[good, other], &[]).expect_err("type mismatch");
        assert!(
            matches!(&err, ReadError::SchemaMismatch { column, .. } if column == "city"),
            "{err}"
        );
        assert!(err.to_string().contains("other.parquet"), "{err}");
    }
}
