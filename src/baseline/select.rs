//! Which columns are features, and whether each is tested as numeric or categorical.
//!
//! The role follows the column's type (numbers are numeric; booleans and strings categorical)
//! unless the user says otherwise: an integer column with a handful of values (a loan term, a
//! star rating) is often better tested as categories. Ids, labels and timestamps are left out
//! with `exclude` (timestamps are not read unless named).

use std::borrow::Cow;

#[cfg(test)]
use crate::data::MISSING;
use crate::data::{Column, Frame, Kind, Values, categories_of};

/// The user's column choices (`--columns`, `--exclude`, `--numeric`, `--categorical`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these columns (all when empty).
    pub columns: Vec<String>,
    /// Never these.
    pub exclude: Vec<String>,
    /// Test these as numbers (they must be numeric).
    pub numeric: Vec<String>,
    /// Test these as categories (numbers become one category per distinct value).
    pub categorical: Vec<String>,
}

impl Selection {
    /// Every column the selection names, to be read even when its type is skipped by default
    /// (dates and timestamps).
    pub fn named(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .columns
            .iter()
            .chain(&self.numeric)
            .chain(&self.categorical)
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The first name the selection gives that is not in `available`, with the list naming it
    /// (`columns`, `exclude`, `numeric`, `categorical`). `exclude` is checked only with
    /// `check_exclude`: excluding what is already absent is harmless for a compiled baseline.
    pub fn unknown<'s>(
        &'s self,
        available: &[&str],
        check_exclude: bool,
    ) -> Option<(&'static str, &'s str)> {
        let lists = [
            ("columns", &self.columns),
            ("exclude", &self.exclude),
            ("numeric", &self.numeric),
            ("categorical", &self.categorical),
        ];
        lists
            .into_iter()
            .filter(|(option, _)| check_exclude || *option != "exclude")
            .find_map(|(option, names)| {
                names
                    .iter()
                    .find(|n| !available.contains(&n.as_str()))
                    .map(|n| (option, n.as_str()))
            })
    }

    /// Whether the column `name` is a feature: named in `columns` (or `columns` is empty), and
    /// not excluded.
    pub fn chooses(&self, name: &str) -> bool {
        (self.columns.is_empty() || self.columns.iter().any(|c| c == name))
            && !self.exclude.iter().any(|c| c == name)
    }
}

/// A column chosen as a feature, with its role.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature<'a> {
    pub kind: Kind,
    /// The table's column, or its values turned into categories.
    pub column: Cow<'a, Column>,
}

/// Why a selection cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("--{option} names `{column}`, which is not a column (columns: {available})")]
    UnknownColumn {
        option: &'static str,
        column: String,
        available: String,
    },
    #[error("column `{column}` holds text, so it cannot be tested as numeric")]
    NotNumeric { column: String },
    #[error("column `{column}` is named in both --numeric and --categorical")]
    BothRoles { column: String },
    #[error("no columns left to test after --columns and --exclude")]
    NothingSelected,
}

