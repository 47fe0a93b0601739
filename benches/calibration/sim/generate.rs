//! The feature types of the simulation, their deterministic samplers, and tables built from
//! them, with the known shifts that the power measurement applies.
//!
//! Every value is a function of a seed and a row counter (drifttap's counter-based stream,
//! [`synth`]), so any rows of an endless stream can be drawn on their own: a window of a
//! sliding stream is rows `start..end` of it, with no state carried between windows. A feature's
//! values, its missing mask and each table's features use separate streams derived with
//! [`stream`].

use std::ops::Range;

use drifttap::data::{Column, Frame, Kind, MISSING, Values};
use drifttap::stats::synth;

/// A seed for one purpose, derived from `seed` and a path of tags: SplitMix64's finaliser
/// applied once per tag, so streams for different paths share nothing.
pub fn stream(seed: u64, tags: &[u64]) -> u64 {
    tags.iter().fold(seed, |s, &tag| synth::bits(s, tag))
}

/// A stable number for a name, to tag the streams of a scenario (FNV-1a).
pub fn name_tag(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The share of ones of a binary feature.
pub const BINARY_P: f64 = 0.3;
/// The mean of a Poisson feature.
pub const POISSON_MEAN: f64 = 3.0;
/// Categories of a balanced categorical feature, equally likely.
pub const BALANCED_CATEGORIES: usize = 5;
/// Categories of a long-tailed feature, with Zipf weights `1 / rank`: with 20 000 training rows
/// the rarest has about 17, and a 1 000-row window sees it about once — the sparse tail where a
/// χ² approximation is least trustworthy.
pub const LONG_TAIL_CATEGORIES: usize = 200;
/// Degrees of freedom of the heavy-tailed feature: Student's t with 3 has a finite variance but
/// no fourth moment.
pub const T_DOF: u64 = 3;

/// How one feature's values are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureType {
    /// `z`, drifttap's normal-like draw (Irwin–Hall with 12 terms).
    Normal,
    /// `exp(z)`: log-normal, right-skewed.
    Skewed,
    /// Student's t with [`T_DOF`] degrees of freedom, `z₀ / √(Σ zᵢ² / 3)`.
    HeavyTailed,
    /// 1 with probability [`BINARY_P`], else 0: two values, all ties.
    Binary,
    /// Poisson with mean [`POISSON_MEAN`], by inversion of one uniform draw.
    Poisson,
    /// [`BALANCED_CATEGORIES`] equally likely categories.
    Balanced,
    /// [`LONG_TAIL_CATEGORIES`] categories with Zipf weights.
    LongTailed,
}

impl FeatureType {
    /// Every type, in the order tables list them (a mixed table cycles through them).
    pub const ALL: [FeatureType; 7] = [
        FeatureType::Normal,
        FeatureType::Skewed,
        FeatureType::HeavyTailed,
        FeatureType::Binary,
        FeatureType::Poisson,
        FeatureType::Balanced,
        FeatureType::LongTailed,
    ];

