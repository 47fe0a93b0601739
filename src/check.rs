//! The offline drift check: every selected feature of CURRENT against REFERENCE, then the
//! multivariate MMD test, the multiple-testing correction, and one verdict.

use std::collections::BTreeMap;

use crate::baseline::read::{MISSING, Table, Values};
use crate::baseline::select::{Feature, Kind, SelectError, Selection, features};
use crate::stats::chi2::chi2_contingency;
use crate::stats::correction::{Correction, correct};
use crate::stats::effect::{DEFAULT_PSI_BINS, QuantileBins, wasserstein_normed};
use crate::stats::ks::{Alternative, KsMethod, SortedSample, ks_2samp_sorted};
use crate::stats::mmd::{MmdReference, Permutations, mmd_test};
use crate::stats::{Compute, Input, StatsError, synth};

/// Rows per side fed to the MMD test at most: its cost grows with the square of the rows, and a
/// few thousand rows already detect any shift that matters (a uniform sample is drawn above it).
pub const MMD_MAX_ROWS: usize = 2_000;

/// What to run and how to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    pub selection: Selection,
    pub ks: bool,
    pub chi2: bool,
    pub mmd: bool,
    pub ks_method: KsMethod,
    pub correction: Correction,
    /// The p-value threshold (before correction).
    pub p_val: f64,
    pub permutations: usize,
    pub seed: u64,
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
        }
    }
}

/// The outcome for one feature.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureReport {
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: &'static str,
    /// `ks` or `chi2`; `none` when the test was not requested or CURRENT has no values.
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

/// The whole check.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckReport {
    pub drift: bool,
    pub correction: &'static str,
    /// The per-feature p-value threshold after correction.
    pub threshold: f64,
    pub features: Vec<FeatureReport>,
    pub multivariate: Option<MultivariateReport>,
}

