//! Project settings from `palisade.toml`.
//!
//! The file sits at the project root (found by walking up from the working directory to the
//! nearest `.git`) or is named with `--config`. Command-line flags override it.
//!
//! ```toml
//! [scan]
//! severity = ["HIGH", "CRITICAL"]
//! exit-code = 1
//! ignore-file = ".palisadeignore.yaml"
//! policy = ["policies"]          # custom Rego policies, run by `scan config`
//! data = ["policies/data.yaml"]  # what they read as `data`
//!
//! [rules]
//! disable = ["PAL-K8S-030"]
//! severity = { "PAL-K8S-040" = "LOW" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Severity;

/// The settings file name looked for in the project root.
pub const FILE_NAME: &str = "palisade.toml";

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectConfig {
    #[serde(default)]
    pub scan: ScanSettings,
    #[serde(default)]
    pub rules: RuleSettings,
    /// `[server]` and `[oidc]` belong to `palisade serve`, which checks them; a scan
    /// ignores them so one file can hold both.
    #[serde(default)]
    server: Option<toml::Value>,
    #[serde(default)]
    oidc: Option<toml::Value>,
    /// Where the file was read from; relative paths inside it are relative to its folder.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScanSettings {
    /// Severities to report (all when absent).
    pub severity: Option<Vec<Severity>>,
    pub exit_code: Option<i32>,
    pub ignore_file: Option<PathBuf>,
    pub show_suppressed: Option<bool>,
    /// Rego policy files or folders that `scan config` runs besides the built-in rules, as
    /// `--policy` does; relative to this file.
    #[serde(default)]
    pub policy: Vec<PathBuf>,
    /// JSON or YAML files (or folders) the policies read as `data`, as `--data` does.
    #[serde(default)]
    pub data: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleSettings {
    /// Rule ids that never run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// New severities for rules, by id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
}

/// The settings file could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: u32,
        message: String,
    },
}

impl ProjectConfig {
    /// Reads and validates a settings file.
    pub fn load(path: &Path) -> Result<ProjectConfig, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        let mut cfg = Self::parse(&text).map_err(|(line, message)| ConfigError::Invalid {
            path: display,
            line,
            message,
        })?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses settings text; errors carry the 1-based line.
    pub fn parse(text: &str) -> Result<ProjectConfig, (u32, String)> {
        toml::from_str::<ProjectConfig>(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u32 + 1)
                .unwrap_or(1);
            (line, e.message().to_string())
        })
    }

    /// Looks for `palisade.toml` in `start` and its parents up to the project root (the
    /// nearest folder holding `.git`). Outside a repository only `start` itself is searched:
    /// a settings file in some parent folder (say, a shared `/tmp`) must not silently change
    /// a scan.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        find_in_project(start, FILE_NAME)
    }

    /// Resolves a path written in the file relative to the file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match self.source.as_deref().and_then(Path::parent) {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }
}

/// The project root: the nearest folder at or above `start` that holds `.git`.
pub fn project_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Finds `name` in `start` or a parent up to the project root; only in `start` when there is
/// no project root.
pub fn find_in_project(start: &Path, name: &str) -> Option<PathBuf> {
    let root = project_root(start);
    for dir in start.ancestors() {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
        if root.as_deref().is_none_or(|r| r == dir) {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_stops_at_the_project_root_or_the_start() {
        let base = std::env::temp_dir().join(format!("palisade-cfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let sub = base.join("repo/a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(base.join(FILE_NAME), "").unwrap();
        // No repository: the file two levels up is not picked up.
        assert_eq!(ProjectConfig::discover(&sub), None);
        std::fs::create_dir(base.join("repo/.git")).unwrap();
        assert_eq!(ProjectConfig::discover(&sub), None, "stops at the root");
        std::fs::write(base.join("repo").join(FILE_NAME), "").unwrap();
        assert_eq!(
            ProjectConfig::discover(&sub),
            Some(base.join("repo").join(FILE_NAME))
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn parses_and_reports_lines() {
        let cfg = ProjectConfig::parse(
            "[scan]\nseverity = [\"high\", \"CRITICAL\"]\nexit-code = 3\n[rules]\ndisable = [\"PAL-K8S-001\"]\nseverity = { \"PAL-K8S-002\" = \"low\" }\n",
        )
        .unwrap();
        assert_eq!(
            cfg.scan.severity,
            Some(vec![Severity::High, Severity::Critical])
        );
        assert_eq!(cfg.scan.exit_code, Some(3));
        assert_eq!(cfg.rules.severity["PAL-K8S-002"], Severity::Low);
        let (line, msg) = ProjectConfig::parse("[scan]\n\nseverty = []\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(msg.contains("unknown field"), "{msg}");
    }
}
