//! The compiled baseline: what drifttap needs from the training data, prepared once.
//!
//! A [`Baseline`] holds, per feature, the present values sorted ascending (numeric) or the count
//! of each category (categorical), the number of missing values, and, across the numeric
//! features, a seeded sample of complete rows for the MMD test with its bandwidth. Building one
//! from raw Parquet sorts every column; loading a compiled one ([`store`]) only reads. Its
//! `version` is a content hash of everything a test reads, so the same training data compiled
//! with the same options always has the same version, whatever machine built it.

pub mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::read::{Column, MISSING, Table, Values};
use super::select::{Kind, SelectError, Selection, features};
use crate::stats::effect::population_std;
use crate::stats::ks::SortedSample;
use crate::stats::mmd::MmdReference;
use crate::stats::{Compute, Input, StatsError, synth};

/// Rows in the MMD reference sample unless configured. The MMD test's cost grows with the square
/// of the rows (pairs × permutations), and it complements the per-feature tests, which see every
/// row: its job is joint changes (correlations, mixtures) that no marginal shows, and a thousand
/// rows per side detect those at any size worth alerting on. 1 000 rows keep the test to about
/// 10 ms with 100 permutations on one core; raise it (`--mmd-rows`) for more power.
pub const DEFAULT_MMD_ROWS: usize = 1_000;

/// How a baseline is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Rows of the MMD reference sample (at most; fewer when fewer rows are complete).
    pub mmd_rows: usize,
    /// Seed of the MMD sample.
    pub seed: u64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            mmd_rows: DEFAULT_MMD_ROWS,
            seed: 0,
        }
    }
}

/// Training data, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Content hash, `sha256:` and 16 hex digits.
    pub version: String,
    /// Rows of training data.
    pub rows: usize,
    /// Where the training data came from.
    pub sources: Vec<PathBuf>,
    pub features: Vec<BaselineFeature>,
    /// The multivariate reference; `None` without two rows complete in a varying numeric feature.
    pub mmd: Option<MmdSample>,
}

/// One feature of a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineFeature {
    pub name: String,
    /// What the training column held; a current column must hold the same.
    pub values: ValueType,
    /// Rows where the value is missing (null or NaN).
    pub missing: usize,
    pub data: FeatureData,
}

/// What a column holds, whatever its role: a number column may be tested as categories, but a
/// current column of text never matches a training column of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Number,
    Text,
}

impl ValueType {
    pub fn of(values: &Values) -> Self {
        match values {
            Values::Numeric(_) => ValueType::Number,
            Values::Categorical { .. } => ValueType::Text,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ValueType::Number => "numbers",
            ValueType::Text => "text",
        }
    }
}

/// A feature's reference distribution.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureData {
    Numeric {
        /// The present values, ascending; `None` when every value is missing.
        sorted: Option<SortedSample>,
        /// Their mean and population standard deviation (0 without values).
        mean: f64,
        std: f64,
    },
    Categorical {
        /// Count per category, by name, categories in name order; only categories seen.
        counts: Vec<(String, u64)>,
    },
}

impl BaselineFeature {
    pub fn kind(&self) -> Kind {
        match self.data {
            FeatureData::Numeric { .. } => Kind::Numeric,
            FeatureData::Categorical { .. } => Kind::Categorical,
        }
    }

    /// Rows with a value.
    pub fn present(&self) -> usize {
        match &self.data {
            FeatureData::Numeric { sorted, .. } => sorted.as_ref().map_or(0, SortedSample::len),
            FeatureData::Categorical { counts } => counts.iter().map(|(_, c)| *c as usize).sum(),
        }
    }
}

/// The MMD reference: complete rows of the numeric features that vary, drawn with a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct MmdSample {
    /// The features, in baseline order.
    pub features: Vec<String>,
    /// Mean and population standard deviation of each feature over all present reference
    /// values: the standardisation applied to both sides before the test.
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// Row-major raw values, `rows × features.len()`.
    pub values: Vec<f64>,
    /// The RBF bandwidth from the median heuristic on the standardised sample.
    pub sigma: f64,
    pub seed: u64,
}

impl MmdSample {
    pub fn rows(&self) -> usize {
        self.values.len() / self.features.len().max(1)
    }

