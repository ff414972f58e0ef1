//! The table for vulnerability scans: one block per ecosystem, one row per vulnerable
//! package and vulnerability, most severe first, in the columns people scan for (package,
//! id, severity, installed, fixed in, title).

use std::collections::BTreeMap;
use std::fmt::Write;

use palisade_core::{Finding, Report, Severity};

use crate::{RenderOptions, Styles, printable};

fn truncate(s: &str, max: usize) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.chars().count() <= max {
        return s;
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

pub fn render(
    report: &Report,
    opts: RenderOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let st = Styles::new(opts.color);
    let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        let eco = f
            .vulnerability
            .as_ref()
            .map(|v| v.package.ecosystem.clone())
            .unwrap_or_default();
        groups.entry(eco).or_default().push(f);
    }
    let mut out = String::new();
    for (eco, mut findings) in groups {
        findings.sort_by(|a, b| {
            let pa = a
                .vulnerability
                .as_ref()
                .map(|v| v.package.name.as_str())
                .unwrap_or("");
            let pb = b
                .vulnerability
                .as_ref()
                .map(|v| v.package.name.as_str())
                .unwrap_or("");
            (std::cmp::Reverse(a.severity), pa, &a.rule_id).cmp(&(
                std::cmp::Reverse(b.severity),
                pb,
                &b.rule_id,
            ))
        });
        let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
        for f in findings.iter().filter(|f| f.suppressed.is_none()) {
            *counts.entry(f.severity).or_default() += 1;
        }
        let total: usize = counts.values().sum();
        let parts: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| counts.get(s).map(|n| format!("{s}: {n}")))
            .collect();
        let _ = writeln!(
            out,
            "{}{eco}{}  {total} vulnerabilities ({})",
            st.bold.render(),
            st.bold.render_reset(),
            parts.join(", ")
        );
        let rows: Vec<[String; 6]> = findings
            .iter()
            .map(|f| {
                let v = f.vulnerability.as_deref();
                let mut id = f.rule_id.clone();
                if f.suppressed.is_some() {
                    id.push_str(" (suppressed)");
                }
                [
                    printable(v.map(|v| v.package.name.as_str()).unwrap_or("")),
                    id,
                    f.severity.to_string(),
                    printable(v.map(|v| v.package.version.as_str()).unwrap_or("")),
                    v.map(|v| {
                        if v.fixed_versions.is_empty() {
                            "no fix yet".to_string()
                        } else {
                            v.fixed_versions.join(", ")
                        }
                    })
                    .unwrap_or_default(),
                    truncate(&printable(&f.title), 60),
                ]
            })
            .collect();
        let header = [
            "PACKAGE",
            "VULNERABILITY",
            "SEVERITY",
            "INSTALLED",
            "FIXED IN",
            "TITLE",
        ];
        let mut widths = header.map(|h| h.chars().count());
        for r in &rows {
            for (i, c) in r.iter().enumerate().take(5) {
                widths[i] = widths[i].max(c.chars().count().min(40));
            }
        }
        let line = |cells: [&str; 6], out: &mut String| {
            let _ = write!(out, " ");
            for (i, c) in cells.iter().enumerate() {
                if i == 5 {
                    let _ = write!(out, " {c}");
                } else {
                    let pad = widths[i].saturating_sub(c.chars().count());
                    let _ = write!(out, " {c}{}", " ".repeat(pad));
                }
            }
            out.push('\n');
        };
        line(header, &mut out);
        for r in &rows {
            let sev = r[2].clone();
            let colored = st.severity(sev.parse().unwrap_or(Severity::Unknown));
            let pad = widths[2].saturating_sub(sev.chars().count());
            let sev_cell = format!("{colored}{}", " ".repeat(pad));
            let _ = write!(out, " ");
            for (i, c) in r.iter().enumerate() {
                match i {
                    2 => {
                        let _ = write!(out, " {sev_cell}");
                    }
                    5 => {
                        let _ = write!(out, " {c}");
                    }
                    _ => {
                        let pad = widths[i].saturating_sub(c.chars().count());
                        let _ = write!(out, " {c}{}", " ".repeat(pad));
                    }
                }
            }
            out.push('\n');
        }
        out.push('\n');
        w.write_all(out.as_bytes())?;
        out.clear();
    }
    crate::table::render_footer(report, opts, w)
}
