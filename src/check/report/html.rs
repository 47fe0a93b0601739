//! The drift report as one self-contained HTML page: the verdict, a summary table, and per
//! feature a card with its statistics and charts of the reference and current distributions —
//! drifting features first. Everything is inline (CSS, SVG charts, no script), so the page opens
//! offline, can be mailed or attached to a ticket, and prints.

mod chart;
mod profile;
mod svg;

use std::collections::HashMap;
use std::fmt::{self, Write};

use crate::data::Kind;
use crate::evaluate::{FeatureReport, MultivariateReport, PValueMethod, Report, Source, Test};
use crate::stats::correction::Correction;
use chart::{CategoryShare, NumericCharts, category_shares, chart_rows, largest_shifts};
pub use profile::{Profile, profiles};

/// Categories drawn per bar chart before the rest is summed into "other".
const CHART_CATEGORIES: usize = 20;

/// Categories listed in a card's table of largest shifts.
const SHIFT_ROWS: usize = 8;

/// A change of the missing share by this much (1 percentage point) is highlighted.
const MISSING_CHANGE: f64 = 0.01;

/// The report as a self-contained HTML page. `profiles` are matched to the report's features by
/// name; a feature without one gets its card without charts.
pub fn html(
    report: &Report,
    reference: &Source<'_>,
    current: &Source<'_>,
    profiles: &[Profile<'_>],
) -> String {
    let mut out = String::with_capacity(64 * 1024 + 16 * 1024 * report.features.len());
    render(&mut out, report, reference, current, profiles)
        .expect("writing to a String cannot fail");
    out
}

fn render(
    out: &mut String,
    report: &Report,
    reference: &Source<'_>,
    current: &Source<'_>,
    profiles: &[Profile<'_>],
) -> fmt::Result {
    let order = card_order(&report.features);
    let drifting = report.features.iter().filter(|f| f.drift).count();
    let verdict = if report.drift { "DRIFT" } else { "No drift" };
    write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{verdict}: {drifting} of {total} features drift · drifttap</title><style>{STYLE}</style></head><body><main>"#,
        total = report.features.len()
    )?;
    header(out, report, drifting, reference, current)?;
    summary(out, report, &order)?;
    if let Some(chunks) = &report.chunks {
        self::chunks(out, chunks)?;
    }
    let by_name: HashMap<&str, &Profile<'_>> = profiles.iter().map(|p| (p.name(), p)).collect();
    out.push_str(r#"<h2>Features</h2>"#);
    // Cards are independent, and sorting a large current sample dominates a card's cost.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cards = crate::stats::par::map_ordered(&order, threads, |&i| {
        let feature = &report.features[i];
        let mut text = String::new();
        card(
            &mut text,
            i,
            feature,
            by_name.get(feature.name.as_str()).copied(),
        )
        .map(|()| text)
    });
    for text in cards {
        out.push_str(&text?);
    }
    write!(
        out,
        r#"<footer>drifttap {} · a feature drifts when its p-value is below the per-feature threshold ({}); effect sizes: W/std is the Wasserstein-1 distance over the reference standard deviation, PSI the population stability index (above 0.1 a moderate, above 0.25 a large shift), JS the Jensen–Shannon distance (base 2, from 0 to 1).</footer></main></body></html>"#,
        env!("CARGO_PKG_VERSION"),
        correction_name(report.correction)
    )
}

/// Drifting features first, then by p-value ascending (untested last), else in report order.
fn card_order(features: &[FeatureReport]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..features.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&features[a], &features[b]);
        let p = |f: &FeatureReport| f.p_value.unwrap_or(f64::INFINITY);
        b.drift.cmp(&a.drift).then(p(a).total_cmp(&p(b)))
    });
    order
}

fn correction_name(correction: Correction) -> String {
    match correction {
        Correction::Bonferroni => "Bonferroni correction".to_string(),
        Correction::Fdr => "Benjamini–Hochberg (FDR) correction".to_string(),
        Correction::None => "no correction".to_string(),
    }
}

