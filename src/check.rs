//! The offline drift check: every feature of a baseline against a current data set, then the
//! multivariate MMD test, the multiple-testing correction, and one verdict — for the whole of
//! CURRENT and, optionally, for consecutive chunks of it.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::baseline::compiled::{
    Baseline, BaselineFeature, DEFAULT_MMD_ROWS, FeatureData, ValueType, parallel_map, sample_rows,
};
use crate::baseline::read::{Column, MISSING, Table, Values};
use crate::baseline::select::{Kind, Selection, categories_of};
use crate::stats::chi2::chi2_contingency;
use crate::stats::correction::{Correction, correct};
use crate::stats::effect::{
    DEFAULT_PSI_BINS, PSI_EPSILON, QuantileBins, WASSERSTEIN_NORM_FLOOR, jensen_shannon, psi,
    wasserstein,
};
use crate::stats::ks::{Alternative, KsMethod, SortedSample, ks_2samp_sorted};
use crate::stats::mmd::{MmdReference, Permutations, mmd_test};
use crate::stats::{Compute, Input, StatsError};

/// Rows of CURRENT (of each chunk) fed to the MMD test at most (a uniform sample is drawn above
/// it). The reference side is the baseline's MMD sample, of the same default size
/// ([`crate::baseline::compiled::DEFAULT_MMD_ROWS`]); see there for why 1 000.
pub const MMD_MAX_ROWS: usize = DEFAULT_MMD_ROWS;

/// What to run and how to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    /// Which baseline features to test (`--columns`, `--exclude`); `numeric` and `categorical`
    /// must agree with the roles the baseline was compiled with.
    pub selection: Selection,
    pub ks: bool,
    pub chi2: bool,
    pub mmd: bool,
    pub ks_method: KsMethod,
    pub correction: Correction,
    /// The p-value threshold (before correction).
    pub p_val: f64,
    pub permutations: usize,
    /// Seed of the MMD permutations and of the sample of CURRENT's rows.
    pub seed: u64,
    /// Also evaluate CURRENT in consecutive chunks of this many rows (the last one partial).
    pub chunk_size: Option<usize>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            selection: Selection::default(),
            ks: true,
            chi2: true,
            mmd: true,
            ks_method: KsMethod::Auto,
            correction: Correction::Bonferroni,
            p_val: 0.05,
            permutations: 100,
            seed: 0,
            chunk_size: None,
        }
    }
}

/// The outcome for one feature.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureReport {
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: &'static str,
    /// `ks` or `chi2`; `none` when the test was not requested or a side has no values.
    pub test: &'static str,
    pub statistic: Option<f64>,
    pub p_value: Option<f64>,
    /// `exact`, `asymp` (KS) or `chi2`.
    pub p_value_method: Option<&'static str>,
    pub drift: bool,
    pub n_reference: usize,
    pub n_current: usize,
    /// Share of CURRENT's rows with this value missing (null or NaN).
    pub missing_current: f64,
    pub missing_reference: f64,
    /// Wasserstein-1 over the reference standard deviation (numeric features).
    pub wasserstein_normed: Option<f64>,
    pub psi: Option<f64>,
    pub jensen_shannon: Option<f64>,
    /// Share of CURRENT in categories the reference never had (categorical features).
    pub unseen_share: Option<f64>,
}

/// The multivariate test across numeric features.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MultivariateReport {
    pub test: &'static str,
    /// MMD².
    pub statistic: f64,
    pub sigma: f64,
    pub p_value: f64,
    pub permutations: usize,
    pub drift: bool,
    pub features: Vec<String>,
    pub n_reference: usize,
    pub n_current: usize,
}

