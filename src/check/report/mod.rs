//! Rendering a [`Report`] for people: a terminal table, and a self-contained HTML page
//! ([`html`]). The JSON document, for programs, is [`crate::evaluate::json`].

pub mod html;
use std::fmt::Write;

use crate::evaluate::{FeatureReport, Report};

/// The report as a table that fits a terminal: drifting features first, marked with `*`.
pub fn table(report: &Report, reference: &str, current: &str) -> String {
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
            "{} {:<22} {:<5} {:>10} {:>9} {:>8} {:>8} {:>7.1}%{}",
            if r.drift { '*' } else { ' ' },
            truncate(&r.name, 22),
            r.test,
            num(r.statistic, 4),
            p(r.p_value),
            num(r.wasserstein_normed, 3),
            num(r.psi, 3),
            100.0 * r.missing_current,
            if r.missing_drift { " *" } else { "" }
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
    // Missing shares that drift, each with its test.
    for r in report.features.iter().filter(|r| r.missing_drift) {
        let _ = writeln!(
            out,
            "{}{}: missing share {:.1}% → {:.1}% drifts (p {} < {})",
            if out.ends_with("\n\n") { "" } else { "\n" },
            r.name,
            100.0 * r.missing_reference,
            100.0 * r.missing_current,
            p(r.missing_p_value),
            p(r.missing_threshold),
        );
    }
    let drifting = report.features.iter().filter(|r| r.drift).count();
    let _ = writeln!(
        out,
        "\n{}: {drifting} of {} features drift ({} threshold {:.2e}){}",
        if report.drift { "DRIFT" } else { "no drift" },
        report.features.len(),
        report.correction.as_str(),
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
