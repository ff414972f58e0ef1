//! The webhook's settings file (TOML, or YAML/JSON by extension).
//!
//! ```toml
//! mode = "enforce"                  # enforce | warn | audit, for namespaces not listed below
//! deny-severity = ["HIGH", "CRITICAL"]
//! deny-pss = "restricted"           # restricted | baseline | none
//! failure-mode = "deny"             # a policy that fails to evaluate: deny | allow
//! timeout-ms = 3000                 # answer within this, below the webhook's timeoutSeconds
//! audit-log = "-"                   # decision log: a file, or "-" for standard output
//! policy = ["policies"]             # Rego policy folders (relative to this file)
//! data = ["policies/data.yaml"]
//!
//! [namespaces]                      # namespace (or glob) → mode
//! legacy = "warn"
//! "sandbox-*" = "audit"
//!
//! [exempt]                          # requests allowed without checks
//! namespaces = ["kube-system"]
//! users = ["system:serviceaccount:kube-system:*"]
//! groups = ["system:nodes"]
//! images = ["registry.k8s.io/*"]    # objects whose every image matches
//!
//! [mutate]                          # /mutate: safe defaults, all off unless set
//! allow-privilege-escalation = true
//! seccomp-profile = true
//! run-as-non-root = false
//!
//! [rules]                           # as in palisade.toml
//! disable = ["PAL-K8S-030"]
//! severity = { "PAL-K8S-040" = "LOW" }
//! ```
//!
//! Globs use `*` for any run of characters (including `/`) and `?` for one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};
use palisade_core::Severity;
use palisade_core::config::RuleSettings;
use serde::{Deserialize, Serialize};

/// How findings are acted on in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny-level findings deny the request; the rest come back as warnings.
    #[default]
    Enforce,
    /// Nothing is denied; every finding comes back as a warning.
    Warn,
    /// Nothing is denied and nothing is shown to the user; decisions go to the audit log.
    Audit,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Enforce, Mode::Warn, Mode::Audit];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }

    /// Parses a mode name as written in a label value or a URL path.
    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What to do when custom policies cannot be evaluated (a runtime error or the deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// Deny the request (in enforce mode) with the reason.
    #[default]
    Deny,
    /// Allow it with a warning saying the policies could not be checked.
    Allow,
}

/// Which Pod Security Standards violations deny, whatever their severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PssDeny {
    /// Severity alone decides.
    None,
    /// Violations of Baseline controls deny.
    Baseline,
    /// Violations of Baseline or Restricted controls deny.
    #[default]
    Restricted,
}

/// Requests let through without any check.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Exemptions {
    /// Namespaces (globs).
    pub namespaces: Vec<String>,
    /// User names as the API server authenticated them (globs), e.g.
    /// `system:serviceaccount:argocd:*`.
    pub users: Vec<String>,
    /// Groups (globs), e.g. `system:nodes`.
    pub groups: Vec<String>,
    /// Image references (globs); an object is exempt when every image it runs matches.
    pub images: Vec<String>,
}

/// Safe defaults `/mutate` adds where a field is not set. All off unless configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct MutateSettings {
    /// `allowPrivilegeEscalation: false` on each container that does not set it (not on
    /// privileged containers or those adding SYS_ADMIN, which the API server would refuse).
    pub allow_privilege_escalation: bool,
    /// Pod-level `seccompProfile: {type: RuntimeDefault}` where no profile is set.
    pub seccomp_profile: bool,
    /// Pod-level `runAsNonRoot: true` where unset and no container runs as UID 0. Images
    /// whose default user is root then fail to start: only turn this on once they don't.
    pub run_as_non_root: bool,
}

impl MutateSettings {
    pub fn any(&self) -> bool {
        self.allow_privilege_escalation || self.seccomp_profile || self.run_as_non_root
    }
}

/// The webhook's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct AdmissionConfig {
    /// Mode of namespaces that neither `namespaces` nor a `palisade.dev/mode` label names.
    pub mode: Mode,
    /// Namespace (exact name or glob) → mode. An exact name wins over globs; globs are
    /// tried in sorted order.
    pub namespaces: BTreeMap<String, Mode>,
    /// Findings at these severities deny (in enforce mode).
    pub deny_severity: Vec<Severity>,
    /// Pod Security Standards violations that deny whatever their severity.
    pub deny_pss: PssDeny,
    pub failure_mode: FailureMode,
    /// Deadline for answering one request, in milliseconds. Keep it below the webhook's
    /// `timeoutSeconds` so the API server hears our answer rather than its own timeout.
    pub timeout_ms: u64,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: u64,
    /// Where decision lines go: a file (appended), or `-` for standard output.
    pub audit_log: Option<PathBuf>,
    /// Rego policy folders or files.
    pub policy: Vec<PathBuf>,
    /// Data files (JSON or YAML) the policies read.
    pub data: Vec<PathBuf>,
    /// How often policy files and the serving certificate are checked for changes
    /// (seconds; 0 turns reloading off).
    pub reload_interval_secs: u64,
    /// Accept the `palisade.dev/ignore` annotation on admitted objects. Off by default:
    /// whoever creates an object writes its annotations, so honouring them lets anyone
    /// switch a check off for themselves.
    pub honor_ignore_annotation: bool,
    pub exempt: Exemptions,
    pub mutate: MutateSettings,
    /// Rules to turn off or re-severity, as in `palisade.toml`.
    pub rules: RuleSettings,
    /// Where the file was read from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Default deadline per request: below the 5 s `timeoutSeconds` that
