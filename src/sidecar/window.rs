//! Bounded windows of recent feature values.
//!
//! A [`Window`] keeps the last `size` rows a model saw, optionally only those younger than
//! `max_age`, in fixed ring buffers allocated once: memory is set by configuration, never by
//! traffic. Rows stay aligned across features (the MMD test needs whole rows); a feature missing
//! from a row is stored as missing. Categories are interned per feature, seeded with the
//! baseline's, and bounded: past [`MAX_CATEGORIES`] distinct values a feature's new values share
//! one overflow category, so a high-cardinality field cannot grow the sidecar.
//!
//! The engine takes a [`Window::snapshot`] — an immutable [`Frame`] in arrival order — and runs
//! the tests on it while ingestion goes on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::data::Kind;
use crate::data::{Column, Frame, MISSING, Values};

/// Distinct categories kept per feature beyond the baseline's own. Enough for any real
/// categorical feature; an id-like field overflows into [`OVERFLOW_CATEGORY`] instead of
/// growing memory without bound.
pub const MAX_CATEGORIES: usize = 1024;

/// The category that absorbs values past [`MAX_CATEGORIES`]. Never a baseline category, so it
/// counts as unseen.
pub const OVERFLOW_CATEGORY: &str = "\u{1}overflow";

/// One decoded value, as the window reads it: a number, a category name, or neither (missing).
pub trait Sample {
    fn number(&self) -> Option<f64>;
    fn category(&self) -> Option<&str>;
}

/// How much a window holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowConfig {
    /// Rows kept (the most recent).
    pub size: usize,
    /// Rows older than this are dropped, if set.
    pub max_age: Option<Duration>,
}

/// Where a feature lives in the ring buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Numeric(usize),
    Categorical(usize),
}

/// Category names of one feature and their codes.
#[derive(Debug, Clone, Default)]
struct Interner {
    names: Vec<String>,
    codes: HashMap<String, u32>,
    /// Beyond this many names, new values map to the overflow category.
    limit: usize,
    overflow: Option<u32>,
}

impl Interner {
    fn seeded(baseline: &[String]) -> Self {
        let mut interner = Interner {
            limit: baseline.len() + MAX_CATEGORIES,
            ..Interner::default()
        };
        for name in baseline {
            interner.code(name);
        }
        interner
    }

    fn code(&mut self, name: &str) -> u32 {
        if let Some(code) = self.codes.get(name) {
            return *code;
        }
        if self.names.len() >= self.limit {
            return match self.overflow {
                Some(code) => code,
                None => {
                    let code = self.names.len() as u32;
                    self.names.push(OVERFLOW_CATEGORY.to_string());
                    self.overflow = Some(code);
                    code
                }
            };
        }
        let code = self.names.len() as u32;
        self.names.push(name.to_string());
        self.codes.insert(name.to_string(), code);
        code
    }
}

/// The recent rows of one model.
#[derive(Debug, Clone)]
pub struct Window {
    names: Vec<String>,
    slots: Vec<Slot>,
    config: WindowConfig,
    /// `size × numeric features`, row-major; NaN is missing.
    numeric: Vec<f64>,
    numeric_width: usize,
    /// `size × categorical features`, row-major; [`MISSING`] is missing.
    categorical: Vec<u32>,
    categorical_width: usize,
    interners: Vec<Interner>,
    /// Arrival time of each row.
    stamps: Vec<Option<Instant>>,
    /// Next row to write.
    head: usize,
    len: usize,
    /// Rows pushed since the start.
    pushed: u64,
}

/// A feature of a window: its name, its role, and (for categorical features) the baseline's
/// categories, which get the first codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowFeature {
    pub name: String,
    pub kind: Kind,
    pub categories: Vec<String>,
}

