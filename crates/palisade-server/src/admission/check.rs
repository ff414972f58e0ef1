//! Checking one admitted object and deciding what to answer.
//!
//! The object goes through the same built-in rules as `palisade scan config` (set-level
//! rules, which need the whole set of manifests, excepted) and through the custom
//! policies. Each finding then either calls for a denial (its severity is in
//! `deny-severity`, or it violates a Pod Security Standards control at `deny-pss`) or for a
//! warning, and the namespace's mode decides what the user sees.
//!
//! What does not live here: HTTP, timeouts, metrics, the decision log (see `server`).

use std::collections::HashSet;
use std::fmt::Write;
use std::time::{Duration, Instant};

use palisade_core::{Finding, Severity};
use palisade_misconfig::pss::PssLevel;
use palisade_misconfig::{Input, ScanOptions};
use serde_json::Value;

use super::config::{AdmissionConfig, FailureMode, Matchers, Mode, PssDeny};
use super::json_patch;
use super::mutate;
use super::policy::Policies;
use super::review::{AdmissionRequest, Verdict};

/// One finding, built-in or custom, as the webhook acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    /// What is wrong, naming the container or field.
    pub message: String,
    /// What to change; empty when the rule does not say.
    pub fix: String,
    /// The lowest Pod Security Standards level whose control this breaks.
    pub pss: Option<PssLevel>,
}

impl Violation {
    /// From a built-in finding.
    pub fn from_finding(f: Finding) -> Violation {
        let pss = f
            .controls
            .iter()
            .filter_map(|c| c.strip_prefix("pss:")?.split(':').next()?.parse().ok())
            .min();
        Violation {
            rule_id: f.rule_id,
            severity: f.severity,
            title: f.title,
            message: f.message,
            fix: f.fix,
            pss,
        }
    }
}

/// What a finding calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Deny,
    Warn,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Warn => "warn",
        }
    }
}

/// The result of checking one request: the answer and what the log and metrics need.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    pub mode: Mode,
    pub findings: Vec<(Violation, Action)>,
    /// Why no check ran, or something worth noting (an unknown kind, an exemption).
    pub note: Option<String>,
    pub policy_error: Option<String>,
    /// Time in the built-in rules and in the policies.
    pub builtin_time: Option<Duration>,
    pub policy_time: Option<Duration>,
}

impl Outcome {
    fn plain(verdict: Verdict, mode: Mode, note: Option<String>) -> Outcome {
        Outcome {
            verdict,
            mode,
            findings: Vec::new(),
            note,
            policy_error: None,
            builtin_time: None,
            policy_time: None,
        }
    }

    /// Does the log get a line for this in a mode other than audit?
    pub fn notable(&self) -> bool {
        !self.verdict.allowed
            || !self.findings.is_empty()
            || self.policy_error.is_some()
            || self.note.is_some()
    }
}

/// The API server shows warnings of up to 256 characters whole.
const WARNING_MAX: usize = 256;
/// Findings listed in one denial message or warning list; the rest are counted.
const LIST_MAX: usize = 20;

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// Checks admitted objects. Shared by every request; reloading swaps only the policies.
pub struct Checker {
    config: AdmissionConfig,
    matchers: Matchers,
    scan_opts: ScanOptions,
    policies: Policies,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("config", &self.config)
            .field("policies", &self.policies)
            .finish()
    }
}

impl Checker {
    pub fn new(config: AdmissionConfig, policies: Policies) -> Result<Checker, String> {
        let matchers = Matchers::new(&config)?;
        // Set-level rules (such as "namespace without a NetworkPolicy") judge a whole set of
        // manifests; one object alone would always fail them.
        let mut disabled: HashSet<String> = palisade_misconfig::k8s::rules::SET_RULES
            .iter()
            .map(|r| r.meta.id.to_string())
            .collect();
        disabled.extend(config.rules.disable.iter().map(|s| s.to_ascii_uppercase()));
        let scan_opts = ScanOptions {
            disabled,
            severity_overrides: config
                .rules
                .severity
                .iter()
                .map(|(id, s)| (id.to_ascii_uppercase(), *s))
                .collect(),
            threads: 1,
            ..ScanOptions::default()
        };
        Ok(Checker {
            config,
            matchers,
            scan_opts,
            policies,
        })
    }

    pub fn config(&self) -> &AdmissionConfig {
        &self.config
    }

    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// The namespace's mode: the settings file's entry for it, else the mode its
    /// `palisade.dev/mode` label routed the request to, else the default.
    pub fn mode_for(&self, namespace: &str, label_mode: Option<Mode>) -> Mode {
        if !namespace.is_empty()
            && let Some(m) = self.matchers.namespace_mode(&self.config, namespace)
        {
            return m;
        }
        label_mode.unwrap_or(self.config.mode)
    }

