//! The reference page of the built-in pack (`docs/detections.md`), rendered from the rule files
//! themselves so the page cannot drift from what runs.
//!
//! Each rule gets its title, id, level, status, log source (or, for a correlation, what it
//! counts), tags with links to MITRE ATT&CK and the Microsoft Threat Matrix for Kubernetes, and
//! its `description`, `falsepositives`, `response` (a custom attribute of the pack's rules:
//! why the alert matters and what to do) and `references`.

use std::fmt::Write as _;

use rsigma_parser::{ConditionOperator, CorrelationCondition, LogSource};

use crate::rules::{RuleSet, status_name};

/// Microsoft Threat Matrix for Kubernetes technique ids (tag `tmk.ms-taNNNN`) and the page name
/// of each on the matrix's site; ids not listed are shown without a link.
const TMK: &[(&str, &str)] = &[
    ("ms-ta9005", "Exposed sensitive interfaces"),
    ("ms-ta9006", "Exec into container"),
    ("ms-ta9013", "Writable hostPath mount"),
    ("ms-ta9014", "Kubernetes CronJob"),
    ("ms-ta9015", "Malicious admission controller"),
    ("ms-ta9016", "container service account"),
    ("ms-ta9018", "Privileged container"),
    ("ms-ta9019", "Cluster-admin binding"),
    ("ms-ta9025", "List K8S secrets"),
    ("ms-ta9029", "Access the K8S API server"),
];

/// A tag as markdown: ATT&CK techniques and Threat Matrix techniques become links.
fn tag_md(tag: &str) -> String {
    if let Some(t) = tag.strip_prefix("attack.t")
        && !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        let path = t.replace('.', "/");
        return format!("[`{tag}`](https://attack.mitre.org/techniques/T{path}/)");
    }
    if let Some(id) = tag.strip_prefix("tmk.")
        && let Some((_, page)) = TMK.iter().find(|(i, _)| *i == id)
    {
        let page = page.replace(' ', "%20");
        return format!(
            "[`{tag}`](https://microsoft.github.io/Threat-Matrix-for-Kubernetes/techniques/{page}/)"
        );
    }
    format!("`{tag}`")
}

fn logsource_md(ls: &LogSource) -> String {
    let parts: Vec<String> = [
        ("product", &ls.product),
        ("service", &ls.service),
        ("category", &ls.category),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: `{v}`")))
    .collect();
    if parts.is_empty() {
        "any".to_owned()
    } else {
        parts.join(", ")
    }
}

fn operator(op: ConditionOperator) -> &'static str {
    match op {
        ConditionOperator::Lt => "<",
        ConditionOperator::Lte => "≤",
        ConditionOperator::Gt => ">",
        ConditionOperator::Gte => "≥",
        ConditionOperator::Eq => "=",
        ConditionOperator::Neq => "≠",
    }
}

struct Section<'a> {
    title: &'a str,
    id: &'a str,
    kind: &'static str,
    level: Option<&'static str>,
    status: Option<&'static str>,
    source: String,
    tags: &'a [String],
    description: Option<&'a str>,
    falsepositives: &'a [String],
    response: Option<String>,
    references: &'a [String],
}

fn render(out: &mut String, s: &Section<'_>) {
    let _ = writeln!(out, "### {}\n", s.title);
    let _ = writeln!(out, "- id: `{}`", s.id);
    let _ = writeln!(out, "- kind: {}", s.kind);
    if let Some(level) = s.level {
        let _ = writeln!(out, "- level: {level}");
    }
    if let Some(status) = s.status {
        let _ = writeln!(out, "- status: {status}");
    }
    let _ = writeln!(out, "- {}", s.source);
    if !s.tags.is_empty() {
        let tags: Vec<String> = s.tags.iter().map(|t| tag_md(t)).collect();
        let _ = writeln!(out, "- tags: {}", tags.join(", "));
    }
    out.push('\n');
    if let Some(d) = s.description {
        let _ = writeln!(out, "{}\n", d.trim());
    }
    if let Some(r) = &s.response {
        let _ = writeln!(out, "**Response.** {r}\n");
    }
    if !s.falsepositives.is_empty() {
        out.push_str("**False positives.**\n\n");
        for fp in s.falsepositives {
            let _ = writeln!(out, "- {fp}");
        }
        out.push('\n');
    }
    if !s.references.is_empty() {
        out.push_str("**References.**\n\n");
        for r in s.references {
            let _ = writeln!(out, "- <{r}>");
        }
        out.push('\n');
    }
}