/// One chunk of CURRENT, rows `start..end`, evaluated on its own.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChunkReport {
    pub index: usize,
    pub start: usize,
    pub end: usize,
    pub drift: bool,
    /// The per-feature p-value threshold after correction.
    pub threshold: f64,
    pub features: Vec<FeatureReport>,
    pub multivariate: Option<MultivariateReport>,
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckReport {
    /// Drift in the whole of CURRENT or in any chunk.
    pub drift: bool,
    pub correction: &'static str,
    /// The per-feature p-value threshold after correction.
    pub threshold: f64,
    pub features: Vec<FeatureReport>,
    pub multivariate: Option<MultivariateReport>,
    /// With a chunk size: every chunk, in order.
    pub chunks: Option<Vec<ChunkReport>>,
}

/// Why a check could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(
        "--{option} names `{column}`, which is not a feature of the baseline (features: {available})"
    )]
    UnknownFeature {
        option: &'static str,
        column: String,
        available: String,
    },
    #[error(
        "column `{column}` was compiled as {compiled}; rebuild the baseline with --{requested} {column} to test it that way"
    )]
    RoleConflict {
        column: String,
        compiled: &'static str,
        requested: &'static str,
    },
    #[error("no features left to test after --columns and --exclude")]
    NothingSelected,
    #[error("current data has no column `{column}` (columns: {available})")]
    MissingColumn { column: String, available: String },
    #[error(
        "column `{column}` holds {reference} in the reference but {current} in the current data"
    )]
    TypeMismatch {
        column: String,
        reference: &'static str,
        current: &'static str,
    },
    #[error("--chunk-size must be at least 1")]
    ChunkSize,
    #[error("column `{column}`: {source}")]
    Stats { column: String, source: StatsError },
    #[error("{0}")]
    Invalid(StatsError),
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Numeric => "numeric",
        Kind::Categorical => "categorical",
    }
}

/// A baseline feature with what every evaluation reuses, and its current column.
struct Pair<'a> {
    feature: &'a BaselineFeature,
    /// PSI bins from the reference quantiles (numeric features with values).
    bins: Option<QuantileBins>,
    /// The reference's population standard deviation, which norms the Wasserstein distance.
    reference_std: f64,
    current: Column,
}

/// The MMD reference projected on the selected features, prepared once.
struct Multivariate<'a> {
    reference: MmdReference,
    names: Vec<String>,
    /// (current column, mean, std) per feature, in `names` order.
    columns: Vec<(&'a [f64], f64, f64)>,
}

/// Runs the check of `current` against `baseline`.
pub fn check(
    baseline: &Baseline,
    current: &Table,
    options: &CheckOptions,
    compute: &Compute,
) -> Result<CheckReport, CheckError> {
    if options.chunk_size == Some(0) {
        return Err(CheckError::ChunkSize);
    }
    let pairs = pairs(baseline, current, &options.selection)?;
    let multivariate = if options.mmd {
        prepare_mmd(baseline, &pairs, compute)?
    } else {
        None
    };
    let whole = evaluate(
        &pairs,
        multivariate.as_ref(),
        0..current.rows,
        baseline.rows,
        options,
        compute,
    )?;
    let chunks = match options.chunk_size {
        Some(size) => {
            let mut chunks = Vec::new();
            for (index, start) in (0..current.rows).step_by(size).enumerate() {
                let end = (start + size).min(current.rows);
                let outcome = evaluate(
                    &pairs,
                    multivariate.as_ref(),
                    start..end,
                    baseline.rows,
                    options,
                    compute,
                )?;
                chunks.push(ChunkReport {
                    index,
                    start,
                    end,
                    drift: outcome.drift,
                    threshold: outcome.threshold,
                    features: outcome.features,
                    multivariate: outcome.multivariate,
                });
            }
            Some(chunks)
        }
        None => None,
    };
    let drift = whole.drift || chunks.iter().flatten().any(|c| c.drift);
    Ok(CheckReport {
        drift,
        correction: match options.correction {
            Correction::Bonferroni => "bonferroni",
            Correction::Fdr => "fdr",
            Correction::None => "none",
        },
        threshold: whole.threshold,
        features: whole.features,
        multivariate: whole.multivariate,
        chunks,
    })
}