    fn action(&self, v: &Violation) -> Action {
        let pss_denies = match (self.config.deny_pss, v.pss) {
            (PssDeny::None, _) | (_, None) => false,
            (PssDeny::Baseline, Some(l)) => l == PssLevel::Baseline,
            (PssDeny::Restricted, Some(_)) => true,
        };
        if pss_denies || self.config.deny_severity.contains(&v.severity) {
            Action::Deny
        } else {
            Action::Warn
        }
    }

    /// A custom rule's violation as `[rules]` wants it: None when the rule is disabled,
    /// else with its severity overridden if the settings say so. (Built-in rules get the
    /// same treatment inside the scan.)
    fn configure(&self, mut v: Violation) -> Option<Violation> {
        let id = v.rule_id.to_ascii_uppercase();
        if self.scan_opts.disabled.contains(&id) {
            return None;
        }
        if let Some(s) = self.scan_opts.severity_overrides.get(&id) {
            v.severity = *s;
        }
        Some(v)
    }

    /// Why the request is let through unchecked, if it is.
    fn exemption(&self, req: &AdmissionRequest, object: Option<&Value>) -> Option<String> {
        if let Some(why) = self
            .matchers
            .exemption(&req.namespace, &req.username, &req.groups)
        {
            return Some(why);
        }
        let images = object
            .map(|o| mutate::images(&req.kind.name, o))
            .unwrap_or_default();
        self.matchers
            .images_exempt(&images)
            .then(|| "every image is exempt".to_string())
    }

