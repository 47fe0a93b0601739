//! The data behind each feature's charts, taken from the baseline and the current table that a
//! check compared.

use crate::baseline::compile::{Baseline, FeatureData};
use crate::data::categories_of;
use crate::data::{Frame, MISSING, Values};
use crate::evaluate::Report;

/// The data behind one feature's charts.
#[derive(Debug)]
pub enum Profile<'a> {
    /// `reference_sorted`: the reference's present values, ascending, finite (no NaN).
    /// `current`: the current values in row order; NaN marks a missing value.
    Numeric {
        name: &'a str,
        reference_sorted: &'a [f64],
        current: &'a [f64],
    },
    /// Counts per category name on each side (missing values not included).
    Categorical {
        name: &'a str,
        reference: Vec<(String, u64)>,
        current: Vec<(String, u64)>,
    },
}

impl Profile<'_> {
    pub(super) fn name(&self) -> &str {
        match self {
            Profile::Numeric { name, .. } | Profile::Categorical { name, .. } => name,
        }
    }
}

/// One profile per feature of `report`, from the baseline it was checked against and CURRENT.
/// A feature without values on a side, or whose current column is missing, gets none (its card
/// then says so).
pub fn profiles<'a>(
    report: &Report,
    baseline: &'a Baseline,
    current: &'a Frame,
) -> Vec<Profile<'a>> {
    let mut out = Vec::with_capacity(report.features.len());
    for reported in &report.features {
        let (Some(feature), Some(column)) = (
            baseline.feature(&reported.name),
            current.column(&reported.name),
        ) else {
            continue;
        };
        let name = feature.name.as_str();
        match (&feature.data, &column.values) {
            (FeatureData::Numeric { sorted, .. }, Values::Numeric(values)) => {
                out.push(Profile::Numeric {
                    name,
                    reference_sorted: sorted.as_ref().map_or(&[], |s| s.values()),
                    current: values,
                })
            }
            (FeatureData::Categorical { counts }, values) => {
                // A number column tested as categories is named as the check named it.
                let converted;
                let values = match values {
                    Values::Numeric(numbers) => {
                        converted = categories_of(numbers);
                        &converted
                    }
                    categorical => categorical,
                };
                out.push(Profile::Categorical {
                    name,
                    reference: counts.clone(),
                    current: category_counts(values),
                })
            }
            // A type mismatch fails the check before a report exists.
            (FeatureData::Numeric { .. }, Values::Categorical { .. }) => {}
        }
    }
    out
}

/// Present values per category name, in code order; categories never seen are left out.
fn category_counts(values: &Values) -> Vec<(String, u64)> {
    let Values::Categorical { names, codes } = values else {
        return Vec::new();
    };
    let mut counts = vec![0u64; names.len()];
    for &code in codes.iter().filter(|c| **c != MISSING) {
        counts[code as usize] += 1;
    }
    names
        .iter()
        .cloned()
        .zip(counts)
        .filter(|(_, count)| *count > 0)
        .collect()
}