/// The selected baseline features, each with its current column (numbers turned into
/// categories where the baseline tests them so).
fn pairs<'a>(
    baseline: &'a Baseline,
    current: &Table,
    selection: &Selection,
) -> Result<Vec<Pair<'a>>, CheckError> {
    let available = || {
        baseline
            .features
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // An excluded name the baseline does not have is left out already.
    for (option, names) in [
        ("columns", &selection.columns),
        ("numeric", &selection.numeric),
        ("categorical", &selection.categorical),
    ] {
        if let Some(column) = names.iter().find(|n| baseline.feature(n).is_none()) {
            return Err(CheckError::UnknownFeature {
                option,
                column: column.clone(),
                available: available(),
            });
        }
    }
    for (requested, names, kind) in [
        ("numeric", &selection.numeric, Kind::Numeric),
        ("categorical", &selection.categorical, Kind::Categorical),
    ] {
        for name in names {
            let compiled = baseline.feature(name).map(BaselineFeature::kind);
            if let Some(compiled) = compiled.filter(|k| *k != kind) {
                return Err(CheckError::RoleConflict {
                    column: name.clone(),
                    compiled: kind_name(compiled),
                    requested,
                });
            }
        }
    }
    let chosen = |name: &String| {
        (selection.columns.is_empty() || selection.columns.contains(name))
            && !selection.exclude.contains(name)
    };
    let mut out = Vec::new();
    for feature in baseline.features.iter().filter(|f| chosen(&f.name)) {
        let Some(column) = current.column(&feature.name) else {
            return Err(CheckError::MissingColumn {
                column: feature.name.clone(),
                available: current
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let holds = ValueType::of(&column.values);
        // Numbers tested as categories may arrive already named (a sidecar window holds
        // category names, not the numbers they came from).
        let named_numbers = feature.kind() == Kind::Categorical && holds == ValueType::Text;
        if holds != feature.values && !named_numbers {
            return Err(CheckError::TypeMismatch {
                column: feature.name.clone(),
                reference: feature.values.name(),
                current: holds.name(),
            });
        }
        let column = match (&feature.data, &column.values) {
            (FeatureData::Categorical { .. }, Values::Numeric(values)) => Column {
                name: column.name.clone(),
                values: categories_of(values),
            },
            _ => column.clone(),
        };
        let bins = match &feature.data {
            FeatureData::Numeric {
                sorted: Some(s), ..
            } => Some(QuantileBins::new(s, DEFAULT_PSI_BINS).map_err(|source| {
                CheckError::Stats {
                    column: feature.name.clone(),
                    source,
                }
            })?),
            _ => None,
        };
        let reference_std = match &feature.data {
            FeatureData::Numeric { std, .. } => *std,
            FeatureData::Categorical { .. } => 0.0,
        };
        out.push(Pair {
            feature,
            bins,
            reference_std,
            current: column,
        });
    }
    if out.is_empty() {
        return Err(CheckError::NothingSelected);
    }
    Ok(out)
}

/// One evaluation: the features, the correction, the multivariate test.
struct Outcome {
    drift: bool,
    threshold: f64,
    features: Vec<FeatureReport>,
    multivariate: Option<MultivariateReport>,
}

fn evaluate(
    pairs: &[Pair<'_>],
    multivariate: Option<&Multivariate<'_>>,
    rows: Range<usize>,
    reference_rows: usize,
    options: &CheckOptions,
    compute: &Compute,
) -> Result<Outcome, CheckError> {
    // Features are independent: spread them over the thread budget, one thread each.
    let one = Compute {
        threads: std::num::NonZeroUsize::MIN,
        ..*compute
    };
    let mut reports = parallel_map(pairs, compute.threads.get(), |pair| {
        one.checkpoint();
        feature_report(pair, rows.clone(), reference_rows, options, &one)
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let tested: Vec<(usize, f64)> = reports
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.p_value.map(|p| (i, p)))
        .collect();
    let mut threshold = options.p_val;
    if !tested.is_empty() {
        let p_values: Vec<f64> = tested.iter().map(|(_, p)| *p).collect();
        let corrected =
            correct(&p_values, options.p_val, options.correction).map_err(CheckError::Invalid)?;
        threshold = corrected.threshold;
        for ((i, _), drift) in tested.iter().zip(corrected.drift) {
            reports[*i].drift = drift;
        }
    }
    let multivariate = match multivariate {
        Some(m) => mmd_report(m, rows, options, compute)?,
        None => None,
    };
    Ok(Outcome {
        drift: reports.iter().any(|r| r.drift) || multivariate.as_ref().is_some_and(|m| m.drift),
        threshold,
        features: reports,
        multivariate,
    })
}

fn feature_report(
    pair: &Pair<'_>,
    rows: Range<usize>,
    reference_rows: usize,
    options: &CheckOptions,
    compute: &Compute,
) -> Result<FeatureReport, CheckError> {
    let feature = pair.feature;
    let stats_error = |source| CheckError::Stats {
        column: feature.name.clone(),
        source,
    };
    let share = |missing: usize, rows: usize| {
        if rows == 0 {
            0.0
        } else {
            missing as f64 / rows as f64
        }
    };
    let chunk_rows = rows.len();
    let current_missing = match &pair.current.values {
        Values::Numeric(v) => v[rows.clone()].iter().filter(|x| x.is_nan()).count(),
        Values::Categorical { codes, .. } => codes[rows.clone()]
            .iter()
            .filter(|c| **c == MISSING)
            .count(),
    };
    let mut report = FeatureReport {
        name: feature.name.clone(),
        kind: kind_name(feature.kind()),
        test: "none",
        statistic: None,
        p_value: None,
        p_value_method: None,
        drift: false,
        n_reference: feature.present(),
        n_current: chunk_rows - current_missing,
        missing_current: share(current_missing, chunk_rows),
        missing_reference: share(feature.missing, reference_rows),
        wasserstein_normed: None,
        psi: None,
        jensen_shannon: None,
        unseen_share: None,
    };
    if report.n_reference == 0 || report.n_current == 0 {
        return Ok(report);
    }
    match (&feature.data, &pair.current.values) {
        (
            FeatureData::Numeric {
                sorted: Some(r), ..
            },
            Values::Numeric(c),
        ) if options.ks => {
            let present: Vec<f64> = c[rows].iter().copied().filter(|x| !x.is_nan()).collect();
            let c =
                SortedSample::new(present, Input::Current, compute.backend).map_err(stats_error)?;
            let ks = ks_2samp_sorted(
                r,
                &c,
                Alternative::TwoSided,
                options.ks_method,
                compute.backend,
            );
            report.test = "ks";
            report.statistic = Some(ks.statistic);
            report.p_value = Some(ks.p_value);
            report.p_value_method = Some(ks.method.name());
            report.wasserstein_normed =
                Some(wasserstein(r, &c) / pair.reference_std.max(WASSERSTEIN_NORM_FLOOR));
            if let Some(bins) = &pair.bins {
                report.psi = Some(bins.psi(&c));
                report.jensen_shannon = Some(bins.jensen_shannon(&c));
            }
        }
        (FeatureData::Categorical { counts }, Values::Categorical { names, codes })
            if options.chi2 =>
        {
            // Counts by category name over the union of both sides.
            let mut union: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for (name, count) in counts {
                union.entry(name).or_default().0 = *count;
            }
            let mut by_code = vec![0u64; names.len()];
            for &code in codes[rows].iter().filter(|c| **c != MISSING) {
                by_code[code as usize] += 1;
            }
            for (name, count) in names.iter().zip(by_code).filter(|(_, c)| *c > 0) {
                union.entry(name).or_default().1 += count;
            }
            let (r, c): (Vec<u64>, Vec<u64>) = union.values().copied().unzip();
            let chi2 = chi2_contingency(&r, &c, true).map_err(stats_error)?;
            report.test = "chi2";
            report.statistic = Some(chi2.statistic);
            report.p_value = Some(chi2.p_value);
            report.p_value_method = Some("chi2");
            report.unseen_share = Some(chi2.unseen_share);
            let shares = |v: &[u64]| {
                let total = v.iter().sum::<u64>() as f64;
                v.iter().map(|x| *x as f64 / total).collect::<Vec<f64>>()
            };
            let (rs, cs) = (shares(&r), shares(&c));
            report.psi = Some(psi(&rs, &cs, PSI_EPSILON));
            report.jensen_shannon = Some(jensen_shannon(&rs, &cs));
        }
        _ => {}
    }
    Ok(report)
}

/// The baseline's MMD sample restricted to the selected numeric features. The stored
/// bandwidth serves when every sampled feature is selected; otherwise the median heuristic
/// runs again on the projection.
fn prepare_mmd<'a>(
    baseline: &Baseline,
    pairs: &'a [Pair<'_>],
    compute: &Compute,
) -> Result<Option<Multivariate<'a>>, CheckError> {
    let Some(sample) = &baseline.mmd else {
        return Ok(None);
    };
    let mut keep = Vec::new();
    let mut columns = Vec::new();
    for (j, name) in sample.features.iter().enumerate() {
        let current = pairs.iter().find_map(|p| match &p.current.values {
            Values::Numeric(v) if &p.feature.name == name && p.feature.kind() == Kind::Numeric => {
                Some(v.as_slice())
            }
            _ => None,
        });
        if let Some(current) = current {
            keep.push(j);
            columns.push((current, sample.mean[j], sample.std[j]));
        }
    }
    if keep.is_empty() {
        return Ok(None);
    }
    let data = sample.standardised(&keep);
    let reference = if keep.len() == sample.features.len() {
        MmdReference::with_sigma(data, keep.len(), sample.sigma)
    } else {
        MmdReference::new(data, keep.len(), compute)
    };
    let reference = match reference {
        Ok(r) => r,
        Err(StatsError::ZeroVariance { .. }) => return Ok(None),
        Err(e) => return Err(CheckError::Invalid(e)),
    };
    Ok(Some(Multivariate {
        reference,
        names: keep.iter().map(|&j| sample.features[j].clone()).collect(),
        columns,
    }))
}

/// MMD of rows `rows` of CURRENT (complete ones, at most [`MMD_MAX_ROWS`] drawn with the
/// check's seed + 1), standardised like the reference sample.
fn mmd_report(
    m: &Multivariate<'_>,
    rows: Range<usize>,
    options: &CheckOptions,
    compute: &Compute,
) -> Result<Option<MultivariateReport>, CheckError> {
    let slices: Vec<&[f64]> = m.columns.iter().map(|(c, _, _)| &c[rows.clone()]).collect();
    let mut y = sample_rows(&slices, MMD_MAX_ROWS, options.seed.wrapping_add(1));
    let dim = slices.len();
    for row in y.chunks_exact_mut(dim) {
        for (v, (_, mean, std)) in row.iter_mut().zip(&m.columns) {
            *v = (*v - mean) / std;
        }
    }
    if y.len() / dim < 2 {
        return Ok(None);
    }
    let result = mmd_test(
        &m.reference,
        &y,
        Permutations::Random {
            count: options.permutations,
            seed: options.seed,
        },
        options.p_val,
        compute,
    )
    .map_err(CheckError::Invalid)?;
    Ok(Some(MultivariateReport {
        test: "mmd",
        statistic: result.statistic,
        sigma: result.sigma,
        p_value: result.p_value,
        permutations: result.permutations,
        drift: result.permutations > 0 && result.p_value < options.p_val,
        features: m.names.clone(),
        n_reference: result.n_reference,
        n_current: result.n_current,
    }))
}
