//! Findings and where they are.

use serde::{Deserialize, Serialize};

use crate::{RuleMeta, Severity};

/// Where a finding is: a file path (relative to what the user scanned, with `/`
/// separators) and, when known, the lines and columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub start_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub start_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end_column: Option<u32>,
    /// The image layer the file is from, for files inside images.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub layer: Option<LayerRef>,
    /// The commit that added the line, for git history scans.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub commit: Option<CommitRef>,
}

impl Location {
    pub fn file(path: impl Into<String>) -> Location {
        Location {
            path: path.into(),
            ..Location::default()
        }
    }

    pub fn lines(path: impl Into<String>, start: u32, end: u32) -> Location {
        Location {
            path: path.into(),
            start_line: Some(start),
            end_line: Some(end.max(start)),
            ..Location::default()
        }
    }

    /// `path:line` or `path`, with the image layer or commit when there is one.
    pub fn display(&self) -> String {
        let mut s = match self.start_line {
            Some(l) => format!("{}:{l}", self.path),
            None => self.path.clone(),
        };
        if let Some(layer) = &self.layer {
            let short: String = layer.digest.chars().take(19).collect();
            s.push_str(&format!(" (layer {}, {short})", layer.index + 1));
        }
        if let Some(c) = &self.commit {
            let short: String = c.sha.chars().take(12).collect();
            s.push_str(&format!(" (commit {short}, {}, {})", c.author, c.date));
        }
        s
    }
}

/// The image layer a file came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LayerRef {
    /// 0-based position among the image's layers.
    pub index: usize,
    /// Digest of the layer blob as the manifest lists it (`sha256:…`).
    pub digest: String,
    /// Digest of the uncompressed layer (the config's `rootfs.diff_ids`), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diff_id: Option<String>,
    /// The history entry's `created_by`, when the image records one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub created_by: Option<String>,
}

/// The git commit a finding was found in (history scans).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitRef {
    pub sha: String,
    pub author: String,
    /// Author date, RFC 3339.
    pub date: String,
}

/// The Kubernetes object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub namespace: Option<String>,
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{} (namespace {ns})", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// One line of source shown with a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeLine {
    pub number: u32,
    pub text: String,
    /// True for the lines the finding is about (as opposed to context).
    pub highlight: bool,
}

/// What suppressed a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SuppressionSource {
    /// A `palisade.dev/ignore` annotation on the resource.
    Annotation,
    /// An entry of an ignore file.
    IgnoreFile { path: String, line: u32 },
    /// A `palisade:allow` comment on the line.
    InlineComment,
    /// A VEX statement saying the product is not affected, or the issue is fixed.
    Vex { path: String, status: String },
}

/// Why a finding does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    #[serde(flatten)]
    pub source: SuppressionSource,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
}

/// The package a vulnerability finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    pub name: String,
    pub version: String,
    /// OSV ecosystem the advisory was matched in (`PyPI`, `Debian:12`, …).
    pub ecosystem: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub purl: String,
    /// The source package the advisory was keyed by, for distribution packages.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<String>,
}

/// A CVSS vector with its computed base score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    pub version: String,
    pub vector: String,
    pub score: f64,
}

/// What a vulnerability finding adds to a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// The identifier shown (a CVE when the advisory has one).
    pub id: String,
    /// Every other identifier of the same vulnerability (GHSA, PYSEC, GO, RUSTSEC, …).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub aliases: Vec<String>,
    pub package: AffectedPackage,
    /// Versions that fix it, lowest first; empty when no fix is released.
    #[serde(default)]
    pub fixed_versions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub cvss: Vec<CvssScore>,
    /// The score the severity came from, when a CVSS vector gave it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub modified: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub references: Vec<String>,
}

impl Eq for CvssScore {}

impl Eq for Vulnerability {}

