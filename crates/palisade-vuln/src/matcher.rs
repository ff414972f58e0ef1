//! Matching an inventory against the advisory store.
//!
//! For each package: find the OSV ecosystem it belongs to (distribution packages by the
//! release detected from the OS, `Debian:12`, `Alpine:v3.19`; by source package where the
//! distribution keys advisories that way), look the package up, and decide per advisory with
//! the OSV range semantics (introduced / fixed / last_affected / limit, SEMVER vs ECOSYSTEM
//! orderings, explicit `versions` lists; GIT ranges are skipped). Advisories that name each
//! other as aliases become one finding. A version the ecosystem cannot order is reported as
//! "cannot order", never silently called vulnerable or not.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use palisade_core::{
    AffectedPackage, CvssScore, Finding, InputProblem, Location, ProblemKind, Severity,
    Vulnerability,
};
use palisade_sbom::{Distro, Ecosystem, Inventory, Package};

use crate::osv::{Advisory, Affected, Event, Range, RangeType};
use crate::store::{Store, StoreError};
use crate::version::{Scheme, VersionError};

/// How to match.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchOptions {
    /// Leave out vulnerabilities that have no fixed version.
    pub ignore_unfixed: bool,
}

/// What matching found.
#[derive(Debug, Default)]
pub struct Matched {
    pub findings: Vec<Finding>,
    /// Packages that could not be checked (versions that do not order, unsupported
    /// ecosystems, distributions without data), one note each.
    pub notes: Vec<InputProblem>,
    pub packages_checked: usize,
}

/// Where a package's advisories live: (OSV ecosystem, package name as the advisories key it).
fn lookup_keys(
    store: &Store,
    p: &Package,
    distro: Option<&Distro>,
) -> Result<Vec<(String, String)>, StoreError> {
    let source = p.source.as_ref().map(|s| s.name.clone());
    let os_key = |eco: String| -> Vec<(String, String)> {
        let mut names = vec![source.clone().unwrap_or_else(|| p.name.clone())];
        if source.is_some() && !names.contains(&p.name) {
            names.push(p.name.clone());
        }
        names.into_iter().map(|n| (eco.clone(), n)).collect()
    };
    Ok(match p.ecosystem {
        Ecosystem::Deb => {
            let Some(d) = distro else {
                return Ok(Vec::new());
            };
            match d.id.as_str() {
                "debian" => {
                    let major = d.version_id.split('.').next().unwrap_or("");
                    os_key(format!("Debian:{major}"))
                }
                "ubuntu" => store
                    .ecosystems_like(&format!("Ubuntu:{}", d.version_id))?
                    .into_iter()
                    .flat_map(os_key)
                    .collect(),
                _ => Vec::new(),
            }
        }
        Ecosystem::Apk => {
            let Some(d) = distro else {
                return Ok(Vec::new());
            };
            let mut parts = d.version_id.split('.');
            let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            match d.id.as_str() {
                "alpine" => os_key(format!("Alpine:v{major}.{minor}")),
                "wolfi" => os_key("Wolfi".into()),
                "chainguard" => os_key("Chainguard".into()),
                _ => Vec::new(),
            }
        }
        Ecosystem::Rpm => {
            let Some(d) = distro else {
                return Ok(Vec::new());
            };
            let major = d.version_id.split('.').next().unwrap_or("").to_string();
            let prefix = match d.id.as_str() {
                "rocky" => "Rocky Linux",
                "almalinux" => "AlmaLinux",
                "rhel" => "Red Hat",
                "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" => "openSUSE",
                "sles" | "suse" => "SUSE",
                _ => return Ok(Vec::new()),
            };
            // Ecosystems such as `Rocky Linux:9` or `Red Hat:enterprise_linux:9::appstream`.
            store
                .ecosystems_like(prefix)?
                .into_iter()
                .filter(|e| e.split(':').any(|part| part == major) || !e.contains(':'))
                .flat_map(os_key)
                .collect()
        }
        other => vec![(other.as_str().to_string(), p.name.clone())],
    })
}