/// The markdown reference of the built-in pack: one section per rule file, one entry per rule
/// and correlation in it, in file order. `docs/detections.md` is this text.
pub fn pack_docs() -> String {
    let mut out = String::from(
        "# Built-in detections\n\n\
         <!-- Generated from crates/palisade-detect/rules by palisade_detect::pack_docs(); do not edit.\n     \
         Regenerate: PALISADE_UPDATE_DOCS=1 cargo test -p palisade-detect --test pack -->\n\n\
         Palisade ships these Sigma rules and runs them unless they are disabled. Kubernetes rules read\n\
         API server audit events (`audit.k8s.io/v1`, the pod-spec fields need the `Request` or\n\
         `RequestResponse` level for the resources they watch); AWS rules read CloudTrail records.\n\
         Tags link to [MITRE ATT&CK](https://attack.mitre.org/) and, as `tmk.ms-taNNNN`, to the\n\
         [Threat Matrix for Kubernetes](https://microsoft.github.io/Threat-Matrix-for-Kubernetes/).\n\
         Rules marked *informational* feed a correlation and raise no alert of their own.\n\n",
    );
    for (path, text) in RuleSet::builtin_files() {
        let mut set = RuleSet::new();
        set.add_yaml(path, text);
        let _ = writeln!(out, "## `{path}`\n");
        for r in &set.collection.rules {
            render(
                &mut out,
                &Section {
                    title: &r.title,
                    id: r.id.as_deref().unwrap_or(""),
                    kind: "detection",
                    level: r.level.map(|l| l.as_str()),
                    status: r.status.map(status_name),
                    source: format!("log source: {}", logsource_md(&r.logsource)),
                    tags: &r.tags,
                    description: r.description.as_deref(),
                    falsepositives: &r.falsepositives,
                    response: r
                        .custom_attributes
                        .get("response")
                        .and_then(|v| v.as_str())
                        .map(|s| s.trim().to_owned()),
                    references: &r.references,
                },
            );
        }
        for c in &set.collection.correlations {
            let condition = match &c.condition {
                CorrelationCondition::Threshold { predicates, .. } => predicates
                    .iter()
                    .map(|(op, n)| format!("count {} {n}", operator(*op)))
                    .collect::<Vec<_>>()
                    .join(" and "),
                _ => "all in order".to_owned(),
            };
            let condition = if c.correlation_type.as_str() == "temporal_ordered" {
                "all, in this order".to_owned()
            } else {
                condition
            };
            let source = format!(
                "correlation: `{}` of {} by {} within {}, when {condition}",
                c.correlation_type.as_str(),
                c.rules
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                c.group_by
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                c.timespan.original,
            );
            render(
                &mut out,
                &Section {
                    title: &c.title,
                    id: c.id.as_deref().unwrap_or(""),
                    kind: "correlation",
                    level: c.level.map(|l| l.as_str()),
                    status: c.status.map(status_name),
                    source,
                    tags: &c.tags,
                    description: c.description.as_deref(),
                    falsepositives: &c.falsepositives,
                    response: c
                        .custom_attributes
                        .get("response")
                        .and_then(|v| v.as_str())
                        .map(|s| s.trim().to_owned()),
                    references: &c.references,
                },
            );
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
