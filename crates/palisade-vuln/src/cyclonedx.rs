//! CycloneDX 1.6 with vulnerabilities: the inventory's SBOM plus one `vulnerabilities` entry
//! per finding, each pointing at the component it affects.

use std::collections::BTreeMap;

use palisade_core::{Finding, Severity};
use palisade_sbom::Inventory;
use serde_json::{Value, json};

fn rating_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
        Severity::Unknown => "unknown",
    }
}

fn method(version: &str) -> &'static str {
    match version {
        "4.0" => "CVSSv4",
        "3.0" => "CVSSv3",
        _ => "CVSSv31",
    }
}

/// The SBOM of `inv` with `findings` (suppressed ones marked as not affected) as
/// vulnerabilities.
pub fn render(inv: &Inventory, findings: &[Finding], tool_version: &str, created: &str) -> String {
    let mut bom = palisade_sbom::output::cyclonedx_value(inv, tool_version, created);
    let refs: BTreeMap<String, String> = bom["components"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    Some((
                        c.get("purl")?.as_str()?.to_string(),
                        c.get("bom-ref")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    // One entry per vulnerability id, listing every component it affects.
    let mut by_id: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.vulnerability.is_some()) {
        by_id.entry(f.rule_id.as_str()).or_default().push(f);
    }
    let mut vulns = Vec::new();
    for (id, fs) in by_id {
        let first = fs[0];
        let v = first.vulnerability.as_ref().expect("filtered above");
        let mut ratings: Vec<Value> = v
            .cvss
            .iter()
            .map(|c| {
                json!({
                    "score": c.score,
                    "severity": rating_severity(crate::cvss::rating(c.score)),
                    "method": method(&c.version),
                    "vector": c.vector,
                })
            })
            .collect();
        if ratings.is_empty() {
            ratings.push(json!({ "severity": rating_severity(first.severity) }));
        }
        let affects: Vec<Value> = fs
            .iter()
            .filter_map(|f| {
                let purl = &f.vulnerability.as_ref()?.package.purl;
                let r = refs.get(purl).cloned().unwrap_or_else(|| purl.clone());
                Some(json!({ "ref": r }))
            })
            .collect();
        let mut entry = json!({
            "bom-ref": format!("vuln:{id}"),
            "id": id,
            "source": { "name": "OSV", "url": format!("https://osv.dev/vulnerability/{id}") },
            "ratings": ratings,
            "description": first.title,
            "recommendation": first.fix,
            "affects": affects,
        });
        if !v.aliases.is_empty() {
            entry["references"] = Value::Array(
                v.aliases
                    .iter()
                    .map(|a| json!({ "id": a, "source": { "name": "OSV", "url": format!("https://osv.dev/vulnerability/{a}") } }))
                    .collect(),
            );
        }
        if !v.references.is_empty() {
            entry["advisories"] =
                Value::Array(v.references.iter().map(|u| json!({ "url": u })).collect());
        }
        if let Some(p) = &v.published {
            entry["published"] = json!(p);
        }
        if let Some(m) = &v.modified {
            entry["updated"] = json!(m);
        }
        if let Some(s) = fs.iter().find_map(|f| f.suppressed.as_ref()) {
            let mut analysis = json!({ "state": "not_affected" });
            if let Some(reason) = &s.reason {
                analysis["detail"] = json!(reason);
            }
            entry["analysis"] = analysis;
        }
        vulns.push(entry);
    }
    bom["vulnerabilities"] = Value::Array(vulns);
    let mut s = serde_json::to_string_pretty(&bom).expect("BOMs serialise");
    s.push('\n');
    s
}
