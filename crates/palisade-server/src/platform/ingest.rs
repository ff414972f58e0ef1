//! Reading uploaded reports: Palisade JSON, SARIF 2.1.0 (from any tool) and CycloneDX JSON
//! (an SBOM, with or without `vulnerabilities`), told apart by their content.
//!
//! Everything here is pure: bytes in, a [`Parsed`] report or an [`ApiError`] naming the
//! problem out. Limits are checked before the work they bound: the body size (also after
//! gzip decompression, so a small bomb cannot inflate past it), the JSON nesting depth (by
//! a scan of the bytes before parsing), and the number of findings. Shape errors name the
//! JSON path (`runs[0].results[3].ruleId`), syntax errors the line and column.
//!
//! What each format gives:
//!
//! | | findings | scanners it speaks for | asset | SBOM |
//! |---|---|---|---|---|
//! | Palisade JSON | `findings[]` (suppressed ones skipped) | by `scan`: config → kubernetes, dockerfile, custom; secret → secret; vuln → vulnerability | `targets[0]` (image, directory) | — |
//! | SARIF | `runs[].results[]` of kind `fail`, unsuppressed | the tool (`trivy`, `checkov`); Palisade's SARIF: the scanners its rules name | Trivy's image properties, `versionControlProvenance` | — |
//! | CycloneDX | one per vulnerability and affected component | `<tool>:vulnerability` (Palisade: `vulnerability`) when `vulnerabilities` is present, else none | `metadata.component` (image digest) | the document |
//!
//! A finding's fingerprint is the report's own (`fingerprint`, SARIF `partialFingerprints`)
//! when it has one, else a hash of rule id, location and package.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use palisade_store::{AssetKind, NewFinding};
use serde_json::{Value, json};

use super::error::ApiError;

/// Default limits.
pub const MAX_FINDINGS: usize = 1_000_000;
pub const MAX_DEPTH: usize = 64;

/// What an upload may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes, before and after decompression.
    pub max_bytes: usize,
    pub max_findings: usize,
    /// Nesting of arrays and objects.
    pub max_depth: usize,
}

/// The asset a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    pub kind: AssetKind,
    /// `<kind>:<identity>`.
    pub key: String,
    pub name: String,
}

impl AssetRef {
    pub fn new(kind: AssetKind, identity: &str, name: &str) -> AssetRef {
        AssetRef {
            kind,
            key: format!("{}:{}", kind.as_str(), identity),
            name: clip(name, 512),
        }
    }
}

/// A report, read.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// `palisade-json`, `sarif`, `cyclonedx`.
    pub format: &'static str,
    pub scanners: Vec<String>,
    /// What the report says it is about, if it says.
    pub asset: Option<AssetRef>,
    pub sbom: Option<String>,
    pub findings: Vec<NewFinding>,
}

/// Decompresses a gzip body (per `Content-Encoding`, or its magic bytes), refusing to
/// inflate past `max_bytes`.
pub fn decode(
    body: Vec<u8>,
    content_encoding: Option<&str>,
    max_bytes: usize,
) -> Result<Vec<u8>, ApiError> {
    let encoding = content_encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let gzip = match encoding.as_str() {
        "" | "identity" => body.starts_with(&[0x1f, 0x8b]),
        "gzip" | "x-gzip" => true,
        other => {
            return Err(ApiError::unsupported(format!(
                "Content-Encoding {other:?} is not supported: send gzip or no encoding"
            )));
        }
    };
    if !gzip {
        return Ok(body);
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max_bytes));
    let mut reader = flate2::read::MultiGzDecoder::new(&body[..]).take(max_bytes as u64 + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| ApiError::bad_request(format!("the gzip body cannot be decompressed: {e}")))?;
    if out.len() > max_bytes {
        return Err(ApiError::too_large(format!(
            "the body is over the {} MiB limit once decompressed (max_upload_mb)",
            max_bytes >> 20
        )));
    }
    Ok(out)
}

