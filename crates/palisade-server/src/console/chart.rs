//! The console's charts as inline SVG, drawn on the server: no script, no library.
//! Colours come from classes the stylesheet fills in (the CSP forbids inline styles).

use std::fmt::Write;

use palisade_store::{SeverityCounts, TrendPoint};

use super::html::esc;

/// Severities drawn, most severe first: label, CSS class suffix, count.
fn series(c: &SeverityCounts) -> [(&'static str, &'static str, i64); 6] {
    [
        ("Critical", "critical", c.critical),
        ("High", "high", c.high),
        ("Medium", "medium", c.medium),
        ("Low", "low", c.low),
        ("Info", "info", c.info),
        ("Unknown", "unknown", c.unknown),
    ]
}

/// Horizontal bars of open findings by severity; each links to the findings it counts.
pub fn severity_bars(c: &SeverityCounts) -> String {
    let rows = series(c);
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1);
    let (w, row, label_w, count_w) = (420.0_f64, 28.0_f64, 80.0_f64, 56.0_f64);
    let bar_w = w - label_w - count_w;
    let h = row * rows.len() as f64;
    let mut s = format!(
        "<svg class=\"chart bars\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Open findings by severity\">"
    );
    for (i, (label, class, n)) in rows.iter().enumerate() {
        let y = i as f64 * row;
        let len = if *n > 0 {
            (bar_w * (*n as f64) / (max as f64)).max(2.0)
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<a href=\"/findings?status=open&amp;severity={sev}\"><text x=\"0\" y=\"{ty}\" class=\"label\">{label}</text>\
<rect x=\"{label_w}\" y=\"{ry}\" width=\"{len:.1}\" height=\"{rh}\" rx=\"3\" class=\"fill-{class}\"><title>{label}: {n}</title></rect>\
<text x=\"{cx:.1}\" y=\"{ty}\" class=\"count\">{n}</text></a>",
            sev = label.to_ascii_uppercase(),
            ty = y + row * 0.65,
            ry = y + 5.0,
            rh = row - 10.0,
            cx = label_w + len + 6.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// Picks one count out of a day's counts.
type Count = fn(&SeverityCounts) -> i64;

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `n`.
fn nice_max(n: i64) -> i64 {
    let n = n.max(1);
    let mut step = 1_i64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= n {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

fn day_label(day: i64) -> String {
    let t = palisade_core::time::rfc3339(day.saturating_mul(86_400));
    t.get(..10).unwrap_or(&t).to_string()
}

/// Lines of open findings per day: the total and each of critical, high, medium and low.
pub fn trend(points: &[TrendPoint]) -> String {
    if points.is_empty() {
        return "<p class=\"muted\">No data yet: upload a report.</p>".into();
    }
    let (w, h) = (760.0_f64, 240.0_f64);
    let (left, right, top, bottom) = (44.0_f64, 12.0_f64, 12.0_f64, 28.0_f64);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = nice_max(points.iter().map(|p| p.open.total()).max().unwrap_or(0));
    let x = |i: usize| {
        if points.len() == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |v: i64| top + plot_h - plot_h * (v as f64) / (max as f64);
    let mut s = format!(
        "<svg class=\"chart trend\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Open findings per day, {} to {}\">",
        esc(&day_label(points[0].day)),
        esc(&day_label(points[points.len() - 1].day)),
    );
    for v in [0, max / 2, max] {
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" class=\"grid\"/><text x=\"{tx}\" y=\"{ty:.1}\" class=\"axis\" text-anchor=\"end\">{v}</text>",
            x2 = w - right,
            yy = y(v),
            tx = left - 6.0,
            ty = y(v) + 4.0,
        );
    }
    let mut labelled = vec![0, points.len() - 1];
    if points.len() > 2 {
        labelled.insert(1, (points.len() - 1) / 2);
    }
    for (n, i) in labelled.into_iter().enumerate() {
        let anchor = match n {
            0 => "start",
            _ if i == points.len() - 1 => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"{anchor}\">{}</text>",
            x(i),
            h - 8.0,
            esc(&day_label(points[i].day))
        );
    }
    let lines: [(&str, Count); 5] = [
        ("total", |c| c.total()),
        ("low", |c| c.low),
        ("medium", |c| c.medium),
        ("high", |c| c.high),
        ("critical", |c| c.critical),
    ];
    for (class, value) in lines {
        let mut pts = String::new();
        for (i, p) in points.iter().enumerate() {
            let _ = write!(pts, "{:.1},{:.1} ", x(i), y(value(&p.open)));
        }
        let _ = write!(
            s,
            "<polyline points=\"{}\" class=\"line line-{class}\"/>",
            pts.trim_end()
        );
    }
    // The last day's values, as tooltips on points.
    if let Some(last) = points.last() {
        let i = points.len() - 1;
        for (class, value) in lines {
            let v = value(&last.open);
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" class=\"dot line-{class}\"><title>{class}: {v}</title></circle>",
                x(i),
                y(v)
            );
        }
    }
    s.push_str("</svg><div class=\"legend\">");
    for (class, _) in lines {
        let _ = write!(
            s,
            "<span class=\"key key-{class}\"></span>{} ",
            match class {
                "total" => "All",
                "critical" => "Critical",
                "high" => "High",
                "medium" => "Medium",
                _ => "Low",
            }
        );
    }
    s.push_str("</div>");
    s
}

/// One bar of [`event_histogram`]: `[start, end)` and its count, with the link that narrows
/// the search to it.
#[derive(Debug, Clone)]
pub struct HistogramBar {
    /// Shown in the tooltip (already formatted, escaped here).
    pub label: String,
    pub count: u64,
    /// Where a click goes (escaped here).
    pub href: String,
}

/// Vertical bars of events over time; each bar links to its slice. `first` and `last` label
/// the ends of the time axis.
pub fn event_histogram(bars: &[HistogramBar], first: &str, last: &str) -> String {
    if bars.is_empty() {
        return "<p class=\"muted\">No events to chart.</p>".into();
    }
    let (w, h) = (760.0_f64, 160.0_f64);
    let (left, right, top, bottom) = (44.0_f64, 12.0_f64, 10.0_f64, 24.0_f64);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = nice_max(
        bars.iter()
            .map(|b| i64::try_from(b.count).unwrap_or(i64::MAX))
            .max()
            .unwrap_or(0),
    );
    let slot = plot_w / bars.len() as f64;
    let gap = if slot > 4.0 { 1.0 } else { 0.0 };
    let y = |v: i64| top + plot_h - plot_h * (v as f64) / (max as f64);
    let mut s = format!(
        "<svg class=\"chart hist\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Events over time, {} to {}\">",
        esc(first),
        esc(last)
    );
    for v in [0, max / 2, max] {
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" class=\"grid\"/><text x=\"{tx}\" y=\"{ty:.1}\" class=\"axis\" text-anchor=\"end\">{v}</text>",
            x2 = w - right,
            yy = y(v),
            tx = left - 6.0,
            ty = y(v) + 4.0,
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let n = i64::try_from(b.count).unwrap_or(i64::MAX);
        let top_y = y(n);
        let height = (top + plot_h - top_y).max(if n > 0 { 1.0 } else { 0.0 });
        let _ = write!(
            s,
            "<a href=\"{href}\"><rect x=\"{x:.1}\" y=\"{ry:.1}\" width=\"{bw:.1}\" height=\"{height:.1}\" class=\"bar\"><title>{label}: {count}</title></rect></a>",
            href = esc(&b.href),
            x = left + slot * i as f64,
            ry = top + plot_h - height,
            bw = (slot - gap).max(0.5),
            label = esc(&b.label),
            count = b.count,
        );
    }
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"{ty}\" class=\"axis\" text-anchor=\"start\">{}</text><text x=\"{xr}\" y=\"{ty}\" class=\"axis\" text-anchor=\"end\">{}</text></svg>",
        esc(first),
        esc(last),
        ty = h - 6.0,
        xr = w - right,
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_bounds_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(14), 20);
        assert_eq!(nice_max(51), 100);
    }

    #[test]
    fn charts_are_svg() {
        let c = SeverityCounts {
            critical: 1,
            high: 4,
            ..SeverityCounts::default()
        };
        let bars = severity_bars(&c);
        assert!(bars.starts_with("<svg") && bars.ends_with("</svg>"));
        assert!(bars.contains("severity=CRITICAL"));
        let pts: Vec<TrendPoint> = (0..30)
            .map(|d| TrendPoint {
                day: 20_000 + d,
                open: c,
            })
            .collect();
        let t = trend(&pts);
        assert_eq!(t.matches("<polyline").count(), 5);
        assert!(t.contains("2024-10-04"), "{t}");
        assert!(!t.contains("style="));
        assert!(trend(&[]).contains("No data"));
        let bars: Vec<HistogramBar> = (0..4)
            .map(|i| HistogramBar {
                label: format!("<b>{i}"),
                count: i,
                href: format!("/events?q=a&from={i}"),
            })
            .collect();
        let hist = event_histogram(&bars, "start", "<end>");
        assert_eq!(hist.matches("<rect").count(), 4);
        assert!(hist.contains("&lt;b&gt;3: 3"), "{hist}");
        assert!(hist.contains("href=\"/events?q=a&amp;from=1\""), "{hist}");
        assert!(!hist.contains("<end>") && !hist.contains("style="));
        assert!(event_histogram(&[], "a", "b").contains("No events"));
    }
}
