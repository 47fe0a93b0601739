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
    Baseline, BaselineFeature, FeatureData, ValueType, sample_indices, sample_rows,
};
use crate::baseline::select::Selection;
use crate::data::{Column, Frame, Kind, MISSING, Values, categories_of};
use crate::stats::chi2::{Continuity, chi2_contingency, chi2_monte_carlo, needs_monte_carlo};
use crate::stats::correction::{Correction, correct, correct_family};
use crate::stats::effect::{
    DEFAULT_PSI_BINS, PSI_EPSILON, QuantileBins, WASSERSTEIN_NORM_FLOOR, jensen_shannon, psi,
    wasserstein,
};
use crate::stats::fisher::fisher_exact;
use crate::stats::ks::{
    DiscreteReference, KsMethod, KsOptions, SortedSample, has_heavy_ties, ks_2samp_discrete,
    ks_2samp_sorted,
};
use crate::stats::mmd::{MmdReference, Permutations, Rows, mmd_test};
use crate::stats::montecarlo::{DEFAULT_EXCEEDANCES, MonteCarlo};
use crate::stats::{Compute, StatsError, par, rng};
pub use report::{
    ChunkReport, Document, FeatureReport, MultivariateReport, PValueMethod, Report, Source, Test,
    json,
};

/// Rows of CURRENT (of each chunk, of a window) fed to the MMD test at most, unless configured
/// (a uniform sample is drawn above it). The reference side gets as many rows, at least
/// [`MMD_MIN_REFERENCE_ROWS`], drawn afresh from the baseline's MMD sample at each evaluation.
/// The test's cost grows with the square of the rows times the permutations: 2 000 × 2 000
/// with the 885 permutations of the default level takes about half a second on one core, and
/// its power grows with the window up to here.
pub const MMD_MAX_ROWS: usize = 2_000;

/// The fewest reference rows an MMD test draws (when the pool has them), however small the
/// window.
pub const MMD_MIN_REFERENCE_ROWS: usize = 1_000;

/// The multivariate test's share of the level in the one family of tests: it is the only test
/// of joint changes, and the per-feature tests share the other half.
pub const MMD_SHARE: f64 = 0.5;

/// Rows of the fixed reference under [`Compat::Alibi`]: alibi-detect's test against the
/// baseline's first 1 000 sampled rows.
pub const ALIBI_REFERENCE_ROWS: usize = 1_000;

/// Permutations the MMD test runs when not configured, for a test held to `threshold`: ten
/// times the reciprocal, so that the permutation p-value `(b + 1)/(P + 1)` resolves the
/// threshold with ten exceedances to spare (99 at least, 9 999 at most), but never so few that
/// no p-value could fall below the threshold: `2/threshold`, up to 49 999 (a threshold below
/// 4·10⁻⁵ costs more than that, and is out of the test's reach: configure `permutations`).
pub fn permutations_for(threshold: f64) -> usize {
    draws_for(threshold, 9_999, 49_999)
}

/// Null tables a Monte-Carlo p-value draws at most for a test held to `threshold`, as
/// [`permutations_for`] with higher caps (a draw costs microseconds, a permutation of MMD
/// milliseconds): 99 999, or `2/threshold` up to 10⁷.
pub fn monte_carlo_draws_for(threshold: f64) -> usize {
    draws_for(threshold, 99_999, 10_000_000)
}

/// `⌈10/t⌉ − 1` clamped to `99..=cap`, raised to `⌈2/t⌉` (at most `most`) where the cap
/// would leave the smallest p-value, `1/(B + 1)`, above half the threshold.
fn draws_for(threshold: f64, cap: usize, most: usize) -> usize {
    let ceil = |x: f64| {
        if x.is_finite() && x > 0.0 {
            Some(x.ceil().min(1e12) as usize)
        } else {
            None
        }
    };
    let wanted = ceil(10.0 / threshold).map_or(cap, |w| w.saturating_sub(1).clamp(99, cap));
    let floor = ceil(2.0 / threshold).map_or(0, |f| f.min(most));
    wanted.max(floor)
}