impl Window {
    pub fn new(features: &[WindowFeature], config: WindowConfig) -> Self {
        let size = config.size.max(1);
        let mut slots = Vec::with_capacity(features.len());
        let mut interners = Vec::new();
        let (mut numeric_width, mut categorical_width) = (0, 0);
        for feature in features {
            match feature.kind {
                Kind::Numeric => {
                    slots.push(Slot::Numeric(numeric_width));
                    numeric_width += 1;
                }
                Kind::Categorical => {
                    slots.push(Slot::Categorical(categorical_width));
                    categorical_width += 1;
                    interners.push(Interner::seeded(&feature.categories));
                }
            }
        }
        Window {
            names: features.iter().map(|f| f.name.clone()).collect(),
            slots,
            config: WindowConfig { size, ..config },
            numeric: vec![f64::NAN; size * numeric_width],
            numeric_width,
            categorical: vec![MISSING; size * categorical_width],
            categorical_width,
            interners,
            stamps: vec![None; size],
            head: 0,
            len: 0,
            pushed: 0,
        }
    }

    /// Rows held now.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rows the window can hold.
    pub fn capacity(&self) -> usize {
        self.config.size
    }

    /// Rows pushed since the start.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Appends a row of values in feature order (extra values are ignored, missing ones are
    /// missing), overwriting the oldest row when full. Values must be finite or missing: the
    /// decoders drop the rest.
    pub fn push<S: Sample>(&mut self, row: &[S], now: Instant) {
        let head = self.head;
        let numeric = &mut self.numeric[head * self.numeric_width..][..self.numeric_width];
        numeric.fill(f64::NAN);
        let categorical =
            &mut self.categorical[head * self.categorical_width..][..self.categorical_width];
        categorical.fill(MISSING);
        for (slot, value) in self.slots.iter().zip(row) {
            match slot {
                Slot::Numeric(j) => {
                    if let Some(v) = value.number().filter(|v| v.is_finite()) {
                        numeric[*j] = v;
                    }
                }
                Slot::Categorical(k) => {
                    if let Some(name) = value.category() {
                        categorical[*k] = self.interners[*k].code(name);
                    }
                }
            }
        }
        self.stamps[head] = Some(now);
        self.head = (head + 1) % self.config.size;
        self.len = (self.len + 1).min(self.config.size);
        self.pushed += 1;
    }

    /// Arrival times of the oldest and the newest row held, `None` when empty.
    pub fn span(&self) -> Option<(Instant, Instant)> {
        if self.len == 0 {
            return None;
        }
        let size = self.config.size;
        let oldest = self.stamps[(self.head + size - self.len) % size]?;
        let newest = self.stamps[(self.head + size - 1) % size]?;
        Some((oldest, newest))
    }

    /// Drops the rows older than the configured age at `now`.
    pub fn expire(&mut self, now: Instant) {
        let Some(max_age) = self.config.max_age else {
            return;
        };
        while self.len > 0 {
            let oldest = (self.head + self.config.size - self.len) % self.config.size;
            match self.stamps[oldest] {
                Some(t) if now.saturating_duration_since(t) > max_age => {
                    self.stamps[oldest] = None;
                    self.len -= 1;
                }
                _ => break,
            }
        }
    }

