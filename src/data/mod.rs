//! The feature data model every layer shares: a [`Frame`] of named [`Column`]s, each numeric or
//! categorical, and the one rule that names a number used as a category.
//!
//! A frame comes from Parquet (the baseline reader), from a sidecar's window, or from a library
//! user; whichever, [`Frame::new`] checks it, so no evaluation can index past a column.
//!
//! - [`arrow`]: the one table of Arrow types (role, `f64`, text) that both Arrow readers use.
//! - [`categories`]: [`category_name`] and [`categories_of`], the one naming rule.
//! - [`schema`]: [`FeatureSchema`], a model's features named and typed, in baseline order.

pub mod arrow;
pub mod categories;
pub mod schema;

pub use categories::{categories_of, category_name};
pub use schema::FeatureSchema;

/// How a feature is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// KS, Wasserstein, PSI; part of the multivariate MMD test.
    Numeric,
    /// χ² on category counts.
    Categorical,
}

impl Kind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Kind; 2] = [Kind::Numeric, Kind::Categorical];

    /// The name in reports, manifests and payloads: `numeric` or `categorical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Numeric => "numeric",
            Kind::Categorical => "categorical",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Numbers, with `NaN` for a missing value.
    Numeric(Vec<f64>),
    /// Category codes into `names`, with [`MISSING`] for a missing value.
    Categorical { names: Vec<String>, codes: Vec<u32> },
}

/// The code of a missing categorical value.
pub const MISSING: u32 = u32::MAX;

/// One column of a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

impl Column {
    /// Rows in the column, missing ones included.
    pub fn len(&self) -> usize {
        match &self.values {
            Values::Numeric(v) => v.len(),
            Values::Categorical { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values are missing (null or NaN).
    pub fn missing(&self) -> usize {
        match &self.values {
            Values::Numeric(v) => v.iter().filter(|x| x.is_nan()).count(),
            Values::Categorical { codes, .. } => codes.iter().filter(|c| **c == MISSING).count(),
        }
    }
}

/// Why columns do not make a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    #[error("column `{column}` has {len} rows, but the frame has {rows}")]
    Length {
        column: String,
        len: usize,
        rows: usize,
    },
    #[error(
        "column `{column}`, row {row}: category code {code} names none of its {names} categories"
    )]
    Code {
        column: String,
        row: usize,
        code: u32,
        names: usize,
    },
}

/// Equal-length columns: the rows of a data set, a window or a chunk.
///
/// Its fields are private so that every frame is consistent: each column has `rows` values,
/// and every category code is [`MISSING`] or names one of its column's categories.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    rows: usize,
    columns: Vec<Column>,
}

impl Frame {
    /// A frame of `rows` rows, or the first inconsistency found.
    pub fn new(rows: usize, columns: Vec<Column>) -> Result<Frame, FrameError> {
        for column in &columns {
            if column.len() != rows {
                return Err(FrameError::Length {
                    column: column.name.clone(),
                    len: column.len(),
                    rows,
                });
            }
            if let Values::Categorical { names, codes } = &column.values {
                let bad = codes
                    .iter()
                    .position(|&c| c != MISSING && c as usize >= names.len());
                if let Some(row) = bad {
                    return Err(FrameError::Code {
                        column: column.name.clone(),
                        row,
                        code: codes[row],
                        names: names.len(),
                    });
                }
            }
        }
        Ok(Frame { rows, columns })
    }

    /// Rows, missing values included.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The columns, given back.
    pub fn into_columns(self) -> Vec<Column> {
        self.columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inconsistent_frame_is_refused_with_the_column_named() {
        let short = Column {
            name: "income".into(),
            values: Values::Numeric(vec![1.0; 100]),
        };
        assert_eq!(
            Frame::new(200, vec![short]),
            Err(FrameError::Length {
                column: "income".into(),
                len: 100,
                rows: 200
            })
        );
        let bad_code = Column {
            name: "region".into(),
            values: Values::Categorical {
                names: vec!["north".into()],
                codes: vec![0, MISSING, 3],
            },
        };
        assert_eq!(
            Frame::new(3, vec![bad_code]),
            Err(FrameError::Code {
                column: "region".into(),
                row: 2,
                code: 3,
                names: 1
            })
        );
    }

    #[test]
    fn a_consistent_frame_keeps_its_columns() {
        let columns = vec![
            Column {
                name: "x".into(),
                values: Values::Numeric(vec![1.0, 2.0]),
            },
            Column {
                name: "c".into(),
                values: Values::Categorical {
                    names: vec!["a".into()],
                    codes: vec![MISSING, 0],
                },
            },
        ];
        let frame = Frame::new(2, columns.clone()).expect("consistent");
        assert_eq!(frame.rows(), 2);
        assert_eq!(frame.column("c"), Some(&columns[1]));
        assert_eq!(frame.names().collect::<Vec<_>>(), ["x", "c"]);
        assert_eq!(frame.into_columns(), columns);
    }
}
