//! OpenVEX documents: statements that a product is `not_affected` by a vulnerability (with a
//! justification) or that it is `fixed`. Matches those statements cover are suppressed, with
//! the statement's reason, and still counted.

use std::path::Path;

use palisade_core::{Finding, Suppression, SuppressionSource};

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Vulnerability name and aliases.
    pub ids: Vec<String>,
    /// Product and subcomponent identifiers (package URLs).
    pub products: Vec<String>,
    pub status: String,
    pub reason: Option<String>,
}

/// A VEX document.
#[derive(Debug, Clone, Default)]
pub struct Vex {
    pub path: String,
    pub statements: Vec<Statement>,
}

/// Why a VEX file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct VexError {
    pub path: String,
    pub message: String,
}

fn ids_of(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Object(o) => {
            let mut ids: Vec<String> = ["name", "@id"]
                .iter()
                .filter_map(|k| o.get(*k).and_then(|x| x.as_str()).map(str::to_string))
                .collect();
            if let Some(a) = o.get("aliases").and_then(|a| a.as_array()) {
                ids.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)));
            }
            ids
        }
        _ => Vec::new(),
    }
}

fn products_of(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Object(o) => {
            for k in ["@id", "id"] {
                if let Some(id) = o.get(k).and_then(|x| x.as_str()) {
                    out.push(id.to_string());
                }
            }
            if let Some(ids) = o.get("identifiers").and_then(|i| i.as_object()) {
                for v in ids.values() {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                }
            }
            if let Some(subs) = o.get("subcomponents").and_then(|s| s.as_array()) {
                for s in subs {
                    products_of(s, out);
                }
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                products_of(x, out);
            }
        }
        _ => {}
    }
}

impl Vex {
    /// Reads an OpenVEX JSON document (v0.0.1 and v0.2.0 shapes).
    pub fn load(path: &Path) -> Result<Vex, VexError> {
        let display = path.display().to_string();
        let err = |message: String| VexError {
            path: display.clone(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
        Self::parse(&display, &bytes)
    }

    pub fn parse(path: &str, bytes: &[u8]) -> Result<Vex, VexError> {
        let err = |message: String| VexError {
            path: path.to_string(),
            message,
        };
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| err(format!("not JSON: {e}")))?;
        let statements = doc
            .get("statements")
            .and_then(|s| s.as_array())
            .ok_or_else(|| err("not an OpenVEX document: no `statements` list".into()))?;
        let mut out = Vec::new();
        for (i, st) in statements.iter().enumerate() {
            let ids = st.get("vulnerability").map(ids_of).unwrap_or_default();
            if ids.is_empty() {
                return Err(err(format!("statement {i} names no vulnerability")));
            }
            let status = st
                .get("status")
                .and_then(|s| s.as_str())
                .ok_or_else(|| err(format!("statement {i} has no status")))?
                .to_string();
            if !matches!(
                status.as_str(),
                "not_affected" | "affected" | "fixed" | "under_investigation"
            ) {
                return Err(err(format!(
                    "statement {i}: status {status:?} is not one of not_affected, affected, fixed, under_investigation"
                )));
            }
            let mut products = Vec::new();
            if let Some(p) = st.get("products") {
                products_of(p, &mut products);
            }
            let reason = ["impact_statement", "justification", "status_notes"]
                .iter()
                .find_map(|k| st.get(*k).and_then(|x| x.as_str()))
                .map(str::to_string);
            out.push(Statement {
                ids,
                products,
                status,
                reason,
            });
        }
        Ok(Vex {
            path: path.to_string(),
            statements: out,
        })
    }

    /// Suppresses the findings a `not_affected` or `fixed` statement covers. A statement
    /// covers a finding when it names one of the finding's identifiers and a product that
    /// is the finding's package (purls compared without qualifiers; a product without a
    /// version covers every version) or the scanned image (`image_purls`). Later statements
    /// win over earlier ones.
    pub fn apply(&self, findings: &mut [Finding], image_purls: &[String]) {
        for f in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
            let Some(v) = &f.vulnerability else { continue };
            let package = v.package.purl.clone();
            let covering = self.statements.iter().rev().find(|st| {
                st.ids
                    .iter()
                    .any(|id| f.ids().any(|fid| fid.eq_ignore_ascii_case(id)))
                    && st.products.iter().any(|p| {
                        purl_covers(p, &package)
                            || image_purls.iter().any(|img| purl_covers(p, img))
                    })
            });
            if let Some(st) = covering
                && matches!(st.status.as_str(), "not_affected" | "fixed")
            {
                f.suppressed = Some(Suppression {
                    source: SuppressionSource::Vex {
                        path: self.path.clone(),
                        status: st.status.clone(),
                    },
                    reason: st.reason.clone(),
                });
            }
        }
    }
}