    /// The object with `metadata.namespace` filled from the request when missing: the API
    /// server stores it there, and rules and policies should see what will be stored.
    fn object_in_namespace(req: &AdmissionRequest, object: &Value) -> Option<Value> {
        if req.namespace.is_empty()
            || object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty())
        {
            return None;
        }
        let mut o = object.clone();
        let meta = o
            .as_object_mut()?
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        meta.as_object_mut()?
            .insert("namespace".into(), Value::String(req.namespace.clone()));
        Some(o)
    }

    /// Runs the built-in rules: the violations, and whether the kind has rules at all.
    pub fn builtin(&self, json: &str) -> (Vec<Violation>, bool) {
        let report = palisade_misconfig::scan(&[Input::Stdin(json.to_string())], &self.scan_opts);
        let known = !report.files.is_empty();
        let honor = self.config.honor_ignore_annotation;
        let v = report
            .findings
            .into_iter()
            .filter(|f| !(honor && f.suppressed.is_some()))
            .map(Violation::from_finding)
            .collect();
        (v, known)
    }

    /// Answers `/validate`.
    pub fn validate(&self, req: &AdmissionRequest, label_mode: Option<Mode>) -> Outcome {
        let mode = self.mode_for(&req.namespace, label_mode);
        if matches!(req.operation.as_str(), "DELETE" | "CONNECT") {
            return Outcome::plain(Verdict::allow(), mode, None);
        }
        let Some(object) = req.object.as_ref().filter(|o| o.is_object()) else {
            return Outcome::plain(
                Verdict::deny(
                    400,
                    format!(
                        "palisade: request.object is missing or not an object for {} {}",
                        req.operation,
                        req.describe()
                    ),
                ),
                mode,
                Some("no object".into()),
            );
        };
        if let Some(why) = self.exemption(req, Some(object)) {
            return Outcome::plain(Verdict::allow(), mode, Some(format!("exempt: {why}")));
        }
        let filled = Self::object_in_namespace(req, object);
        let object = filled.as_ref().unwrap_or(object);
        let json = serde_json::to_string(object).unwrap_or_default();

        let t = Instant::now();
        let (mut violations, known) = self.builtin(&json);
        let builtin_time = t.elapsed();
        let note = (!known).then(|| {
            format!(
                "unknown kind {}: no built-in rules apply",
                if req.kind.group.is_empty() {
                    format!("{}/{}", req.kind.version, req.kind.name)
                } else {
                    format!("{}/{}/{}", req.kind.group, req.kind.version, req.kind.name)
                }
            )
        });
        let mut policy_error = None;
        let mut policy_time = None;
        if let Some(p) = self.policies.current() {
            let t = Instant::now();
            let found = p.evaluate(object, &json);
            violations.extend(
                found
                    .violations
                    .into_iter()
                    .filter_map(|v| self.configure(v)),
            );
            if !found.errors.is_empty() {
                policy_error = Some(found.errors.join("; "));
            }
            policy_time = Some(t.elapsed());
        }
        let findings: Vec<(Violation, Action)> = violations
            .into_iter()
            .map(|v| {
                let a = self.action(&v);
                (v, a)
            })
            .collect();
        let mut verdict = self.decide(req, mode, &findings);
        if let Some(e) = &policy_error {
            self.apply_failure(&mut verdict, mode, &format!("custom policies failed: {e}"));
        }
        if mode == Mode::Audit && (!findings.is_empty() || policy_error.is_some()) {
            let would = findings.iter().any(|(_, a)| *a == Action::Deny);
            verdict.audit_annotations = vec![
                (
                    "decision".into(),
                    if would { "would-deny" } else { "would-warn" }.into(),
                ),
                (
                    "rules".into(),
                    findings
                        .iter()
                        .map(|(v, _)| v.rule_id.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ];
        }
        Outcome {
            verdict,
            mode,
            findings,
            note,
            policy_error,
            builtin_time: Some(builtin_time),
            policy_time,
        }
    }

    /// The answer when checks could not finish (the deadline passed, or they failed):
    /// handled like a policy failure, per the failure mode.
    pub fn failed(
        &self,
        req: &AdmissionRequest,
        label_mode: Option<Mode>,
        reason: &str,
    ) -> Outcome {
        let mode = self.mode_for(&req.namespace, label_mode);
        let mut verdict = Verdict::allow();
        self.apply_failure(&mut verdict, mode, reason);
        let mut o = Outcome::plain(verdict, mode, None);
        o.policy_error = Some(reason.to_string());
        o
    }

    /// Applies the failure mode to a verdict after policies could not be evaluated.
    fn apply_failure(&self, verdict: &mut Verdict, mode: Mode, reason: &str) {
        match (mode, self.config.failure_mode) {
            (Mode::Enforce, FailureMode::Deny) => {
                let msg = format!("palisade: {reason}; denied (failure-mode = deny)");
                match &mut verdict.message {
                    Some(m) if !verdict.allowed => {
                        m.push('\n');
                        m.push_str(&msg);
                    }
                    _ => {
                        verdict.allowed = false;
                        verdict.code = Some(500);
                        verdict.message = Some(msg);
                    }
                }
            }
            (Mode::Audit, _) => {}
            _ => verdict.warnings.push(truncate(
                &format!("palisade: {reason}; allowed without them"),
                WARNING_MAX,
            )),
        }
    }

    fn decide(
        &self,
        req: &AdmissionRequest,
        mode: Mode,
        findings: &[(Violation, Action)],
    ) -> Verdict {
        let mut verdict = Verdict::allow();
        if findings.is_empty() || mode == Mode::Audit {
            return verdict;
        }
        let denies: Vec<&Violation> = findings
            .iter()
            .filter(|(_, a)| *a == Action::Deny)
            .map(|(v, _)| v)
            .collect();
        let warn_line = |v: &Violation, prefix: &str| {
            truncate(
                &format!("{prefix}{} ({}): {}", v.rule_id, v.severity, v.message),
                WARNING_MAX,
            )
        };
        let mut warnings: Vec<String> = Vec::new();
        if mode == Mode::Enforce && !denies.is_empty() {
            let mut msg = format!(
                "palisade denied {}: {} finding{} must be fixed",
                req.describe(),
                denies.len(),
                if denies.len() == 1 { "" } else { "s" }
            );
            for v in denies.iter().take(LIST_MAX) {
                let _ = write!(msg, "\n- {} ({}): {}", v.rule_id, v.severity, v.message);
                if !v.fix.is_empty() {
                    let _ = write!(msg, "\n  fix: {}", v.fix);
                }
            }
            if denies.len() > LIST_MAX {
                let _ = write!(msg, "\n… and {} more", denies.len() - LIST_MAX);
            }
            verdict = Verdict::deny(403, msg);
        }
        for (v, a) in findings {
            match (mode, a) {
                (Mode::Enforce, Action::Deny) => {}
                (Mode::Warn, Action::Deny) => warnings.push(warn_line(v, "would deny: ")),
                _ => warnings.push(warn_line(v, "")),
            }
        }
        if warnings.len() > LIST_MAX {
            let more = warnings.len() - LIST_MAX;
            warnings.truncate(LIST_MAX);
            warnings.push(format!("… and {more} more findings"));
        }
        verdict.warnings = warnings;
        verdict
    }

    /// Answers `/mutate`: the configured safe defaults as a patch, checked by applying it.
    pub fn mutate(&self, req: &AdmissionRequest) -> Outcome {
        let mode = self.mode_for(&req.namespace, None);
        let Some(object) = req.object.as_ref().filter(|o| o.is_object()) else {
            return Outcome::plain(Verdict::allow(), mode, None);
        };
        if let Some(why) = self.exemption(req, Some(object)) {
            return Outcome::plain(Verdict::allow(), mode, Some(format!("exempt: {why}")));
        }
        let ops =
            mutate::safe_defaults(&req.kind.name, &req.operation, object, &self.config.mutate);
        if ops.is_empty() {
            return Outcome::plain(Verdict::allow(), mode, None);
        }
        let mut copy = object.clone();
        if let Err(e) = json_patch::apply(&mut copy, &ops) {
            // Never send a patch that does not apply: the API server would fail the request.
            return Outcome::plain(
                Verdict::allow(),
                mode,
                Some(format!("patch not sent, it does not apply: {e}")),
            );
        }
        let mut verdict = Verdict::allow();
        verdict.patch = Some(ops);
        Outcome::plain(verdict, mode, None)
    }
}