fn header(
    out: &mut String,
    report: &Report,
    drifting: usize,
    reference: &Source<'_>,
    current: &Source<'_>,
) -> fmt::Result {
    let total = report.features.len();
    let joint = match &report.multivariate {
        Some(m) if m.drift => " — and so does the joint distribution (MMD)",
        Some(_) => " — joint distribution (MMD) stable",
        None => "",
    };
    let chunk_note = match &report.chunks {
        Some(chunks) => format!(
            " · {} of {} chunks drift",
            chunks.iter().filter(|c| c.drift).count(),
            chunks.len()
        ),
        None => String::new(),
    };
    let drifting_missing: Vec<String> = report
        .features
        .iter()
        .filter(|f| f.missing_drift)
        .map(|f| {
            format!(
                "<b>{}</b> {} → {} (p {})",
                escape(&f.name),
                format_percent(f.missing_reference),
                format_percent(f.missing_current),
                p_value_html(f.missing_p_value)
            )
        })
        .collect();
    let missing: Vec<String> = report
        .features
        .iter()
        .filter(|f| missing_changed(f) && !f.missing_drift)
        .map(|f| {
            format!(
                "<b>{}</b> {} → {}",
                escape(&f.name),
                format_percent(f.missing_reference),
                format_percent(f.missing_current)
            )
        })
        .collect();
    let listed = |items: &[String]| {
        format!(
            "{}{}",
            items[..items.len().min(5)].join(", "),
            if items.len() > 5 {
                format!(" and {} more", items.len() - 5)
            } else {
                String::new()
            }
        )
    };
    let mut missing_note = String::new();
    if !drifting_missing.is_empty() {
        missing_note.push_str(&format!(
            r#"<div class="sub warn">Missing share drifts: {}</div>"#,
            listed(&drifting_missing)
        ));
    }
    if !missing.is_empty() {
        missing_note.push_str(&format!(
            r#"<div class="sub warn">Missing share changed by 1 point or more: {}</div>"#,
            listed(&missing)
        ));
    }
    write!(
        out,
        r#"<header class="verdict{cls}"><div class="word">{word}</div><div><div class="headline">{drifting} of {total} feature{s} drift{joint}</div><div class="sub">{corr} · per-feature threshold p &lt; {threshold}{chunk_note}</div>{missing_note}</div></header><div class="panels">"#,
        cls = if report.drift { " drift" } else { "" },
        word = if report.drift { "DRIFT" } else { "No drift" },
        s = if total == 1 { "" } else { "s" },
        corr = correction_name(report.correction),
        threshold = number_html(report.threshold, 3)
    )?;
    for (title, source) in [("Reference", reference), ("Current", current)] {
        write!(
            out,
            r#"<section class="panel"><h2>{title}</h2><div class="path">{}</div><div class="facts"><span><b>{}</b> rows</span>"#,
            // Long paths wrap after a separator rather than inside a name.
            escape(source.path).replace('/', "/<wbr>"),
            thousands(source.rows)
        )?;
        if let Some(version) = source.version {
            write!(
                out,
                r#"<span>version <code>{}</code></span>"#,
                escape(version)
            )?;
        }
        out.push_str("</div></section>");
    }
    if let Some(m) = &report.multivariate {
        multivariate(out, m)?;
    }
    out.push_str("</div>");
    Ok(())
}

fn multivariate(out: &mut String, m: &MultivariateReport) -> fmt::Result {
    // A permutation p-value of 0 means no permutation reached the statistic.
    let p = if m.p_value == 0.0 && m.permutations > 0 {
        format!("&lt; {}", format_sig(1.0 / m.permutations as f64, 1))
    } else {
        number_html(m.p_value, 2)
    };
    write!(
        out,
        r#"<section class="panel"><h2>Multivariate · {test} {pill}</h2><div class="facts"><span>MMD² <b>{stat}</b></span><span>p-value <b>{p}</b></span><span>σ <b>{sigma}</b></span><span><b>{perms}</b> permutations</span><span><b>{nr}</b> / <b>{nc}</b> rows</span></div><div class="mmd-features">{k} numeric features: {names}</div></section>"#,
        test = escape(&m.test.as_str().to_uppercase()),
        pill = pill(m.drift),
        stat = number_html(m.statistic, 3),
        sigma = format_sig(m.sigma, 3),
        perms = thousands(m.permutations),
        nr = thousands(m.n_reference),
        nc = thousands(m.n_current),
        k = m.features.len(),
        names = escape(&m.features.join(", "))
    )
}

fn pill(drift: bool) -> &'static str {
    if drift {
        r#"<span class="pill drift">drift</span>"#
    } else {
        r#"<span class="pill">stable</span>"#
    }
}

