//! Small helpers shared by the Pod Security Standards rules (PAL-K8S-002 .. PAL-K8S-022).
//!
//! They encode the pointer semantics of the reference implementation: a field written as
//! `null` is the same as a missing one, and values are shown in messages the way they were
//! written (strings quoted, booleans and numbers bare).

use palisade_yaml::{Node, ScalarKind, Span, Value};

use crate::k8s::{Pod, Resource, entry_span};
use crate::rule::Hit;

/// A node that is present and not `null`.
pub fn set(n: Option<&Node>) -> Option<&Node> {
    n.filter(|n| !n.is_null())
}

/// `map[key]` when present and not `null`, with the span of the whole `key: value` entry.
pub fn set_entry<'a>(map: Option<&'a Node>, key: &str) -> Option<(&'a Node, Span)> {
    let map = map?;
    let value = set(map.get(key))?;
    Some((value, entry_span(map, key)?))
}

/// A scalar's text, `""` for anything else (Go's zero value for a string field).
pub fn text(n: Option<&Node>) -> &str {
    n.and_then(Node::scalar_text).unwrap_or("")
}

/// A value as a message shows it: `"Unconfined"`, `true`, `0`, `null`, `{…}`, `["a", "b"]`
/// (long lists shortened to their first three items and their length).
pub fn show(n: &Node) -> String {
    match &n.value {
        Value::Scalar(s, ScalarKind::Str) => format!("{s:?}"),
        Value::Scalar(_, ScalarKind::Null) => "null".to_string(),
        Value::Scalar(s, _) => s.clone(),
        Value::Seq(items) if items.len() > 4 => {
            let parts: Vec<String> = items.iter().take(3).map(show).collect();
            format!("[{}, … ({} items)]", parts.join(", "), items.len())
        }
        Value::Seq(items) => {
            let parts: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(_) => "{…}".to_string(),
    }
}

/// A string quoted for a message.
pub fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// The name of a volume for messages.
pub fn volume_name(v: &Node) -> &str {
    v.get("name")
        .and_then(Node::scalar_text)
        .unwrap_or("<unnamed>")
}

/// PAL-K8S-002/003/004: `spec.<key>: true`.
pub fn host_namespace(r: &Resource<'_>, key: &str, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.spec.get(key).and_then(Node::as_bool) != Some(true) {
        return;
    }
    if let Some(span) = entry_span(pod.spec, key) {
        out.push(Hit::new(format!("pod sets {key} to true"), span).field(pod.field(key)));
    }
}

/// The pod-level security context as a node, if it is a mapping.
pub fn pod_sc<'a>(pod: &Pod<'a>) -> Option<&'a Node> {
    set(pod.security_context())
}

/// Checks a `seccompProfile`-like object (`{type: …}`) found under `sc`: returns the
/// message tail, span and field suffix when its type is not `RuntimeDefault` or
/// `Localhost`. `None` when the object is absent or valid.
pub fn bad_profile_type(
    sc: Option<&Node>,
    object: &str,
    allowed: &[&str],
) -> Option<(String, Span, String)> {
    let (profile, span) = set_entry(sc, object)?;
    match set_entry(Some(profile), "type") {
        Some((t, tspan)) => {
            if t.scalar_text().is_some_and(|s| allowed.contains(&s)) {
                None
            } else {
                Some((
                    format!("sets securityContext.{object}.type to {}", show(t)),
                    tspan,
                    format!("securityContext.{object}.type"),
                ))
            }
        }
        None => Some((
            format!("sets securityContext.{object} without a type"),
            span,
            format!("securityContext.{object}"),
        )),
    }
}

/// Capabilities the Baseline level allows containers to add (exact, case-sensitive).
pub const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The entries of a container's `securityContext.capabilities.add`, with their text
/// (`""` for entries that are not scalars).
pub fn added_caps<'a>(c: &crate::k8s::Container<'a>) -> Vec<(usize, &'a Node, &'a str)> {
    let add = set(c.sc("capabilities")).and_then(|caps| set(caps.get("add")));
    add.map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, n)| (i, n, n.scalar_text().unwrap_or("")))
        .collect()
}

/// Field path of the pod's (or pod template's) metadata, e.g. `spec.template.metadata`.
pub fn pod_meta_field(pod: &Pod<'_>, rest: &str) -> String {
    let base = pod.prefix.strip_suffix("spec").unwrap_or("");
    format!("{base}metadata.{rest}")
}

/// Reports `pod`/container `securityContext.<object>.type` values outside `allowed`
/// (PAL-K8S-008 AppArmor, PAL-K8S-011 seccomp).
pub fn profile_type_hits(pod: &Pod<'_>, object: &str, allowed: &[&str], out: &mut Vec<Hit>) {
    if let Some((tail, span, field)) = bad_profile_type(pod_sc(pod), object, allowed) {
        out.push(Hit::new(format!("pod {tail}"), span).field(pod.field(&field)));
    }
    for c in pod.containers() {
        if let Some((tail, span, field)) =
            bad_profile_type(set(c.security_context()), object, allowed)
        {
            out.push(Hit::new(format!("{} {tail}", c.label()), span).field(c.field(&field)));
        }
    }
}

/// PAL-K8S-010/022: containers whose `securityContext.procMount` is set to anything but
/// `Default`.
pub fn proc_mount_hits(pod: &Pod<'_>, out: &mut Vec<Hit>) {
    for c in pod.containers() {
        let Some((value, span)) = set_entry(set(c.security_context()), "procMount") else {
            continue;
        };
        if value.scalar_text() == Some("Default") {
            continue;
        }
        out.push(
            Hit::new(
                format!(
                    "{} sets securityContext.procMount to {}",
                    c.label(),
                    show(value)
                ),
                span,
            )
            .field(c.field("securityContext.procMount")),
        );
    }
}
