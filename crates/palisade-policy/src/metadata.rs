//! Rule metadata from either place policies keep it: OPA `# METADATA` annotations (YAML in
//! comments before `package` or a rule) or Trivy's `__rego_metadata__` and `__rego_input__`
//! objects, turned into the [`RuleInfo`] every report and `palisade explain` read.

use palisade_core::{RuleInfo, Scanner, Severity};
use serde_json::Value;

use crate::input::InputKind;
use crate::source::{MetadataBlock, PolicyProblem};

/// What a policy says about itself. Every field is optional; a rule's own annotation wins over
/// its package's, which wins over `__rego_metadata__`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// As written; checked when the rule is built.
    pub severity: Option<String>,
    pub recommended_actions: Vec<String>,
    /// URLs from `related_resources` (or `url`).
    pub references: Vec<String>,
    /// Input types from `custom.input.selector` or `__rego_input__.selector`.
    pub selectors: Vec<String>,
}

impl Annotations {
    /// Reads a `# METADATA` block.
    pub fn from_block(path: &str, block: &MetadataBlock) -> Result<Annotations, PolicyProblem> {
        let stream = palisade_yaml::parse_stream(&block.yaml);
        if let Some(e) = &stream.error {
            // The YAML starts on the line after `# METADATA`.
            let what = match e {
                palisade_yaml::Error::Syntax { message, .. } => message.clone(),
                other => other.to_string(),
            };
            return Err(PolicyProblem::new(
                path,
                Some(block.line + e.line()),
                Some(1),
                format!("METADATA is not valid YAML: {what}"),
            ));
        }
        let Some(doc) = stream.documents.first() else {
            return Ok(Annotations::default());
        };
        if doc.root.is_null() {
            return Ok(Annotations::default());
        }
        if doc.root.as_map().is_none() {
            return Err(PolicyProblem::new(
                path,
                Some(block.line),
                Some(1),
                "METADATA must be a YAML mapping (title:, description:, custom:, …)",
            ));
        }
        let v: Value = serde_json::from_str(&doc.root.to_json()).unwrap_or(Value::Null);
        let custom = &v["custom"];
        let mut a = Annotations {
            id: text(&custom["id"]).or_else(|| text(&custom["avd_id"])),
            title: text(&v["title"]),
            description: text(&v["description"]),
            severity: text(&custom["severity"]).or_else(|| text(&v["severity"])),
            ..Annotations::default()
        };
        for key in ["recommended_actions", "recommended_action"] {
            a.recommended_actions.extend(texts(&custom[key]));
            a.recommended_actions.extend(texts(&v[key]));
        }
        for r in v["related_resources"].as_array().into_iter().flatten() {
            if let Some(s) = text(r).or_else(|| text(&r["ref"])) {
                a.references.push(s);
            }
        }
        a.selectors = selector_types(&custom["input"]);
        Ok(a)
    }

    /// Reads Trivy's `__rego_metadata__` object.
    pub fn from_rego_metadata(v: &Value) -> Annotations {
        let mut a = Annotations {
            id: text(&v["id"]).or_else(|| text(&v["avd_id"])),
            title: text(&v["title"]),
            description: text(&v["description"]),
            severity: text(&v["severity"]),
            ..Annotations::default()
        };
        for key in ["recommended_actions", "recommended_action"] {
            a.recommended_actions.extend(texts(&v[key]));
        }
        a.references.extend(text(&v["url"]));
        a
    }

    /// Fills what `self` leaves open from `other`.
    pub fn or(mut self, other: &Annotations) -> Annotations {
        self.id = self.id.or_else(|| other.id.clone());
        self.title = self.title.or_else(|| other.title.clone());
        self.description = self.description.or_else(|| other.description.clone());
        self.severity = self.severity.or_else(|| other.severity.clone());
        if self.recommended_actions.is_empty() {
            self.recommended_actions = other.recommended_actions.clone();
        }
        if self.references.is_empty() {
            self.references = other.references.clone();
        }
        if self.selectors.is_empty() {
            self.selectors = other.selectors.clone();
        }
        self
    }
}