/// `palisade admission config` writes.
pub const DEFAULT_TIMEOUT_MS: u64 = 3000;
/// Default request body limit. The API server refuses objects over 1.5 MB (etcd's limit),
/// and a review carries the object and the old object.
pub const DEFAULT_MAX_BODY: u64 = 3 * 1024 * 1024;

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            mode: Mode::Enforce,
            namespaces: BTreeMap::new(),
            deny_severity: vec![Severity::High, Severity::Critical],
            deny_pss: PssDeny::Restricted,
            failure_mode: FailureMode::Deny,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_body_bytes: DEFAULT_MAX_BODY,
            audit_log: None,
            policy: Vec::new(),
            data: Vec::new(),
            reload_interval_secs: 5,
            honor_ignore_annotation: false,
            exempt: Exemptions::default(),
            mutate: MutateSettings::default(),
            rules: RuleSettings::default(),
            source: None,
        }
    }
}

/// The settings file cannot be used.
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
    #[error("{path}: {message}")]
    Value { path: String, message: String },
}

impl AdmissionConfig {
    /// Reads a settings file: YAML when it ends in `.yaml`, `.yml` or `.json`, else TOML.
    /// Relative policy and data paths are made relative to the file's folder.
    pub fn load(path: &Path) -> Result<AdmissionConfig, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"));
        let parsed = if yaml {
            Self::parse_yaml(&text)
        } else {
            Self::parse_toml(&text)
        };
        let mut cfg = parsed.map_err(|(line, message)| match line {
            Some(line) => ConfigError::Invalid {
                path: display.clone(),
                line,
                message,
            },
            None => ConfigError::Value {
                path: display.clone(),
                message,
            },
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in cfg.policy.iter_mut().chain(cfg.data.iter_mut()) {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        if let Some(log) = cfg.audit_log.as_mut()
            && log.as_os_str() != "-"
            && log.is_relative()
        {
            *log = dir.join(&*log);
        }
        cfg.source = Some(path.to_path_buf());
        cfg.validate().map_err(|message| ConfigError::Value {
            path: display,
            message,
        })?;
        Ok(cfg)
    }

    /// Parses TOML settings; errors carry the 1-based line.
    pub fn parse_toml(text: &str) -> Result<AdmissionConfig, (Option<u32>, String)> {
        toml::from_str::<AdmissionConfig>(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u32 + 1);
            (line, e.message().to_string())
        })
    }

    /// Parses YAML (or JSON) settings.
    pub fn parse_yaml(text: &str) -> Result<AdmissionConfig, (Option<u32>, String)> {
        let stream = palisade_yaml::parse_stream(text);
        if let Some(e) = &stream.error {
            return Err((Some(e.line()), format!("invalid YAML: {e}")));
        }
        let Some(doc) = stream.documents.first() else {
            return Ok(AdmissionConfig::default());
        };
        if doc.root.is_null() {
            return Ok(AdmissionConfig::default());
        }
        serde_json::from_str::<AdmissionConfig>(&doc.root.to_json()).map_err(|e| {
            // The position is in the JSON we made, not in the user's file: leave it out.
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            (None, msg)
        })
    }

    /// Checks what serde cannot: globs compile, limits make sense.
    pub fn validate(&self) -> Result<(), String> {
        Matchers::new(self)?;
        if self.timeout_ms == 0 {
            return Err("timeout-ms must be above 0".into());
        }
        if self.max_body_bytes < 1024 {
            return Err("max-body-bytes must be at least 1024".into());
        }
        Ok(())
    }
}

/// The settings' globs, compiled once.
#[derive(Debug, Clone)]
pub struct Matchers {
    namespaces: GlobSet,
    users: GlobSet,
    groups: GlobSet,
    images: GlobSet,
    has_images: bool,
    namespace_modes: Vec<(GlobMatcher, Mode)>,
}

fn glob_set(what: &str, patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("{what}: invalid pattern {p:?}: {e}"))?);
    }
    b.build().map_err(|e| format!("{what}: {e}"))
}