fn summary(out: &mut String, report: &Report, order: &[usize]) -> fmt::Result {
    out.push_str(r#"<h2>Summary</h2><table class="summary"><thead><tr><th>feature</th><th>kind</th><th>test</th><th>statistic</th><th>p-value</th><th>method</th><th>W/std</th><th>PSI</th><th>JS</th><th>missing ref → cur</th><th>unseen</th></tr></thead><tbody>"#);
    let opt = |v: Option<f64>| v.map_or("–".to_string(), |x| number_html(x, 3));
    for &i in order {
        let f = &report.features[i];
        write!(
            out,
            r##"<tr{cls}><td class="name">{dot}<a href="#f-{i}">{name}</a></td><td>{kind}</td><td>{test}</td><td>{stat}</td><td class="p">{p}</td><td>{method}</td><td>{w}</td><td>{psi}</td><td>{js}</td><td{mcls}>{mr} → {mc}</td><td>{unseen}</td></tr>"##,
            cls = if f.drift { r#" class="drift""# } else { "" },
            dot = if f.drift {
                r#"<span class="dot" title="drift"></span>"#
            } else {
                r#"<span class="dot none"></span>"#
            },
            name = escape(&f.name),
            kind = f.kind.as_str(),
            test = test_name(f.test),
            stat = opt(f.statistic),
            p = p_value_html(f.p_value),
            method = f.p_value_method.map_or("–", PValueMethod::as_str),
            w = effect(f.wasserstein_normed),
            psi = effect(f.psi),
            js = effect(f.jensen_shannon),
            mcls = if missing_changed(f) || f.missing_drift {
                r#" class="warn""#
            } else {
                ""
            },
            mr = format_percent(f.missing_reference),
            mc = format_percent(f.missing_current),
            unseen = f.unseen_share.map_or("–".to_string(), format_percent)
        )?;
    }
    out.push_str("</tbody></table>");
    Ok(())
}

fn chunks(out: &mut String, chunks: &[crate::evaluate::ChunkReport]) -> fmt::Result {
    write!(out, r#"<h2>Chunks</h2><div class="strip">"#)?;
    let mut rows = String::new();
    for c in chunks {
        let names: Vec<&str> = c
            .features
            .iter()
            .filter(|f| f.drift)
            .map(|f| f.name.as_str())
            .chain(c.multivariate.iter().filter(|m| m.drift).map(|_| "(MMD)"))
            .collect();
        let names = escape(&names.join(", "));
        write!(
            out,
            r#"<span class="{}" title="chunk {} · rows {}..{} · {}"></span>"#,
            if c.drift { "drift" } else { "ok" },
            c.index,
            thousands(c.start),
            thousands(c.end),
            if names.is_empty() { "no drift" } else { &names }
        )?;
        write!(
            rows,
            r#"<tr{}><td>{}</td><td>{}..{}</td><td>{}</td><td class="names">{}</td></tr>"#,
            if c.drift { r#" class="drift""# } else { "" },
            c.index,
            thousands(c.start),
            thousands(c.end),
            pill(c.drift),
            if names.is_empty() { "–" } else { &names }
        )?;
    }
    write!(
        out,
        r#"</div><details{}><summary>Chunk table</summary><table class="chunks"><thead><tr><th>chunk</th><th>rows</th><th>verdict</th><th>drifting</th></tr></thead><tbody>{rows}</tbody></table></details>"#,
        if chunks.len() <= 20 { " open" } else { "" }
    )
}

fn test_name(test: Test) -> String {
    match test {
        Test::Ks => "KS".to_string(),
        Test::Chi2 => "χ²".to_string(),
        Test::Mmd => "MMD".to_string(),
        Test::None => "none".to_string(),
    }
}

fn missing_changed(f: &FeatureReport) -> bool {
    (f.missing_current - f.missing_reference).abs() >= MISSING_CHANGE
}

fn card(
    out: &mut String,
    index: usize,
    f: &FeatureReport,
    profile: Option<&Profile<'_>>,
) -> fmt::Result {
    write!(
        out,
        r#"<article class="card{cls}" id="f-{index}"><div class="card-head"><h3>{name}</h3>{pill}<span class="kind">{kind} · {test}</span></div><dl class="metrics">"#,
        cls = if f.drift { " drift" } else { "" },
        name = escape(&f.name),
        pill = pill(f.drift),
        kind = f.kind.as_str(),
        test = match f.test {
            Test::None => "not tested".to_string(),
            t => test_name(t),
        }
    )?;
    let metric = |out: &mut String, label: &str, value: String, class: &str| {
        write!(
            out,
            r#"<div{class}><dt>{label}</dt><dd>{value}</dd></div>"#,
            class = if class.is_empty() {
                String::new()
            } else {
                format!(r#" class="{class}""#)
            }
        )
    };
    let opt = |v: Option<f64>| v.map_or("–".to_string(), |x| number_html(x, 3));
    let stat_label = match f.test {
        Test::Ks => "KS statistic D",
        Test::Chi2 => "χ² statistic",
        Test::Mmd | Test::None => "statistic",
    };
    metric(out, stat_label, opt(f.statistic), "")?;
    let p_label = match f.p_value_method {
        Some(m) => format!("p-value ({})", m.as_str()),
        None => "p-value".to_string(),
    };
    metric(
        out,
        &p_label,
        p_value_html(f.p_value),
        if f.drift { "alert" } else { "" },
    )?;
    if f.kind == Kind::Numeric || f.wasserstein_normed.is_some() {
        metric(out, "W/std", effect(f.wasserstein_normed), "")?;
    }
    metric(out, "PSI", effect(f.psi), "")?;
    metric(out, "JS distance", effect(f.jensen_shannon), "")?;
    if let Some(unseen) = f.unseen_share {
        let class = if unseen > 0.0 { "alert" } else { "" };
        metric(out, "unseen share", format_percent(unseen), class)?;
    }
    metric(
        out,
        "missing ref → cur",
        format!(
            "{} → {}",
            format_percent(f.missing_reference),
            format_percent(f.missing_current)
        ),
        if missing_changed(f) || f.missing_drift {
            "warn"
        } else {
            ""
        },
    )?;
    metric(
        out,
        "values ref / cur",
        format!("{} / {}", thousands(f.n_reference), thousands(f.n_current)),
        "",
    )?;
    out.push_str("</dl>");
    match profile {
        Some(Profile::Numeric {
            reference_sorted,
            current,
            ..
        }) => numeric_charts(out, &f.name, reference_sorted, current)?,
        Some(Profile::Categorical {
            reference, current, ..
        }) => categorical_chart(out, &f.name, reference, current)?,
        None => out.push_str(r#"<p class="note">No distribution data for this feature.</p>"#),
    }
    out.push_str("</article>");
    Ok(())
}

fn legend(out: &mut String, n_reference: usize, n_current: usize, unseen: bool) -> fmt::Result {
    write!(
        out,
        r#"<div class="legend"><span><i class="sw ref"></i>reference · {} values</span><span><i class="sw cur"></i>current · {} values</span>{}</div>"#,
        thousands(n_reference),
        thousands(n_current),
        if unseen {
            r#"<span><i class="sw new"></i>current, category not in the reference</span>"#
        } else {
            ""
        }
    )
}

fn numeric_charts(out: &mut String, name: &str, reference: &[f64], current: &[f64]) -> fmt::Result {
    let Some(charts) = NumericCharts::new(reference, current) else {
        out.push_str(r#"<p class="note">No values to plot.</p>"#);
        return Ok(());
    };
    legend(out, charts.reference.n, charts.current.n, false)?;
    write!(
        out,
        r#"<div class="charts"><figure>{}<figcaption>Cumulative distribution{}</figcaption></figure><figure>{}<figcaption>Histogram: share of each side's values per bin{}</figcaption></figure></div>"#,
        svg::ecdf_chart(name, &charts)?,
        if charts.gap.is_some() {
            "; the dashed line marks the largest gap D"
        } else {
            ""
        },
        svg::histogram_chart(name, &charts)?,
        if charts.clipped {
            "; axis from the 0.5th to the 99.5th percentile, values beyond it counted in the end bins"
        } else {
            ""
        }
    )
}

fn categorical_chart(
    out: &mut String,
    name: &str,
    reference: &[(String, u64)],
    current: &[(String, u64)],
) -> fmt::Result {
    let all = category_shares(reference, current);
    if all.is_empty() {
        out.push_str(r#"<p class="note">No values to plot.</p>"#);
        return Ok(());
    }
    let count = |side: &[(String, u64)]| side.iter().map(|(_, c)| *c as usize).sum::<usize>();
    let unseen = all.iter().any(|c| c.unseen);
    legend(out, count(reference), count(current), unseen)?;
    let rows = chart_rows(all.clone(), CHART_CATEGORIES);
    write!(
        out,
        r#"<div class="charts"><figure>{}<figcaption>{} categories, ordered by reference share{}</figcaption></figure><div><h4>Largest shifts</h4><table class="shifts"><thead><tr><th>category</th><th>reference</th><th>current</th><th>change</th></tr></thead><tbody>"#,
        svg::category_chart(name, &rows)?,
        all.len(),
        if rows.iter().any(|r| r.bucket.is_some()) {
            "; the smallest summed as “other”"
        } else {
            ""
        }
    )?;
    for c in largest_shifts(&all, SHIFT_ROWS) {
        shift_row(out, &c)?;
    }
    out.push_str("</tbody></table></div></div>");
    Ok(())
}

fn shift_row(out: &mut String, c: &CategoryShare) -> fmt::Result {
    let change = 100.0 * (c.current - c.reference);
    write!(
        out,
        r#"<tr{cls}><td class="name">{name}{new}</td><td>{r}</td><td>{c}</td><td class="{dir}">{sign}{change:.1} pp</td></tr>"#,
        cls = if c.unseen { r#" class="unseen""# } else { "" },
        name = escape(&c.name),
        new = if c.unseen {
            r#" <span class="pill new">new</span>"#
        } else {
            ""
        },
        r = format_percent(c.reference),
        c = format_percent(c.current),
        dir = match change {
            c if c.abs() < 0.05 => "same",
            c if c > 0.0 => "up",
            _ => "down",
        },
        sign = match change {
            c if c.abs() < 0.05 => "",
            c if c > 0.0 => "+",
            _ => "−",
        },
        change = change.abs()
    )
}

/// Text safe inside HTML and SVG elements and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `width` characters, an ellipsis marking a cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `digits` significant digits; scientific below 0.001 and from a million on (`1.2e-29`).
fn format_sig(x: f64, digits: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return if x == 0.0 { "0".into() } else { x.to_string() };
    }
    let magnitude = x.abs().log10().floor();
    if !(-3.0..6.0).contains(&magnitude) {
        return format!("{x:.prec$e}", prec = digits.saturating_sub(1));
    }
    let decimals = (digits as f64 - 1.0 - magnitude).max(0.0) as usize;
    format!("{x:.decimals$}")
}

/// A data value: whole numbers in full with thousands separators, others to 4 significant digits.
fn format_value(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        let digits = thousands(x.abs() as usize);
        if x < 0.0 {
            format!("−{digits}")
        } else {
            digits
        }
    } else {
        number_text(x, 4)
    }
}

/// As [`format_sig`], with a true minus sign.
fn number_text(x: f64, digits: usize) -> String {
    format_sig(x, digits).replace('-', "−")
}

/// As [`format_sig`], with powers of ten written as `1.2×10⁻²⁹` in HTML.
fn number_html(x: f64, digits: usize) -> String {
    let text = format_sig(x, digits);
    match text.split_once('e') {
        Some((mantissa, exponent)) => format!(
            "{}×10<sup>{}</sup>",
            mantissa.replace('-', "−"),
            exponent.replace('-', "−")
        ),
        None => text.replace('-', "−"),
    }
}

/// An effect size to three decimals, so that a column of them lines up.
fn effect(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |x| format!("{x:.3}").replace('-', "−"))
}

/// A p-value; one that underflowed to 0 is shown as below the smallest normal `f64` order.
fn p_value_html(p: Option<f64>) -> String {
    match p {
        None => "–".to_string(),
        Some(0.0) => "&lt;10<sup>−300</sup>".to_string(),
        Some(p) => number_html(p, 3),
    }
}

/// A share as a percentage with one decimal; `<0.1%` for a small share that is not zero.
fn format_percent(share: f64) -> String {
    if share == 0.0 {
        "0%".to_string()
    } else if share > 0.0 && share < 0.0005 {
        "&lt;0.1%".to_string()
    } else {
        format!("{:.1}%", 100.0 * share)
    }
}

/// An integer with thousands separated by commas.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

const STYLE: &str = include_str!("html/style.css");

#[cfg(test)]
mod tests;