/// Checks that JSON nests no deeper than `max`, without parsing it; on failure returns the
/// 1-based line and column where the limit was crossed.
pub fn check_depth(bytes: &[u8], max: usize) -> Result<(), (usize, usize)> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut col) = (1usize, 0usize);
    for &b in bytes {
        if b == b'\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err((line, col));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses an upload.
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Parsed, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        None => return Err(ApiError::bad_request("the body is empty: send a report")),
        Some(b'{') => {}
        Some(b'<') => {
            return Err(ApiError::unsupported(
                "this looks like XML; send a Palisade JSON report, SARIF 2.1.0 or CycloneDX JSON",
            ));
        }
        Some(_) if bytes.starts_with(&[0x1f, 0x8b]) => {
            return Err(ApiError::bad_request("gzip inside gzip is not accepted"));
        }
        Some(b'[') => {
            return Err(ApiError::unprocessable(
                "the report is a JSON array; send one JSON object (a Palisade JSON report, SARIF log or CycloneDX BOM)",
            ));
        }
        Some(_) => {
            return Err(ApiError::unsupported(
                "the body is not JSON; send a Palisade JSON report, SARIF 2.1.0 or CycloneDX JSON",
            ));
        }
    }
    if let Err((line, column)) = check_depth(bytes, limits.max_depth) {
        return Err(ApiError::bad_request(format!(
            "JSON nested deeper than {} levels",
            limits.max_depth
        ))
        .with_detail(json!({ "line": line, "column": column })));
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ApiError::bad_request(format!("invalid JSON: {msg}"))
            .with_detail(json!({ "line": e.line(), "column": e.column() }))
    })?;
    let Some(obj) = doc.as_object() else {
        return Err(ApiError::unprocessable("the report is not a JSON object"));
    };
    let root = &doc;
    let mut parsed = if obj.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let text = String::from_utf8_lossy(bytes).into_owned();
        cyclonedx(root, text, limits)?
    } else if obj.contains_key("runs")
        && (obj.contains_key("version")
            || obj
                .get("$schema")
                .and_then(Value::as_str)
                .is_some_and(|s| s.contains("sarif")))
    {
        sarif(root, limits)?
    } else if obj.contains_key("schema_version") && obj.contains_key("findings") {
        palisade_json(root, limits)?
    } else if obj.contains_key("spdxVersion") {
        return Err(ApiError::unsupported(
            "SPDX documents are not accepted; send the SBOM as CycloneDX JSON",
        ));
    } else if obj.get("bomFormat").is_some() {
        return Err(ApiError::unsupported(
            "bomFormat is not \"CycloneDX\"; send CycloneDX JSON",
        ));
    } else {
        return Err(ApiError::unsupported(
            "unrecognised report: expected a Palisade JSON report (schema_version, findings), SARIF (version, runs) or CycloneDX (bomFormat)",
        ));
    };
    parsed.scanners.sort();
    parsed.scanners.dedup();
    Ok(parsed)
}

fn shape(path: &str, what: &str) -> ApiError {
    ApiError::unprocessable(format!("{path}: {what}")).with_detail(json!({ "path": path }))
}

fn too_many(limits: &Limits) -> ApiError {
    ApiError::too_large(format!(
        "the report has more than {} findings",
        limits.max_findings
    ))
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// An optional array: absent or null is empty, anything else that is not an array is an error.
fn array_at<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a [Value], ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(shape(&join(path, key), "expected an array")),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// At most `n` characters.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The first line of a text, clipped.
fn first_line(s: &str, n: usize) -> String {
    clip(s.lines().next().unwrap_or("").trim(), n)
}

/// One of the six severities.
pub fn severity(s: &str) -> &'static str {
    match s.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => "CRITICAL",
        "HIGH" => "HIGH",
        "MEDIUM" | "MODERATE" => "MEDIUM",
        "LOW" => "LOW",
        "INFO" | "INFORMATIONAL" | "NONE" | "NOTE" => "INFO",
        _ => "UNKNOWN",
    }
}

/// A CVSS-style score (0–10) as a severity, as GitHub maps SARIF `security-severity`.
pub fn severity_of_score(score: f64) -> &'static str {
    if !score.is_finite() {
        "UNKNOWN"
    } else if score >= 9.0 {
        "CRITICAL"
    } else if score >= 7.0 {
        "HIGH"
    } else if score >= 4.0 {
        "MEDIUM"
    } else if score > 0.0 {
        "LOW"
    } else {
        "INFO"
    }
}

/// SARIF `level` as a severity, when no score says better.
pub fn severity_of_level(level: &str) -> &'static str {
    match level {
        "error" => "HIGH",
        "warning" => "MEDIUM",
        "note" => "LOW",
        "none" => "INFO",
        _ => "UNKNOWN",
    }
}

