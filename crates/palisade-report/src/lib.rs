//! Renderers: turn a [`Report`](palisade_core::Report) into what a person or a tool reads.
//!
//! Renderers only format; they never filter, match or decide. Every format writes the
//! findings in the report's order, so output is deterministic for the same input, and writes
//! as it goes rather than building the whole output in memory.

pub mod junit;
pub mod sarif;
pub mod table;
pub mod vulns;

use palisade_core::{Report, RuleInfo};

/// Output formats of `palisade scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Junit,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "junit" => Ok(Format::Junit),
            _ => Err(format!(
                "unknown format {s:?}: expected table, json, sarif or junit"
            )),
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours in table output.
    pub color: bool,
    /// Whether suppressed findings were asked for. Renderers show every finding the report
    /// holds; the caller drops suppressed ones beforehand when they were not asked for. The
    /// flag only changes hints (the table's "--show-suppressed to list").
    pub show_suppressed: bool,
}

/// Renders a report into `out`, streaming: memory stays bounded by one file's findings in
/// the table, not by the size of the whole output.
pub fn render(
    report: &Report,
    format: Format,
    opts: RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Table => table::render(report, opts, out),
        Format::Json => json(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Junit => junit::render(report, out),
    }
}

/// Renders a report into a string (tests, small outputs).
pub fn render_to_string(report: &Report, format: Format, opts: RenderOptions) -> String {
    let mut buf = Vec::new();
    render(report, format, opts, &mut buf).expect("writing to memory does not fail");
    String::from_utf8(buf).expect("renderers write UTF-8")
}

/// The public JSON report (`docs/report-format.md`).
pub fn json(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    if report.findings.iter().any(|f| f.fingerprint.is_none()) {
        let mut report = report.clone();
        for f in &mut report.findings {
            if f.fingerprint.is_none() {
                f.fingerprint = Some(sarif::stable_fingerprint(f));
            }
        }
        serde_json::to_writer_pretty(&mut *out, &report)?;
    } else {
        serde_json::to_writer_pretty(&mut *out, report)?;
    }
    out.write_all(b"\n")
}

/// Renders one rule's documentation for a terminal (`palisade explain`).
pub fn explain(rule: &RuleInfo, color: bool) -> String {
    let style = Styles::new(color);
    let mut out = String::new();
    out.push_str(&format!(
        "{}{} {}{}\n",
        style.bold.render(),
        rule.id,
        rule.title,
        style.bold.render_reset()
    ));
    out.push_str(&format!(
        "Severity: {}   Scanner: {}   Applies to: {}\n",
        style.severity(rule.severity),
        rule.scanner.as_str(),
        rule.kinds.join(", ")
    ));
    if !rule.controls.is_empty() {
        out.push_str(&format!("Controls: {}\n", rule.controls.join(", ")));
    }
    out.push('\n');
    for line in rule.doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            out.push_str(&format!(
                "{}{}{}\n",
                style.bold.render(),
                h,
                style.bold.render_reset()
            ));
        } else if line.starts_with("```") {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("\nFix: {}\n", rule.fix));
    out
}

/// Colours used by the table renderer and `explain`.
pub(crate) struct Styles {
    pub bold: anstyle::Style,
    pub dim: anstyle::Style,
    pub color: bool,
}

impl Styles {
    pub fn new(color: bool) -> Styles {
        if color {
            Styles {
                bold: anstyle::Style::new().bold(),
                dim: anstyle::Style::new().dimmed(),
                color,
            }
        } else {
            Styles {
                bold: anstyle::Style::new(),
                dim: anstyle::Style::new(),
                color,
            }
        }
    }

    pub fn severity(&self, s: palisade_core::Severity) -> String {
        use anstyle::{AnsiColor, Style};
        if !self.color {
            return s.to_string();
        }
        let st: Style = match s {
            palisade_core::Severity::Critical => {
                Style::new().fg_color(Some(AnsiColor::Red.into())).bold()
            }
            palisade_core::Severity::High => Style::new().fg_color(Some(AnsiColor::Red.into())),
            palisade_core::Severity::Medium => {
                Style::new().fg_color(Some(AnsiColor::Yellow.into()))
            }
            palisade_core::Severity::Low => Style::new().fg_color(Some(AnsiColor::Blue.into())),
            palisade_core::Severity::Info => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
            palisade_core::Severity::Unknown => Style::new().dimmed(),
        };
        format!("{}{s}{}", st.render(), st.render_reset())
    }
}

/// Text from scanned files made safe for a terminal: control characters (which could move
/// the cursor, erase lines or hide output) are shown as escapes, e.g. `\u{1b}`.
pub fn printable(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\t') {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Percent-encodes a path for use as a URI reference (SARIF `artifactLocation.uri`): relative
/// paths stay relative; absolute ones become `file://` URIs.
pub fn path_to_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 7);
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
