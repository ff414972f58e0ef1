//! Rule metadata and documentation.
//!
//! A built-in rule is described once by a [`RuleMeta`] in the rule's own file; `palisade
//! explain`, `palisade rules list`, SARIF rule help and `docs/rules.md` all read it, so the
//! explanation cannot drift from the check. [`RuleInfo`] is the owned form that reports
//! carry and that custom (user-written) rules produce.

use serde::{Deserialize, Serialize};

use crate::Severity;

/// Which analyzer a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scanner {
    Kubernetes,
    Dockerfile,
    Secret,
    Vulnerability,
    Custom,
}

impl Scanner {
    pub fn as_str(self) -> &'static str {
        match self {
            Scanner::Kubernetes => "kubernetes",
            Scanner::Dockerfile => "dockerfile",
            Scanner::Secret => "secret",
            Scanner::Vulnerability => "vulnerability",
            Scanner::Custom => "custom",
        }
    }
}

/// The static description of a built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Stable identifier, e.g. `PAL-K8S-001`. Never reused for another meaning.
    pub id: &'static str,
    /// One line saying what is wrong, e.g. "Privileged container".
    pub title: &'static str,
    pub severity: Severity,
    pub scanner: Scanner,
    /// Resource kinds the rule looks at (`Pod`, `Deployment`, `Dockerfile`, …).
    pub kinds: &'static [&'static str],
    /// Compliance controls: `pss:<level>:<checkId>`, `nsa:<section>`, `cis:<id>`.
    pub controls: &'static [&'static str],
    /// One sentence telling the user what to change.
    pub fix: &'static str,
    /// Markdown with the sections of [`RuleDoc::SECTIONS`].
    pub doc: &'static str,
}

impl RuleMeta {
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.to_string(),
            title: self.title.to_string(),
            severity: self.severity,
            scanner: self.scanner,
            kinds: self.kinds.iter().map(|s| s.to_string()).collect(),
            controls: self.controls.iter().map(|s| s.to_string()).collect(),
            fix: self.fix.to_string(),
            doc: self.doc.to_string(),
        }
    }
}

/// The owned, serialisable description of any rule, built-in or custom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub scanner: Scanner,
    pub kinds: Vec<String>,
    pub controls: Vec<String>,
    pub fix: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub doc: String,
}

impl RuleInfo {
    /// The first paragraph of "What it does", for short descriptions.
    pub fn summary(&self) -> String {
        RuleDoc::parse(&self.doc)
            .ok()
            .and_then(|d| d.what.split("\n\n").next().map(|p| p.replace('\n', " ")))
            .unwrap_or_else(|| self.title.clone())
    }

    /// Documentation page for this rule in the project's docs.
    pub fn help_uri(&self) -> String {
        format!(
            "https://github.com/palisade-dev/palisade/blob/main/docs/rules.md#{}",
            self.id.to_ascii_lowercase()
        )
    }
}

/// A rule's documentation split into its sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    pub what: String,
    pub why: String,
    pub example: String,
    pub use_instead: String,
    pub references: String,
}

/// A rule document lacks a section or has an unexpected one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule documentation: {0}")]
pub struct DocError(pub String);

impl RuleDoc {
    /// Section headings every rule document has, in order.
    pub const SECTIONS: [&'static str; 5] = [
        "What it does",
        "Why is this bad?",
        "Example",
        "Use instead",
        "References",
    ];

    /// Splits a document on its `## ` headings and checks that exactly the five sections
    /// are present, in order, and not empty.
    pub fn parse(doc: &str) -> Result<RuleDoc, DocError> {
        let mut sections: Vec<(String, String)> = Vec::new();
        for line in doc.lines() {
            if let Some(h) = line.strip_prefix("## ") {
                sections.push((h.trim().trim_end_matches(':').to_string(), String::new()));
            } else if let Some((_, body)) = sections.last_mut() {
                body.push_str(line);
                body.push('\n');
            } else if !line.trim().is_empty() {
                return Err(DocError(format!("text before the first heading: {line:?}")));
            }
        }
        let names: Vec<&str> = sections.iter().map(|(h, _)| h.as_str()).collect();
        if names != Self::SECTIONS {
            return Err(DocError(format!(
                "sections are {names:?}, expected {:?}",
                Self::SECTIONS
            )));
        }
        let mut bodies = sections.into_iter().map(|(h, b)| {
            let b = b.trim().to_string();
            if b.is_empty() {
                Err(DocError(format!("section {h:?} is empty")))
            } else {
                Ok(b)
            }
        });
        let mut next = || bodies.next().unwrap();
        Ok(RuleDoc {
            what: next()?,
            why: next()?,
            example: next()?,
            use_instead: next()?,
            references: next()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_sections_are_checked() {
        let good = "## What it does\nA.\n\nMore.\n## Why is this bad?\nB\n## Example\n```yaml\nx: 1\n```\n## Use instead\nD\n## References\n- E\n";
        let d = RuleDoc::parse(good).unwrap();
        assert_eq!(d.example, "```yaml\nx: 1\n```");
        assert!(RuleDoc::parse("## What it does\nA\n## Example\nB\n").is_err());
        assert!(RuleDoc::parse(&good.replace("B\n", "")).is_err());
        let info = RuleInfo {
            id: "X".into(),
            title: "T".into(),
            severity: Severity::Low,
            scanner: Scanner::Custom,
            kinds: vec![],
            controls: vec![],
            fix: String::new(),
            doc: good.into(),
        };
        assert_eq!(info.summary(), "A.");
    }
}
