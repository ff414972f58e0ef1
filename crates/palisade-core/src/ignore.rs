//! Suppressions from `.palisadeignore.yaml`.
//!
//! ```yaml
//! ignore:
//!   - id: PAL-K8S-012            # required: the rule id
//!     path: "deploy/legacy/**"   # optional glob over the reported path
//!     resource: Deployment/web   # optional: a name, or Kind/name
//!     reason: "tracked in OPS-42" # why; shown in reports
//!     expires: 2027-01-31        # optional: stops suppressing after this day, and warns
//! ```
//!
//! Entries are read with their line numbers so that a mistake, or an expired entry, is
//! reported where it is.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobMatcher};
use palisade_yaml::Node;

use crate::{Finding, InputProblem, ProblemKind, Suppression, SuppressionSource};

/// The default ignore file name.
pub const FILE_NAME: &str = ".palisadeignore.yaml";

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking that the day exists.
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().splitn(3, '-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (s.trim().len() == 10 && (1..=days_in_month).contains(&day)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_unix_days((secs / 86_400) as i64)
    }

    /// The civil date of a count of days since 1970-01-01 (proleptic Gregorian calendar).
    pub fn from_unix_days(days: i64) -> Date {
        let (year, month, day) = crate::time::civil_from_days(days);
        let year = year as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One suppression entry.
#[derive(Debug, Clone)]
pub struct IgnoreEntry {
    pub id: String,
    pub path: Option<GlobMatcher>,
    pub resource: Option<String>,
    pub fingerprint: Option<String>,
    pub reason: Option<String>,
    pub expires: Option<Date>,
    pub line: u32,
}

/// All entries of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct IgnoreFile {
    pub path: String,
    pub entries: Vec<IgnoreEntry>,
    /// The folder path globs are relative to (the ignore file's own folder), resolved.
    pub base: Option<std::path::PathBuf>,
}

impl IgnoreFile {
    /// Reads an ignore file. Problems with single entries are returned beside the entries
    /// that were fine, so one typo does not switch every suppression off.
    pub fn load(path: &Path) -> Result<(IgnoreFile, Vec<InputProblem>), InputProblem> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InputProblem {
            kind: ProblemKind::Error,
            path: display.clone(),
            line: None,
            message: format!("cannot read ignore file: {e}"),
        })?;
        let (mut file, problems) = Self::parse(&display, &text)?;
        file.base = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        Ok((file, problems))
    }

    pub fn parse(path: &str, text: &str) -> Result<(IgnoreFile, Vec<InputProblem>), InputProblem> {
        let problem = |line: Option<u32>, message: String| InputProblem {
            kind: ProblemKind::Error,
            path: path.to_string(),
            line,
            message,
        };
        let stream = palisade_yaml::parse_stream(text);
        if let Some(e) = stream.error {
            return Err(problem(Some(e.line()), format!("not valid YAML: {e}")));
        }
        let mut file = IgnoreFile {
            path: path.to_string(),
            entries: Vec::new(),
            base: None,
        };
        let mut problems = Vec::new();
        let Some(doc) = stream.documents.first() else {
            return Ok((file, problems));
        };
        let list = match doc.root.get("ignore") {
            Some(l) => l,
            None if doc.root.is_null() => return Ok((file, problems)),
            None => {
                return Err(problem(
                    Some(doc.root.span.start_line),
                    "expected a top-level `ignore:` list of entries".into(),
                ));
            }
        };
        if list.as_seq().is_none() && !list.is_null() {
            return Err(problem(
                Some(list.span.start_line),
                "`ignore` must be a list".into(),
            ));
        }
        for item in list.items() {
            match parse_entry(item) {
                Ok(e) => file.entries.push(e),
                Err(msg) => problems.push(problem(Some(item.span.start_line), msg)),
            }
        }
        Ok((file, problems))
    }

    /// Marks the findings that an unexpired entry covers, and returns a warning for each
    /// expired entry that would otherwise have matched something.
    pub fn apply(&self, findings: &mut [Finding], today: Date) -> Vec<InputProblem> {
        let mut expired_hit = vec![false; self.entries.len()];
        // Globs are written relative to the ignore file's folder, whatever folder the scan
        // was started from: resolve each reported path once.
        let mut relative: std::collections::HashMap<String, Option<String>> = Default::default();
        for f in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
            let rel = relative
                .entry(f.location.path.clone())
                .or_insert_with(|| {
                    let base = self.base.as_ref()?;
                    let real = std::fs::canonicalize(&f.location.path).ok()?;
                    let rel = real.strip_prefix(base).ok()?;
                    Some(rel.to_string_lossy().replace('\\', "/"))
                })
                .clone();
            for (i, e) in self.entries.iter().enumerate() {
                if !e.matches(f, rel.as_deref()) {
                    continue;
                }
                if e.expires.is_some_and(|d| d < today) {
                    expired_hit[i] = true;
                    continue;
                }
                f.suppressed = Some(Suppression {
                    source: SuppressionSource::IgnoreFile {
                        path: self.path.clone(),
                        line: e.line,
                    },
                    reason: e.reason.clone(),
                });
                break;
            }
        }
        self.entries
            .iter()
            .zip(expired_hit)
            .filter(|(_, hit)| *hit)
            .map(|(e, _)| InputProblem {
                kind: ProblemKind::Warning,
                path: self.path.clone(),
                line: Some(e.line),
                message: format!(
                    "ignore entry for {} expired on {}; it no longer suppresses findings (renew or remove it)",
                    e.id,
                    e.expires.expect("only expired entries are flagged")
                ),
            })
            .collect()
    }
}