/// Why a check could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("reference: {0}")]
    Select(#[from] SelectError),
    #[error("current data has no column `{column}` (columns: {available})")]
    MissingColumn { column: String, available: String },
    #[error("column `{column}` is {reference} in the reference but {current} in the current data")]
    KindMismatch {
        column: String,
        reference: &'static str,
        current: &'static str,
    },
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

/// Runs the check of `current` against `reference`.
pub fn check(
    reference: &Table,
    current: &Table,
    options: &CheckOptions,
    compute: &Compute,
) -> Result<CheckReport, CheckError> {
    let chosen = features(reference, &options.selection)?;
    let available = || {
        current
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut pairs = Vec::new();
    for feature in chosen {
        let Some(other) = current.column(&feature.column.name) else {
            return Err(CheckError::MissingColumn {
                column: feature.column.name.clone(),
                available: available(),
            });
        };
        let other = match (&feature.column.values, &other.values, feature.kind) {
            (Values::Numeric(_), Values::Numeric(_), _)
            | (Values::Categorical { .. }, Values::Categorical { .. }, _) => other.clone(),
            // A numeric column tested as categories: the same conversion on both sides.
            (Values::Categorical { .. }, Values::Numeric(_), Kind::Categorical) => {
                let selection = Selection {
                    categorical: vec![other.name.clone()],
                    columns: vec![other.name.clone()],
                    ..Selection::default()
                };
                let table = crate::baseline::read::Table {
                    files: Vec::new(),
                    rows: current.rows,
                    columns: vec![other.clone()],
                    skipped: Vec::new(),
                };
                features(&table, &selection)?.remove(0).column
            }
            (r, c, _) => {
                let name = |v: &Values| {
                    if matches!(v, Values::Numeric(_)) {
                        "numeric"
                    } else {
                        "categorical"
                    }
                };
                return Err(CheckError::KindMismatch {
                    column: feature.column.name.clone(),
                    reference: name(r),
                    current: name(c),
                });
            }
        };
        pairs.push((feature, other));
    }
    let mut reports = Vec::new();
    for (feature, other) in &pairs {
        reports.push(feature_report(feature, other, options, compute)?);
    }
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
    let multivariate = if options.mmd {
        multivariate(&pairs, options, compute)?
    } else {
        None
    };
    let drift = reports.iter().any(|r| r.drift) || multivariate.as_ref().is_some_and(|m| m.drift);
    let correction = match options.correction {
        Correction::Bonferroni => "bonferroni",
        Correction::Fdr => "fdr",
        Correction::None => "none",
    };
    Ok(CheckReport {
        drift,
        correction,
        threshold,
        features: reports,
        multivariate,
    })
}

fn feature_report(
    feature: &Feature,
    other: &crate::baseline::read::Column,
    options: &CheckOptions,
    compute: &Compute,
) -> Result<FeatureReport, CheckError> {
    let column = &feature.column;
    let stats_error = |source| CheckError::Stats {
        column: column.name.clone(),
        source,
    };
    let share = |missing: usize, rows: usize| {
        if rows == 0 {
            0.0
        } else {
            missing as f64 / rows as f64
        }
    };
    let mut report = FeatureReport {
        name: column.name.clone(),
        kind: kind_name(feature.kind),
        test: "none",
        statistic: None,
        p_value: None,
        p_value_method: None,
        drift: false,
        n_reference: column.len() - column.missing(),
        n_current: other.len() - other.missing(),
        missing_current: share(other.missing(), other.len()),
        missing_reference: share(column.missing(), column.len()),
        wasserstein_normed: None,
        psi: None,
        jensen_shannon: None,
        unseen_share: None,
    };
    if report.n_reference == 0 || report.n_current == 0 {
        return Ok(report);
    }
    match (&column.values, &other.values) {
        (Values::Numeric(r), Values::Numeric(c)) if options.ks => {
            let present = |v: &[f64]| {
                v.iter()
                    .copied()
                    .filter(|x| !x.is_nan())
                    .collect::<Vec<_>>()
            };
            let r = SortedSample::new(present(r), Input::Reference, compute.backend)
                .map_err(stats_error)?;
            let c = SortedSample::new(present(c), Input::Current, compute.backend)
                .map_err(stats_error)?;
            let ks = ks_2samp_sorted(
                &r,
                &c,
                Alternative::TwoSided,
                options.ks_method,
                compute.backend,
            );
            let bins = QuantileBins::new(&r, DEFAULT_PSI_BINS).map_err(stats_error)?;
            report.test = "ks";
            report.statistic = Some(ks.statistic);
            report.p_value = Some(ks.p_value);
            report.p_value_method = Some(ks.method.name());
            report.wasserstein_normed = Some(wasserstein_normed(&r, &c));
            report.psi = Some(bins.psi(&c));
            report.jensen_shannon = Some(bins.jensen_shannon(&c));
        }
        (
            Values::Categorical {
                names: rn,
                codes: rc,
            },
            Values::Categorical {
                names: cn,
                codes: cc,
            },
        ) if options.chi2 => {
            // Counts by category name over the union of both sides.
            let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for (names, codes, side) in [(rn, rc, 0), (cn, cc, 1)] {
                for code in codes.iter().filter(|c| **c != MISSING) {
                    let entry = counts.entry(names[*code as usize].as_str()).or_default();
                    if side == 0 {
                        entry.0 += 1
                    } else {
                        entry.1 += 1
                    }
                }
            }
            let (r, c): (Vec<u64>, Vec<u64>) = counts.values().copied().unzip();
            let chi2 = chi2_contingency(&r, &c, true).map_err(stats_error)?;
            report.test = "chi2";
            report.statistic = Some(chi2.statistic);
            report.p_value = Some(chi2.p_value);
            report.p_value_method = Some("chi2");
            report.unseen_share = Some(chi2.unseen_share);
            let total = |v: &[u64]| v.iter().sum::<u64>() as f64;
            let (rs, cs): (Vec<f64>, Vec<f64>) = (
                r.iter().map(|x| *x as f64 / total(&r)).collect(),
                c.iter().map(|x| *x as f64 / total(&c)).collect(),
            );
            report.psi = Some(crate::stats::effect::psi(
                &rs,
                &cs,
                crate::stats::effect::PSI_EPSILON,
            ));
            report.jensen_shannon = Some(crate::stats::effect::jensen_shannon(&rs, &cs));
        }
        _ => {}
    }
    Ok(report)
}

/// MMD across the numeric features: rows complete in every one of them, standardised by the
/// reference's mean and standard deviation (constant columns dropped), at most
/// [`MMD_MAX_ROWS`] rows per side drawn uniformly with the check's seed.
fn multivariate(
    pairs: &[(Feature, crate::baseline::read::Column)],
    options: &CheckOptions,
    compute: &Compute,
) -> Result<Option<MultivariateReport>, CheckError> {
    let numeric: Vec<(&str, &[f64], &[f64])> = pairs
        .iter()
        .filter_map(|(f, other)| match (&f.column.values, &other.values) {
            (Values::Numeric(r), Values::Numeric(c)) => {
                Some((f.column.name.as_str(), r.as_slice(), c.as_slice()))
            }
            _ => None,
        })
        .filter(|(_, r, _)| {
            let present: Vec<f64> = r.iter().copied().filter(|x| !x.is_nan()).collect();
            !present.is_empty() && crate::stats::effect::population_std(&present) > 0.0
        })
        .collect();
    if numeric.is_empty() {
        return Ok(None);
    }
    let scale: Vec<(f64, f64)> = numeric
        .iter()
        .map(|(_, r, _)| {
            let present: Vec<f64> = r.iter().copied().filter(|x| !x.is_nan()).collect();
            let mean = present.iter().sum::<f64>() / present.len() as f64;
            (mean, crate::stats::effect::population_std(&present))
        })
        .collect();
    let rows = |side: usize, seed: u64| -> Vec<f64> {
        let len = if side == 0 {
            numeric[0].1.len()
        } else {
            numeric[0].2.len()
        };
        let complete: Vec<usize> = (0..len)
            .filter(|&i| {
                numeric
                    .iter()
                    .all(|(_, r, c)| !(if side == 0 { r[i] } else { c[i] }).is_nan())
            })
            .collect();
        let picked = sample_indices(complete.len(), MMD_MAX_ROWS, seed);
        let mut out = Vec::with_capacity(picked.len() * numeric.len());
        for k in picked {
            let i = complete[k];
            for ((_, r, c), (mean, std)) in numeric.iter().zip(&scale) {
                let v = if side == 0 { r[i] } else { c[i] };
                out.push((v - mean) / std);
            }
        }
        out
    };
    let dim = numeric.len();
    let x = rows(0, options.seed);
    let y = rows(1, options.seed.wrapping_add(1));
    if x.len() / dim < 2 || y.len() / dim < 2 {
        return Ok(None);
    }
    let reference = match MmdReference::new(x, dim, compute) {
        Ok(r) => r,
        Err(StatsError::ZeroVariance { .. }) => return Ok(None),
        Err(e) => return Err(CheckError::Invalid(e)),
    };
    let result = mmd_test(
        &reference,
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
        features: numeric.iter().map(|(n, _, _)| n.to_string()).collect(),
        n_reference: result.n_reference,
        n_current: result.n_current,
    }))
}

/// `min(len, max)` distinct indices of `0..len`, in increasing order, drawn uniformly (all of
/// them when `len ≤ max`).
fn sample_indices(len: usize, max: usize, seed: u64) -> Vec<usize> {
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
