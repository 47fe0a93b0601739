//! What an evaluation found, as typed data: per feature, the multivariate test, the correction
//! and the verdict; and its JSON document (the schema the README documents, the same for
//! `drifttap check --format json` and the sidecar's `/v1/status`).

use crate::data::Kind;
use crate::stats::correction::Correction;
use crate::stats::ks;

/// Which test a feature (or the multivariate outcome) ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// Two-sample Kolmogorov–Smirnov (numeric features).
    Ks,
    /// χ² homogeneity of category counts (categorical features).
    Chi2,
    /// Kernel MMD² across the numeric features.
    Mmd,
    /// Not run: not requested, or a side has no values.
    None,
}

impl Test {
    /// Every test, in the order reports list them.
    pub const ALL: [Test; 4] = [Test::Ks, Test::Chi2, Test::Mmd, Test::None];

    /// The name in reports, payloads and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Test::Ks => "ks",
            Test::Chi2 => "chi2",
            Test::Mmd => "mmd",
            Test::None => "none",
        }
    }
}

impl std::fmt::Display for Test {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// How a feature's p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PValueMethod {
    /// KS, the exact null distribution.
    Exact,
    /// KS, the asymptotic distribution.
    Asymp,
    /// The χ² distribution.
    Chi2,
    /// A conditional Monte-Carlo p-value over tables with both margins fixed: KS on a feature
    /// with heavy ties, χ² with an expected count below 5 ([`crate::stats::montecarlo`]).
    MonteCarlo,
}

impl PValueMethod {
    /// The name in reports: `exact`, `asymp` (as scipy names them), `chi2` or `monte_carlo`.
    pub fn as_str(self) -> &'static str {
        match self {
            PValueMethod::Exact => "exact",
            PValueMethod::Asymp => "asymp",
            PValueMethod::Chi2 => "chi2",
            PValueMethod::MonteCarlo => "monte_carlo",
        }
    }
}

impl From<ks::PValueMethod> for PValueMethod {
    fn from(method: ks::PValueMethod) -> Self {
        match method {
            ks::PValueMethod::Exact => PValueMethod::Exact,
            ks::PValueMethod::Asymp => PValueMethod::Asymp,
        }
    }
}

/// The outcome for one feature.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureReport {
    pub name: String,
    pub kind: Kind,
    /// `ks` or `chi2`; `none` when the test was not requested or a side has no values.
    pub test: Test,
    pub statistic: Option<f64>,
    pub p_value: Option<f64>,
    pub p_value_method: Option<PValueMethod>,
    /// The cut-off `p_value` was compared with, after the correction.
    pub threshold: Option<f64>,
    /// Drift in this evaluation: the distribution test or the missing-share test rejected.
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
    /// Fisher's exact test of the missing shares; `None` when neither side misses a value
    /// (or the test is off).
    pub missing_p_value: Option<f64>,
    pub missing_threshold: Option<f64>,
    /// The missing share drifted.
    pub missing_drift: bool,
}

impl FeatureReport {
    /// Whether the distribution test (KS or χ²) rejected, the missing share aside.
    pub fn distribution_drift(&self) -> bool {
        self.p_value
            .zip(self.threshold)
            .is_some_and(|(p, threshold)| p < threshold)
    }
}

/// The multivariate test across numeric features.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MultivariateReport {
    /// Always [`Test::Mmd`].
    pub test: Test,
    /// MMD².
    pub statistic: f64,
    pub sigma: f64,
    /// `(b + 1)/(P + 1)` (alibi-detect's `b / P` under `compat: alibi`).
    pub p_value: f64,
    pub permutations: usize,
    /// The cut-off `p_value` was compared with, after the correction.
    pub threshold: f64,
    pub drift: bool,
    pub features: Vec<String>,
    pub n_reference: usize,
    pub n_current: usize,
    /// The seed of the rows sampled on both sides and of the permutations: with the same
    /// baseline, rows and options, it reproduces the test.
    pub seed: u64,
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

/// One evaluation: every selected feature, the correction, the multivariate test, the verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Drift in the rows evaluated or, with chunks, in any chunk.
    pub drift: bool,
    pub correction: Correction,
    /// The per-feature p-value threshold after correction.
    pub threshold: f64,
    pub features: Vec<FeatureReport>,
    pub multivariate: Option<MultivariateReport>,
    /// With a chunk size (`drifttap check --chunk-size`): every chunk, in order.
    pub chunks: Option<Vec<ChunkReport>>,
}

/// The JSON document: the report plus where the data came from.
#[derive(Debug, serde::Serialize)]
pub struct Document<'a> {
    pub drift: bool,
    pub reference: Source<'a>,
    pub current: Source<'a>,
    pub correction: Correction,
    pub threshold: f64,
    pub features: &'a [FeatureReport],
    pub multivariate: &'a Option<MultivariateReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: &'a Option<Vec<ChunkReport>>,
}

/// One side of the comparison.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Source<'a> {
    pub path: &'a str,
    pub rows: usize,
    /// Content hash (`sha256:` and 16 hex digits): a compiled baseline's version, or the hash of
    /// the columns read.
    pub version: Option<&'a str>,
}

/// The report as pretty-printed JSON.
pub fn json(report: &Report, reference: Source<'_>, current: Source<'_>) -> String {
    let document = Document {
        drift: report.drift,
        reference,
        current,
        correction: report.correction,
        threshold: report.threshold,
        features: &report.features,
        multivariate: &report.multivariate,
        chunks: &report.chunks,
    };
    // Serialising plain data with finite numbers cannot fail; NaN would become null.
    serde_json::to_string_pretty(&document).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