/// Applies `selection` to `table`: the features in table order, each with its role.
pub fn features<'a>(
    table: &'a Frame,
    selection: &Selection,
) -> Result<Vec<Feature<'a>>, SelectError> {
    let names: Vec<&str> = table.names().collect();
    if let Some((option, column)) = selection.unknown(&names, true) {
        return Err(SelectError::UnknownColumn {
            option,
            column: column.to_string(),
            available: names.join(", "),
        });
    }
    if let Some(column) = selection
        .numeric
        .iter()
        .find(|n| selection.categorical.contains(n))
    {
        return Err(SelectError::BothRoles {
            column: column.clone(),
        });
    }
    let mut out = Vec::new();
    for column in table
        .columns()
        .iter()
        .filter(|c| selection.chooses(&c.name))
    {
        let as_categories = selection.categorical.contains(&column.name);
        let feature = match (&column.values, as_categories) {
            (Values::Numeric(_), false) => Feature {
                kind: Kind::Numeric,
                column: Cow::Borrowed(column),
            },
            (Values::Numeric(values), true) => Feature {
                kind: Kind::Categorical,
                column: Cow::Owned(Column {
                    name: column.name.clone(),
                    values: categories_of(values),
                }),
            },
            (Values::Categorical { .. }, _) if selection.numeric.contains(&column.name) => {
                return Err(SelectError::NotNumeric {
                    column: column.name.clone(),
                });
            }
            (Values::Categorical { .. }, _) => Feature {
                kind: Kind::Categorical,
                column: Cow::Borrowed(column),
            },
        };
        out.push(feature);
    }
    if out.is_empty() {
        return Err(SelectError::NothingSelected);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Frame {
        Frame::new(
            4,
            vec![
                Column {
                    name: "id".into(),
                    values: Values::Numeric(vec![1.0, 2.0, 3.0, 4.0]),
                },
                Column {
                    name: "term".into(),
                    values: Values::Numeric(vec![36.0, 60.0, f64::NAN, 36.0]),
                },
                Column {
                    name: "income".into(),
                    values: Values::Numeric(vec![1.5, 2.5, 3.5, 4.5]),
                },
                Column {
                    name: "home".into(),
                    values: Values::Categorical {
                        names: vec!["RENT".into(), "OWN".into()],
                        codes: vec![0, 1, 0, MISSING],
                    },
                },
            ],
        )
        .expect("consistent columns")
    }

    fn names<'a>(features: &'a [Feature<'_>]) -> Vec<(&'a str, Kind)> {
        features
            .iter()
            .map(|f| (f.column.name.as_str(), f.kind))
            .collect()
    }

    #[test]
    fn roles_follow_types_and_overrides() {
        let selection = Selection {
            exclude: vec!["id".into()],
            categorical: vec!["term".into()],
            ..Selection::default()
        };
        let table = table();
        let features = features(&table, &selection).expect("valid selection");
        assert_eq!(
            names(&features),
            vec![
                ("term", Kind::Categorical),
                ("income", Kind::Numeric),
                ("home", Kind::Categorical)
            ]
        );
        assert_eq!(
            features[0].column.values,
            Values::Categorical {
                names: vec!["36".into(), "60".into()],
                codes: vec![0, 1, MISSING, 0]
            }
        );
    }

    #[test]
    fn columns_restricts_and_keeps_table_order() {
        let selection = Selection {
            columns: vec!["home".into(), "income".into()],
            ..Selection::default()
        };
        let table = table();
        let features = features(&table, &selection).expect("valid selection");
        assert_eq!(
            names(&features),
            vec![("income", Kind::Numeric), ("home", Kind::Categorical)]
        );
        assert_eq!(
            selection.named(),
            vec!["home".to_string(), "income".to_string()]
        );
    }

    #[test]
    fn bad_selections_are_explained() {
        let unknown = Selection {
            exclude: vec!["salary".into()],
            ..Selection::default()
        };
        assert_eq!(
            features(&table(), &unknown)
                .expect_err("unknown")
                .to_string(),
            "--exclude names `salary`, which is not a column (columns: id, term, income, home)"
        );
        let text = Selection {
            numeric: vec!["home".into()],
            ..Selection::default()
        };
        assert_eq!(
            features(&table(), &text),
            Err(SelectError::NotNumeric {
                column: "home".into()
            })
        );
        let both = Selection {
            numeric: vec!["term".into()],
            categorical: vec!["term".into()],
            ..Selection::default()
        };
        assert_eq!(
            features(&table(), &both),
            Err(SelectError::BothRoles {
                column: "term".into()
            })
        );
        let none = Selection {
            columns: vec!["id".into()],
            exclude: vec!["id".into()],
            ..Selection::default()
        };
        assert_eq!(features(&table(), &none), Err(SelectError::NothingSelected));
    }
}
