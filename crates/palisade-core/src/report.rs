//! The result of one scan: findings, what was scanned, and the problems met on the way.
//!
//! The JSON form of [`Report`] is a public format (`docs/report-format.md`): CI systems and
//! `palisade serve` read it. It carries [`Report::SCHEMA_VERSION`] and changes compatibly:
//! fields are added, never renamed or removed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Finding, ResourceRef, RuleInfo, Severity};

/// What kind of problem an input had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The input could not be read or parsed (in part or in full).
    Error,
    /// The input was skipped on purpose (too large, binary, a template).
    Skipped,
    /// Something the user should know, e.g. an expired ignore entry.
    Warning,
}

/// A problem with one input, reported as `path:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProblem {
    pub kind: ProblemKind,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// A file that was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScannedFile {
    pub path: String,
    /// `kubernetes` or `dockerfile`.
    pub kind: String,
    /// Kubernetes objects (or Dockerfile stages) checked in the file.
    pub resources: usize,
}

/// The Pod Security Standards level one workload meets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PssResult {
    pub resource: ResourceRef,
    pub path: String,
    pub line: u32,
    /// `restricted`, `baseline` or `privileged` (meets neither).
    pub level: String,
    /// The PSS checks that keep it from the next level, as `level:checkId`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub violations: Vec<String>,
}

/// Counts shown at the end of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    pub files_scanned: usize,
    pub resources_scanned: usize,
    /// Findings that count (not suppressed), by severity.
    pub findings: BTreeMap<Severity, usize>,
    pub suppressed: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn total(&self) -> usize {
        self.findings.values().sum()
    }
}

/// Name and version of the tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// One scan's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    /// The kind of scan: `config`, `secrets`, …
    pub scan: String,
    /// What the user asked to scan, as given.
    pub targets: Vec<String>,
    pub summary: Summary,
    /// Every finding, suppressed ones included (they carry `suppressed`), sorted by
    /// path, line and rule id.
    pub findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub problems: Vec<InputProblem>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub files: Vec<ScannedFile>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub pss: Vec<PssResult>,
    /// The rules that produced the findings above.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub rules: Vec<RuleInfo>,
}

impl Report {
    pub const SCHEMA_VERSION: u32 = 1;

    pub fn new(scan: &str, targets: Vec<String>) -> Report {
        Report {
            schema_version: Self::SCHEMA_VERSION,
            tool: Tool {
                name: "palisade".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            scan: scan.into(),
            targets,
            summary: Summary::default(),
            findings: Vec::new(),
            problems: Vec::new(),
            files: Vec::new(),
            pss: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// Sorts everything into a stable order and recomputes the summary. Call after the
    /// findings and problems are final.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.location.path,
                a.location.start_line,
                &a.rule_id,
                &a.message,
            )
                .cmp(&(
                    &b.location.path,
                    b.location.start_line,
                    &b.rule_id,
                    &b.message,
                ))
        });
        self.findings.dedup();
        self.problems
            .sort_by(|a, b| (&a.path, a.line, &a.message).cmp(&(&b.path, b.line, &b.message)));
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.pss
            .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        self.rules.sort_by(|a, b| a.id.cmp(&b.id));
        self.rules.dedup_by(|a, b| a.id == b.id);
        let mut s = Summary {
            files_scanned: self.files.len(),
            resources_scanned: self.files.iter().map(|f| f.resources).sum(),
            ..Summary::default()
        };
        for f in &self.findings {
            if f.suppressed.is_some() {
                s.suppressed += 1;
            } else {
                *s.findings.entry(f.severity).or_default() += 1;
            }
        }
        for p in &self.problems {
            match p.kind {
                ProblemKind::Error => s.errors += 1,
                ProblemKind::Skipped => s.skipped += 1,
                ProblemKind::Warning => {}
            }
        }
        self.summary = s;
    }

    /// Findings that count: not suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }
}