/// A stable fingerprint for findings that carry none: rule, where, and which package.
pub fn fingerprint(rule_id: &str, location: &str, package: &str) -> String {
    let text = format!("v1\u{0}{rule_id}\u{0}{location}\u{0}{package}");
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    palisade_store::hex(&d.as_ref()[..16])
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

// ---- Palisade JSON -------------------------------------------------------------------------

fn palisade_json(root: &Value, limits: Limits) -> Result<Parsed, ApiError> {
    let version = root
        .get("schema_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| shape("schema_version", "expected a positive integer"))?;
    if version != 1 {
        return Err(ApiError::unprocessable(format!(
            "schema_version {version} is not one this server reads (1); upgrade the server"
        )));
    }
    let scan = str_at(root, "scan").unwrap_or("");
    let rules: BTreeMap<&str, &str> = array_at(root, "rules", "")?
        .iter()
        .filter_map(|r| Some((str_at(r, "id")?, str_at(r, "scanner")?)))
        .collect();
    let findings_in = array_at(root, "findings", "")?;
    if findings_in.len() > limits.max_findings {
        return Err(too_many(&limits));
    }
    let mut scanners: BTreeSet<String> = match scan {
        "config" => ["kubernetes", "dockerfile", "custom"]
            .map(String::from)
            .into(),
        "secret" | "secrets" => ["secret".to_string()].into(),
        "vuln" => ["vulnerability".to_string()].into(),
        _ => BTreeSet::new(),
    };
    let mut findings = Vec::with_capacity(findings_in.len());
    for (i, f) in findings_in.iter().enumerate() {
        let path = format!("findings[{i}]");
        if !f.is_object() {
            return Err(shape(&path, "expected an object"));
        }
        if f.get("suppressed").is_some_and(|s| !s.is_null()) {
            continue;
        }
        let rule_id = str_at(f, "rule_id")
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| shape(&join(&path, "rule_id"), "expected a non-empty string"))?;
        let sev = match f.get("severity") {
            Some(Value::String(s)) => severity(s),
            None | Some(Value::Null) => "UNKNOWN",
            Some(_) => return Err(shape(&join(&path, "severity"), "expected a string")),
        };
        let loc = f.get("location").unwrap_or(&Value::Null);
        let file = str_at(loc, "path").unwrap_or("");
        let line = loc.get("start_line").and_then(Value::as_u64);
        let location = match line {
            Some(l) => format!("{file}:{l}"),
            None => file.to_string(),
        };
        let vuln = f.get("vulnerability").filter(|v| v.is_object());
        let package = vuln
            .and_then(|v| v.get("package"))
            .and_then(|p| str_at(p, "name"));
        let installed = vuln
            .and_then(|v| v.get("package"))
            .and_then(|p| str_at(p, "version"));
        let fixed = vuln
            .and_then(|v| v.get("fixed_versions"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str);
        let scanner = match rules.get(rule_id) {
            Some(s) => (*s).to_string(),
            None if vuln.is_some() => "vulnerability".into(),
            None => match scan {
                "secret" | "secrets" => "secret".into(),
                "vuln" => "vulnerability".into(),
                _ if rule_id.starts_with("PAL-K8S-") => "kubernetes".into(),
                _ if rule_id.starts_with("PAL-DF-") => "dockerfile".into(),
                _ if rule_id.starts_with("PAL-SEC-") => "secret".into(),
                _ => "custom".into(),
            },
        };
        scanners.insert(scanner.clone());
        let fp = match str_at(f, "fingerprint").filter(|s| !s.is_empty()) {
            Some(fp) => fp.to_string(),
            None => {
                // Where, as precisely as the finding says without depending on line numbers
                // when it names a resource and field (edits above it do not make it new).
                let resource = f.get("resource").filter(|r| r.is_object());
                let field = str_at(f, "field");
                let place = match (resource, field) {
                    (Some(r), Some(field)) => format!(
                        "{file}#{}/{}/{}#{field}",
                        str_at(r, "kind").unwrap_or(""),
                        str_at(r, "namespace").unwrap_or(""),
                        str_at(r, "name").unwrap_or("")
                    ),
                    _ => location.clone(),
                };
                let pkg = format!("{}@{}", package.unwrap_or(""), installed.unwrap_or(""));
                fingerprint(rule_id, &place, &pkg)
            }
        };
        findings.push(NewFinding {
            fingerprint: fp,
            rule_id: clip(rule_id, 256),
            scanner,
            severity: sev.into(),
            title: clip(str_at(f, "title").unwrap_or(rule_id), 512),
            message: clip(str_at(f, "message").unwrap_or(""), 8192),
            location: clip(&location, 2048),
            package: package.map(|s| clip(s, 512)),
            installed_version: installed.map(|s| clip(s, 256)),
            fixed_version: fixed.map(|s| clip(s, 256)),
            raw: f.clone(),
        });
    }
    let target = array_at(root, "targets", "")?
        .first()
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty());
    let target_kind = array_at(root, "files", "")?
        .first()
        .and_then(|f| str_at(f, "kind"))
        .unwrap_or("");
    let asset = target.map(|t| match (scan, target_kind) {
        ("vuln", "image") => AssetRef::new(AssetKind::Image, t, t),
        ("vuln", "sbom") => AssetRef::new(AssetKind::Other, t, t),
        _ if t == "-" || t == "<stdin>" => {
            AssetRef::new(AssetKind::Other, "stdin", "standard input")
        }
        _ => AssetRef::new(AssetKind::Repository, t, t),
    });
    Ok(Parsed {
        format: "palisade-json",
        scanners: scanners.into_iter().collect(),
        asset,
        sbom: None,
        findings,
    })
}

// ---- SARIF ---------------------------------------------------------------------------------

/// Scanners Palisade's SARIF names in its rule tags.
const PALISADE_SCANNERS: [&str; 5] = [
    "kubernetes",
    "dockerfile",
    "secret",
    "vulnerability",
    "custom",
];

fn tool_scanner(name: &str) -> String {
    let s: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() { "unknown".into() } else { s }
}

fn sarif(root: &Value, limits: Limits) -> Result<Parsed, ApiError> {
    let version = str_at(root, "version").unwrap_or("");
    if version != "2.1.0" {
        return Err(ApiError::unprocessable(format!(
            "SARIF version {version:?} is not supported: send SARIF 2.1.0"
        ))
        .with_detail(json!({ "path": "version" })));
    }
    let runs = match root.get("runs") {
        Some(Value::Array(a)) => a,
        _ => return Err(shape("runs", "expected an array")),
    };
    let mut scanners = BTreeSet::new();
    let mut findings = Vec::new();
    let mut asset = None;
    for (ri, run) in runs.iter().enumerate() {
        let rpath = format!("runs[{ri}]");
        let driver = run
            .get("tool")
            .and_then(|t| t.get("driver"))
            .filter(|d| d.is_object())
            .ok_or_else(|| shape(&join(&rpath, "tool.driver"), "expected an object"))?;
        let tool = str_at(driver, "name").unwrap_or("unknown");
        let is_palisade = tool.eq_ignore_ascii_case("palisade");
        let rules = array_at(driver, "rules", &join(&rpath, "tool.driver"))?;
        let mut by_id: BTreeMap<&str, &Value> = BTreeMap::new();
        for r in rules {
            if let Some(id) = str_at(r, "id") {
                by_id.entry(id).or_insert(r);
            }
        }
        if let Some(Value::Array(exts)) = run.get("tool").and_then(|t| t.get("extensions")) {
            for ext in exts {
                if let Some(Value::Array(rs)) = ext.get("rules") {
                    for r in rs {
                        if let Some(id) = str_at(r, "id") {
                            by_id.entry(id).or_insert(r);
                        }
                    }
                }
            }
        }
        if !is_palisade {
            scanners.insert(tool_scanner(tool));
        }
        if asset.is_none() {
            asset = sarif_asset(run);
        }
        let results = array_at(run, "results", &rpath)?;
        for (i, res) in results.iter().enumerate() {
            let path = format!("{rpath}.results[{i}]");
            if !res.is_object() {
                return Err(shape(&path, "expected an object"));
            }
            if str_at(res, "kind").is_some_and(|k| k != "fail") {
                continue;
            }
            let suppressed = res
                .get("suppressions")
                .and_then(Value::as_array)
                .is_some_and(|s| {
                    s.iter()
                        .any(|x| !matches!(str_at(x, "status"), Some("rejected" | "underReview")))
                });
            if suppressed {
                continue;
            }
            if findings.len() >= limits.max_findings {
                return Err(too_many(&limits));
            }
            let index_rule = res
                .get("ruleIndex")
                .and_then(Value::as_u64)
                .and_then(|i| rules.get(usize::try_from(i).ok()?));
            let rule_id = str_at(res, "ruleId")
                .or_else(|| res.get("rule").and_then(|r| str_at(r, "id")))
                .or_else(|| index_rule.and_then(|r| str_at(r, "id")))
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| {
                    shape(
                        &join(&path, "ruleId"),
                        "no rule id (ruleId, rule.id or ruleIndex)",
                    )
                })?;
            let rule = by_id.get(rule_id).copied().or(index_rule);
            let level = str_at(res, "level")
                .or_else(|| {
                    rule.and_then(|r| r.get("defaultConfiguration"))
                        .and_then(|c| str_at(c, "level"))
                })
                .unwrap_or("warning");
            let named = res
                .get("properties")
                .and_then(|p| str_at(p, "severity"))
                .map(severity)
                .filter(|s| *s != "UNKNOWN");
            let score = number(
                res.get("properties")
                    .and_then(|p| p.get("security-severity")),
            )
            .or_else(|| {
                number(
                    rule.and_then(|r| r.get("properties"))
                        .and_then(|p| p.get("security-severity")),
                )
            });
            let sev = named
                .or(score.map(severity_of_score))
                .unwrap_or_else(|| severity_of_level(level));
            let message = res
                .get("message")
                .and_then(|m| str_at(m, "text").or_else(|| str_at(m, "markdown")))
                .or_else(|| {
                    rule.and_then(|r| r.get("shortDescription"))
                        .and_then(|d| str_at(d, "text"))
                })
                .unwrap_or("");
            let title = rule
                .and_then(|r| r.get("shortDescription"))
                .and_then(|d| str_at(d, "text"))
                .or_else(|| rule.and_then(|r| str_at(r, "name")))
                .map(|t| first_line(t, 512))
                .unwrap_or_else(|| first_line(message, 200));
            let phys = res
                .get("locations")
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .and_then(|l| l.get("physicalLocation"));
            let uri = phys
                .and_then(|p| p.get("artifactLocation"))
                .and_then(|a| str_at(a, "uri"))
                .map(percent_decode);
            let line = phys
                .and_then(|p| p.get("region"))
                .and_then(|r| r.get("startLine"))
                .and_then(Value::as_u64);
            let location = match (uri, line) {
                (Some(u), Some(l)) => format!("{u}:{l}"),
                (Some(u), None) => u,
                (None, _) => res
                    .get("locations")
                    .and_then(Value::as_array)
                    .and_then(|l| l.first())
                    .and_then(|l| l.get("logicalLocations"))
                    .and_then(Value::as_array)
                    .and_then(|l| l.first())
                    .and_then(|l| str_at(l, "fullyQualifiedName").or_else(|| str_at(l, "name")))
                    .unwrap_or("")
                    .to_string(),
            };
            let scanner = if is_palisade {
                let tags = rule
                    .and_then(|r| r.get("properties"))
                    .and_then(|p| p.get("tags"))
                    .and_then(Value::as_array);
                let tagged = tags.and_then(|t| {
                    t.iter()
                        .filter_map(Value::as_str)
                        .find(|t| PALISADE_SCANNERS.contains(t))
                });
                let s = match tagged {
                    Some(s) => s,
                    None if rule_id.starts_with("PAL-K8S-") => "kubernetes",
                    None if rule_id.starts_with("PAL-DF-") => "dockerfile",
                    None if rule_id.starts_with("PAL-SEC-") => "secret",
                    None => "vulnerability",
                };
                scanners.insert(s.to_string());
                s.to_string()
            } else {
                tool_scanner(tool)
            };
            let given = res
                .get("properties")
                .and_then(|p| str_at(p, "fingerprint"))
                .map(String::from)
                .or_else(|| first_fingerprint(res.get("partialFingerprints")))
                .or_else(|| first_fingerprint(res.get("fingerprints")));
            let fp = given.unwrap_or_else(|| fingerprint(rule_id, &location, ""));
            findings.push(NewFinding {
                fingerprint: clip(&fp, 256),
                rule_id: clip(rule_id, 256),
                scanner,
                severity: sev.into(),
                title,
                message: clip(message, 8192),
                location: clip(&location, 2048),
                package: None,
                installed_version: None,
                fixed_version: None,
                raw: res.clone(),
            });
        }
    }
    Ok(Parsed {
        format: "sarif",
        scanners: scanners.into_iter().collect(),
        asset,
        sbom: None,
        findings,
    })
}