    /// The name in tables, JSON and column names.
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureType::Normal => "normal",
            FeatureType::Skewed => "skewed",
            FeatureType::HeavyTailed => "heavy_tailed",
            FeatureType::Binary => "binary",
            FeatureType::Poisson => "poisson",
            FeatureType::Balanced => "balanced",
            FeatureType::LongTailed => "long_tailed",
        }
    }

    /// What the values are, for a table's legend.
    pub fn describe(self) -> &'static str {
        match self {
            FeatureType::Normal => "N(0, 1) (Irwin–Hall, 12 terms)",
            FeatureType::Skewed => "log-normal, exp(N(0, 1))",
            FeatureType::HeavyTailed => "Student t, 3 dof",
            FeatureType::Binary => "binary, p = 0.3",
            FeatureType::Poisson => "Poisson(3)",
            FeatureType::Balanced => "categorical, 5 equal categories",
            FeatureType::LongTailed => "categorical, Zipf over 200 categories",
        }
    }

    /// How drifttap tests it.
    pub fn kind(self) -> Kind {
        match self {
            FeatureType::Balanced | FeatureType::LongTailed => Kind::Categorical,
            _ => Kind::Numeric,
        }
    }

    /// The population standard deviation: the unit of a shift.
    pub fn sd(self) -> f64 {
        match self {
            FeatureType::Normal => 1.0,
            // √((e − 1)·e) for exp(N(0, 1)).
            FeatureType::Skewed => ((std::f64::consts::E - 1.0) * std::f64::consts::E).sqrt(),
            // √(ν / (ν − 2)).
            FeatureType::HeavyTailed => (T_DOF as f64 / (T_DOF as f64 - 2.0)).sqrt(),
            FeatureType::Binary => (BINARY_P * (1.0 - BINARY_P)).sqrt(),
            FeatureType::Poisson => POISSON_MEAN.sqrt(),
            FeatureType::Balanced | FeatureType::LongTailed => f64::NAN,
        }
    }

    /// Draw `i` of stream `seed`, its mean moved by `shift` standard deviations: added to a
    /// continuous value, to the probability of a one for a binary feature, to the mean of a
    /// Poisson one. Numeric types only.
    fn numeric(self, seed: u64, i: u64, shift: f64) -> f64 {
        let moved = shift * self.sd();
        match self {
            FeatureType::Normal => synth::standard_normal(seed, i) + moved,
            FeatureType::Skewed => synth::standard_normal(seed, i).exp() + moved,
            FeatureType::HeavyTailed => student_t(seed, i) + moved,
            FeatureType::Binary => f64::from(u8::from(synth::uniform(seed, i) < BINARY_P + moved)),
            FeatureType::Poisson => poisson(synth::uniform(seed, i), POISSON_MEAN + moved),
            FeatureType::Balanced | FeatureType::LongTailed => {
                unreachable!("{} is categorical", self.as_str())
            }
        }
    }

    /// The category names and cumulative weights of a categorical type.
    fn categories(self) -> Option<(Vec<String>, Vec<f64>)> {
        let weights: Vec<f64> = match self {
            FeatureType::Balanced => vec![1.0; BALANCED_CATEGORIES],
            FeatureType::LongTailed => (1..=LONG_TAIL_CATEGORIES)
                .map(|rank| 1.0 / rank as f64)
                .collect(),
            _ => return None,
        };
        let names = (0..weights.len()).map(|k| format!("c{k:03}")).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Some((names, cumulative))
    }
}

/// Student's t with [`T_DOF`] degrees of freedom from `T_DOF + 1` normal draws (draws
/// `4i .. 4i + 3` of the stream's normals).
fn student_t(seed: u64, i: u64) -> f64 {
    let base = (T_DOF + 1) * i;
    let z = synth::standard_normal(seed, base);
    let chi2: f64 = (1..=T_DOF)
        .map(|k| synth::standard_normal(seed, base + k).powi(2))
        .sum();
    z / (chi2 / T_DOF as f64).sqrt()
}

/// The Poisson(`mean`) value whose cumulative distribution first exceeds `u`: inversion by
/// sequential search, exact for the small means used here (the loop stops by 200 whatever `u`).
pub fn poisson(u: f64, mean: f64) -> f64 {
    let mut k = 0u32;
    let mut pmf = (-mean).exp();
    let mut cdf = pmf;
    while u >= cdf && k < 200 {
        k += 1;
        pmf *= mean / f64::from(k);
        cdf += pmf;
    }
    f64::from(k)
}

/// One feature of a table.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FeatureSpec {
    pub ty: FeatureType,
    /// Share of rows missing, completely at random.
    pub missing: f64,
    /// Shift of the mean in standard deviations (numeric types).
    pub shift: f64,
}

/// Two normal features made correlated: `b = ρ·z_a + √(1 − ρ²)·z_b`, each still N(0, 1).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Correlation {
    pub a: usize,
    pub b: usize,
    pub rho: f64,
}

/// How a table's rows are drawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TableSpec {
    pub features: Vec<FeatureSpec>,
    pub correlation: Option<Correlation>,
}

