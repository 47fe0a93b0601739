//! Inline SVG charts: an ECDF and a histogram per numeric feature, a grouped bar chart of
//! category shares per categorical one. Sizes are in CSS pixels of a fixed view box that scales
//! with the page; coordinates are rounded to 0.1 px to keep the page small.

use std::fmt::{self, Display, Write};

use super::chart::{CategoryShare, NumericCharts};
use super::{escape, format_sig, format_value, truncate};

const WIDTH: f64 = 540.0;
const HEIGHT: f64 = 250.0;
/// Room for the y tick labels, the y axis title above the plot, and the x ticks and title below.
const MARGIN: Margin = Margin {
    left: 46.0,
    right: 14.0,
    top: 24.0,
    bottom: 38.0,
};

const REFERENCE: &str = "#4c78a8";
const CURRENT: &str = "#e8710a";
const UNSEEN: &str = "#b42318";

/// A coordinate rounded to 0.1 px, written without a trailing `.0`.
struct Px(f64);

impl Display for Px {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = (self.0 * 10.0).round() / 10.0;
        if r == r.trunc() {
            write!(f, "{}", r as i64)
        } else {
            write!(f, "{r:.1}")
        }
    }
}

struct Margin {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

/// Maps data coordinates to the plot area.
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn new(height: f64, x: (f64, f64), y: (f64, f64)) -> Frame {
        Frame {
            left: MARGIN.left,
            right: WIDTH - MARGIN.right,
            top: MARGIN.top,
            bottom: height - MARGIN.bottom,
            x,
            y,
        }
    }

    fn px(&self, x: f64) -> Px {
        let t = ((x - self.x.0) / (self.x.1 - self.x.0)).clamp(0.0, 1.0);
        Px(self.left + t * (self.right - self.left))
    }

    fn py(&self, y: f64) -> Px {
        let t = ((y - self.y.0) / (self.y.1 - self.y.0)).clamp(0.0, 1.0);
        Px(self.bottom - t * (self.bottom - self.top))
    }
}

/// Round tick values covering `[lo, hi]`: steps of 1, 2, 2.5 or 5 times a power of ten.
pub(super) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / target as f64;
    if !(raw > 0.0 && raw.is_finite()) {
        return (vec![lo], 1.0);
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    ((first..=last).map(|k| k as f64 * step).collect(), step)
}

/// Tick labels with as many decimals as the step needs, thousands as `k`, millions as `M`,
/// billions as `G`, and a true minus sign.
pub(super) fn tick_labels(ticks: &[f64], step: f64, suffix: &str) -> Vec<String> {
    let largest = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    let (divisor, unit) = match largest {
        m if m >= 1e10 => (1e9, "G"),
        m if m >= 1e7 => (1e6, "M"),
        m if m >= 1e4 => (1e3, "k"),
        _ => (1.0, ""),
    };
    let scaled = step / divisor;
    let decimals = (0..8)
        .find(|&d| {
            let s = scaled * 10f64.powi(d);
            (s - s.round()).abs() < 1e-6 * s.abs().max(1.0)
        })
        .unwrap_or(8) as usize;
    ticks
        .iter()
        .map(|t| {
            let v = t / divisor;
            let text = format!("{v:.decimals$}");
            let text = if text
                .trim_start_matches('-')
                .trim_matches(['0', '.'])
                .is_empty()
            {
                "0".to_string()
            } else {
                text.replace('-', "−")
            };
            format!("{text}{unit}{suffix}")
        })
        .collect()
}

fn open(out: &mut String, height: f64, title: &str) -> fmt::Result {
    write!(
        out,
        r#"<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img"><title>{title}</title>"#,
        w = WIDTH,
        h = Px(height),
        title = escape(title)
    )
}

