//! One evaluation of a frame of feature values against a baseline: every selected feature's
//! test and effect sizes, the multiple-testing correction, the multivariate MMD test, one
//! verdict. The offline `check` and the sidecar's engine both evaluate through it.
//!
//! What depends only on the baseline and the options is prepared once, in [`Prepared::new`]:
//! the selection checked against the baseline's features, each numeric feature's PSI bins
//! (from the reference quantiles) and standard deviation, and the MMD reference — the
//! baseline's sample projected on the selected features, its bandwidth (the median heuristic
//! runs again only when a subset is selected) and, with [`Prepared::cache_mmd`], the
//! reference–reference part of the permutation test for a window size, so an evaluation visits
//! only the kernel tiles that touch the window. [`Prepared::evaluate`] then does the work that
//! depends on the rows.
//!
//! - [`report`]: the typed outcome and its JSON document.

pub mod report;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use crate::baseline::compile::{
    Baseline, BaselineFeature, DEFAULT_MMD_ROWS, FeatureData, ValueType, sample_rows,
};
use crate::baseline::select::Selection;
use crate::data::{Column, Frame, Kind, MISSING, Values, categories_of};
use crate::stats::chi2::{Continuity, chi2_contingency};
use crate::stats::correction::{Correction, correct};
use crate::stats::effect::{
    DEFAULT_PSI_BINS, PSI_EPSILON, QuantileBins, WASSERSTEIN_NORM_FLOOR, jensen_shannon, psi,
    wasserstein,
};
use crate::stats::ks::{KsMethod, KsOptions, SortedSample, ks_2samp_sorted};
use crate::stats::mmd::{MmdReference, Permutations, Rows, mmd_test};
use crate::stats::{Compute, StatsError, par};
pub use report::{
    ChunkReport, Document, FeatureReport, MultivariateReport, PValueMethod, Report, Source, Test,
    json,
};

/// Rows of CURRENT (of each chunk, of a window) fed to the MMD test at most (a uniform sample
/// is drawn above it). The reference side is the baseline's MMD sample, of the same default
/// size ([`DEFAULT_MMD_ROWS`]); see there for why 1 000.
pub const MMD_MAX_ROWS: usize = DEFAULT_MMD_ROWS;

/// What to run and how to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Which baseline features to test (`columns`, `exclude`); `numeric` and `categorical`
    /// must agree with the roles the baseline was compiled with.
    pub selection: Selection,
    /// Run KS on numeric features.
    pub ks: bool,
    /// Run χ² on categorical features.
    pub chi2: bool,
    /// Run the multivariate MMD test on the numeric features.
    pub mmd: bool,
    /// How KS computes its p-value.
    pub ks_method: KsMethod,
    /// The multiple-testing correction across features.
    pub correction: Correction,
    /// The p-value threshold (before correction).
    pub p_val: f64,
    /// MMD permutations.
    pub permutations: usize,
    /// Seed of the MMD permutations and of the sample of CURRENT's rows.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            selection: Selection::default(),
            ks: true,
            chi2: true,
            mmd: true,
            ks_method: KsMethod::Auto,
            correction: Correction::Bonferroni,
            p_val: 0.05,
            permutations: 100,
            seed: 0,
        }
    }
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluateError {
    #[error(
        "the selection's `{option}` names `{column}`, which is not a feature of the baseline (features: {available})"
    )]
    UnknownFeature {
        option: &'static str,
        column: String,
        available: String,
    },
    #[error(
        "column `{column}` was compiled as {compiled}; rebuild the baseline with it as {requested} to test it that way"
    )]
    RoleConflict {
        column: String,
        compiled: Kind,
        requested: Kind,
    },
    #[error("no features left to test after the selection's columns and exclude")]
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
    #[error("rows {start}..{end} are not within the {rows} rows of the current data")]
    Rows {
        start: usize,
        end: usize,
        rows: usize,
    },
    #[error("column `{column}`: {source}")]
    Stats { column: String, source: StatsError },
    #[error(transparent)]
    Invalid(#[from] StatsError),
}

/// A baseline feature with what every evaluation reuses.
#[derive(Debug)]
struct PreparedFeature {
    /// Index into the baseline's features.
    index: usize,
    /// PSI bins from the reference quantiles (numeric features with values).
    bins: Option<QuantileBins>,
    /// The reference's population standard deviation, which norms the Wasserstein distance.
    reference_std: f64,
}