/// `key/value` of the first fingerprint (by key), so the choice is stable.
fn first_fingerprint(v: Option<&Value>) -> Option<String> {
    let m = v?.as_object()?;
    let (k, v) = m
        .iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?)))
        .min_by(|a, b| a.0.cmp(b.0))?;
    Some(format!("{k}/{v}"))
}

/// What a SARIF run says it scanned: Trivy's image properties, or the repository.
fn sarif_asset(run: &Value) -> Option<AssetRef> {
    let props = run.get("properties");
    let image = props.and_then(|p| str_at(p, "imageName"));
    let digest = props
        .and_then(|p| p.get("repoDigests"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .and_then(|d| d.split_once('@').map(|(_, d)| d))
        .or_else(|| props.and_then(|p| str_at(p, "imageID")));
    match (image, digest) {
        (Some(name), Some(d)) => return Some(AssetRef::new(AssetKind::Image, d, name)),
        (Some(name), None) => return Some(AssetRef::new(AssetKind::Image, name, name)),
        _ => {}
    }
    let repo = run
        .get("versionControlProvenance")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|v| str_at(v, "repositoryUri"))
        .filter(|s| !s.is_empty())?;
    let name = repo
        .trim_end_matches(".git")
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("git@");
    Some(AssetRef::new(AssetKind::Repository, name, name))
}

/// Undoes `%XX` escapes in a URI path (invalid ones stay as written).
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

// ---- CycloneDX -----------------------------------------------------------------------------

/// `bom-ref` → (name, version, purl) of every component, nested ones included.
fn collect_components<'a>(
    list: &'a [Value],
    out: &mut BTreeMap<&'a str, (&'a str, Option<&'a str>, Option<&'a str>)>,
) {
    for c in list {
        if let Some(r) = str_at(c, "bom-ref") {
            out.insert(
                r,
                (
                    str_at(c, "name").unwrap_or(r),
                    str_at(c, "version"),
                    str_at(c, "purl"),
                ),
            );
        }
        if let Some(Value::Array(inner)) = c.get("components") {
            collect_components(inner, out);
        }
    }
}