    /// The sample standardised, projected on `keep` (indices into `features`).
    pub fn standardised(&self, keep: &[usize]) -> Vec<f64> {
        let dim = self.features.len();
        let mut out = Vec::with_capacity(self.rows() * keep.len());
        for row in self.values.chunks_exact(dim) {
            out.extend(keep.iter().map(|&j| (row[j] - self.mean[j]) / self.std[j]));
        }
        out
    }
}

/// Why a baseline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error("column `{column}`: {source}")]
    Stats { column: String, source: StatsError },
    #[error("MMD reference sample: {0}")]
    Mmd(StatsError),
}

/// Something to tell about a long build; a terminal shows it as a progress bar.
pub trait Progress: Sync {
    /// A new stage of `total` steps.
    fn stage(&self, name: &str, total: u64);
    /// One step done.
    fn step(&self);
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str, _: u64) {}
    fn step(&self) {}
}

impl Baseline {
    /// Compiles the selected columns of `table`.
    pub fn build(
        table: &Table,
        selection: &Selection,
        options: &BuildOptions,
        compute: &Compute,
        progress: &dyn Progress,
    ) -> Result<Baseline, BuildError> {
        let started = std::time::Instant::now();
        let chosen = features(table, selection)?;
        progress.stage("sorting", chosen.len() as u64);
        let compile = |feature: &super::select::Feature| {
            let original = table
                .column(&feature.column.name)
                .map_or(ValueType::of(&feature.column.values), |c| {
                    ValueType::of(&c.values)
                });
            // Hashed right after sorting, while the values are in cache.
            let compiled =
                compile_column(&feature.column, original, compute).map(|c| (feature_digest(&c), c));
            progress.step();
            compiled
        };
        let (digests, compiled): (Vec<[u8; 32]>, Vec<BaselineFeature>) =
            parallel_map(&chosen, compute.threads.get(), compile)
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .unzip();
        // Each numeric column with the mean and standard deviation of its values.
        let numeric: Vec<(&Column, Option<(f64, f64)>)> = chosen
            .iter()
            .zip(&compiled)
            .filter_map(|(f, c)| match &c.data {
                FeatureData::Numeric { sorted, mean, std } => {
                    Some((f.column.as_ref(), sorted.as_ref().map(|_| (*mean, *std))))
                }
                FeatureData::Categorical { .. } => None,
            })
            .collect();
        tracing::debug!(elapsed = ?started.elapsed(), "baseline columns compiled");
        progress.stage("MMD reference sample", 1);
        let mmd = mmd_sample(&numeric, options, compute)?;
        progress.step();
        tracing::debug!(elapsed = ?started.elapsed(), "baseline MMD sample drawn");
        let mut baseline = Baseline {
            version: String::new(),
            rows: table.rows,
            sources: table.files.clone(),
            features: compiled,
            mmd,
        };
        baseline.version = baseline.combine_hash(&digests);
        tracing::debug!(elapsed = ?started.elapsed(), "baseline hashed");
        Ok(baseline)
    }

    pub fn feature(&self, name: &str) -> Option<&BaselineFeature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// The hash of every value a test reads, in a fixed byte layout (little-endian integers
    /// and IEEE-754 bits, length-prefixed names), as `sha256:` and the first 16 hex digits.
    /// Features are hashed on up to `threads` threads, then their digests in order.
    pub fn content_hash(&self, threads: usize) -> String {
        self.combine_hash(&parallel_map(&self.features, threads, feature_digest))
    }

    /// The content hash from each feature's digest.
    fn combine_hash(&self, digests: &[[u8; 32]]) -> String {
        let mut hash = Hasher::new(b"drifttap-baseline/1");
        hash.u64(self.rows as u64);
        hash.u64(self.features.len() as u64);
        for digest in digests {
            hash.bytes(digest);
        }
        if let Some(mmd) = &self.mmd {
            hash.u64(mmd.features.len() as u64);
            for name in &mmd.features {
                hash.str(name);
            }
            hash.f64s(&mmd.mean);
            hash.f64s(&mmd.std);
            hash.f64s(&mmd.values);
            hash.f64s(&[mmd.sigma]);
            hash.u64(mmd.seed);
        }
        hash.finish()
    }
}