/// How the tests form a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Compat {
    /// One family: the per-feature tests, the missing-share tests and the MMD test under the
    /// correction, so `p_val` is the evaluation's family-wise rate; MMD p-values
    /// `(b + 1)/(P + 1)`, a fresh reference sample at each evaluation.
    #[default]
    Drifttap,
    /// alibi-detect's decision, to reproduce its numbers: the correction across the
    /// per-feature tests only, MMD at the full `p_val` on its own with alibi's p-value (the
    /// share of permutations at least as extreme, no `+ 1`), against the baseline's first
    /// [`ALIBI_REFERENCE_ROWS`] rows of its sample (drawn with seed 0), unstandardised; no
    /// missing-share tests.
    Alibi,
}

impl Compat {
    /// The name in configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Compat::Drifttap => "drifttap",
            Compat::Alibi => "alibi",
        }
    }
}

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
    /// The p-value threshold (before correction): with [`Compat::Drifttap`] and a correction,
    /// the chance that an evaluation of data like the baseline's drifts.
    pub p_val: f64,
    /// MMD permutations; `None`: [`permutations_for`] the MMD test's threshold.
    pub permutations: Option<usize>,
    /// Seed of the samples of rows (reference and current) and of the MMD permutations;
    /// [`Prepared::evaluate_seeded`] takes another one per evaluation.
    pub seed: u64,
    /// Test each feature's missing share (Fisher's exact test) in the family.
    pub missing: bool,
    /// Rows of CURRENT the MMD test uses at most.
    pub mmd_max_rows: usize,
    /// How the tests form the verdict.
    pub compat: Compat,
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
            permutations: None,
            seed: 0,
            missing: true,
            mmd_max_rows: MMD_MAX_ROWS,
            compat: Compat::Drifttap,
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
    /// A numeric reference with heavy ties (few distinct values), as counts per value: its KS
    /// p-value is a Monte-Carlo one under the discrete null (with `ks_method: auto`).
    discrete: Option<DiscreteReference>,
}

/// The MMD sample projected on the selected features.
#[derive(Debug)]
struct PreparedMmd {
    /// The pool each evaluation draws its reference rows from: the baseline's MMD sample,
    /// standardised, row-major.
    pool: Vec<f64>,
    dim: usize,
    sigma: f64,
    /// Under [`Compat::Alibi`], the one fixed reference (raw values).
    fixed: Option<MmdReference>,
    names: Vec<String>,
    /// (index into the prepared features, mean, std) per MMD feature, in `names` order.
    columns: Vec<(usize, f64, f64)>,
}

impl PreparedMmd {
    fn pool_rows(&self) -> usize {
        self.pool.len() / self.dim
    }
}