/// The tool that wrote a BOM: `metadata.tools` as 1.5+ (`{components: [...]}`) or 1.4
/// (`[{vendor, name}]`) write it.
fn bom_tool(root: &Value) -> Option<String> {
    let tools = root.get("metadata")?.get("tools")?;
    let list = match tools {
        Value::Array(a) => a.as_slice(),
        Value::Object(o) => o
            .get("components")
            .and_then(Value::as_array)
            .map(Vec::as_slice)?,
        _ => return None,
    };
    list.iter()
        .find_map(|t| str_at(t, "name"))
        .map(tool_scanner)
}

fn cyclonedx(root: &Value, text: String, limits: Limits) -> Result<Parsed, ApiError> {
    match root.get("specVersion").and_then(Value::as_str) {
        Some(v) if v.starts_with("1.") => {}
        Some(v) => {
            return Err(ApiError::unprocessable(format!(
                "CycloneDX specVersion {v:?} is not supported: send 1.x"
            )));
        }
        None => return Err(shape("specVersion", "expected a string such as \"1.6\"")),
    }
    let mut components = BTreeMap::new();
    collect_components(array_at(root, "components", "")?, &mut components);
    if let Some(c) = root.get("metadata").and_then(|m| m.get("component")) {
        collect_components(std::slice::from_ref(c), &mut components);
    }
    let tool = bom_tool(root).unwrap_or_else(|| "unknown".into());
    let scanner = if tool == "palisade" {
        "vulnerability".to_string()
    } else {
        format!("{tool}:vulnerability")
    };
    let has_vulns = root.get("vulnerabilities").is_some_and(|v| !v.is_null());
    let mut findings = Vec::new();
    for (i, v) in array_at(root, "vulnerabilities", "")?.iter().enumerate() {
        let path = format!("vulnerabilities[{i}]");
        if !v.is_object() {
            return Err(shape(&path, "expected an object"));
        }
        let id = str_at(v, "id")
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| shape(&join(&path, "id"), "expected a non-empty string"))?;
        if matches!(
            v.get("analysis").and_then(|a| str_at(a, "state")),
            Some("not_affected" | "false_positive" | "resolved" | "resolved_with_pedigree")
        ) {
            continue;
        }
        let ratings = array_at(v, "ratings", &path)?;
        let rank = |s: &str| {
            ["UNKNOWN", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
                .iter()
                .position(|x| *x == s)
                .unwrap_or(0)
        };
        let named = ratings
            .iter()
            .filter_map(|r| str_at(r, "severity"))
            .map(severity)
            .filter(|s| *s != "UNKNOWN")
            .max_by_key(|s| rank(s));
        let scored = ratings
            .iter()
            .filter_map(|r| number(r.get("score")))
            .map(severity_of_score)
            .max_by_key(|s| rank(s));
        let sev = named.or(scored).unwrap_or("UNKNOWN");
        let description = str_at(v, "description")
            .or_else(|| str_at(v, "detail"))
            .unwrap_or("");
        let title = if description.is_empty() {
            id.to_string()
        } else {
            first_line(description, 300)
        };
        let affects = array_at(v, "affects", &path)?;
        let targets: Vec<Option<&Value>> = if affects.is_empty() {
            vec![None]
        } else {
            affects.iter().map(Some).collect()
        };
        for a in targets {
            if findings.len() >= limits.max_findings {
                return Err(too_many(&limits));
            }
            let r = a.and_then(|a| str_at(a, "ref")).unwrap_or("");
            let (name, version, purl) = components.get(r).copied().unwrap_or((r, None, None));
            let fixed = a
                .and_then(|a| a.get("versions"))
                .and_then(Value::as_array)
                .and_then(|vs| {
                    vs.iter()
                        .find(|x| str_at(x, "status") == Some("unaffected"))
                        .and_then(|x| str_at(x, "version"))
                });
            let location = purl.unwrap_or(name);
            findings.push(NewFinding {
                fingerprint: fingerprint(id, location, ""),
                rule_id: clip(id, 256),
                scanner: scanner.clone(),
                severity: sev.into(),
                title: title.clone(),
                message: clip(description, 8192),
                location: clip(location, 2048),
                package: (!name.is_empty()).then(|| clip(name, 512)),
                installed_version: version.map(|s| clip(s, 256)),
                fixed_version: fixed.map(|s| clip(s, 256)),
                raw: v.clone(),
            });
        }
    }
    let asset = root
        .get("metadata")
        .and_then(|m| m.get("component"))
        .and_then(bom_asset);
    Ok(Parsed {
        format: "cyclonedx",
        scanners: if has_vulns { vec![scanner] } else { Vec::new() },
        asset,
        sbom: Some(text),
        findings,
    })
}