/// SHA-256 of one feature's canonical bytes.
fn feature_digest(feature: &BaselineFeature) -> [u8; 32] {
    let mut hash = Hasher::new(b"drifttap-feature/1");
    hash.str(&feature.name);
    hash.str(feature.values.name());
    hash.u64(feature.missing as u64);
    match &feature.data {
        FeatureData::Numeric { sorted, .. } => {
            hash.u64(0);
            hash.f64s(sorted.as_ref().map_or(&[][..], SortedSample::values));
        }
        FeatureData::Categorical { counts } => {
            hash.u64(1);
            hash.u64(counts.len() as u64);
            for (name, count) in counts {
                hash.str(name);
                hash.u64(*count);
            }
        }
    }
    hash.digest()
}

/// `f` over `items` on up to `threads` scoped threads (items taken in turn), results in order.
pub(crate) fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The content hash of the columns of a data set (the version of a current data set).
pub fn table_hash(columns: &[&Column], rows: usize) -> String {
    let mut hash = Hasher::new(b"drifttap-table/1");
    hash.u64(rows as u64);
    for column in columns {
        hash.str(&column.name);
        match &column.values {
            Values::Numeric(values) => {
                hash.u64(0);
                hash.f64s(values);
            }
            Values::Categorical { names, codes } => {
                hash.u64(1);
                hash.u64(codes.len() as u64);
                for code in codes {
                    match names.get(*code as usize) {
                        Some(name) => hash.str(name),
                        None => hash.u64(u64::MAX),
                    }
                }
            }
        }
    }
    hash.finish()
}

/// SHA-256 over a canonical byte stream.
struct Hasher {
    sha: Sha256,
    buffer: Vec<u8>,
}

impl Hasher {
    /// Bytes buffered before they go to SHA-256 (fewer, larger updates).
    const BUFFER: usize = 64 * 1024;

