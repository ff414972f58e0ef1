//! The decision log: one JSON line per decision.
//!
//! In audit mode every request gets a line; in enforce and warn modes, requests that were
//! denied, drew findings, hit a policy failure, were exempted or were of a kind without
//! built-in rules. A line looks like:
//!
//! ```json
//! {"time":"2026-05-01T10:00:00Z","uid":"…","user":"alice","groups":["dev"],"operation":"CREATE",
//!  "resource":{"group":"apps","version":"v1","resource":"deployments","kind":"Deployment",
//!  "namespace":"shop","name":"web"},"dry_run":false,"mode":"audit","decision":"allow",
//!  "action":"deny","rules":[{"id":"PAL-K8S-001","severity":"HIGH","action":"deny",
//!  "message":"container \"app\" is privileged"}]}
//! ```
//!
//! `decision` is what the webhook answered; `action` is what the findings called for
//! (`deny`, `warn` or `none`): in audit mode, `"decision":"allow","action":"deny"` reads
//! "would have been denied".

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::check::{Action, Outcome};
use super::review::AdmissionRequest;

/// Where decision lines go.
pub struct AuditLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Standard output.
    pub fn stdout() -> AuditLog {
        AuditLog {
            out: Mutex::new(Box::new(std::io::stdout())),
        }
    }

    /// A file, appended to (created if missing); `-` is standard output.
    pub fn open(path: &Path) -> Result<AuditLog, String> {
        if path.as_os_str() == "-" {
            return Ok(Self::stdout());
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("audit log {}: cannot open: {e}", path.display()))?;
        Ok(AuditLog {
            out: Mutex::new(Box::new(f)),
        })
    }

    /// Any writer (tests).
    pub fn to_writer(w: Box<dyn Write + Send>) -> AuditLog {
        AuditLog { out: Mutex::new(w) }
    }

    /// Writes one line; a failure is reported on stderr and does not fail the request.
    pub fn write(&self, line: &Value) {
        let mut text = line.to_string();
        text.push('\n');
        let result = match self.out.lock() {
            Ok(mut w) => w.write_all(text.as_bytes()).and_then(|_| w.flush()),
            Err(_) => return,
        };
        if let Err(e) = result {
            eprintln!("palisade admission: cannot write the decision log: {e}");
        }
    }
}

/// The decision line for a request.
pub fn line(req: &AdmissionRequest, outcome: &Outcome) -> Value {
    let action = if outcome.findings.iter().any(|(_, a)| *a == Action::Deny) {
        "deny"
    } else if outcome.findings.is_empty() {
        "none"
    } else {
        "warn"
    };
    let rules: Vec<Value> = outcome
        .findings
        .iter()
        .map(|(v, a)| {
            json!({
                "id": v.rule_id,
                "severity": v.severity,
                "action": a.as_str(),
                "message": v.message,
            })
        })
        .collect();
    let mut line = json!({
        "time": palisade_core::time::rfc3339(palisade_core::time::now_secs()),
        "uid": req.uid,
        "user": req.username,
        "groups": req.groups,
        "operation": req.operation,
        "resource": {
            "group": req.resource.group,
            "version": req.resource.version,
            "resource": req.resource.name,
            "kind": req.kind.name,
            "namespace": req.namespace,
            "name": name_of(req),
        },
        "dry_run": req.dry_run,
        "mode": outcome.mode,
        "decision": if outcome.verdict.allowed { "allow" } else { "deny" },
        "action": action,
        "rules": rules,
    });
    if let Some(obj) = line.as_object_mut() {
        if let Some(n) = &outcome.note {
            obj.insert("note".into(), Value::String(n.clone()));
        }
        if let Some(e) = &outcome.policy_error {
            obj.insert("error".into(), Value::String(e.clone()));
        }
        if outcome.verdict.patch.is_some() {
            obj.insert("patched".into(), Value::Bool(true));
        }
    }
    line
}

fn name_of(req: &AdmissionRequest) -> String {
    if !req.name.is_empty() {
        return req.name.clone();
    }
    req.object
        .as_ref()
        .and_then(|o| {
            o.pointer("/metadata/name")
                .or_else(|| o.pointer("/metadata/generateName"))
        })
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}