/// The share of rows missing in the missing features of a table with missing values.
pub const MISSING_SHARE: f64 = 0.05;

impl TableSpec {
    /// `count` features of one type, none missing.
    pub fn uniform(ty: FeatureType, count: usize) -> TableSpec {
        TableSpec {
            features: vec![
                FeatureSpec {
                    ty,
                    missing: 0.0,
                    shift: 0.0
                };
                count
            ],
            correlation: None,
        }
    }

    /// `count` features cycling through [`FeatureType::ALL`]; with `missing`, every fifth
    /// feature (the 5th, 10th, …) has that share of rows missing.
    pub fn mixed(count: usize, missing: f64) -> TableSpec {
        let features = (0..count)
            .map(|j| FeatureSpec {
                ty: FeatureType::ALL[j % FeatureType::ALL.len()],
                missing: if j % 5 == 4 { missing } else { 0.0 },
                shift: 0.0,
            })
            .collect();
        TableSpec {
            features,
            correlation: None,
        }
    }

    /// The same table with feature `j`'s mean moved by `shift` standard deviations.
    pub fn shifted(mut self, j: usize, shift: f64) -> TableSpec {
        let feature = &mut self.features[j];
        assert_eq!(
            feature.ty.kind(),
            Kind::Numeric,
            "only numeric features shift"
        );
        feature.shift = shift;
        self
    }

    /// The same table with feature `j` missing in a share `missing` of rows.
    pub fn missing(mut self, j: usize, missing: f64) -> TableSpec {
        self.features[j].missing = missing;
        self
    }

    /// The same table with normal features `a` and `b` correlated.
    pub fn correlated(mut self, a: usize, b: usize, rho: f64) -> TableSpec {
        for j in [a, b] {
            assert_eq!(
                self.features[j].ty,
                FeatureType::Normal,
                "correlate normals"
            );
        }
        assert!(a != b && rho.abs() < 1.0, "two features, |ρ| < 1");
        self.correlation = Some(Correlation { a, b, rho });
        self
    }

    /// Feature `j`'s column name: its index and type, `f03_binary`.
    pub fn column_name(&self, j: usize) -> String {
        format!("f{j:02}_{}", self.features[j].ty.as_str())
    }

    /// Rows `rows` of the endless stream `seed` of this table.
    pub fn frame(&self, seed: u64, rows: Range<u64>) -> Frame {
        let len = (rows.end - rows.start) as usize;
        let columns = self
            .features
            .iter()
            .enumerate()
            .map(|(j, feature)| Column {
                name: self.column_name(j),
                values: self.values(j, feature, seed, rows.clone()),
            })
            .collect();
        Frame::new(len, columns).expect("every column has the frame's rows and valid codes")
    }

    fn values(&self, j: usize, feature: &FeatureSpec, seed: u64, rows: Range<u64>) -> Values {
        let values_seed = stream(seed, &[j as u64]);
        let mask_seed = stream(seed, &[j as u64, name_tag("missing")]);
        let missing =
            |i: u64| feature.missing > 0.0 && synth::uniform(mask_seed, i) < feature.missing;
        if let Some((names, cumulative)) = feature.ty.categories() {
            let codes = rows
                .map(|i| {
                    if missing(i) {
                        return MISSING;
                    }
                    let u = synth::uniform(values_seed, i);
                    let k = cumulative.partition_point(|&c| c <= u);
                    k.min(cumulative.len() - 1) as u32
                })
                .collect();
            return Values::Categorical { names, codes };
        }
        let partner = self
            .correlation
            .filter(|c| c.b == j)
            .map(|c| (stream(seed, &[c.a as u64]), c.rho));
        let values = rows
            .map(|i| {
                if missing(i) {
                    return f64::NAN;
                }
                match partner {
                    Some((a_seed, rho)) => {
                        rho * synth::standard_normal(a_seed, i)
                            + (1.0 - rho * rho).sqrt() * synth::standard_normal(values_seed, i)
                    }
                    None => feature.ty.numeric(values_seed, i, feature.shift),
                }
            })
            .collect();
        Values::Numeric(values)
    }
}
