//! Loading Sigma rules: files, directories and the built-in pack.
//!
//! Every file is parsed on its own so one broken file costs only itself: its problems are
//! kept as [`LoadError`]s (file and message) and the rest loads. After parsing, rules and
//! correlations without an `id` get one from their `name` (the Sigma spec makes `name` the key
//! correlations refer to, while the engine looks rules up by id), or from their file and
//! position when they have neither.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rsigma_parser::{Level, LogSource, SigmaCollection, Status, parse_sigma_yaml};
use serde::Serialize;

include!(concat!(env!("OUT_DIR"), "/pack.rs"));

/// The largest rule file read (SigmaHQ's largest is under 100 KiB).
pub const MAX_RULE_FILE: u64 = 4 * 1024 * 1024;

/// Why a rule file (or one document in it) was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A loaded rule as users see it (`palisade rules list`, alerts, `detect` output).
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    /// `detection` or `correlation`.
    pub kind: &'static str,
    pub level: Option<&'static str>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    pub falsepositives: Vec<String>,
    pub references: Vec<String>,
    /// The file it came from (`builtin:k8s/exec.yml` for the pack).
    pub origin: String,
}

/// Which rules run. Entries of `disable`/`enable` are a rule id, `tag:NAME` (`tag:attack.t1611`),
/// `level:NAME` or `status:NAME`; `enable` wins over `disable`.
#[derive(Debug, Clone, Default)]
pub struct RuleSelection {
    pub disable: Vec<String>,
    pub enable: Vec<String>,
    /// Rules below this level do not run.
    pub min_level: Option<Level>,
    /// Run rules whose status is `deprecated` or `unsupported` too (off by default, as SigmaHQ
    /// intends).
    pub include_deprecated: bool,
}

/// A set of parsed rules ready to compile into a [`crate::Detector`].
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    pub(crate) collection: SigmaCollection,
    pub(crate) origins: HashMap<String, String>,
    /// Rules deselected but kept because a correlation refers to them: they feed it and
    /// produce no matches of their own.
    pub(crate) silenced: HashSet<String>,
    pub errors: Vec<LoadError>,
}

/// A level's rank, informational = 0 … critical = 4.
pub fn level_rank(level: Level) -> u8 {
    match level {
        Level::Informational => 0,
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
        Level::Critical => 4,
    }
}

/// Parse a level name as Sigma writes it.
pub fn parse_level(s: &str) -> Option<Level> {
    match s.trim().to_ascii_lowercase().as_str() {
        "informational" | "info" => Some(Level::Informational),
        "low" => Some(Level::Low),
        "medium" => Some(Level::Medium),
        "high" => Some(Level::High),
        "critical" => Some(Level::Critical),
        _ => None,
    }
}

pub(crate) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Stable => "stable",
        Status::Test => "test",
        Status::Experimental => "experimental",
        Status::Deprecated => "deprecated",
        Status::Unsupported => "unsupported",
    }
}

impl RuleSet {
    pub fn new() -> RuleSet {
        RuleSet::default()
    }

    /// The built-in Kubernetes and cloud pack.
    pub fn builtin() -> RuleSet {
        let mut set = RuleSet::new();
        for (path, text) in PACK {
            set.add_yaml(&format!("builtin:{path}"), text);
        }
        set
    }