/// Horizontal grid lines with y tick labels, x tick marks with labels, and both axis titles.
fn axes(
    out: &mut String,
    frame: &Frame,
    y_ticks: (&[f64], &[String]),
    x_ticks: (&[f64], &[String]),
    titles: (&str, &str),
) -> fmt::Result {
    out.push_str(r#"<g class="grid">"#);
    for &y in y_ticks.0 {
        write!(
            out,
            r#"<path d="M{} {}H{}"/>"#,
            Px(frame.left),
            frame.py(y),
            Px(frame.right)
        )?;
    }
    out.push_str(r#"</g><g class="tick" text-anchor="end">"#);
    for (&y, label) in y_ticks.0.iter().zip(y_ticks.1) {
        write!(
            out,
            r#"<text x="{}" y="{}" dy="0.32em">{label}</text>"#,
            Px(frame.left - 6.0),
            frame.py(y)
        )?;
    }
    write!(
        out,
        r#"</g><path class="axis" d="M{l} {b}H{r}"/><g class="tick" text-anchor="middle">"#,
        l = Px(frame.left),
        b = Px(frame.bottom),
        r = Px(frame.right)
    )?;
    for (&x, label) in x_ticks.0.iter().zip(x_ticks.1) {
        let px = frame.px(x);
        write!(
            out,
            r#"<path class="axis" d="M{px} {b}v4"/><text x="{px}" y="{y}">{label}</text>"#,
            b = Px(frame.bottom),
            y = Px(frame.bottom + 16.0)
        )?;
    }
    write!(
        out,
        r#"</g><text class="axis-title" x="{x}" y="{y}" text-anchor="middle">{xt}</text><text class="axis-title" x="{l}" y="12">{yt}</text>"#,
        x = Px((frame.left + frame.right) / 2.0),
        y = Px(frame.bottom + 32.0),
        xt = escape(&truncate(titles.0, 70)),
        l = Px(frame.left - 40.0),
        yt = titles.1
    )
}

fn x_ticks(charts: &NumericCharts) -> (Vec<f64>, Vec<String>) {
    let (lo, hi) = (charts.edges[0], charts.edges[charts.edges.len() - 1]);
    let (ticks, step) = nice_ticks(lo, hi, 6);
    let labels = tick_labels(&ticks, step, "");
    (ticks, labels)
}

/// Both ECDFs as step lines on the shared axis, with the KS statistic marked where the curves
/// are furthest apart.
pub(super) fn ecdf_chart(name: &str, charts: &NumericCharts) -> Result<String, fmt::Error> {
    let mut out = String::new();
    let (lo, hi) = (charts.edges[0], charts.edges[charts.edges.len() - 1]);
    let frame = Frame::new(HEIGHT, (lo, hi), (0.0, 1.0));
    open(
        &mut out,
        HEIGHT,
        &format!("Cumulative distribution of {name}: reference and current"),
    )?;
    let y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0];
    let y_labels = ["0", "0.25", "0.5", "0.75", "1"].map(String::from);
    let (xt, xl) = x_ticks(charts);
    axes(
        &mut out,
        &frame,
        (&y_ticks, &y_labels),
        (&xt, &xl),
        (name, "cumulative share"),
    )?;
    // The reference wide and translucent under the current, so both show where they coincide.
    let sides = [
        (&charts.reference, "ref", REFERENCE),
        (&charts.current, "cur", CURRENT),
    ];
    for (side, class, colour) in sides {
        let Some(first) = side.ecdf.first() else {
            continue;
        };
        write!(
            out,
            r#"<path class="line {class}" stroke="{colour}" d="M{} {}"#,
            frame.px(first.x),
            frame.py(first.f)
        )?;
        for p in &side.ecdf[1..] {
            write!(out, "H{}V{}", frame.px(p.x), frame.py(p.f))?;
        }
        write!(out, r#"H{}"/>"#, Px(frame.right))?;
    }
    if let Some(gap) = charts.gap {
        if gap.x >= lo && gap.x <= hi {
            let (x, y0, y1) = (
                frame.px(gap.x),
                frame.py(gap.reference),
                frame.py(gap.current),
            );
            write!(
                out,
                r#"<path class="gap" d="M{x} {y0}V{y1}"/><circle class="gap-end" cx="{x}" cy="{y0}" r="2.5"/><circle class="gap-end" cx="{x}" cy="{y1}" r="2.5"/>"#
            )?;
        }
        // The ECDF's upper left is empty unless nearly all values sit at the axis start.
        write!(
            out,
            r#"<text class="gap-label" x="{}" y="{}">largest gap D = {} at {}</text>"#,
            Px(frame.left + 8.0),
            Px(frame.top + 12.0),
            format_sig((gap.reference - gap.current).abs(), 3),
            escape(&format_value(gap.x))
        )?;
    }
    out.push_str("</svg>");
    Ok(out)
}

/// Both sides' shares per bin: the reference filled, the current as an outline on top.
pub(super) fn histogram_chart(name: &str, charts: &NumericCharts) -> Result<String, fmt::Error> {
    let mut out = String::new();
    let edges = &charts.edges;
    let top = charts
        .reference
        .shares
        .iter()
        .chain(&charts.current.shares)
        .fold(0.0f64, |m, &s| m.max(s))
        .max(1e-9);
    let (y_ticks, step) = nice_ticks(0.0, top * 100.0 * 1.05, 4);
    let y_max = (y_ticks.last().copied().unwrap_or(1.0) / 100.0).max(top * 1.05);
    let y_labels = tick_labels(&y_ticks, step, "%");
    let y_ticks: Vec<f64> = y_ticks.iter().map(|t| t / 100.0).collect();
    let frame = Frame::new(HEIGHT, (edges[0], edges[edges.len() - 1]), (0.0, y_max));
    open(
        &mut out,
        HEIGHT,
        &format!("Histogram of {name}: share of values per bin, reference and current"),
    )?;
    let (xt, xl) = x_ticks(charts);
    axes(
        &mut out,
        &frame,
        (&y_ticks, &y_labels),
        (&xt, &xl),
        (name, "share of values"),
    )?;
    for (side, class) in [(&charts.reference, "bars"), (&charts.current, "outline")] {
        if side.n == 0 {
            continue;
        }
        write!(
            out,
            r#"<path class="{class}" d="M{} {}"#,
            frame.px(edges[0]),
            frame.py(0.0)
        )?;
        for (i, &share) in side.shares.iter().enumerate() {
            write!(out, "V{}H{}", frame.py(share), frame.px(edges[i + 1]))?;
        }
        write!(out, r#"V{}"/>"#, frame.py(0.0))?;
    }
    out.push_str("</svg>");
    Ok(out)
}

/// One row per category, a reference and a current bar each; unseen categories highlighted.
pub(super) fn category_chart(name: &str, rows: &[CategoryShare]) -> Result<String, fmt::Error> {
    const ROW: f64 = 24.0;
    const LABELS: f64 = 150.0;
    const VALUES: f64 = 74.0;
    let mut out = String::new();
    let plot_top = 10.0;
    let plot_bottom = plot_top + ROW * rows.len() as f64;
    let height = plot_bottom + 40.0;
    let top = rows
        .iter()
        .fold(0.0f64, |m, r| m.max(r.reference).max(r.current))
        .max(1e-9);
    let (ticks, step) = nice_ticks(0.0, top * 100.0, 5);
    let x_max = (ticks.last().copied().unwrap_or(100.0) / 100.0).max(top);
    let labels = tick_labels(&ticks, step, "%");
    let frame = Frame {
        left: LABELS,
        right: WIDTH - VALUES,
        top: plot_top,
        bottom: plot_bottom,
        x: (0.0, x_max),
        y: (0.0, 1.0),
    };
    open(
        &mut out,
        height,
        &format!("Category shares of {name}: reference and current"),
    )?;
    out.push_str(r#"<g class="grid">"#);
    for &t in &ticks {
        write!(
            out,
            r#"<path d="M{} {}V{}"/>"#,
            frame.px(t / 100.0),
            Px(frame.top),
            Px(frame.bottom)
        )?;
    }
    out.push_str(r#"</g><g class="tick" text-anchor="middle">"#);
    for (&t, label) in ticks.iter().zip(&labels) {
        write!(
            out,
            r#"<text x="{}" y="{}">{label}</text>"#,
            frame.px(t / 100.0),
            Px(frame.bottom + 16.0)
        )?;
    }
    out.push_str("</g>");
    let percent = |share: f64| super::format_percent(share);
    for (i, row) in rows.iter().enumerate() {
        let y = frame.top + ROW * i as f64;
        let label = match row.bucket {
            Some((count, 0)) => format!("other ({count})"),
            Some((count, unseen)) => format!("other ({count}, {unseen} new)"),
            None => truncate(&row.name, 22),
        };
        let class = match (row.unseen, row.bucket.is_some()) {
            (true, _) => " unseen",
            (_, true) => " other",
            _ => "",
        };
        write!(
            out,
            r#"<g class="cat{class}"><title>{name}: reference {r}, current {c}{new}</title>"#,
            name = escape(&row.name),
            r = percent(row.reference),
            c = percent(row.current),
            new = if row.unseen {
                " (not in the reference)"
            } else {
                ""
            }
        )?;
        if row.unseen {
            write!(
                out,
                r#"<rect class="unseen-bg" x="4" y="{}" width="{}" height="{}" rx="3"/>"#,
                Px(y + 1.0),
                Px(WIDTH - 8.0),
                Px(ROW - 2.0)
            )?;
        }
        write!(
            out,
            r#"<text class="cat-label" x="{}" y="{}" text-anchor="end">{}</text>"#,
            Px(LABELS - 8.0),
            Px(y + ROW / 2.0 + 4.0),
            escape(&label)
        )?;
        let bars = [
            (row.reference, REFERENCE, y + 3.0, String::new()),
            (
                row.current,
                if row.unseen { UNSEEN } else { CURRENT },
                y + 12.0,
                if row.unseen {
                    " new".to_string()
                } else {
                    String::new()
                },
            ),
        ];
        for (share, colour, by, note) in bars {
            let x1 = frame.px(share);
            write!(
                out,
                r#"<rect x="{l}" y="{by}" width="{w}" height="8" fill="{colour}"/><text class="value" x="{tx}" y="{ty}">{v}{note}</text>"#,
                l = Px(frame.left),
                by = Px(by),
                w = Px(x1.0 - frame.left),
                tx = Px(x1.0 + 4.0),
                ty = Px(by + 7.5),
                v = percent(share)
            )?;
        }
        out.push_str("</g>");
    }
    write!(
        out,
        r#"<path class="axis" d="M{l} {t}V{b}"/><text class="axis-title" x="{x}" y="{y}" text-anchor="middle">share of values</text></svg>"#,
        l = Px(frame.left),
        t = Px(frame.top),
        b = Px(frame.bottom),
        x = Px((frame.left + frame.right) / 2.0),
        y = Px(frame.bottom + 32.0)
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_labelled_compactly() {
        let (ticks, step) = nice_ticks(12_345.0, 187_000.0, 7);
        assert_eq!(step, 25_000.0);
        assert_eq!(
            tick_labels(&ticks, step, ""),
            ["25k", "50k", "75k", "100k", "125k", "150k", "175k"]
        );
        let (ticks, step) = nice_ticks(-0.3, 0.3, 6);
        assert_eq!(
            tick_labels(&ticks, step, ""),
            ["−0.3", "−0.2", "−0.1", "0", "0.1", "0.2", "0.3"]
        );
        let (ticks, step) = nice_ticks(0.0, 12.0, 4);
        assert_eq!(tick_labels(&ticks, step, "%"), ["0%", "5%", "10%"]);
        assert_eq!(Px(12.04).to_string(), "12");
        assert_eq!(Px(12.06).to_string(), "12.1");
    }
}