/// Input types named by `{"selector": [{"type": "kubernetes"}, …]}`.
pub fn selector_types(v: &Value) -> Vec<String> {
    v["selector"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| text(&s["type"]))
        .map(|t| t.to_ascii_lowercase())
        .collect()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

/// Whether a rule reports violations or warnings, from its name as conftest reads it:
/// `deny`, `violation` and `deny_*`/`violation_*` fail; `warn` and `warn_*` warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    Deny,
    Violation,
    Warn,
}

impl RuleKind {
    /// The kind of a rule name, or `None` for rules that are not policy results (helpers,
    /// tests, metadata).
    pub fn of(name: &str) -> Option<RuleKind> {
        let (kind, rest) = if let Some(r) = name.strip_prefix("deny") {
            (RuleKind::Deny, r)
        } else if let Some(r) = name.strip_prefix("violation") {
            (RuleKind::Violation, r)
        } else if let Some(r) = name.strip_prefix("warn") {
            (RuleKind::Warn, r)
        } else {
            return None;
        };
        // `(_[a-zA-Z0-9]+)*`: every `_` is followed by at least one letter or digit.
        let ok = rest.is_empty()
            || (rest.starts_with('_')
                && rest
                    .split('_')
                    .skip(1)
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric())));
        ok.then_some(kind)
    }

    /// Severity when the policy names none: failures are HIGH, warnings LOW.
    pub fn default_severity(self) -> Severity {
        match self {
            RuleKind::Deny | RuleKind::Violation => Severity::High,
            RuleKind::Warn => Severity::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Deny => "deny",
            RuleKind::Violation => "violation",
            RuleKind::Warn => "warn",
        }
    }
}

/// Where a rule is defined, for its documentation.
pub(crate) struct RuleOrigin<'a> {
    pub package: &'a str,
    pub rule: &'a str,
    pub file: &'a str,
    pub line: u32,
    pub kind: RuleKind,
}