/// The MMD reference projected on the selected features.
#[derive(Debug)]
struct PreparedMmd {
    reference: MmdReference,
    names: Vec<String>,
    /// (index into the prepared features, mean, std) per MMD feature, in `names` order.
    columns: Vec<(usize, f64, f64)>,
}

/// An evaluation of frames against one baseline, prepared once (see the [module](self)).
#[derive(Debug)]
pub struct Prepared {
    baseline: Arc<Baseline>,
    options: Options,
    compute: Compute,
    features: Vec<PreparedFeature>,
    mmd: Option<PreparedMmd>,
}

impl Prepared {
    /// Checks the selection against the baseline and prepares what every evaluation reuses.
    pub fn new(
        baseline: impl Into<Arc<Baseline>>,
        options: Options,
        compute: &Compute,
    ) -> Result<Prepared, EvaluateError> {
        let baseline = baseline.into();
        let features = prepare_features(&baseline, &options.selection)?;
        let mmd = if options.mmd {
            prepare_mmd(&baseline, &features, compute)?
        } else {
            None
        };
        Ok(Prepared {
            baseline,
            options,
            compute: *compute,
            features,
            mmd,
        })
    }

    /// Caches the reference–reference part of the MMD permutation test for windows of
    /// `window_rows` rows (the MMD sees at most [`MMD_MAX_ROWS`] of them): an evaluation with
    /// that many complete rows then visits only the tiles that touch the window; any other size
    /// runs the full pass, with the same result.
    pub fn cache_mmd(&mut self, window_rows: usize) -> Result<(), EvaluateError> {
        let rows = window_rows.min(MMD_MAX_ROWS);
        if let Some(mmd) = self.mmd.as_mut().filter(|_| rows >= 2) {
            mmd.reference.cache_permutations(
                rows,
                self.options.permutations,
                self.options.seed,
                &self.compute,
            )?;
        }
        Ok(())
    }

    /// The baseline evaluated against.
    pub fn baseline(&self) -> &Arc<Baseline> {
        &self.baseline
    }

