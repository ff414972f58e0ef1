//! SARIF 2.1.0 (OASIS), as GitHub code scanning and other SARIF viewers read it.
//!
//! Each rule becomes a `reportingDescriptor` with its full documentation as `help`; each
//! finding a `result` with `ruleId`, `level` and a physical location. Problems with inputs
//! become tool execution notifications, so a viewer shows them without mistaking them for
//! findings.

use serde_json::{Value, json};

use palisade_core::{Finding, ProblemKind, Report, RuleDoc, RuleInfo, Severity};

use crate::path_to_uri;

/// The numeric score GitHub uses to bucket `security-severity`.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info | Severity::Unknown => "0.0",
    }
}

fn rule_descriptor(rule: &RuleInfo) -> Value {
    let mut tags: Vec<String> = vec!["security".into(), rule.scanner.as_str().into()];
    tags.extend(rule.controls.iter().cloned());
    let help_text = match RuleDoc::parse(&rule.doc) {
        Ok(d) => format!("{}\n\n{}\n\nFix: {}", d.what, d.why, rule.fix),
        Err(_) => rule.fix.clone(),
    };
    json!({
        "id": rule.id,
        "name": pascal_case(&rule.title),
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.summary() },
        "help": { "text": help_text, "markdown": rule.doc },
        "helpUri": rule.help_uri(),
        "defaultConfiguration": { "level": rule.severity.sarif_level() },
        "properties": {
            "tags": tags,
            "precision": "very-high",
            "security-severity": security_severity(rule.severity),
        }
    })
}

fn pascal_case(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// FNV-1a, 64 bit: a fingerprint that stays the same across builds and platforms.
/// A finding's stable identity across reports and formats: its own fingerprint when the
/// scanner gave one (secrets), else a hash of rule, file, resource and message. The JSON report
/// and SARIF (`properties.fingerprint`) carry the same value, so `palisade serve` tracks a
/// finding as one whichever format was uploaded.
pub fn stable_fingerprint(f: &Finding) -> String {
    f.fingerprint.clone().unwrap_or_else(|| fingerprint(f))
}

fn fingerprint(f: &Finding) -> String {
    let mut h = palisade_core::hash::Fnv1a::new();
    let resource = f
        .resource
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    for part in [f.rule_id.as_str(), &f.location.path, &resource, &f.message] {
        h.bytes(part.as_bytes());
        h.byte(0);
    }
    let h = h.finish();
    format!("{h:016x}")
}

fn result(f: &Finding, rule_index: Option<usize>) -> Value {
    let mut region = serde_json::Map::new();
    if let Some(l) = f.location.start_line {
        region.insert("startLine".into(), json!(l));
        region.insert("endLine".into(), json!(f.location.end_line.unwrap_or(l)));
    }
    if let (Some(c), Some(e)) = (f.location.start_column, f.location.end_column) {
        region.insert("startColumn".into(), json!(c));
        region.insert("endColumn".into(), json!(e));
    }
    let snippet: Vec<&str> = f
        .code
        .iter()
        .filter(|c| c.highlight)
        .map(|c| c.text.as_str())
        .collect();
    if !snippet.is_empty() {
        region.insert("snippet".into(), json!({ "text": snippet.join("\n") }));
    }
    // Files inside an image are named relative to the image's root (the layer is in the
    // properties); other paths as they were reached.
    let uri = match &f.location.layer {
        Some(_) => path_to_uri(f.location.path.trim_start_matches('/')),
        None => path_to_uri(&f.location.path),
    };
    let mut physical = json!({ "artifactLocation": { "uri": uri } });
    if !region.is_empty() {
        physical["region"] = Value::Object(region);
    }
    let mut text = match &f.resource {
        Some(r) => format!("{r}: {}", f.message),
        None => f.message.clone(),
    };
    text.push_str(&format!(". Fix: {}", f.fix));
    let mut r = json!({
        "ruleId": f.rule_id,
        "level": f.severity.sarif_level(),
        "message": { "text": text },
        "locations": [ { "physicalLocation": physical } ],
        "partialFingerprints": { "palisadeFindingHash/v1": fingerprint(f) },
        "properties": { "severity": f.severity.as_str(), "fingerprint": stable_fingerprint(f) },
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    if let Some(field) = &f.field {
        r["properties"]["field"] = json!(field);
    }
    if let Some(layer) = &f.location.layer {
        r["properties"]["layer"] =
            json!({ "index": layer.index, "digest": layer.digest, "createdBy": layer.created_by });
    }
    if let Some(c) = &f.location.commit {
        r["properties"]["commit"] = json!({ "sha": c.sha, "author": c.author, "date": c.date });
    }
    if let Some(fp) = &f.fingerprint {
        r["properties"]["fingerprint"] = json!(fp);
    }
    if let Some(s) = &f.suppressed {
        let kind = match s.source {
            palisade_core::SuppressionSource::Annotation
            | palisade_core::SuppressionSource::InlineComment => "inSource",
            palisade_core::SuppressionSource::IgnoreFile { .. }
            | palisade_core::SuppressionSource::Vex { .. } => "external",
        };
        r["suppressions"] =
            json!([{ "kind": kind, "justification": s.reason.clone().unwrap_or_default() }]);
    }
    r
}

/// The results array, serialised one finding at a time so that a report with many findings
/// never exists twice in memory.
struct Results<'a>(&'a Report);

impl serde::Serialize for Results<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let index: std::collections::HashMap<&str, usize> = self
            .0
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let mut seq = s.serialize_seq(Some(self.0.findings.len()))?;
        for f in &self.0.findings {
            seq.serialize_element(&result(f, index.get(f.rule_id.as_str()).copied()))?;
        }
        seq.end()
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Value,
    invocations: Value,
    results: Results<'a>,
    column_kind: &'static str,
}

#[derive(serde::Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

pub fn render(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let rules: Vec<Value> = report.rules.iter().map(rule_descriptor).collect();
    let notifications: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            let level = match p.kind {
                ProblemKind::Error => "error",
                ProblemKind::Warning => "warning",
                ProblemKind::Skipped => "note",
            };
            let mut loc = json!({ "physicalLocation": { "artifactLocation": { "uri": path_to_uri(&p.path) } } });
            if let Some(l) = p.line {
                loc["physicalLocation"]["region"] = json!({ "startLine": l });
            }
            json!({ "level": level, "message": { "text": p.message }, "locations": [loc] })
        })
        .collect();
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            tool: json!({ "driver": {
                "name": "Palisade",
                "informationUri": "https://github.com/palisade-dev/palisade",
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "rules": rules,
            }}),
            invocations: json!([{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }]),
            results: Results(report),
            column_kind: "unicodeCodePoints",
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(
            pascal_case("Host PID namespace shared"),
            "HostPIDNamespaceShared"
        );
        assert_eq!(path_to_uri("my dir/a#b.yaml"), "my%20dir/a%23b.yaml");
    }
}