    /// The rows held, oldest first, as a table the checks run on.
    pub fn snapshot(&self) -> Frame {
        let size = self.config.size;
        let order: Vec<usize> = (0..self.len)
            .map(|i| (self.head + size - self.len + i) % size)
            .collect();
        let columns = self
            .names
            .iter()
            .zip(&self.slots)
            .map(|(name, slot)| {
                let values = match *slot {
                    Slot::Numeric(j) => Values::Numeric(
                        order
                            .iter()
                            .map(|&r| self.numeric[r * self.numeric_width + j])
                            .collect(),
                    ),
                    Slot::Categorical(k) => Values::Categorical {
                        names: self.interners[k].names.clone(),
                        codes: order
                            .iter()
                            .map(|&r| self.categorical[r * self.categorical_width + k])
                            .collect(),
                    },
                };
                Column {
                    name: name.clone(),
                    values,
                }
            })
            .collect();
        Frame::new(self.len, columns)
            .expect("the ring buffers hold `len` rows of every feature, coded by its interner")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The decoders' values, as the window receives them.
    use crate::sidecar::ingest::decode::Value;

    fn features() -> Vec<WindowFeature> {
        vec![
            WindowFeature {
                name: "age".into(),
                kind: Kind::Numeric,
                categories: Vec::new(),
            },
            WindowFeature {
                name: "home".into(),
                kind: Kind::Categorical,
                categories: vec!["OWN".into(), "RENT".into()],
            },
        ]
    }

    fn row(age: f64, home: &str) -> Vec<Value> {
        vec![Value::Number(age), Value::Category(home.into())]
    }

    fn numbers(table: &Frame) -> Vec<f64> {
        match &table.columns()[0].values {
            Values::Numeric(v) => v.clone(),
            Values::Categorical { .. } => panic!("age is numeric"),
        }
    }

    fn categories(table: &Frame) -> Vec<String> {
        match &table.columns()[1].values {
            Values::Categorical { names, codes } => codes
                .iter()
                .map(|c| {
                    if *c == MISSING {
                        "-".to_string()
                    } else {
                        names[*c as usize].clone()
                    }
                })
                .collect(),
            Values::Numeric(_) => panic!("home is categorical"),
        }
    }

    #[test]
    fn the_window_keeps_the_last_rows_in_arrival_order() {
        let mut window = Window::new(
            &features(),
            WindowConfig {
                size: 3,
                max_age: None,
            },
        );
        let now = Instant::now();
        for (i, home) in ["RENT", "OWN", "MORTGAGE", "RENT", "OWN"]
            .iter()
            .enumerate()
        {
            window.push(&row(i as f64, home), now);
        }
        assert_eq!((window.len(), window.pushed()), (3, 5));
        let table = window.snapshot();
        assert_eq!(table.rows(), 3);
        assert_eq!(numbers(&table), [2.0, 3.0, 4.0]);
        assert_eq!(categories(&table), ["MORTGAGE", "RENT", "OWN"]);
    }

    #[test]
    fn missing_and_short_rows_are_missing_values_not_lost_rows() {
        let mut window = Window::new(
            &features(),
            WindowConfig {
                size: 4,
                max_age: None,
            },
        );
        let now = Instant::now();
        window.push(&[Value::Missing, Value::Category("OWN".into())], now);
        window.push(&[Value::Number(7.0)], now);
        window.push(&[Value::Number(f64::INFINITY), Value::Missing], now);
        let table = window.snapshot();
        let ages = numbers(&table);
        assert!(ages[0].is_nan() && ages[1] == 7.0 && ages[2].is_nan());
        assert_eq!(categories(&table), ["OWN", "-", "-"]);
    }

    #[test]
    fn old_rows_expire_when_an_age_is_set() {
        let mut window = Window::new(
            &features(),
            WindowConfig {
                size: 10,
                max_age: Some(Duration::from_secs(60)),
            },
        );
        let start = Instant::now();
        window.push(&row(1.0, "OWN"), start);
        window.push(&row(2.0, "OWN"), start + Duration::from_secs(30));
        window.push(&row(3.0, "OWN"), start + Duration::from_secs(90));
        window.expire(start + Duration::from_secs(80));
        assert_eq!(numbers(&window.snapshot()), [2.0, 3.0]);
        window.expire(start + Duration::from_secs(1000));
        assert!(window.is_empty());
    }

    #[test]
    fn categories_are_bounded_past_the_baselines() {
        let mut window = Window::new(
            &features(),
            WindowConfig {
                size: 2 * MAX_CATEGORIES,
                max_age: None,
            },
        );
        let now = Instant::now();
        for i in 0..MAX_CATEGORIES + 10 {
            window.push(&row(0.0, &format!("id-{i}")), now);
        }
        let table = window.snapshot();
        let Values::Categorical { names, .. } = &table.columns()[1].values else {
            panic!("categorical")
        };
        assert_eq!(names.len(), 2 + MAX_CATEGORIES + 1);
        assert_eq!(names[..2], ["OWN", "RENT"]);
        let seen = categories(&table);
        assert_eq!(seen[MAX_CATEGORIES + 9], OVERFLOW_CATEGORY);
        assert_eq!(
            seen[MAX_CATEGORIES - 1],
            format!("id-{}", MAX_CATEGORIES - 1)
        );
    }
}