impl Matchers {
    pub fn new(cfg: &AdmissionConfig) -> Result<Matchers, String> {
        let mut namespace_modes = Vec::new();
        for (pattern, mode) in &cfg.namespaces {
            let g = Glob::new(pattern)
                .map_err(|e| format!("namespaces: invalid pattern {pattern:?}: {e}"))?;
            namespace_modes.push((g.compile_matcher(), *mode));
        }
        Ok(Matchers {
            namespaces: glob_set("exempt.namespaces", &cfg.exempt.namespaces)?,
            users: glob_set("exempt.users", &cfg.exempt.users)?,
            groups: glob_set("exempt.groups", &cfg.exempt.groups)?,
            images: glob_set("exempt.images", &cfg.exempt.images)?,
            has_images: !cfg.exempt.images.is_empty(),
            namespace_modes,
        })
    }

    /// Why a request is exempt, if it is.
    pub fn exemption(&self, namespace: &str, user: &str, groups: &[String]) -> Option<String> {
        if !namespace.is_empty() && self.namespaces.is_match(namespace) {
            return Some(format!("namespace {namespace:?} is exempt"));
        }
        if !user.is_empty() && self.users.is_match(user) {
            return Some(format!("user {user:?} is exempt"));
        }
        groups
            .iter()
            .find(|g| self.groups.is_match(g.as_str()))
            .map(|g| format!("group {g:?} is exempt"))
    }

    /// Is every image exempt (and there is at least one)?
    pub fn images_exempt(&self, images: &[&str]) -> bool {
        self.has_images && !images.is_empty() && images.iter().all(|i| self.images.is_match(i))
    }

    /// The mode the settings give a namespace, if they name it.
    pub fn namespace_mode(&self, cfg: &AdmissionConfig, namespace: &str) -> Option<Mode> {
        if let Some(m) = cfg.namespaces.get(namespace) {
            return Some(*m);
        }
        self.namespace_modes
            .iter()
            .find(|(g, _)| g.is_match(namespace))
            .map(|(_, m)| *m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_yaml_read_the_same() {
        let toml = r#"
mode = "warn"
deny-severity = ["critical"]
deny-pss = "baseline"
failure-mode = "allow"
[namespaces]
prod = "enforce"
"sandbox-*" = "audit"
[exempt]
users = ["system:serviceaccount:kube-system:*"]
images = ["registry.k8s.io/*"]
[mutate]
seccomp-profile = true
[rules]
disable = ["PAL-K8S-030"]
"#;
        let yaml = r#"
mode: warn
deny-severity: [critical]
deny-pss: baseline
failure-mode: allow
namespaces:
  prod: enforce
  sandbox-*: audit
exempt:
  users: ["system:serviceaccount:kube-system:*"]
  images: ["registry.k8s.io/*"]
mutate:
  seccomp-profile: true
rules:
  disable: [PAL-K8S-030]
"#;
        let a = AdmissionConfig::parse_toml(toml).unwrap();
        let b = AdmissionConfig::parse_yaml(yaml).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.mode, Mode::Warn);
        assert_eq!(a.deny_severity, [Severity::Critical]);
        assert_eq!(a.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert!(a.mutate.seccomp_profile && !a.mutate.run_as_non_root);
        let m = Matchers::new(&a).unwrap();
        assert_eq!(m.namespace_mode(&a, "prod"), Some(Mode::Enforce));
        assert_eq!(m.namespace_mode(&a, "sandbox-7"), Some(Mode::Audit));
        assert_eq!(m.namespace_mode(&a, "other"), None);
        assert!(
            m.exemption(
                "x",
                "system:serviceaccount:kube-system:replicaset-controller",
                &[]
            )
            .is_some()
        );
        assert!(m.images_exempt(&["registry.k8s.io/pause:3.10"]));
        assert!(!m.images_exempt(&["registry.k8s.io/pause:3.10", "nginx"]));
        assert!(!m.images_exempt(&[]));
    }

    #[test]
    fn errors_name_the_line_or_the_field() {
        let (line, msg) =
            AdmissionConfig::parse_toml("mode = \"enforce\"\n\nmdoe = 1\n").unwrap_err();
        assert_eq!(line, Some(3));
        assert!(msg.contains("unknown field"), "{msg}");
        let (_, msg) = AdmissionConfig::parse_toml("mode = \"strict\"\n").unwrap_err();
        assert!(msg.contains("enforce"), "{msg}");
        let (line, msg) = AdmissionConfig::parse_yaml("exempt:\n  nmespaces: []\n").unwrap_err();
        assert_eq!(line, None);
        assert!(msg.contains("unknown field `nmespaces`"), "{msg}");
        let cfg = AdmissionConfig::parse_toml("[exempt]\nimages = [\"a[\"]\n").unwrap();
        assert!(cfg.validate().unwrap_err().contains("exempt.images"));
        assert_eq!(
            AdmissionConfig::parse_yaml("").unwrap(),
            AdmissionConfig::default()
        );
    }
}