/// The asset `metadata.component` describes: images by digest (the version Syft and Palisade
/// write, a `RepoDigest` property as Trivy writes it, or the purl's digest).
fn bom_asset(c: &Value) -> Option<AssetRef> {
    let name = str_at(c, "name").filter(|n| !n.trim().is_empty())?;
    let kind = str_at(c, "type").unwrap_or("");
    let props: Vec<(&str, &str)> = c
        .get("properties")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| Some((str_at(p, "name")?, str_at(p, "value")?)))
                .collect()
        })
        .unwrap_or_default();
    if kind == "container" {
        let digest = str_at(c, "version")
            .filter(|v| v.starts_with("sha256:") || v.starts_with("sha512:"))
            .map(String::from)
            .or_else(|| {
                props
                    .iter()
                    .find(|(k, _)| k.ends_with("RepoDigest"))
                    .and_then(|(_, v)| v.split_once('@'))
                    .map(|(_, d)| d.to_string())
            })
            .or_else(|| {
                let purl = str_at(c, "purl")?;
                let at = purl.split('?').next()?.rsplit_once('@')?.1;
                let d = percent_decode(at);
                d.starts_with("sha256:").then_some(d)
            })
            .or_else(|| {
                props
                    .iter()
                    .find(|(k, _)| k.ends_with("ImageID") || *k == "palisade:image:config-digest")
                    .map(|(_, v)| v.to_string())
            });
        return Some(match digest {
            Some(d) => AssetRef::new(AssetKind::Image, &d, name),
            None => AssetRef::new(AssetKind::Image, name, name),
        });
    }
    let kind = match kind {
        "file" | "application" if props.iter().any(|(_, v)| *v == "filesystem") => {
            AssetKind::Repository
        }
        "file" => AssetKind::Repository,
        _ => AssetKind::Other,
    };
    Some(AssetRef::new(kind, name, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_bytes: 1 << 20,
        max_findings: 100,
        max_depth: 16,
    };

    #[test]
    fn depth_is_checked_before_parsing() {
        assert!(check_depth(b"{\"a\": [[[1]]]}", 4).is_ok());
        assert_eq!(check_depth(b"{\"a\":\n [[[[1]]]]}", 4), Err((2, 5)));
        // Brackets inside strings do not count.
        assert!(check_depth(br#"{"a": "[[[[[[[[\"[[["}"#, 2).is_ok());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = parse(format!("{{\"x\":{deep}}}").as_bytes(), LIMITS).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.error.contains("nested deeper than 16"), "{}", e.error);
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let e = parse(
            b"{\n  \"schema_version\": 1,\n  \"findings\": [,]\n}",
            LIMITS,
        )
        .unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.error.starts_with("invalid JSON: "), "{}", e.error);
        assert_eq!(e.detail.unwrap()["line"], 3);
        assert_eq!(parse(b"<xml/>", LIMITS).unwrap_err().status.as_u16(), 415);
        assert_eq!(
            parse(b"{\"hello\": 1}", LIMITS)
                .unwrap_err()
                .status
                .as_u16(),
            415
        );
        assert_eq!(
            parse(b"{\"spdxVersion\": \"SPDX-2.3\"}", LIMITS)
                .unwrap_err()
                .status
                .as_u16(),
            415
        );
        assert_eq!(parse(b"   ", LIMITS).unwrap_err().status.as_u16(), 400);
    }

    #[test]
    fn palisade_shape_errors_name_the_path() {
        let e = parse(br#"{"schema_version":1,"scan":"config","findings":[{"rule_id":"A"},{"severity":"HIGH"}]}"#, LIMITS).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.detail.unwrap()["path"], "findings[1].rule_id");
        let e = parse(br#"{"schema_version":7,"findings":[]}"#, LIMITS).unwrap_err();
        assert!(e.error.contains("schema_version 7"), "{}", e.error);
    }

    #[test]
    fn palisade_findings_and_scanners() {
        let doc = br#"{"schema_version":1,"scan":"config","targets":["deploy"],
          "findings":[
            {"rule_id":"PAL-K8S-001","severity":"CRITICAL","title":"Privileged","message":"m",
             "location":{"path":"deploy/a.yaml","start_line":3},
             "resource":{"kind":"Deployment","name":"web","namespace":"shop"},"field":"spec.x"},
            {"rule_id":"PAL-DF-002","severity":"LOW","title":"t","message":"m","location":{"path":"Dockerfile","start_line":1},
             "suppressed":{"kind":"ignore-file"}}
          ],
          "rules":[{"id":"PAL-K8S-001","scanner":"kubernetes"}]}"#;
        let p = parse(doc, LIMITS).unwrap();
        assert_eq!(p.format, "palisade-json");
        assert_eq!(p.scanners, ["custom", "dockerfile", "kubernetes"]);
        assert_eq!(p.findings.len(), 1);
        let f = &p.findings[0];
        assert_eq!(
            (f.scanner.as_str(), f.severity.as_str(), f.location.as_str()),
            ("kubernetes", "CRITICAL", "deploy/a.yaml:3")
        );
        assert_eq!(
            p.asset,
            Some(AssetRef::new(AssetKind::Repository, "deploy", "deploy"))
        );
        // Moving the finding to another line keeps its fingerprint (resource and field name it).
        let moved = String::from_utf8_lossy(doc).replace("\"start_line\":3", "\"start_line\":30");
        assert_eq!(
            parse(moved.as_bytes(), LIMITS).unwrap().findings[0].fingerprint,
            f.fingerprint
        );
    }

    #[test]
    fn sarif_levels_scores_and_suppressions() {
        let doc = br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy","rules":[
            {"id":"KSV001","shortDescription":{"text":"Process can elevate"},"properties":{"security-severity":"9.5"}},
            {"id":"KSV002","defaultConfiguration":{"level":"note"}}]}},
          "results":[
            {"ruleId":"KSV001","message":{"text":"bad"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a%20b.yaml"},"region":{"startLine":4}}}]},
            {"ruleIndex":1,"message":{"text":"meh"}},
            {"ruleId":"KSV003","level":"error","message":{"text":"x"},"suppressions":[{"kind":"inSource"}]},
            {"ruleId":"KSV004","kind":"pass","message":{"text":"ok"}}
          ]}]}"#;
        let p = parse(doc, LIMITS).unwrap();
        assert_eq!(p.format, "sarif");
        assert_eq!(p.scanners, ["trivy"]);
        assert_eq!(p.findings.len(), 2);
        assert_eq!(p.findings[0].severity, "CRITICAL");
        assert_eq!(p.findings[0].title, "Process can elevate");
        assert_eq!(p.findings[0].location, "a b.yaml:4");
        assert_eq!(p.findings[1].rule_id, "KSV002");
        assert_eq!(p.findings[1].severity, "LOW");
        let e = parse(br#"{"version":"2.0.0","runs":[]}"#, LIMITS).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
    }

    #[test]
    fn cyclonedx_vulnerabilities_and_image_digest() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.6",
          "metadata":{"tools":{"components":[{"name":"trivy"}]},
            "component":{"type":"container","name":"nginx:1.27","bom-ref":"img",
              "properties":[{"name":"aquasecurity:trivy:RepoDigest","value":"nginx@sha256:abc"}]}},
          "components":[{"bom-ref":"pkg:deb/debian/openssl@3.0.1","name":"openssl","version":"3.0.1","purl":"pkg:deb/debian/openssl@3.0.1"}],
          "vulnerabilities":[{"id":"CVE-2024-1","ratings":[{"severity":"high"},{"score":9.8}],
             "description":"Overflow\nmore","affects":[{"ref":"pkg:deb/debian/openssl@3.0.1"}]},
            {"id":"CVE-2024-2","ratings":[],"analysis":{"state":"not_affected"}}]}"#;
        let p = parse(doc, LIMITS).unwrap();
        assert_eq!(p.format, "cyclonedx");
        assert_eq!(p.scanners, ["trivy:vulnerability"]);
        assert_eq!(
            p.asset,
            Some(AssetRef::new(AssetKind::Image, "sha256:abc", "nginx:1.27"))
        );
        assert!(p.sbom.is_some());
        assert_eq!(p.findings.len(), 1);
        let f = &p.findings[0];
        assert_eq!(
            (f.severity.as_str(), f.title.as_str()),
            ("HIGH", "Overflow")
        );
        assert_eq!(f.package.as_deref(), Some("openssl"));
        assert_eq!(f.installed_version.as_deref(), Some("3.0.1"));
        // An SBOM without vulnerabilities speaks for no scanner: it fixes nothing.
        let sbom = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"container","name":"x","version":"sha256:def"}},"components":[]}"#;
        let p = parse(sbom, LIMITS).unwrap();
        assert!(p.scanners.is_empty() && p.findings.is_empty());
        assert_eq!(p.asset.unwrap().key, "image:sha256:def");
    }

    #[test]
    fn limits() {
        let many: Vec<String> = (0..101)
            .map(|i| format!("{{\"rule_id\":\"R{i}\"}}"))
            .collect();
        let doc = format!("{{\"schema_version\":1,\"findings\":[{}]}}", many.join(","));
        assert_eq!(
            parse(doc.as_bytes(), LIMITS).unwrap_err().status.as_u16(),
            413
        );
        // A gzip bomb: 2 MiB of zeros compresses to a few KiB, over a 1 MiB limit.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &vec![b' '; 2 << 20]).unwrap();
        let small = enc.finish().unwrap();
        assert!(small.len() < 10_000);
        let e = decode(small, Some("gzip"), 1 << 20).unwrap_err();
        assert_eq!(e.status.as_u16(), 413);
        assert_eq!(
            decode(b"x".to_vec(), Some("br"), 10)
                .unwrap_err()
                .status
                .as_u16(),
            415
        );
        assert_eq!(decode(b"{}".to_vec(), None, 10).unwrap(), b"{}");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(severity_of_score(7.0), "HIGH");
        assert_eq!(severity("moderate"), "MEDIUM");
    }
}