/// The ordering a range uses.
fn scheme_for(range: &Range, ecosystem: &str) -> Option<Scheme> {
    match range.kind {
        RangeType::Semver => Some(Scheme::Semver),
        RangeType::Ecosystem => Scheme::for_ecosystem(ecosystem),
        _ => None,
    }
}

/// `a` vs `b`, where the OSV version `0` is below everything.
fn cmp(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match (a, b) {
        ("0", "0") => Ok(Ordering::Equal),
        ("0", _) => Ok(Ordering::Less),
        (_, "0") => Ok(Ordering::Greater),
        _ => scheme.compare(a, b),
    }
}

/// Whether `version` is in `range`, following the OSV schema's evaluation: events sorted by
/// version, the last one at or below the version decides; `limit` bounds the range. Also
/// the lowest `fixed` above the version.
fn in_range(
    scheme: Scheme,
    version: &str,
    range: &Range,
) -> Result<(bool, Option<String>), VersionError> {
    // Limits (`*` is no limit): the version must be below one of them.
    let limits: Vec<&str> = range
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Limit(l) if l != "*" => Some(l.as_str()),
            _ => None,
        })
        .collect();
    if !limits.is_empty() {
        let mut below = false;
        for l in &limits {
            if cmp(scheme, version, l)? == Ordering::Less {
                below = true;
            }
        }
        if !below {
            return Ok((false, None));
        }
    }
    let mut events: Vec<&Event> = range
        .events
        .iter()
        .filter(|e| !matches!(e, Event::Limit(_)))
        .collect();
    // Sort by version; an ordering error on any event makes the range unusable.
    let mut err = None;
    events.sort_by(|a, b| match cmp(scheme, a.version(), b.version()) {
        Ok(o) => o,
        Err(e) => {
            err.get_or_insert(e);
            Ordering::Equal
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let mut affected = false;
    for e in &events {
        match e {
            Event::Introduced(v) if cmp(scheme, version, v)? != Ordering::Less => affected = true,
            Event::Fixed(v) if cmp(scheme, version, v)? != Ordering::Less => affected = false,
            Event::LastAffected(v) if cmp(scheme, version, v)? == Ordering::Greater => {
                affected = false
            }
            _ => {}
        }
    }
    let mut fixed = None;
    if affected {
        for e in &events {
            if let Event::Fixed(v) = e
                && cmp(scheme, version, v)? == Ordering::Less
            {
                fixed = Some(v.clone());
                break;
            }
        }
    }
    Ok((affected, fixed))
}

/// Outcome of one affected entry for one version.
enum Verdict {
    Affected { fixed: Vec<String> },
    NotAffected,
    CannotOrder(VersionError),
}

fn evaluate(affected: &Affected, ecosystem: &str, version: &str) -> Verdict {
    if affected.versions.iter().any(|v| v == version) {
        // Explicit versions list: a fix is whatever ranges say.
        let fixed = affected
            .ranges
            .iter()
            .filter_map(|r| scheme_for(r, ecosystem).map(|s| (s, r)))
            .filter_map(|(s, r)| in_range(s, version, r).ok().and_then(|(_, f)| f))
            .collect();
        return Verdict::Affected { fixed };
    }
    let mut hit = false;
    let mut fixed = Vec::new();
    let mut error = None;
    for range in &affected.ranges {
        let Some(scheme) = scheme_for(range, ecosystem) else {
            continue;
        };
        match in_range(scheme, version, range) {
            Ok((true, f)) => {
                hit = true;
                fixed.extend(f);
            }
            Ok((false, _)) => {}
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    match (hit, error) {
        (true, _) => Verdict::Affected { fixed },
        (false, Some(e)) => Verdict::CannotOrder(e),
        (false, None) => Verdict::NotAffected,
    }
}

/// A CVSS vector's version from the OSV severity type.
fn cvss_entries(advisory: &Advisory, affected: &[&Affected]) -> Vec<CvssScore> {
    let mut out = Vec::new();
    let entries = advisory
        .severity
        .iter()
        .chain(affected.iter().flat_map(|a| a.severity.iter()));
    for s in entries {
        if !s.kind.starts_with("CVSS_") {
            continue;
        }
        if let Ok(score) = crate::cvss::score(&s.score)
            && !out.iter().any(|c: &CvssScore| c.vector == score.vector)
        {
            out.push(CvssScore {
                version: score.version,
                vector: score.vector,
                score: score.base_score,
            });
        }
    }
    out
}

/// Severity from the best CVSS vector (newest version wins), else the database's own rating
/// (GitHub's `MODERATE`, Ubuntu's priorities), else unknown.
fn severity_of(
    cvss: &[CvssScore],
    advisories: &[&Advisory],
    affected: &[&Affected],
) -> (Severity, Option<f64>) {
    if let Some(best) = cvss.iter().max_by(|a, b| {
        a.version
            .cmp(&b.version)
            .then(a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal))
    }) {
        return (crate::cvss::rating(best.score), Some(best.score));
    }
    let word = |w: &str| -> Option<Severity> {
        Some(match w.to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "moderate" | "medium" => Severity::Medium,
            "low" | "negligible" => Severity::Low,
            _ => return None,
        })
    };
    let from_db = |v: &serde_json::Value| v.get("severity").and_then(|s| s.as_str()).and_then(word);
    for a in advisories {
        if let Some(s) = a.database_specific.as_ref().and_then(from_db) {
            return (s, None);
        }
        if let Some(s) = a
            .severity
            .iter()
            .filter(|s| !s.kind.starts_with("CVSS_"))
            .find_map(|s| word(&s.score))
        {
            return (s, None);
        }
    }
    for a in affected {
        if let Some(s) = a
            .ecosystem_specific
            .as_ref()
            .and_then(from_db)
            .or_else(|| a.database_specific.as_ref().and_then(from_db))
        {
            return (s, None);
        }
    }
    (Severity::Unknown, None)
}

/// The identifier to show: a CVE when the vulnerability has one, else the first advisory id.
fn primary_id(ids: &BTreeSet<String>, advisory_ids: &[String]) -> String {
    ids.iter()
        .find(|i| i.starts_with("CVE-"))
        .cloned()
        .unwrap_or_else(|| advisory_ids[0].clone())
}

/// Matches every package of an inventory.
pub fn match_inventory(
    store: &Store,
    inv: &Inventory,
    opts: MatchOptions,
) -> Result<Matched, StoreError> {
    let mut out = Matched::default();
    let distro = inv.distro.as_ref();
    let mut os_without_data: BTreeMap<String, usize> = BTreeMap::new();
    for p in &inv.packages {
        out.packages_checked += 1;
        if p.ecosystem == Ecosystem::Go && (p.version.is_empty() || p.version == "(devel)") {
            continue;
        }
        let keys = lookup_keys(store, p, distro)?;
        if keys.is_empty() {
            if p.ecosystem.is_os() {
                *os_without_data.entry(p.ecosystem.to_string()).or_default() += 1;
            }
            continue;
        }
        // Advisories that affect this package, grouped by the vulnerability they describe.
        let mut hits: Vec<(Advisory, Vec<Affected>, Vec<String>, String)> = Vec::new();
        for (eco, name) in &keys {
            for adv in store.lookup(eco, name)? {
                if adv.is_withdrawn() || hits.iter().any(|(a, ..)| a.id == adv.id) {
                    continue;
                }
                let entries: Vec<Affected> = adv.affected_for(eco, name).cloned().collect();
                let mut fixed = Vec::new();
                let mut matched = false;
                for a in &entries {
                    match evaluate(a, eco, &p.version) {
                        Verdict::Affected { fixed: f } => {
                            matched = true;
                            fixed.extend(f);
                        }
                        Verdict::NotAffected => {}
                        Verdict::CannotOrder(e) => out.notes.push(InputProblem {
                            kind: ProblemKind::Warning,
                            path: p
                                .locations
                                .first()
                                .map(|l| l.path.clone())
                                .unwrap_or_default(),
                            line: None,
                            message: format!(
                                "{} {}: cannot tell whether {} applies: {e}",
                                p.name, p.version, adv.id
                            ),
                        }),
                    }
                }
                if matched {
                    hits.push((adv, entries, fixed, eco.clone()));
                }
            }
        }
        // Merge advisories that are the same vulnerability (one lists the other as an alias).
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..hits.len() {
            let ids_i: BTreeSet<&str> = std::iter::once(hits[i].0.id.as_str())
                .chain(hits[i].0.aliases.iter().map(String::as_str))
                .collect();
            let joined = groups.iter_mut().find(|g| {
                g.iter().any(|&j| {
                    std::iter::once(hits[j].0.id.as_str())
                        .chain(hits[j].0.aliases.iter().map(String::as_str))
                        .any(|id| ids_i.contains(id))
                })
            });
            match joined {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        for g in groups {
            let advisories: Vec<&Advisory> = g.iter().map(|&i| &hits[i].0).collect();
            let affected: Vec<&Affected> = g.iter().flat_map(|&i| hits[i].1.iter()).collect();
            let advisory_ids: Vec<String> = advisories.iter().map(|a| a.id.clone()).collect();
            let all_ids: BTreeSet<String> = advisories
                .iter()
                .flat_map(|a| std::iter::once(a.id.clone()).chain(a.aliases.iter().cloned()))
                .collect();
            let id = primary_id(&all_ids, &advisory_ids);
            let aliases: Vec<String> = all_ids.iter().filter(|i| **i != id).cloned().collect();
            let ecosystem = hits[g[0]].3.clone();
            let scheme = Scheme::for_ecosystem(&ecosystem);
            let mut fixed: Vec<String> =
                g.iter().flat_map(|&i| hits[i].2.iter().cloned()).collect();
            fixed.sort_by(|a, b| {
                scheme
                    .and_then(|s| s.compare(a, b).ok())
                    .unwrap_or_else(|| a.cmp(b))
            });
            fixed.dedup();
            if opts.ignore_unfixed && fixed.is_empty() {
                continue;
            }
            let cvss: Vec<CvssScore> = advisories
                .iter()
                .flat_map(|a| cvss_entries(a, &affected))
                .fold(Vec::new(), |mut acc, c| {
                    if !acc.iter().any(|x: &CvssScore| x.vector == c.vector) {
                        acc.push(c);
                    }
                    acc
                });
            let (severity, score) = severity_of(&cvss, &advisories, &affected);
            let title = advisories
                .iter()
                .find_map(|a| a.summary.clone().filter(|s| !s.trim().is_empty()))
                .or_else(|| {
                    advisories.iter().find_map(|a| {
                        a.details
                            .as_ref()
                            .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
                            .map(str::to_string)
                    })
                })
                .unwrap_or_else(|| id.clone());
            let fixed_text = if fixed.is_empty() {
                "no fixed version is published yet".to_string()
            } else {
                format!("fixed in {}", fixed.join(", "))
            };
            let source_name = p
                .source
                .as_ref()
                .map(|s| s.name.clone())
                .filter(|s| *s != p.name);
            let first = p.locations.first();
            let mut location = Location::file(
                first
                    .map(|l| l.path.clone())
                    .unwrap_or_else(|| inv.target.name.clone()),
            );
            location.layer = first.and_then(|l| l.layer.clone());
            let fix = match fixed.first() {
                Some(f) => match &source_name {
                    Some(src) => format!("Upgrade {} (source package {src}) to {f} or later.", p.name),
                    None => format!("Upgrade {} to {f} or later.", p.name),
                },
                None => "No fix is released yet: check the advisory for workarounds, or remove the package if it is not needed.".to_string(),
            };
            let mut references: Vec<String> = advisories
                .iter()
                .flat_map(|a| a.references.iter().map(|r| r.url.clone()))
                .collect();
            references.sort();
            references.dedup();
            let published = advisories.iter().filter_map(|a| a.published.clone()).min();
            let modified = advisories.iter().map(|a| a.modified.clone()).max();
            out.findings.push(Finding {
                rule_id: id.clone(),
                severity,
                title: title.trim().to_string(),
                message: format!("{} {} is affected by {id}; {fixed_text}", p.name, p.version),
                location,
                resource: None,
                field: None,
                fix,
                controls: Vec::new(),
                code: Vec::new(),
                suppressed: None,
                fingerprint: None,
                vulnerability: Some(Box::new(Vulnerability {
                    id,
                    aliases,
                    package: AffectedPackage {
                        name: p.name.clone(),
                        version: p.version.clone(),
                        ecosystem,
                        purl: p.purl.clone(),
                        source: source_name,
                    },
                    fixed_versions: fixed,
                    cvss,
                    score,
                    published,
                    modified,
                    references,
                })),
            });
        }
    }
    for (eco, n) in os_without_data {
        let release = distro
            .map(|d| format!("{} {}", d.id, d.version_id))
            .unwrap_or_else(|| "an unknown release".into());
        out.notes.push(InputProblem {
            kind: ProblemKind::Warning,
            path: inv.target.name.clone(),
            line: None,
            message: format!(
                "{n} {eco} packages were not checked: no advisory ecosystem is known for {release}"
            ),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(kind: RangeType, events: Vec<Event>) -> Range {
        Range {
            kind,
            repo: None,
            events,
            database_specific: None,
        }
    }

    #[test]
    fn osv_range_semantics() {
        let r = range(
            RangeType::Ecosystem,
            vec![Event::Introduced("0".into()), Event::Fixed("1.26.5".into())],
        );
        assert_eq!(
            in_range(Scheme::Pep440, "1.26.4", &r).unwrap(),
            (true, Some("1.26.5".into()))
        );
        assert_eq!(
            in_range(Scheme::Pep440, "1.26.5", &r).unwrap(),
            (false, None)
        );
        // Several introduced/fixed pairs in one range.
        let r = range(
            RangeType::Semver,
            vec![
                Event::Introduced("1.0.0".into()),
                Event::Fixed("1.2.0".into()),
                Event::Introduced("2.0.0".into()),
                Event::Fixed("2.0.3".into()),
            ],
        );
        assert!(!in_range(Scheme::Semver, "0.9.0", &r).unwrap().0);
        assert_eq!(
            in_range(Scheme::Semver, "1.1.0", &r).unwrap(),
            (true, Some("1.2.0".into()))
        );
        assert!(!in_range(Scheme::Semver, "1.5.0", &r).unwrap().0);
        assert_eq!(
            in_range(Scheme::Semver, "2.0.1", &r).unwrap(),
            (true, Some("2.0.3".into()))
        );
        // last_affected is inclusive.
        let r = range(
            RangeType::Ecosystem,
            vec![
                Event::Introduced("0".into()),
                Event::LastAffected("3.0".into()),
            ],
        );
        assert!(in_range(Scheme::Pep440, "3.0", &r).unwrap().0);
        assert!(!in_range(Scheme::Pep440, "3.0.1", &r).unwrap().0);
        // limit bounds the range.
        let r = range(
            RangeType::Semver,
            vec![
                Event::Introduced("1.0.0".into()),
                Event::Limit("1.5.0".into()),
            ],
        );
        assert!(in_range(Scheme::Semver, "1.4.0", &r).unwrap().0);
        assert!(!in_range(Scheme::Semver, "1.6.0", &r).unwrap().0);
        // A version that does not order is an error, not an answer.
        assert!(
            in_range(
                Scheme::Pep440,
                "not a version",
                &range(
                    RangeType::Ecosystem,
                    vec![Event::Introduced("0".into()), Event::Fixed("1.0".into())]
                )
            )
            .is_err()
        );
    }
}
