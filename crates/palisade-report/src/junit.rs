//! JUnit XML, as CI systems (GitLab, Jenkins, Azure Pipelines) read it: one test suite per
//! scanned file, one failing test case per finding, one passing case for a clean file.

use std::collections::BTreeMap;
use std::fmt::Write;

use palisade_core::{Finding, Report};

pub fn render(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut suites: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.files {
        suites.entry(f.path.as_str()).or_default();
    }
    for f in &report.findings {
        suites.entry(f.location.path.as_str()).or_default().push(f);
    }
    let total_failures: usize = suites
        .values()
        .map(|v| v.iter().filter(|f| f.suppressed.is_none()).count())
        .sum();
    let errors: Vec<_> = report
        .problems
        .iter()
        .filter(|p| p.kind == palisade_core::ProblemKind::Error)
        .collect();
    let total_tests: usize = suites.values().map(|v| v.len().max(1)).sum::<usize>() + errors.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"palisade\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"{}\">",
        errors.len()
    );
    for (path, findings) in &suites {
        let failures = findings.iter().filter(|f| f.suppressed.is_none()).count();
        let skipped = findings.len() - failures;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" errors=\"0\">",
            esc(path),
            findings.len().max(1)
        );
        if findings.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"no findings\"/>",
                esc(path)
            );
        }
        for f in findings {
            let name = format!("[{}] {}: {}", f.severity, f.rule_id, f.title);
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"{}>",
                esc(path),
                esc(&name),
                esc(path),
                f.location
                    .start_line
                    .map(|l| format!(" line=\"{l}\""))
                    .unwrap_or_default()
            );
            if f.suppressed.is_some() {
                let _ = writeln!(out, "      <skipped message=\"suppressed\"/>");
            } else {
                let mut body = String::new();
                if let Some(r) = &f.resource {
                    let _ = writeln!(body, "{r}");
                }
                let _ = writeln!(body, "{}", f.message);
                let _ = writeln!(body, "at {}", f.location.display());
                let _ = writeln!(body, "fix: {}", f.fix);
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    esc(&f.message),
                    f.severity,
                    esc(&body)
                );
            }
            let _ = writeln!(out, "    </testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
        w.write_all(out.as_bytes())?;
        out.clear();
    }
    // Inputs that could not be read are errors, so CI shows them rather than a green run.
    if !errors.is_empty() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"inputs\" tests=\"{n}\" failures=\"0\" skipped=\"0\" errors=\"{n}\">",
            n = errors.len()
        );
        for p in &errors {
            let _ = writeln!(
                out,
                "    <testcase classname=\"inputs\" name=\"{}\"><error message=\"{}\" type=\"input\">{}</error></testcase>",
                esc(&p.path),
                esc(&p.message),
                esc(&p.to_string())
            );
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    w.write_all(out.as_bytes())
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 forbids.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_and_drops_invalid_characters() {
        assert_eq!(super::esc("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
