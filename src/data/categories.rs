//! The one rule that names a number used as a category, shared by the baseline (integer columns
//! compiled as categories) and the decoders (numbers sent for a categorical feature): if the two
//! disagreed, every live value would be an unseen category.

use std::collections::HashMap;

use super::{MISSING, Values};

/// Below 2⁵³ an integral `f64` is an exact `i64`, which prints the same digits faster.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// The category name of a number: as Rust's `f64` display prints it (`36`, `0.5`), with `-0`
/// and `0` one category named `0`.
pub fn category_name(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v.fract() == 0.0 && v.abs() < EXACT_INTEGER {
        (v as i64).to_string()
    } else {
        v.to_string()
    }
}

/// One category per distinct number, named by [`category_name`], in order of first appearance;
/// NaN is missing.
pub fn categories_of(values: &[f64]) -> Values {
    let mut names = Vec::new();
    let mut index: HashMap<u64, u32> = HashMap::new();
    let codes = values
        .iter()
        .map(|&v| {
            if v.is_nan() {
                return MISSING;
            }
            // +0.0 and −0.0 are one category.
            let key = (if v == 0.0 { 0.0 } else { v }).to_bits();
            *index.entry(key).or_insert_with(|| {
                names.push(category_name(v));
                names.len() as u32 - 1
            })
        })
        .collect();
    Values::Categorical { names, codes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_zero_and_zero_are_one_category_named_0() {
        assert_eq!(category_name(-0.0), "0");
        assert_eq!(
            categories_of(&[-0.0, 0.0, 1.0, f64::NAN]),
            Values::Categorical {
                names: vec!["0".into(), "1".into()],
                codes: vec![0, 0, 1, MISSING]
            }
        );
    }

    #[test]
    fn numbers_are_named_as_they_print() {
        for (v, name) in [
            (36.0, "36"),
            (-3.0, "-3"),
            (0.5, "0.5"),
            (1e300, &format!("{}", 1e300)),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(category_name(v), name);
        }
    }
}