    /// The built-in pack's files, as (relative path, YAML text).
    pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
        PACK
    }

    /// Number of detection rules and correlations loaded.
    pub fn len(&self) -> usize {
        self.collection.rules.len() + self.collection.correlations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add every rule in `text` (one YAML stream, possibly several documents), naming them by
    /// `origin` in errors and listings.
    pub fn add_yaml(&mut self, origin: &str, text: &str) {
        let parsed = match parse_sigma_yaml(text) {
            Ok(c) => c,
            Err(e) => {
                self.errors.push(LoadError {
                    path: origin.to_owned(),
                    message: e.to_string(),
                });
                return;
            }
        };
        for message in &parsed.errors {
            self.errors.push(LoadError {
                path: origin.to_owned(),
                message: message.clone(),
            });
        }
        for (n, mut rule) in parsed.rules.into_iter().enumerate() {
            let fallback = format!("{origin}#{}", n + 1);
            if let Some(id) =
                self.claim_id(origin, "rule", &rule.title, &rule.id, &rule.name, fallback)
            {
                rule.id = Some(id);
                self.collection.rules.push(rule);
            }
        }
        for (n, mut corr) in parsed.correlations.into_iter().enumerate() {
            let fallback = format!("{origin}#c{}", n + 1);
            if let Some(id) = self.claim_id(
                origin,
                "correlation",
                &corr.title,
                &corr.id,
                &corr.name,
                fallback,
            ) {
                corr.id = Some(id);
                self.collection.correlations.push(corr);
            }
        }
        self.collection.filters.extend(parsed.filters);
    }

    /// The id a rule or correlation gets (its `id`, else its `name`, else `fallback`),
    /// recorded as coming from `origin`; `None` (and an error) when another has it already.
    fn claim_id(
        &mut self,
        origin: &str,
        what: &str,
        title: &str,
        id: &Option<String>,
        name: &Option<String>,
        fallback: String,
    ) -> Option<String> {
        let id = id.clone().or_else(|| name.clone()).unwrap_or(fallback);
        if let Some(first) = self.origins.get(&id) {
            self.errors.push(LoadError {
                path: origin.to_owned(),
                message: format!(
                    "{what} {id:?} ({title}) has the same id as a rule loaded from {first}; this one is skipped"
                ),
            });
            return None;
        }
        self.origins.insert(id.clone(), origin.to_owned());
        Some(id)
    }

    /// Add a rule file, or every `.yml`/`.yaml` file under a directory (sorted, symlinks not
    /// followed). Unreadable or oversized files become [`LoadError`]s; only a missing `path`
    /// itself is an error.
    pub fn add_path(&mut self, path: &Path) -> std::io::Result<usize> {
        let meta = std::fs::metadata(path)?;
        let mut files = Vec::new();
        if meta.is_dir() {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        let p = e.path();
                        if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                            files.push(p.to_path_buf());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => self.errors.push(LoadError {
                        path: e
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| path.display().to_string()),
                        message: e.to_string(),
                    }),
                }
            }
        } else {
            files.push(path.to_path_buf());
        }
        let before = self.len();
        for file in &files {
            let shown = file.display().to_string();
            match read_limited(file) {
                Ok(text) => self.add_yaml(&shown, &text),
                Err(message) => self.errors.push(LoadError {
                    path: shown,
                    message,
                }),
            }
        }
        Ok(self.len() - before)
    }

    /// Merge another set into this one (ids already present are skipped with an error).
    pub fn extend(&mut self, other: RuleSet) {
        let mut seen: HashSet<String> = self.origins.keys().cloned().collect();
        for rule in other.collection.rules {
            let id = rule.id.clone().unwrap_or_default();
            if seen.insert(id.clone()) {
                self.origins.insert(
                    id.clone(),
                    other.origins.get(&id).cloned().unwrap_or_default(),
                );
                self.collection.rules.push(rule);
            } else {
                self.errors.push(LoadError {
                    path: other.origins.get(&id).cloned().unwrap_or_default(),
                    message: format!(
                        "rule {id:?} has the same id as a rule loaded from {}; this one is skipped",
                        self.origins[&id]
                    ),
                });
            }
        }
        for corr in other.collection.correlations {
            let id = corr.id.clone().unwrap_or_default();
            if seen.insert(id.clone()) {
                self.origins.insert(
                    id.clone(),
                    other.origins.get(&id).cloned().unwrap_or_default(),
                );
                self.collection.correlations.push(corr);
            }
        }
        self.collection.filters.extend(other.collection.filters);
        self.silenced.extend(other.silenced);
        self.errors.extend(other.errors);
    }

    /// Keep only the rules `selection` lets run. Rules a kept correlation refers to stay
    /// loaded (they feed it) but stop producing alerts of their own when they were deselected.
    pub fn select(&mut self, selection: &RuleSelection) {
        let keep =
            |id: &str, tags: &[String], level: Option<Level>, status: Option<Status>| -> bool {
                let hit = |entries: &[String]| {
                    entries.iter().any(|e| {
                        if let Some(t) = e.strip_prefix("tag:") {
                            tags.iter().any(|x| x.eq_ignore_ascii_case(t))
                        } else if let Some(l) = e.strip_prefix("level:") {
                            level.is_some_and(|x| x.as_str().eq_ignore_ascii_case(l))
                        } else if let Some(s) = e.strip_prefix("status:") {
                            status.is_some_and(|x| status_name(x).eq_ignore_ascii_case(s))
                        } else {
                            e == id
                        }
                    })
                };
                if hit(&selection.enable) {
                    return true;
                }
                if hit(&selection.disable) {
                    return false;
                }
                if !selection.include_deprecated
                    && matches!(status, Some(Status::Deprecated | Status::Unsupported))
                {
                    return false;
                }
                if let (Some(min), Some(l)) = (selection.min_level, level)
                    && level_rank(l) < level_rank(min)
                {
                    return false;
                }
                true
            };
        self.collection
            .correlations
            .retain(|c| keep(c.id.as_deref().unwrap_or(""), &c.tags, c.level, c.status));
        let referenced: HashSet<String> = self
            .collection
            .correlations
            .iter()
            .flat_map(|c| c.rules.iter().cloned())
            .collect();
        let mut silenced = Vec::new();
        self.collection.rules.retain_mut(|r| {
            let id = r.id.clone().unwrap_or_default();
            if keep(&id, &r.tags, r.level, r.status) {
                return true;
            }
            if referenced.contains(&id) || r.name.as_ref().is_some_and(|n| referenced.contains(n)) {
                silenced.push(id);
                return true;
            }
            false
        });
        self.silenced.extend(silenced);
    }

    /// What is loaded, in load order (detections, then correlations).
    pub fn infos(&self) -> Vec<RuleInfo> {
        let origin = |id: &Option<String>| {
            id.as_ref()
                .and_then(|i| self.origins.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let mut out = Vec::with_capacity(self.len());
        for r in &self.collection.rules {
            out.push(RuleInfo {
                id: r.id.clone().unwrap_or_default(),
                title: r.title.clone(),
                kind: "detection",
                level: r.level.map(|l| l.as_str()),
                status: r.status.map(|s| status_name(s).to_owned()),
                tags: r.tags.clone(),
                product: r.logsource.product.clone(),
                service: r.logsource.service.clone(),
                category: r.logsource.category.clone(),
                description: r.description.clone(),
                falsepositives: r.falsepositives.clone(),
                references: r.references.clone(),
                origin: origin(&r.id),
            });
        }
        for c in &self.collection.correlations {
            out.push(RuleInfo {
                id: c.id.clone().unwrap_or_default(),
                title: c.title.clone(),
                kind: "correlation",
                level: c.level.map(|l| l.as_str()),
                status: c.status.map(|s| status_name(s).to_owned()),
                tags: c.tags.clone(),
                product: None,
                service: None,
                category: None,
                description: c.description.clone(),
                falsepositives: c.falsepositives.clone(),
                references: c.references.clone(),
                origin: origin(&c.id),
            });
        }
        out
    }

    /// Keep only the first `n` detection rules (and no correlation when fewer remain than they
    /// refer to): for benchmarks that want "the first 100 rules".
    pub fn collection_truncate(&mut self, n: usize) {
        if n >= self.collection.rules.len() {
            return;
        }
        self.collection.rules.truncate(n);
        let ids: HashSet<String> = self
            .collection
            .rules
            .iter()
            .filter_map(|r| r.id.clone())
            .collect();
        self.collection
            .correlations
            .retain(|c| c.rules.iter().all(|r| ids.contains(r)));
    }

    /// The log sources rules ask for, with how many rules ask for each.
    pub fn logsources(&self) -> Vec<(LogSource, usize)> {
        type Key = (Option<String>, Option<String>, Option<String>);
        let mut counts: HashMap<Key, usize> = HashMap::new();
        for r in &self.collection.rules {
            *counts
                .entry((
                    r.logsource.product.clone(),
                    r.logsource.service.clone(),
                    r.logsource.category.clone(),
                ))
                .or_default() += 1;
        }
        let mut out: Vec<_> = counts
            .into_iter()
            .map(|((product, service, category), n)| {
                (
                    LogSource {
                        product,
                        service,
                        category,
                        ..LogSource::default()
                    },
                    n,
                )
            })
            .collect();
        out.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        out
    }
}

fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_RULE_FILE {
        return Err(format!(
            "the file is {} bytes; rule files over {} MiB are not read",
            meta.len(),
            MAX_RULE_FILE / (1024 * 1024)
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {}); save the rule as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}
