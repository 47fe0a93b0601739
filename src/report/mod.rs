//! Rendering a [`CheckReport`](crate::check::CheckReport) for people (a terminal table) and for
//! programs (JSON with a stable schema, documented in the README).

pub mod html;
use std::fmt::Write;

use crate::check::{CheckReport, FeatureReport};

/// The JSON document: the report plus where the data came from.
#[derive(Debug, serde::Serialize)]
pub struct Document<'a> {
    pub drift: bool,
    pub reference: Source<'a>,
    pub current: Source<'a>,
    pub correction: &'a str,
    pub threshold: f64,
    pub features: &'a [FeatureReport],
    pub multivariate: &'a Option<crate::check::MultivariateReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: &'a Option<Vec<crate::check::ChunkReport>>,
}

/// One side of the comparison.
#[derive(Debug, serde::Serialize)]
pub struct Source<'a> {
    pub path: &'a str,
    pub rows: usize,
    /// Content hash (`sha256:` and 16 hex digits): a compiled baseline's version, or the hash of
    /// the columns read.
    pub version: Option<&'a str>,
}

/// The report as pretty-printed JSON.
pub fn json(report: &CheckReport, reference: Source<'_>, current: Source<'_>) -> String {
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

/// The report as a table that fits a terminal: drifting features first, marked with `*`.
pub fn table(report: &CheckReport, reference: &str, current: &str) -> String {
    let mut out = String::new();
    let num =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |x| format!("{x:.digits$}"));
    let p = |v: Option<f64>| {
        v.map_or("-".to_string(), |x| {
            if x != 0.0 && x < 1e-4 {
                format!("{x:.1e}")
            } else {
                format!("{x:.4}")
            }
        })
    };
    let _ = writeln!(out, "reference {reference}\ncurrent   {current}\n");
    let _ = writeln!(
        out,
        "  {:<22} {:<5} {:>10} {:>9} {:>8} {:>8} {:>8}",
        "feature", "test", "statistic", "p-value", "W/std", "PSI", "missing"
    );
    let mut rows: Vec<&FeatureReport> = report.features.iter().collect();
    rows.sort_by_key(|r| !r.drift);
    for r in rows {
        let _ = writeln!(
            out,
            "{} {:<22} {:<5} {:>10} {:>9} {:>8} {:>8} {:>7.1}%",
            if r.drift { '*' } else { ' ' },
            truncate(&r.name, 22),
            r.test,
            num(r.statistic, 4),
            p(r.p_value),
            num(r.wasserstein_normed, 3),
            num(r.psi, 3),
            100.0 * r.missing_current
        );
    }
    if let Some(m) = &report.multivariate {
        let _ = writeln!(
            out,
            "{} {:<22} {:<5} {:>10.5} {:>9} (σ {:.3}, {} permutations, {} features)",
            if m.drift { '*' } else { ' ' },
            "(all numeric)",
            m.test,
            m.statistic,
            p(Some(m.p_value)),
            m.sigma,
            m.permutations,
            m.features.len()
        );
    }
    if let Some(chunks) = &report.chunks {
        let _ = writeln!(out, "\n  {:<5} {:>17}  drifting", "chunk", "rows");
        for chunk in chunks {
            let names: Vec<&str> = chunk
                .features
                .iter()
                .filter(|f| f.drift)
                .map(|f| f.name.as_str())
                .chain(
                    chunk
                        .multivariate
                        .iter()
                        .filter(|m| m.drift)
                        .map(|_| "(MMD)"),
                )
                .collect();
            let _ = writeln!(
                out,
                "{} {:<5} {:>17}  {}",
                if chunk.drift { '*' } else { ' ' },
                chunk.index,
                format!("{}..{}", chunk.start, chunk.end),
                if names.is_empty() {
                    "-".to_string()
                } else {
                    names.join(", ")
                }
            );
        }
    }
    let drifting = report.features.iter().filter(|r| r.drift).count();
    let _ = writeln!(
        out,
        "\n{}: {drifting} of {} features drift ({} threshold {:.2e}){}",
        if report.drift { "DRIFT" } else { "no drift" },
        report.features.len(),
        report.correction,
        report.threshold,
        match &report.multivariate {
            Some(m) if m.drift => ", and the joint distribution (MMD) drifts",
            Some(_) => ", joint distribution (MMD) stable",
            None => "",
        }
    );
    out
}

fn truncate(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}