/// One test of the family.
#[derive(Debug, Clone, Copy)]
enum Member {
    /// Feature `i`'s distribution test.
    Feature(usize),
    /// Feature `i`'s missing share.
    Missing(usize),
    Mmd,
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
        let features = prepare_features(&baseline, &options)?;
        let mmd = if options.mmd {
            prepare_mmd(&baseline, &features, options.compat, compute, &[])?
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

    /// The most null tables a Monte-Carlo p-value draws: enough to resolve the smallest
    /// threshold a feature's test can be held to (every feature and its missing share in the
    /// family, beside the MMD test's share) with ten exceedances to spare, as
    /// [`permutations_for`] does for MMD.
    fn monte_carlo_draws(&self) -> usize {
        let tests = 2 * self.features.len();
        let share = if self.mmd.is_some() {
            1.0 - MMD_SHARE
        } else {
            1.0
        };
        let smallest = match self.options.correction {
            Correction::None => self.options.p_val,
            _ => self.options.p_val * share / tests as f64,
        };
        monte_carlo_draws_for(smallest)
    }

    /// Evaluates rows `rows` of `current` with the options' seed: every selected feature, the
    /// multivariate test, the correction. The report has no chunks.
    pub fn evaluate(&self, current: &Frame, rows: Range<usize>) -> Result<Report, EvaluateError> {
        self.evaluate_seeded(current, rows, self.options.seed)
    }

    /// [`Prepared::evaluate`] with `seed` for the samples of rows and the permutations: each
    /// evaluation of a stream should take its own, so that no evaluation inherits another's
    /// reference sample.
    pub fn evaluate_seeded(
        &self,
        current: &Frame,
        rows: Range<usize>,
        seed: u64,
    ) -> Result<Report, EvaluateError> {
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
        let draws = self.monte_carlo_draws();
        let indexed: Vec<(usize, &(&PreparedFeature, &Column))> =
            pairs.iter().enumerate().collect();
        let mut reports = par::map_ordered(&indexed, self.compute.threads.get(), |(i, (f, c))| {
            one.checkpoint();
            let mc = MonteCarlo {
                max_draws: draws,
                exceedances: DEFAULT_EXCEEDANCES,
                seed: rng::bits(seed, 4 + *i as u64),
            };
            self.feature_report(f, c, rows.clone(), &mc, &one)
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        let alibi = self.options.compat == Compat::Alibi;
        let mut members: Vec<(Member, f64)> = Vec::new();
        for (i, r) in reports.iter().enumerate() {
            if let Some(p) = r.p_value {
                members.push((Member::Feature(i), p));
            }
            if let Some(p) = r.missing_p_value.filter(|_| !alibi) {
                members.push((Member::Missing(i), p));
            }
        }
        let others = members.len();
        let alpha = self.options.p_val;
        // The MMD test's share of the level, known before it runs (its permutations follow).
        let mmd_share = match (alibi, others) {
            (true, _) | (false, 0) => 1.0,
            (false, _) => MMD_SHARE,
        };
        let mmd_level = match self.options.correction {
            Correction::None => alpha,
            _ => alpha * mmd_share,
        };
        // A feature without a value in the window (a column that stopped arriving) leaves
        // the joint test, which runs on the others (its missing share is tested above).
        let empty: Vec<usize> = reports
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == Kind::Numeric && r.n_current == 0)
            .map(|(i, _)| i)
            .collect();
        let reduced;
        let mmd = match &self.mmd {
            Some(m) if !rows.is_empty() && m.columns.iter().any(|c| empty.contains(&c.0)) => {
                reduced = prepare_mmd(
                    &self.baseline,
                    &self.features,
                    self.options.compat,
                    &self.compute,
                    &empty,
                )?;
                reduced.as_ref()
            }
            other => other.as_ref(),
        };
        let multivariate = match mmd {
            Some(m) => self.mmd_report(m, &columns, rows, mmd_level, seed)?,
            None => None,
        };
        if let Some(m) = multivariate.as_ref().filter(|_| !alibi) {
            members.push((Member::Mmd, m.p_value));
        }
        let mut multivariate = multivariate;
        // The per-feature tests' threshold before any rejection, reported when none ran.
        let feature_share = if multivariate.is_some() && !alibi {
            1.0 - MMD_SHARE
        } else {
            1.0
        };
        let mut threshold = match self.options.correction {
            Correction::None => alpha,
            _ => alpha * feature_share / others.max(1) as f64,
        };
        if alibi {
            let tested: Vec<(usize, f64)> = reports
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.p_value.map(|p| (i, p)))
                .collect();
            if !tested.is_empty() {
                let p_values: Vec<f64> = tested.iter().map(|(_, p)| *p).collect();
                let corrected = correct(&p_values, alpha, self.options.correction)?;
                threshold = corrected.threshold;
                for ((i, _), drift) in tested.iter().zip(corrected.drift) {
                    reports[*i].threshold = Some(threshold);
                    reports[*i].drift = drift;
                }
            }
            if let Some(m) = &mut multivariate {
                m.threshold = alpha;
                m.drift = m.permutations > 0 && m.p_value < alpha;
            }
        } else if !members.is_empty() {
            let has_mmd = matches!(members.last(), Some((Member::Mmd, _)));
            let weights: Vec<f64> = members
                .iter()
                .map(|(member, _)| match member {
                    Member::Mmd if others == 0 => 1.0,
                    Member::Mmd => MMD_SHARE,
                    _ if has_mmd => (1.0 - MMD_SHARE) / others as f64,
                    _ => 1.0 / others as f64,
                })
                .collect();
            let p_values: Vec<f64> = members.iter().map(|(_, p)| *p).collect();
            let corrected = correct_family(&p_values, &weights, alpha, self.options.correction)?;
            for (((member, _), t), drift) in members
                .iter()
                .zip(corrected.thresholds)
                .zip(corrected.drift)
            {
                match *member {
                    Member::Feature(i) => {
                        threshold = t;
                        reports[i].threshold = Some(t);
                        reports[i].drift |= drift;
                    }
                    Member::Missing(i) => {
                        reports[i].missing_threshold = Some(t);
                        reports[i].missing_drift = drift;
                        reports[i].drift |= drift;
                    }
                    Member::Mmd => {
                        if let Some(m) = &mut multivariate {
                            m.threshold = t;
                            m.drift = m.permutations > 0 && drift;
                        }
                    }
                }
            }
        }
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
        mc: &MonteCarlo,
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
            threshold: None,
            missing_p_value: None,
            missing_threshold: None,
            missing_drift: false,
        };
        // The missing share: testable once either side has a missing value (with none on
        // both, every table with these margins is the observed one).
        let reference_missing = feature.missing as u64;
        if options.missing && chunk_rows > 0 && reference_missing + current_missing as u64 > 0 {
            let reference_present = (self.baseline.rows - feature.missing) as u64;
            report.missing_p_value = Some(fisher_exact([
                [reference_missing, reference_present],
                [current_missing as u64, report.n_current as u64],
            ]));
        }
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
                report.test = Test::Ks;
                match &prepared.discrete {
                    Some(discrete) => {
                        let ks = ks_2samp_discrete(discrete, &c, mc).map_err(stats_error)?;
                        report.statistic = Some(ks.statistic);
                        report.p_value = Some(ks.p_value);
                        report.p_value_method = Some(PValueMethod::MonteCarlo);
                    }
                    None => {
                        let ks = ks_2samp_sorted(
                            r,
                            &c,
                            KsOptions {
                                method: options.ks_method,
                                ..KsOptions::default()
                            },
                            compute,
                        );
                        report.statistic = Some(ks.statistic);
                        report.p_value = Some(ks.p_value);
                        report.p_value_method = Some(ks.method.into());
                    }
                }
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
                report.test = Test::Chi2;
                // Rare categories make the χ² distribution too liberal: their p-value comes
                // from the table's own permutation distribution.
                if options.compat == Compat::Drifttap && needs_monte_carlo(&r, &c) {
                    let chi2 = chi2_monte_carlo(&r, &c, mc).map_err(stats_error)?;
                    report.statistic = Some(chi2.statistic);
                    report.p_value = Some(chi2.p_value);
                    report.p_value_method = Some(PValueMethod::MonteCarlo);
                    report.unseen_share = Some(chi2.unseen_share);
                } else {
                    let chi2 = chi2_contingency(&r, &c, Continuity::Yates).map_err(stats_error)?;
                    report.statistic = Some(chi2.statistic);
                    report.p_value = Some(chi2.p_value);
                    report.p_value_method = Some(PValueMethod::Chi2);
                    report.unseen_share = Some(chi2.unseen_share);
                }
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

    /// MMD of rows `rows` of CURRENT (complete ones, at most `mmd_max_rows` drawn with a
    /// stream of `seed`), standardised like the reference, against as many reference rows
    /// (at least [`MMD_MIN_REFERENCE_ROWS`]) drawn from the pool with another stream, with
    /// permutations from a third; `level` is the threshold the test will be held to, which
    /// sets the default number of permutations.
    fn mmd_report(
        &self,
        m: &PreparedMmd,
        columns: &[Cow<'_, Column>],
        rows: Range<usize>,
        level: f64,
        seed: u64,
    ) -> Result<Option<MultivariateReport>, EvaluateError> {
        let mut slices: Vec<&[f64]> = Vec::with_capacity(m.columns.len());
        for &(feature, _, _) in &m.columns {
            match &columns[feature].values {
                Values::Numeric(v) => slices.push(&v[rows.clone()]),
                // Numeric features hold numbers (current_columns checked the type).
                Values::Categorical { .. } => return Ok(None),
            }
        }
        let alibi = m.fixed.is_some();
        let (current_seed, reference_seed, permutation_seed) = if alibi {
            (seed.wrapping_add(1), 0, seed)
        } else {
            (rng::bits(seed, 1), rng::bits(seed, 2), rng::bits(seed, 3))
        };
        let mut y = sample_rows(&slices, self.options.mmd_max_rows.max(2), current_seed);
        let dim = slices.len();
        if !alibi {
            for row in y.chunks_exact_mut(dim) {
                for (v, (_, mean, std)) in row.iter_mut().zip(&m.columns) {
                    *v = (*v - mean) / std;
                }
            }
        }
        let current_rows = y.len() / dim;
        if current_rows < 2 {
            return Ok(None);
        }
        let drawn;
        let reference = match &m.fixed {
            Some(fixed) => fixed,
            None => {
                let wanted = current_rows.max(MMD_MIN_REFERENCE_ROWS);
                let picked = sample_indices(m.pool_rows(), wanted, reference_seed);
                let mut data = Vec::with_capacity(picked.len() * dim);
                for i in picked {
                    data.extend_from_slice(&m.pool[i * dim..(i + 1) * dim]);
                }
                drawn = MmdReference::with_sigma(data, dim, m.sigma)?;
                &drawn
            }
        };
        let count = self
            .options
            .permutations
            .unwrap_or_else(|| permutations_for(level));
        let result = mmd_test(
            reference,
            Rows::new(&y, dim)?,
            Permutations::Random {
                count,
                seed: permutation_seed,
            },
            level.min(0.5),
            &self.compute,
        )?;
        let p_value = if alibi {
            result.p_value
        } else {
            result.permutation_p_value()
        };
        Ok(Some(MultivariateReport {
            test: Test::Mmd,
            statistic: result.statistic,
            sigma: result.sigma,
            p_value,
            permutations: result.permutations,
            threshold: level,
            drift: false,
            features: m.names.clone(),
            n_reference: result.n_reference,
            n_current: result.n_current,
            seed,
        }))
    }
}

/// The selected baseline features, checked against the selection.
fn prepare_features(
    baseline: &Baseline,
    options: &Options,
) -> Result<Vec<PreparedFeature>, EvaluateError> {
    let selection = &options.selection;
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
        // scipy's p-value where asked for, or where alibi-detect's numbers are reproduced.
        let discrete = match &feature.data {
            FeatureData::Numeric {
                sorted: Some(s), ..
            } if options.ks_method == KsMethod::Auto
                && options.compat == Compat::Drifttap
                && has_heavy_ties(s) =>
            {
                Some(DiscreteReference::new(s))
            }
            _ => None,
        };
        out.push(PreparedFeature {
            index,
            bins,
            reference_std,
            discrete,
        });
    }
    if out.is_empty() {
        return Err(EvaluateError::NothingSelected);
    }
    Ok(out)
}

/// The baseline's MMD sample restricted to the selected numeric features: the pool of
/// reference rows and the kernel's bandwidth. The stored bandwidth serves when every sampled
/// feature is selected; otherwise the median heuristic runs again on the projection. Under
/// [`Compat::Alibi`], one fixed reference of raw values with its own median heuristic.
///
/// `skip` lists prepared features (indices into `features`) to leave out of the test.
fn prepare_mmd(
    baseline: &Baseline,
    features: &[PreparedFeature],
    compat: Compat,
    compute: &Compute,
    skip: &[usize],
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
        let selected = selected.filter(|i| !skip.contains(i));
        if let Some(selected) = selected {
            keep.push(j);
            columns.push((selected, sample.mean[j], sample.std[j]));
        }
    }
    if keep.is_empty() {
        return Ok(None);
    }
    let dim = keep.len();
    let zero_variance_is_none = |result: Result<MmdReference, StatsError>| match result {
        Ok(r) => Ok(Some(r)),
        Err(StatsError::ZeroVariance { .. }) => Ok(None),
        Err(e) => Err(EvaluateError::Invalid(e)),
    };
    let (pool, sigma, fixed) = match compat {
        Compat::Alibi => {
            let width = sample.features.len();
            let mut raw = Vec::new();
            for i in sample_indices(sample.rows(), ALIBI_REFERENCE_ROWS, 0) {
                raw.extend(keep.iter().map(|&j| sample.values[i * width + j]));
            }
            let Some(fixed) = zero_variance_is_none(MmdReference::new(raw, dim, compute))? else {
                return Ok(None);
            };
            (Vec::new(), fixed.sigma(), Some(fixed))
        }
        Compat::Drifttap => {
            let pool = sample.standardised(&keep);
            let sigma = if dim == sample.features.len() {
                sample.sigma
            } else {
                let subset = sample.bandwidth_rows(&keep);
                match zero_variance_is_none(MmdReference::new(subset, dim, compute))? {
                    Some(r) => r.sigma(),
                    None => return Ok(None),
                }
            };
            if pool.len() / dim < 2 || sigma.is_nan() || sigma <= 0.0 {
                return Ok(None);
            }
            (pool, sigma, None)
        }
    };
    Ok(Some(PreparedMmd {
        pool,
        dim,
        sigma,
        fixed,
        names: keep.iter().map(|&j| sample.features[j].clone()).collect(),
        columns,
    }))
}

#[cfg(test)]
mod tests;