/// Splits a purl into its base (type/namespace/name) and version, dropping qualifiers.
fn purl_parts(p: &str) -> (String, Option<String>) {
    let p = p.split(['?', '#']).next().unwrap_or(p);
    match p.rsplit_once('@') {
        Some((base, version)) if !version.contains('/') => {
            (base.to_ascii_lowercase(), Some(version.to_string()))
        }
        _ => (p.to_ascii_lowercase(), None),
    }
}

/// Does a VEX product purl cover a package purl?
fn purl_covers(product: &str, package: &str) -> bool {
    if product.is_empty() || package.is_empty() {
        return false;
    }
    let (pb, pv) = purl_parts(product);
    let (kb, kv) = purl_parts(package);
    pb == kb && (pv.is_none() || pv == kv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::{AffectedPackage, Location, Severity, Vulnerability};

    fn finding(id: &str, aliases: &[&str], purl: &str) -> Finding {
        Finding {
            rule_id: id.into(),
            severity: Severity::High,
            title: String::new(),
            message: String::new(),
            location: Location::file("x"),
            resource: None,
            field: None,
            fix: String::new(),
            controls: vec![],
            code: vec![],
            suppressed: None,
            fingerprint: None,
            vulnerability: Some(Box::new(Vulnerability {
                id: id.into(),
                aliases: aliases.iter().map(|s| s.to_string()).collect(),
                package: AffectedPackage {
                    name: "urllib3".into(),
                    version: "1.26.4".into(),
                    ecosystem: "PyPI".into(),
                    purl: purl.into(),
                    source: None,
                },
                fixed_versions: vec![],
                cvss: vec![],
                score: None,
                published: None,
                modified: None,
                references: vec![],
            })),
        }
    }

    #[test]
    fn statements_suppress_what_they_cover() {
        let doc = br#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[
            {"vulnerability":{"name":"CVE-2021-33503"},"products":[{"@id":"pkg:pypi/urllib3"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
            {"vulnerability":"GHSA-xxxx","products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:pypi/jinja2@2.11.2"}]}],"status":"fixed"},
            {"vulnerability":{"name":"CVE-2020-1"},"products":[{"@id":"pkg:pypi/urllib3@9.9"}],"status":"not_affected"}]}"#;
        let vex = Vex::parse("v.json", doc).unwrap();
        let mut fs = vec![
            finding("CVE-2021-33503", &[], "pkg:pypi/urllib3@1.26.4"),
            finding("CVE-2099-1", &["GHSA-xxxx"], "pkg:pypi/jinja2@2.11.2"),
            finding("CVE-2020-1", &[], "pkg:pypi/urllib3@1.26.4"),
        ];
        vex.apply(&mut fs, &[]);
        let s = fs[0].suppressed.as_ref().unwrap();
        assert_eq!(
            s.reason.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert!(fs[1].suppressed.is_some(), "alias and subcomponent match");
        assert!(fs[2].suppressed.is_none(), "another version is not covered");
        assert!(
            Vex::parse(
                "v",
                br#"{"statements":[{"vulnerability":"X","status":"maybe"}]}"#
            )
            .is_err()
        );
        assert!(Vex::parse("v", b"{}").is_err());
    }
}