    fn new(domain: &[u8]) -> Self {
        let mut sha = Sha256::new();
        sha.update(domain);
        Hasher {
            sha,
            buffer: Vec::with_capacity(Self::BUFFER),
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        if self.buffer.len() + bytes.len() > Self::BUFFER {
            self.sha.update(&self.buffer);
            self.buffer.clear();
        }
        if bytes.len() > Self::BUFFER {
            self.sha.update(bytes);
        } else {
            self.buffer.extend_from_slice(bytes);
        }
    }

    fn u64(&mut self, value: u64) {
        self.bytes(&value.to_le_bytes());
    }

    fn str(&mut self, value: &str) {
        self.u64(value.len() as u64);
        self.bytes(value.as_bytes());
    }

    fn f64s(&mut self, values: &[f64]) {
        self.u64(values.len() as u64);
        for chunk in values.chunks(1024) {
            let mut bytes = [0u8; 8 * 1024];
            for (out, v) in bytes.chunks_exact_mut(8).zip(chunk) {
                out.copy_from_slice(&v.to_bits().to_le_bytes());
            }
            self.bytes(&bytes[..8 * chunk.len()]);
        }
    }

    fn digest(mut self) -> [u8; 32] {
        self.sha.update(&self.buffer);
        self.sha.finalize().into()
    }

    fn finish(self) -> String {
        let digest = self.digest();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Sorts a numeric column or counts a categorical one.
fn compile_column(
    column: &Column,
    values: ValueType,
    compute: &Compute,
) -> Result<BaselineFeature, BuildError> {
    let missing = column.missing();
    let data = match &column.values {
        Values::Numeric(values) => {
            let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            if present.is_empty() {
                FeatureData::Numeric {
                    sorted: None,
                    mean: 0.0,
                    std: 0.0,
                }
            } else {
                let sorted = SortedSample::new(present, Input::Reference, compute.backend)
                    .map_err(|source| BuildError::Stats {
                        column: column.name.clone(),
                        source,
                    })?;
                let (mean, std) = moments(sorted.values());
                FeatureData::Numeric {
                    sorted: Some(sorted),
                    mean,
                    std,
                }
            }
        }
        Values::Categorical { names, codes } => FeatureData::Categorical {
            counts: category_counts(names, codes),
        },
    };
    Ok(BaselineFeature {
        name: column.name.clone(),
        values,
        missing,
        data,
    })
}

/// Count per category name, in name order, categories with no rows left out.
pub fn category_counts(names: &[String], codes: &[u32]) -> Vec<(String, u64)> {
    let mut by_code = vec![0u64; names.len()];
    for &code in codes.iter().filter(|c| **c != MISSING) {
        by_code[code as usize] += 1;
    }
    let mut by_name: BTreeMap<&str, u64> = BTreeMap::new();
    for (name, count) in names.iter().zip(by_code) {
        if count > 0 {
            *by_name.entry(name).or_default() += count;
        }
    }
    by_name
        .into_iter()
        .map(|(name, count)| (name.to_string(), count))
        .collect()
}

/// Mean and population standard deviation of finite, non-empty `values`.
fn moments(values: &[f64]) -> (f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (mean, population_std(values))
}

/// The MMD sample over the numeric columns that vary: rows complete in all of them, at most
/// `options.mmd_rows`, drawn uniformly with `options.seed`.
fn mmd_sample(
    numeric: &[(&Column, Option<(f64, f64)>)],
    options: &BuildOptions,
    compute: &Compute,
) -> Result<Option<MmdSample>, BuildError> {
    let mut columns = Vec::new();
    let (mut mean, mut std) = (Vec::new(), Vec::new());
    for (column, moments) in numeric {
        let Values::Numeric(values) = &column.values else {
            continue;
        };
        if let Some((m, s)) = moments.filter(|(_, s)| *s > 0.0) {
            columns.push((column.name.clone(), values.as_slice()));
            mean.push(m);
            std.push(s);
        }
    }
    if columns.is_empty() || options.mmd_rows < 2 {
        return Ok(None);
    }
    let columns_values: Vec<&[f64]> = columns.iter().map(|(_, v)| *v).collect();
    let started = std::time::Instant::now();
    let values = sample_rows(&columns_values, options.mmd_rows, options.seed);
    tracing::debug!(elapsed = ?started.elapsed(), "MMD rows sampled");
    let dim = columns.len();
    if values.len() / dim < 2 {
        return Ok(None);
    }
    let mut sample = MmdSample {
        features: columns.into_iter().map(|(n, _)| n).collect(),
        mean,
        std,
        values,
        sigma: 0.0,
        seed: options.seed,
    };
    let all: Vec<usize> = (0..dim).collect();
    let reference = MmdReference::new(sample.standardised(&all), dim, compute);
    tracing::debug!(elapsed = ?started.elapsed(), "MMD bandwidth estimated");
    match reference {
        Ok(reference) => sample.sigma = reference.sigma(),
        // Every sampled row identical: nothing for a kernel test to compare.
        Err(StatsError::ZeroVariance { .. }) => return Ok(None),
        Err(e) => return Err(BuildError::Mmd(e)),
    }
    Ok(Some(sample))
}

/// Row-major raw values of at most `max` rows complete in every column, drawn uniformly with
/// `seed` and kept in row order.
pub fn sample_rows(columns: &[&[f64]], max: usize, seed: u64) -> Vec<f64> {
    let len = columns.first().map_or(0, |c| c.len());
    let complete: Vec<usize> = (0..len)
        .filter(|&i| columns.iter().all(|c| !c[i].is_nan()))
        .collect();
    let picked = sample_indices(complete.len(), max, seed);
    let mut out = Vec::with_capacity(picked.len() * columns.len());
    for k in picked {
        out.extend(columns.iter().map(|c| c[complete[k]]));
    }
    out
}

/// `min(len, max)` distinct indices of `0..len`, in increasing order, drawn uniformly (all of
/// them when `len ≤ max`).
pub fn sample_indices(len: usize, max: usize, seed: u64) -> Vec<usize> {
    if len <= max {
        return (0..len).collect();
    }
    // Partial Fisher–Yates over an index array, then sorted back into row order.
    let mut order: Vec<usize> = (0..len).collect();
    for k in 0..max {
        let pick = k + (synth::bits(seed, k as u64) % (len - k) as u64) as usize;
        order.swap(k, pick);
    }
    let mut picked = order[..max].to_vec();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn table() -> Table {
        let n = 500;
        let income: Vec<f64> = (0..n)
            .map(|i| {
                if i % 50 == 7 {
                    f64::NAN
                } else {
                    synth::standard_normal(3, i as u64) * 10.0 + 50.0
                }
            })
            .collect();
        let age: Vec<f64> = (0..n).map(|i| 20.0 + (i % 40) as f64).collect();
        let flat = vec![1.0; n];
        Table {
            files: vec![PathBuf::from("train.parquet")],
            rows: n,
            columns: vec![
                Column {
                    name: "income".into(),
                    values: Values::Numeric(income),
                },
                Column {
                    name: "age".into(),
                    values: Values::Numeric(age),
                },
                Column {
                    name: "flat".into(),
                    values: Values::Numeric(flat),
                },
                Column {
                    name: "home".into(),
                    values: Values::Categorical {
                        names: vec!["RENT".into(), "OWN".into(), "NONE".into()],
                        codes: (0..n as u32)
                            .map(|i| if i % 10 == 0 { MISSING } else { i % 2 })
                            .collect(),
                    },
                },
            ],
            skipped: Vec::new(),
        }
    }

    pub(super) fn build(options: &BuildOptions) -> Baseline {
        Baseline::build(
            &table(),
            &Selection::default(),
            options,
            &Compute::detect(),
            &Quiet,
        )
        .expect("the test table compiles")
    }

    #[test]
    fn numeric_columns_are_sorted_and_categories_counted() {
        let baseline = build(&BuildOptions::default());
        assert_eq!(baseline.rows, 500);
        let income = baseline.feature("income").expect("income");
        assert_eq!(income.missing, 10);
        assert_eq!(income.present(), 490);
        let FeatureData::Numeric {
            sorted: Some(s), ..
        } = &income.data
        else {
            panic!("income is numeric")
        };
        assert!(s.values().windows(2).all(|w| w[0] <= w[1]));
        let home = baseline.feature("home").expect("home");
        assert_eq!(home.missing, 50);
        // NONE has no rows and is not a category of the baseline.
        assert_eq!(
            home.data,
            FeatureData::Categorical {
                counts: vec![("OWN".into(), 250), ("RENT".into(), 200)]
            }
        );
    }

    #[test]
    fn mmd_sample_leaves_out_constant_columns_and_incomplete_rows() {
        let baseline = build(&BuildOptions {
            mmd_rows: 100,
            seed: 9,
        });
        let mmd = baseline.mmd.as_ref().expect("an MMD sample");
        assert_eq!(mmd.features, ["income", "age"]);
        assert_eq!(mmd.rows(), 100);
        assert!(mmd.values.iter().all(|v| v.is_finite()));
        assert!(mmd.sigma > 0.0);
        let all = build(&BuildOptions {
            mmd_rows: 10_000,
            seed: 9,
        });
        assert_eq!(all.mmd.as_ref().map(MmdSample::rows), Some(490));
    }

    #[test]
    fn the_version_follows_the_content_and_the_options() {
        let a = build(&BuildOptions::default());
        let b = build(&BuildOptions::default());
        assert_eq!(a.version, b.version);
        assert!(a.version.starts_with("sha256:") && a.version.len() == 7 + 16);
        let reseeded = build(&BuildOptions {
            mmd_rows: 100,
            seed: 1,
        });
        assert_ne!(a.version, reseeded.version);
        let mut changed = table();
        if let Values::Numeric(v) = &mut changed.columns[1].values {
            v[3] += 1.0;
        }
        let c = Baseline::build(
            &changed,
            &Selection::default(),
            &BuildOptions::default(),
            &Compute::detect(),
            &Quiet,
        )
        .expect("compiles");
        assert_ne!(a.version, c.version);
    }

    #[test]
    fn sampled_indices_are_distinct_increasing_and_seeded() {
        let a = sample_indices(1000, 10, 4);
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, sample_indices(1000, 10, 4));
        assert_ne!(a, sample_indices(1000, 10, 5));
        assert_eq!(sample_indices(5, 10, 4), vec![0, 1, 2, 3, 4]);
    }
}