/// One problem found by one rule at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    /// What is wrong here, naming the container, field or value.
    pub message: String,
    pub location: Location,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resource: Option<ResourceRef>,
    /// The field path inside the resource, e.g. `spec.containers[0].securityContext.privileged`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    pub fix: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub controls: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub code: Vec<CodeLine>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub suppressed: Option<Suppression>,
    /// For vulnerability findings: the package, identifiers, fixes and scores.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vulnerability: Option<Box<Vulnerability>>,
    /// A stable identifier of this finding (secrets: rule, file and secret), for ignore files.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fingerprint: Option<String>,
}

impl Finding {
    /// A finding for a built-in rule with its metadata filled in.
    pub fn new(rule: &RuleMeta, message: String, location: Location) -> Finding {
        Finding {
            rule_id: rule.id.to_string(),
            severity: rule.severity,
            title: rule.title.to_string(),
            message,
            location,
            resource: None,
            field: None,
            fix: rule.fix.to_string(),
            controls: rule.controls.iter().map(|c| c.to_string()).collect(),
            code: Vec::new(),
            suppressed: None,
            vulnerability: None,
            fingerprint: None,
        }
    }

    /// Every identifier this finding answers to: its rule id, and for vulnerabilities the
    /// aliases (so an ignore entry or a VEX statement may name any of them).
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.rule_id.as_str()).chain(
            self.vulnerability
                .iter()
                .flat_map(|v| v.aliases.iter().map(String::as_str)),
        )
    }

    /// Attaches up to `context` lines around the location from the file's text.
    pub fn with_code(mut self, lines: &LineIndex<'_>, context: u32) -> Finding {
        let (Some(start), Some(end)) = (self.location.start_line, self.location.end_line) else {
            return self;
        };
        // Long spans (a whole resource) are cut to a few lines; the location keeps the range.
        let shown_end = end.min(start + 4);
        let first = start.saturating_sub(context).max(1);
        let last = (shown_end + context).min(lines.len() as u32);
        self.code = (first..=last)
            .filter_map(|number| {
                let line = lines.line(number)?;
                let mut text: String = line.chars().take(200).collect();
                if text.len() < line.len() {
                    text.push('…');
                }
                Some(CodeLine {
                    number,
                    text,
                    highlight: number >= start && number <= shown_end,
                })
            })
            .collect();
        self
    }
}

/// Where each line of a text starts, so that any line can be fetched without scanning the
/// text from the top (a file with thousands of findings would otherwise be read thousands of
/// times).
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if starts.last() == Some(&text.len()) && starts.len() > 1 {
            starts.pop();
        }
        LineIndex { text, starts }
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.starts.len()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Line `n` (1-based) without its line ending.
    pub fn line(&self, n: u32) -> Option<&'a str> {
        let i = (n as usize).checked_sub(1)?;
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).map_or(self.text.len(), |e| e - 1);
        let line = &self.text[start..end.max(start)];
        let line = line.strip_suffix('\n').unwrap_or(line);
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_context_is_cut_to_the_span() {
        let text = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        let f = Finding {
            rule_id: "X".into(),
            severity: Severity::Low,
            title: String::new(),
            message: String::new(),
            location: Location::lines("f", 2, 9),
            resource: None,
            field: None,
            fix: String::new(),
            controls: vec![],
            code: vec![],
            suppressed: None,
            vulnerability: None,
            fingerprint: None,
        }
        .with_code(&LineIndex::new(text), 1);
        let numbers: Vec<u32> = f.code.iter().map(|c| c.number).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7]);
        assert!(
            !f.code[0].highlight
                && f.code[1].highlight
                && f.code[5].highlight
                && !f.code[6].highlight
        );
    }

    #[test]
    fn line_index() {
        let idx = LineIndex::new("a\r\nbb\n\nlast");
        assert_eq!(idx.len(), 4);
        assert_eq!(idx.line(1), Some("a"));
        assert_eq!(idx.line(2), Some("bb"));
        assert_eq!(idx.line(3), Some(""));
        assert_eq!(idx.line(4), Some("last"));
        assert_eq!(idx.line(5), None);
        assert_eq!(idx.line(0), None);
        let idx = LineIndex::new("x\n");
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.line(1), Some("x"));
        assert!(LineIndex::new("").is_empty());
    }
}
