//! The compiled baseline: what drifttap needs from the training data, prepared once.
//!
//! A [`Baseline`] holds, per feature, the present values sorted ascending (numeric) or the count
//! of each category (categorical), the number of missing values, and, across the numeric
//! features, a seeded sample of complete rows for the MMD test with its bandwidth. Building one
//! from raw Parquet sorts every column; loading a compiled one ([`store`]) only reads. Its
//! `version` is a content hash of everything a test reads, so the same training data compiled
//! with the same options always has the same version, whatever machine built it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::select::{SelectError, Selection, features};
use crate::data::{Column, FeatureSchema, Frame, Kind, MISSING, Values};
use crate::stats::effect::population_std;
use crate::stats::ks::SortedSample;
use crate::stats::mmd::MmdReference;
use crate::stats::{Compute, StatsError, par, rng};

/// Rows in the MMD sample unless configured: the pool each evaluation draws its reference
/// rows from, afresh every time (see `evaluate`). A test against one fixed sample inherits that
/// sample's luck at every evaluation and on every replica: with 1 000 fixed rows, one
/// baseline's own false-alarm rate ranged from 0 to 0.43 at a nominal 0.05. Drawn from 20 000,
/// the reference rows of an evaluation are a fresh sample and the pool's own deviation from the
/// training distribution is small against the test's noise. 20 000 rows of 10 features are
/// 1.6 MB.
pub const DEFAULT_MMD_ROWS: usize = 20_000;

/// Rows of the MMD sample the median heuristic reads to set the kernel's bandwidth (alibi
/// picks it from its reference of this default size; all pairs of 20 000 rows would take
/// 2·10⁸ distances for a choice that does not need them).
pub const BANDWIDTH_ROWS: usize = 1_000;

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

    /// The standardised rows, projected on `keep`, that set the kernel's bandwidth: at most
    /// [`BANDWIDTH_ROWS`] of them, drawn with the sample's seed.
    pub fn bandwidth_rows(&self, keep: &[usize]) -> Vec<f64> {
        let all = self.standardised(keep);
        let dim = keep.len();
        let picked = sample_indices(self.rows(), BANDWIDTH_ROWS, self.seed.wrapping_add(1));
        let mut out = Vec::with_capacity(picked.len() * dim);
        for i in picked {
            out.extend_from_slice(&all[i * dim..(i + 1) * dim]);
        }
        out
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
    /// Its features, named and typed, in order.
    pub fn schema(&self) -> FeatureSchema {
        FeatureSchema::new(self.features.iter().map(|f| (f.name.clone(), f.kind())))
    }

    /// Compiles the selected columns of `table`.
    pub fn build(
        table: &Frame,
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
                compile_column(&feature.column, original, compute).map(|c| (c.digest(), c));
            progress.step();
            compiled
        };
        let (digests, compiled): (Vec<[u8; 32]>, Vec<BaselineFeature>) =
            par::map_ordered(&chosen, compute.threads.get(), compile)
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
            rows: table.rows(),
            // The caller knows where the frame came from (`Dataset::files`).
            sources: Vec::new(),
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
                let sorted = SortedSample::new_with(present, compute).map_err(|source| {
                    BuildError::Stats {
                        column: column.name.clone(),
                        source,
                    }
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
    let reference = MmdReference::new(sample.bandwidth_rows(&all), dim, compute);
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
        let pick = k + (rng::bits(seed, k as u64) % (len - k) as u64) as usize;
        order.swap(k, pick);
    }
    let mut picked = order[..max].to_vec();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stats::synth;

    pub(crate) fn table() -> Frame {
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
        Frame::new(
            n,
            vec![
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
        )
        .expect("consistent columns")
    }

    pub(crate) fn build(options: &BuildOptions) -> Baseline {
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
        let original = table();
        let mut columns = original.clone().into_columns();
        if let Values::Numeric(v) = &mut columns[1].values {
            v[3] += 1.0;
        }
        let changed = Frame::new(original.rows(), columns).expect("consistent columns");
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
