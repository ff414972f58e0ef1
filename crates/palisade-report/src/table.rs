//! Human-readable output: findings grouped by file, each with the offending lines, the fix
//! and where to read more; then problems with inputs, then a summary.

use std::collections::BTreeMap;
use std::fmt::Write;

use palisade_core::{Finding, ProblemKind, Report, Severity};

use crate::{RenderOptions, Styles, printable};

pub fn render(
    report: &Report,
    opts: RenderOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    if report.scan == "vuln" {
        return crate::vulns::render(report, opts, w);
    }
    let st = Styles::new(opts.color);
    let mut out = String::new();
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_file.entry(f.location.path.as_str()).or_default().push(f);
    }
    for (path, findings) in &by_file {
        let kind = report
            .files
            .iter()
            .find(|s| s.path == *path)
            .map(|s| s.kind.as_str())
            .unwrap_or(report.scan.as_str());
        let header = format!("{} ({kind})", printable(path));
        let _ = writeln!(
            out,
            "{}{header}{}",
            st.bold.render(),
            st.bold.render_reset()
        );
        let _ = writeln!(out, "{}", "─".repeat(header.chars().count().min(100)));
        let _ = writeln!(out, "{}\n", counts_line(findings.iter().copied()));
        // Most severe first; within a severity, top of the file first.
        let mut findings = findings.clone();
        findings.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.location.start_line));
        for f in findings {
            finding(&mut out, f, &st);
        }
        w.write_all(out.as_bytes())?;
        out.clear();
    }

    w.write_all(out.as_bytes())?;
    render_footer(report, opts, w)
}

/// Pod Security levels, input problems and the summary line: the end of every table.
pub(crate) fn render_footer(
    report: &Report,
    opts: RenderOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let st = Styles::new(opts.color);
    let mut out = String::new();
    if !report.pss.is_empty() {
        let _ = writeln!(
            out,
            "{}Pod Security Standards{}",
            st.bold.render(),
            st.bold.render_reset()
        );
        for p in &report.pss {
            let _ = write!(
                out,
                "  {:<11} {} at {}:{}",
                p.level, p.resource, p.path, p.line
            );
            if !p.violations.is_empty() {
                let _ = write!(
                    out,
                    "  {}({}){}",
                    st.dim.render(),
                    p.violations.join(", "),
                    st.dim.render_reset()
                );
            }
            out.push('\n');
        }
        out.push('\n');
    }

    let problems: Vec<_> = report.problems.iter().collect();
    if !problems.is_empty() {
        let _ = writeln!(
            out,
            "{}Inputs with problems{}",
            st.bold.render(),
            st.bold.render_reset()
        );
        for p in problems {
            let tag = match p.kind {
                ProblemKind::Error => "error",
                ProblemKind::Skipped => "skipped",
                ProblemKind::Warning => "warning",
            };
            let _ = writeln!(out, "  {tag:<8} {}", printable(&p.to_string()));
        }
        out.push('\n');
    }

    let s = &report.summary;
    if report.scan == "vuln" {
        let _ = write!(
            out,
            "{}Summary:{} {} package{} checked",
            st.bold.render(),
            st.bold.render_reset(),
            s.resources_scanned,
            plural(s.resources_scanned)
        );
    } else {
        let _ = write!(
            out,
            "{}Summary:{} {} file{} scanned",
            st.bold.render(),
            st.bold.render_reset(),
            s.files_scanned,
            plural(s.files_scanned)
        );
        if s.resources_scanned > 0 {
            let _ = write!(
                out,
                " ({} object{})",
                s.resources_scanned,
                plural(s.resources_scanned)
            );
        }
    }
    let _ = write!(out, ", {}", counts_line(report.active()));
    if s.suppressed > 0 {
        let _ = write!(out, ", {} suppressed", s.suppressed);
        if !opts.show_suppressed {
            out.push_str(" (--show-suppressed to list)");
        }
    }
    if s.errors > 0 {
        let _ = write!(out, ", {} input error{}", s.errors, plural(s.errors));
    }
    if s.skipped > 0 {
        let _ = write!(out, ", {} skipped", s.skipped);
    }
    out.push('\n');
    w.write_all(out.as_bytes())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn counts_line<'a>(findings: impl Iterator<Item = &'a Finding>) -> String {
    let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
    let mut total = 0;
    for f in findings {
        if f.suppressed.is_none() {
            *counts.entry(f.severity).or_default() += 1;
            total += 1;
        }
    }
    if total == 0 {
        return "no findings".into();
    }
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| counts.get(s).map(|n| format!("{s}: {n}")))
        .collect();
    format!("{total} finding{} ({})", plural(total), parts.join(", "))
}

fn finding(out: &mut String, f: &Finding, st: &Styles) {
    let _ = write!(
        out,
        "{} {}{}{} {}",
        st.severity(f.severity),
        st.bold.render(),
        f.rule_id,
        st.bold.render_reset(),
        f.title
    );
    if let Some(s) = &f.suppressed {
        let _ = write!(out, " {}[suppressed", st.dim.render());
        if let Some(r) = &s.reason {
            let _ = write!(out, ": {}", printable(r));
        }
        let _ = write!(out, "]{}", st.dim.render_reset());
    }
    out.push('\n');
    match &f.resource {
        Some(r) => {
            let _ = writeln!(
                out,
                "  {}: {}",
                printable(&r.to_string()),
                printable(&f.message)
            );
        }
        None => {
            let _ = writeln!(out, "  {}", printable(&f.message));
        }
    }
    let _ = writeln!(out, "  at {}", printable(&f.location.display()));
    let width = f
        .code
        .iter()
        .map(|c| c.number.to_string().len())
        .max()
        .unwrap_or(1);
    for c in &f.code {
        if c.highlight {
            let _ = writeln!(
                out,
                "  {}→ {:>width$} │ {}{}",
                st.bold.render(),
                c.number,
                printable(&c.text),
                st.bold.render_reset()
            );
        } else {
            let _ = writeln!(
                out,
                "  {}  {:>width$} │ {}{}",
                st.dim.render(),
                c.number,
                printable(&c.text),
                st.dim.render_reset()
            );
        }
    }
    let _ = writeln!(out, "  fix: {}", f.fix);
    let _ = writeln!(
        out,
        "  {}more: palisade explain {}{}\n",
        st.dim.render(),
        f.rule_id,
        st.dim.render_reset()
    );
}