impl IgnoreEntry {
    /// Does this entry cover the finding? `relative` is the finding's path relative to the
    /// ignore file's folder, when that could be worked out.
    pub fn matches(&self, f: &Finding, relative: Option<&str>) -> bool {
        // An entry may name a fingerprint only (secrets), without an id.
        if !self.id.is_empty() && !f.ids().any(|id| self.id.eq_ignore_ascii_case(id)) {
            return false;
        }
        if let Some(glob) = &self.path {
            let hit = |p: &str| {
                let p = p.trim_start_matches("./");
                glob.is_match(p) || Path::new(p).ancestors().any(|a| glob.is_match(a))
            };
            if !hit(&f.location.path) && !relative.is_some_and(hit) {
                return false;
            }
        }
        if let Some(want) = &self.resource {
            let Some(r) = &f.resource else { return false };
            let ok = match want.split_once('/') {
                Some((kind, name)) => kind.eq_ignore_ascii_case(&r.kind) && name == r.name,
                None => *want == r.name,
            };
            if !ok {
                return false;
            }
        }
        if let Some(fp) = &self.fingerprint
            && f.fingerprint.as_deref() != Some(fp.as_str())
        {
            return false;
        }
        true
    }
}

fn parse_entry(item: &Node) -> Result<IgnoreEntry, String> {
    let mut entry = IgnoreEntry {
        id: String::new(),
        path: None,
        resource: None,
        fingerprint: None,
        reason: None,
        expires: None,
        line: item.span.start_line,
    };
    if item.as_map().is_none() {
        return Err("each ignore entry must be a mapping with at least `id`".into());
    }
    for (k, v) in item.entries() {
        let key = k.scalar_text().unwrap_or_default();
        let text = || {
            v.scalar_text()
                .map(str::to_string)
                .ok_or_else(|| format!("`{key}` must be a string"))
        };
        match key {
            "id" => entry.id = text()?,
            "path" => {
                let pattern = text()?;
                let glob = GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                    .or_else(|_| Glob::new(&pattern))
                    .map_err(|e| format!("`path` is not a valid glob: {e}"))?;
                entry.path = Some(glob.compile_matcher());
            }
            "resource" => entry.resource = Some(text()?),
            "fingerprint" => entry.fingerprint = Some(text()?),
            "reason" => entry.reason = Some(text()?),
            "expires" => {
                let t = text()?;
                entry.expires =
                    Some(Date::parse(&t).ok_or_else(|| {
                        format!("`expires` must be a date as YYYY-MM-DD, got {t:?}")
                    })?);
            }
            other => {
                return Err(format!(
                    "unknown key `{other}` (expected id, path, resource, fingerprint, reason, expires)"
                ));
            }
        }
    }
    if entry.id.is_empty() && entry.fingerprint.is_none() {
        return Err("entry has no `id` (the rule id to ignore) or `fingerprint`".into());
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, ResourceRef, Severity};

    fn finding(id: &str, path: &str, name: &str) -> Finding {
        Finding {
            rule_id: id.into(),
            severity: Severity::High,
            title: String::new(),
            message: String::new(),
            location: Location::lines(path, 3, 3),
            resource: Some(ResourceRef {
                kind: "Deployment".into(),
                name: name.into(),
                namespace: None,
            }),
            field: None,
            fix: String::new(),
            controls: vec![],
            code: vec![],
            suppressed: None,
            vulnerability: None,
            fingerprint: None,
        }
    }

    #[test]
    fn dates() {
        assert_eq!(Date::from_unix_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_unix_days(20_454).to_string(), "2026-01-01");
        assert_eq!(Date::from_unix_days(11_016).to_string(), "2000-02-29");
        assert!(Date::parse("2027-02-29").is_none());
        assert!(Date::parse("2028-02-29").is_some());
        assert!(Date::parse("2028-2-9").is_none());
    }

    #[test]
    fn entries_match_expire_and_report_mistakes() {
        let text = "ignore:\n  - id: PAL-K8S-001\n    path: deploy/**\n    reason: accepted\n  - id: PAL-K8S-002\n    resource: Deployment/web\n    expires: 2020-01-01\n  - id: PAL-K8S-003\n    colour: red\n  - id: PAL-K8S-004\n    expires: tomorrow\n";
        let (file, problems) = IgnoreFile::parse(".palisadeignore.yaml", text).unwrap();
        assert_eq!(file.entries.len(), 2);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].line, Some(8));
        assert!(problems[0].message.contains("unknown key `colour`"));
        assert!(problems[1].message.contains("YYYY-MM-DD"));

        let mut fs = vec![
            finding("PAL-K8S-001", "deploy/app/web.yaml", "web"),
            finding("PAL-K8S-001", "other/web.yaml", "web"),
            finding("PAL-K8S-002", "deploy/web.yaml", "web"),
        ];
        let warnings = file.apply(&mut fs, Date::parse("2026-11-27").unwrap());
        assert!(fs[0].suppressed.is_some());
        assert_eq!(
            fs[0].suppressed.as_ref().unwrap().reason.as_deref(),
            Some("accepted")
        );
        assert!(fs[1].suppressed.is_none());
        assert!(
            fs[2].suppressed.is_none(),
            "expired entries do not suppress"
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(5));
        assert!(warnings[0].message.contains("expired on 2020-01-01"));
    }

    #[test]
    fn broken_file_is_an_error_with_a_line() {
        let err = IgnoreFile::parse("x", "ignore:\n  - id: [\n").unwrap_err();
        assert!(err.line.is_some());
        assert!(IgnoreFile::parse("x", "- id: A\n").is_err());
        assert!(IgnoreFile::parse("x", "").unwrap().0.entries.is_empty());
    }
}