/// Builds the rule description reports carry. Returns a warning when the severity written in
/// the policy is not one Palisade knows (the default is used then).
pub(crate) fn rule_info(a: &Annotations, o: &RuleOrigin<'_>) -> (RuleInfo, Option<String>) {
    let qualified = format!("{}.{}", o.package, o.rule);
    let id = a.id.clone().unwrap_or_else(|| qualified.clone());
    let mut warning = None;
    let severity = match a.severity.as_deref().map(str::parse::<Severity>) {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            warning = Some(format!(
                "rule {id}: {e}; using {}",
                o.kind.default_severity()
            ));
            o.kind.default_severity()
        }
        None => o.kind.default_severity(),
    };
    let kinds: Vec<String> = if a.selectors.is_empty() {
        vec!["any".to_string()]
    } else {
        a.selectors
            .iter()
            .map(|s| InputKind::parse(s).map_or_else(|| s.clone(), |k| k.title().to_string()))
            .collect()
    };
    let title = a.title.clone().unwrap_or_else(|| qualified.clone());
    let fix = a.recommended_actions.first().cloned().unwrap_or_else(|| {
        format!("Change the input so that `data.{qualified}` no longer reports it.")
    });
    let what = format!(
        "{}\n\nA custom rule: `{}` of package `{}`, defined in `{}:{}`. It applies to {} input.",
        a.description.clone().unwrap_or_else(|| title.clone()),
        o.rule,
        o.package,
        o.file,
        o.line,
        kinds.join(", ")
    );
    let why = match (&a.description, o.kind) {
        (Some(d), _) if a.title.is_some() => format!("{}: {d}", title.trim_end_matches('.')),
        (_, RuleKind::Warn) => "The project's policy asks for attention to it (a warning).".into(),
        _ => "The project's policy forbids it.".into(),
    };
    let example = format!(
        "Any input for which `data.{qualified}` produces a message, for example:\n\n```text\n{}: {}\n```",
        id, title
    );
    let use_instead = if a.recommended_actions.is_empty() {
        fix.clone()
    } else {
        a.recommended_actions
            .iter()
            .map(|r| format!("- {r}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut refs: Vec<String> = a.references.iter().map(|r| format!("- {r}")).collect();
    refs.push(format!("- `{}` (package `{}`)", o.file, o.package));
    let doc = format!(
        "## What it does\n{what}\n\n## Why is this bad?\n{why}\n\n## Example\n{example}\n\n## Use instead\n{use_instead}\n\n## References\n{}\n",
        refs.join("\n")
    );
    (
        RuleInfo {
            id,
            title,
            severity,
            scanner: Scanner::Custom,
            kinds,
            controls: Vec::new(),
            fix,
            doc,
        },
        warning,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::RuleDoc;
    use serde_json::json;

    #[test]
    fn rule_kinds_follow_conftest_names() {
        assert_eq!(RuleKind::of("deny"), Some(RuleKind::Deny));
        assert_eq!(RuleKind::of("deny_latest_tag"), Some(RuleKind::Deny));
        assert_eq!(RuleKind::of("violation_x1"), Some(RuleKind::Violation));
        assert_eq!(RuleKind::of("warn"), Some(RuleKind::Warn));
        for not in [
            "denylist",
            "deny_",
            "deny__x",
            "warning",
            "test_deny",
            "allow",
            "deny-x",
        ] {
            assert_eq!(RuleKind::of(not), None, "{not}");
        }
    }

    #[test]
    fn annotations_from_both_places() {
        let block = MetadataBlock {
            line: 1,
            yaml: "title: No latest tag\ndescription: Pin images.\nrelated_resources:\n- https://example.com/a\n- ref: https://example.com/b\n  description: B\ncustom:\n  id: ORG-001\n  severity: medium\n  recommended_actions:\n  - Pin the tag.\n  input:\n    selector:\n    - type: kubernetes\n".into(),
        };
        let a = Annotations::from_block("p.rego", &block).unwrap();
        assert_eq!(a.id.as_deref(), Some("ORG-001"));
        assert_eq!(a.severity.as_deref(), Some("medium"));
        assert_eq!(
            a.references,
            ["https://example.com/a", "https://example.com/b"]
        );
        assert_eq!(a.recommended_actions, ["Pin the tag."]);
        assert_eq!(a.selectors, ["kubernetes"]);

        let t = Annotations::from_rego_metadata(&json!({
            "id": "ID001", "title": "T", "severity": "LOW", "description": "D",
            "recommended_actions": "Do X", "url": "https://example.com/c"
        }));
        assert_eq!(t.recommended_actions, ["Do X"]);
        let merged = Annotations::default().or(&t);
        assert_eq!(merged.id.as_deref(), Some("ID001"));

        let bad = MetadataBlock {
            line: 4,
            yaml: "title: [unclosed\n".into(),
        };
        let e = Annotations::from_block("p.rego", &bad).unwrap_err();
        assert_eq!(e.path, "p.rego");
        assert!(e.line.unwrap() >= 5, "{e}");
    }

    #[test]
    fn rule_info_has_the_five_doc_sections() {
        let a = Annotations {
            title: Some("Image from an allowed registry".into()),
            description: Some("Images must come from the company registry.".into()),
            severity: Some("severe".into()),
            ..Annotations::default()
        };
        let origin = RuleOrigin {
            package: "kubernetes.registries",
            rule: "deny",
            file: "p/registries.rego",
            line: 7,
            kind: RuleKind::Deny,
        };
        let (info, warning) = rule_info(&a, &origin);
        assert_eq!(info.id, "kubernetes.registries.deny");
        assert_eq!(info.severity, Severity::High);
        assert!(warning.unwrap().contains("severe"));
        let doc = RuleDoc::parse(&info.doc).unwrap();
        assert!(
            doc.what
                .starts_with("Images must come from the company registry.")
        );
        assert_eq!(
            info.summary(),
            "Images must come from the company registry."
        );
        assert!(doc.references.contains("p/registries.rego"));
    }
}