    /// The options it was prepared with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The compute it runs on.
    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    /// The names of the features an evaluation tests, in baseline order.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> {
        self.features
            .iter()
            .map(|f| self.baseline.features[f.index].name.as_str())
    }

    /// Evaluates rows `rows` of `current`: every selected feature, the correction, the
    /// multivariate test. The report has no chunks.
    pub fn evaluate(&self, current: &Frame, rows: Range<usize>) -> Result<Report, EvaluateError> {
        if rows.start > rows.end || rows.end > current.rows() {
            return Err(EvaluateError::Rows {
                start: rows.start,
                end: rows.end,
                rows: current.rows(),
            });
        }
        let columns = self.current_columns(current)?;
        // Features are independent: spread them over the thread budget, one thread each.
        let one = Compute {
            threads: std::num::NonZeroUsize::MIN,
            ..self.compute
        };
        let pairs: Vec<(&PreparedFeature, &Column)> = self
            .features
            .iter()
            .zip(columns.iter().map(|c| &**c))
            .collect();
        let mut reports = par::map_ordered(&pairs, self.compute.threads.get(), |(f, c)| {
            one.checkpoint();
            self.feature_report(f, c, rows.clone(), &one)
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        let tested: Vec<(usize, f64)> = reports
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.p_value.map(|p| (i, p)))
            .collect();
        let mut threshold = self.options.p_val;
        if !tested.is_empty() {
            let p_values: Vec<f64> = tested.iter().map(|(_, p)| *p).collect();
            let corrected = correct(&p_values, self.options.p_val, self.options.correction)?;
            threshold = corrected.threshold;
            for ((i, _), drift) in tested.iter().zip(corrected.drift) {
                reports[*i].drift = drift;
            }
        }
        let multivariate = match &self.mmd {
            Some(m) => self.mmd_report(m, &columns, rows)?,
            None => None,
        };
        Ok(Report {
            drift: reports.iter().any(|r| r.drift)
                || multivariate.as_ref().is_some_and(|m| m.drift),
            correction: self.options.correction,
            threshold,
            features: reports,
            multivariate,
            chunks: None,
        })
    }

    /// Each prepared feature's current column, numbers turned into categories where the
    /// baseline tests them so.
    fn current_columns<'f>(
        &self,
        current: &'f Frame,
    ) -> Result<Vec<Cow<'f, Column>>, EvaluateError> {
        let mut out = Vec::with_capacity(self.features.len());
        for prepared in &self.features {
            let feature = &self.baseline.features[prepared.index];
            let Some(column) = current.column(&feature.name) else {
                return Err(EvaluateError::MissingColumn {
                    column: feature.name.clone(),
                    available: current.names().collect::<Vec<_>>().join(", "),
                });
            };
            let holds = ValueType::of(&column.values);
            // Numbers tested as categories may arrive already named (a sidecar window holds
            // category names, not the numbers they came from).
            let named_numbers = feature.kind() == Kind::Categorical && holds == ValueType::Text;
            if holds != feature.values && !named_numbers {
                return Err(EvaluateError::TypeMismatch {
                    column: feature.name.clone(),
                    reference: feature.values.name(),
                    current: holds.name(),
                });
            }
            out.push(match (&feature.data, &column.values) {
                (FeatureData::Categorical { .. }, Values::Numeric(values)) => Cow::Owned(Column {
                    name: column.name.clone(),
                    values: categories_of(values),
                }),
                _ => Cow::Borrowed(column),
            });
        }
        Ok(out)
    }

    fn feature_report(
        &self,
        prepared: &PreparedFeature,
        current: &Column,
        rows: Range<usize>,
        compute: &Compute,
    ) -> Result<FeatureReport, EvaluateError> {
        let feature = &self.baseline.features[prepared.index];
        let options = &self.options;
        let stats_error = |source| EvaluateError::Stats {
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
        let current_missing = match &current.values {
            Values::Numeric(v) => v[rows.clone()].iter().filter(|x| x.is_nan()).count(),
            Values::Categorical { codes, .. } => codes[rows.clone()]
                .iter()
                .filter(|c| **c == MISSING)
                .count(),
        };
        let mut report = FeatureReport {
            name: feature.name.clone(),
            kind: feature.kind(),
            test: Test::None,
            statistic: None,
            p_value: None,
            p_value_method: None,
            drift: false,
            n_reference: feature.present(),
            n_current: chunk_rows - current_missing,
            missing_current: share(current_missing, chunk_rows),
            missing_reference: share(feature.missing, self.baseline.rows),
            wasserstein_normed: None,
            psi: None,
            jensen_shannon: None,
            unseen_share: None,
        };
        if report.n_reference == 0 || report.n_current == 0 {
            return Ok(report);
        }
        match (&feature.data, &current.values) {
            (
                FeatureData::Numeric {
                    sorted: Some(r), ..
                },
                Values::Numeric(c),
            ) if options.ks => {
                let present: Vec<f64> = c[rows].iter().copied().filter(|x| !x.is_nan()).collect();
                let c = SortedSample::new_with(present, compute).map_err(stats_error)?;
                let ks = ks_2samp_sorted(
                    r,
                    &c,
                    KsOptions {
                        method: options.ks_method,
                        ..KsOptions::default()
                    },
                    compute,
                );
                report.test = Test::Ks;
                report.statistic = Some(ks.statistic);
                report.p_value = Some(ks.p_value);
                report.p_value_method = Some(ks.method.into());
                report.wasserstein_normed =
                    Some(wasserstein(r, &c) / prepared.reference_std.max(WASSERSTEIN_NORM_FLOOR));
                if let Some(bins) = &prepared.bins {
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
                    // A frame's codes name its categories (Frame::new checks it).
                    by_code[code as usize] += 1;
                }
                for (name, count) in names.iter().zip(by_code).filter(|(_, c)| *c > 0) {
                    union.entry(name).or_default().1 += count;
                }
                let (r, c): (Vec<u64>, Vec<u64>) = union.values().copied().unzip();
                let chi2 = chi2_contingency(&r, &c, Continuity::Yates).map_err(stats_error)?;
                report.test = Test::Chi2;
                report.statistic = Some(chi2.statistic);
                report.p_value = Some(chi2.p_value);
                report.p_value_method = Some(PValueMethod::Chi2);
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

    /// MMD of rows `rows` of CURRENT (complete ones, at most [`MMD_MAX_ROWS`] drawn with the
    /// options' seed + 1), standardised like the reference sample.
    fn mmd_report(
        &self,
        m: &PreparedMmd,
        columns: &[Cow<'_, Column>],
        rows: Range<usize>,
    ) -> Result<Option<MultivariateReport>, EvaluateError> {
        let mut slices: Vec<&[f64]> = Vec::with_capacity(m.columns.len());
        for &(feature, _, _) in &m.columns {
            match &columns[feature].values {
                Values::Numeric(v) => slices.push(&v[rows.clone()]),
                // Numeric features hold numbers (current_columns checked the type).
                Values::Categorical { .. } => return Ok(None),
            }
        }
        let mut y = sample_rows(&slices, MMD_MAX_ROWS, self.options.seed.wrapping_add(1));
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
            Rows::new(&y, dim)?,
            Permutations::Random {
                count: self.options.permutations,
                seed: self.options.seed,
            },
            self.options.p_val,
            &self.compute,
        )?;
        Ok(Some(MultivariateReport {
            test: Test::Mmd,
            statistic: result.statistic,
            sigma: result.sigma,
            p_value: result.p_value,
            permutations: result.permutations,
            drift: result.permutations > 0 && result.p_value < self.options.p_val,
            features: m.names.clone(),
            n_reference: result.n_reference,
            n_current: result.n_current,
        }))
    }
}

/// The selected baseline features, checked against the selection.
fn prepare_features(
    baseline: &Baseline,
    selection: &Selection,
) -> Result<Vec<PreparedFeature>, EvaluateError> {
    let names: Vec<&str> = baseline.features.iter().map(|f| f.name.as_str()).collect();
    // An excluded name the baseline does not have is left out already.
    if let Some((option, column)) = selection.unknown(&names, false) {
        return Err(EvaluateError::UnknownFeature {
            option,
            column: column.to_string(),
            available: names.join(", "),
        });
    }
    for (requested, list) in [
        (Kind::Numeric, &selection.numeric),
        (Kind::Categorical, &selection.categorical),
    ] {
        for name in list {
            let compiled = baseline.feature(name).map(BaselineFeature::kind);
            if let Some(compiled) = compiled.filter(|k| *k != requested) {
                return Err(EvaluateError::RoleConflict {
                    column: name.clone(),
                    compiled,
                    requested,
                });
            }
        }
    }
    let mut out = Vec::new();
    for (index, feature) in baseline.features.iter().enumerate() {
        if !selection.chooses(&feature.name) {
            continue;
        }
        let bins = match &feature.data {
            FeatureData::Numeric {
                sorted: Some(s), ..
            } => Some(QuantileBins::new(s, DEFAULT_PSI_BINS).map_err(|source| {
                EvaluateError::Stats {
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
        out.push(PreparedFeature {
            index,
            bins,
            reference_std,
        });
    }
    if out.is_empty() {
        return Err(EvaluateError::NothingSelected);
    }
    Ok(out)
}

/// The baseline's MMD sample restricted to the selected numeric features. The stored
/// bandwidth serves when every sampled feature is selected; otherwise the median heuristic
/// runs again on the projection.
fn prepare_mmd(
    baseline: &Baseline,
    features: &[PreparedFeature],
    compute: &Compute,
) -> Result<Option<PreparedMmd>, EvaluateError> {
    let Some(sample) = &baseline.mmd else {
        return Ok(None);
    };
    let mut keep = Vec::new();
    let mut columns = Vec::new();
    for (j, name) in sample.features.iter().enumerate() {
        let selected = features.iter().position(|p| {
            let f = &baseline.features[p.index];
            &f.name == name && f.kind() == Kind::Numeric
        });
        if let Some(selected) = selected {
            keep.push(j);
            columns.push((selected, sample.mean[j], sample.std[j]));
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
        Err(e) => return Err(EvaluateError::Invalid(e)),
    };
    Ok(Some(PreparedMmd {
        reference,
        names: keep.iter().map(|&j| sample.features[j].clone()).collect(),
        columns,
    }))
}

#[cfg(test)]
mod tests;
