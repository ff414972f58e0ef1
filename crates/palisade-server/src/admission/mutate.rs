//! Safe defaults for `/mutate`, as JSONPatch operations.
//!
//! Only fields that are not set are added, and only where the API server accepts them:
//! never `allowPrivilegeEscalation: false` on a privileged container or one adding
//! `SYS_ADMIN` (validation refuses that pair), nothing on Windows pods (which may not set
//! these fields), nothing on Pod UPDATE (a Pod's spec is immutable), no pod-level seccomp
//! profile beside the legacy seccomp annotation, no `runAsNonRoot` where a container asks
//! for UID 0.

use serde_json::{Map, Value, json};

use super::config::MutateSettings;
use super::json_patch::escape_token;

/// Where a kind keeps its pod spec, as JSON Pointer tokens.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => &["spec", "template", "spec"],
        "PodTemplate" => &["template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    })
}

/// The object's pod spec and its pointer, for workload kinds.
pub fn pod_spec<'a>(kind: &str, object: &'a Value) -> Option<(String, &'a Map<String, Value>)> {
    let path = pod_spec_path(kind)?;
    let mut cur = object;
    let mut pointer = String::new();
    for t in path {
        cur = cur.get(*t)?;
        pointer.push('/');
        pointer.push_str(t);
    }
    Some((pointer, cur.as_object()?))
}

const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// Every image the object's pod spec runs.
pub fn images<'a>(kind: &str, object: &'a Value) -> Vec<&'a str> {
    let Some((_, spec)) = pod_spec(kind, object) else {
        return Vec::new();
    };
    CONTAINER_LISTS
        .iter()
        .filter_map(|l| spec.get(*l)?.as_array())
        .flatten()
        .filter_map(|c| c.get("image")?.as_str())
        .collect()
}

fn adds_sys_admin(sc: &Map<String, Value>) -> bool {
    sc.get("capabilities")
        .and_then(|c| c.get("add"))
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().filter_map(Value::as_str).any(|c| {
                let c = c.to_ascii_uppercase();
                c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN"
            })
        })
}

/// One `add` of `fields` into the object at `pointer`: the whole object when it is
/// missing, else one operation per field.
fn add_fields(
    ops: &mut Vec<Value>,
    pointer: &str,
    existing: Option<&Value>,
    fields: Vec<(&str, Value)>,
) {
    if fields.is_empty() {
        return;
    }
    match existing {
        None | Some(Value::Null) => {
            let m: Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            ops.push(json!({"op": "add", "path": pointer, "value": m}));
        }
        Some(Value::Object(_)) => {
            for (k, v) in fields {
                ops.push(json!({"op": "add", "path": format!("{pointer}/{}", escape_token(k)), "value": v}));
            }
        }
        // Some other type: the API server would refuse the object anyway; leave it alone.
        Some(_) => {}
    }
}

/// The JSONPatch operations that add the configured defaults to `object`, in order.
pub fn safe_defaults(
    kind: &str,
    operation: &str,
    object: &Value,
    settings: &MutateSettings,
) -> Vec<Value> {
    let mut ops = Vec::new();
    if !settings.any() || operation == "DELETE" || operation == "CONNECT" {
        return ops;
    }
    if kind == "Pod" && operation != "CREATE" {
        return ops;
    }
    let Some((base, spec)) = pod_spec(kind, object) else {
        return ops;
    };
    let windows = spec
        .get("os")
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str)
        .is_some_and(|n| n.eq_ignore_ascii_case("windows"));
    if windows {
        return ops;
    }
    let pod_sc = spec.get("securityContext");
    let pod_sc_map = pod_sc.and_then(Value::as_object);
    let containers: Vec<(&str, usize, &Value)> = ["initContainers", "containers"]
        .iter()
        .filter_map(|l| Some((*l, spec.get(*l)?.as_array()?)))
        .flat_map(|(l, a)| a.iter().enumerate().map(move |(i, c)| (l, i, c)))
        .collect();

    let mut pod_fields: Vec<(&str, Value)> = Vec::new();
    if settings.seccomp_profile {
        let legacy_annotation = object
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| a.contains_key("seccomp.security.alpha.kubernetes.io/pod"));
        let set = pod_sc_map.is_some_and(|m| m.get("seccompProfile").is_some_and(|v| !v.is_null()));
        if !set && !legacy_annotation {
            pod_fields.push(("seccompProfile", json!({"type": "RuntimeDefault"})));
        }
    }
    if settings.run_as_non_root {
        let set = pod_sc_map.is_some_and(|m| m.get("runAsNonRoot").is_some_and(|v| !v.is_null()));
        let uid0 = |sc: Option<&Value>| {
            sc.and_then(|s| s.get("runAsUser"))
                .and_then(Value::as_i64)
                .is_some_and(|u| u == 0)
        };
        let root_asked = uid0(pod_sc)
            || containers
                .iter()
                .any(|(_, _, c)| uid0(c.get("securityContext")));
        let container_says_false = containers.iter().any(|(_, _, c)| {
            c.pointer("/securityContext/runAsNonRoot")
                .and_then(Value::as_bool)
                == Some(false)
        });
        if !set && !root_asked && !container_says_false {
            pod_fields.push(("runAsNonRoot", Value::Bool(true)));
        }
    }
    add_fields(
        &mut ops,
        &format!("{base}/securityContext"),
        pod_sc,
        pod_fields,
    );

    if settings.allow_privilege_escalation {
        for (list, i, c) in &containers {
            let Some(c) = c.as_object() else { continue };
            let sc = c.get("securityContext");
            let sc_map = sc.and_then(Value::as_object);
            if let Some(m) = sc_map {
                let set = m
                    .get("allowPrivilegeEscalation")
                    .is_some_and(|v| !v.is_null());
                let privileged = m.get("privileged").and_then(Value::as_bool) == Some(true);
                if set || privileged || adds_sys_admin(m) {
                    continue;
                }
            }
            add_fields(
                &mut ops,
                &format!("{base}/{list}/{i}/securityContext"),
                sc,
                vec![("allowPrivilegeEscalation", Value::Bool(false))],
            );
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::json_patch::apply;

    fn all() -> MutateSettings {
        MutateSettings {
            allow_privilege_escalation: true,
            seccomp_profile: true,
            run_as_non_root: true,
        }
    }

    fn patched(kind: &str, op: &str, obj: Value, s: &MutateSettings) -> (Vec<Value>, Value) {
        let ops = safe_defaults(kind, op, &obj, s);
        let mut doc = obj;
        apply(&mut doc, &ops).unwrap();
        (ops, doc)
    }

    #[test]
    fn adds_only_what_is_missing() {
        let obj = json!({"kind":"Deployment","spec":{"template":{"spec":{
        "securityContext":{"runAsUser":1000},
        "initContainers":[{"name":"init","image":"busybox"}],
        "containers":[
            {"name":"a","image":"nginx","securityContext":{"readOnlyRootFilesystem":true}},
            {"name":"b","image":"x","securityContext":{"allowPrivilegeEscalation":true}},
            {"name":"c","image":"y","securityContext":{"privileged":true}},
            {"name":"d","image":"z","securityContext":{"capabilities":{"add":["SYS_ADMIN"]}}}
        ]}}}});
        let (ops, doc) = patched("Deployment", "UPDATE", obj, &all());
        assert_eq!(
            ops,
            [
                json!({"op":"add","path":"/spec/template/spec/securityContext/seccompProfile","value":{"type":"RuntimeDefault"}}),
                json!({"op":"add","path":"/spec/template/spec/securityContext/runAsNonRoot","value":true}),
                json!({"op":"add","path":"/spec/template/spec/initContainers/0/securityContext","value":{"allowPrivilegeEscalation":false}}),
                json!({"op":"add","path":"/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation","value":false}),
            ]
        );
        assert_eq!(
            doc.pointer("/spec/template/spec/containers/0/securityContext"),
            Some(&json!({"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false}))
        );
        // Applying the defaults again changes nothing.
        assert!(safe_defaults("Deployment", "UPDATE", &doc, &all()).is_empty());
    }

    #[test]
    fn leaves_what_would_break_alone() {
        let pod = json!({"kind":"Pod","spec":{"containers":[{"name":"a","image":"x","securityContext":{"runAsUser":0}}]}});
        let (ops, _) = patched("Pod", "CREATE", pod.clone(), &all());
        assert_eq!(
            ops,
            [
                json!({"op":"add","path":"/spec/securityContext","value":{"seccompProfile":{"type":"RuntimeDefault"}}}),
                json!({"op":"add","path":"/spec/containers/0/securityContext/allowPrivilegeEscalation","value":false}),
            ],
            "no runAsNonRoot for a container asking for root"
        );
        assert!(safe_defaults("Pod", "UPDATE", &pod, &all()).is_empty());
        assert!(safe_defaults("Pod", "CREATE", &pod, &MutateSettings::default()).is_empty());
        let win = json!({"spec":{"os":{"name":"windows"},"containers":[{"name":"a"}]}});
        assert!(safe_defaults("Pod", "CREATE", &win, &all()).is_empty());
        let legacy = json!({"metadata":{"annotations":{"seccomp.security.alpha.kubernetes.io/pod":"runtime/default"}},
                            "spec":{"containers":[]}});
        let s = MutateSettings {
            seccomp_profile: true,
            ..MutateSettings::default()
        };
        assert!(safe_defaults("Pod", "CREATE", &legacy, &s).is_empty());
        assert!(safe_defaults("ConfigMap", "CREATE", &json!({"data":{}}), &all()).is_empty());
    }

    #[test]
    fn cronjob_paths_and_images() {
        let cj = json!({"spec":{"jobTemplate":{"spec":{"template":{"spec":{
            "containers":[{"name":"job","image":"alpine:3"}],
            "ephemeralContainers":[{"name":"dbg","image":"busybox"}]}}}}}});
        assert_eq!(images("CronJob", &cj), ["alpine:3", "busybox"]);
        let s = MutateSettings {
            allow_privilege_escalation: true,
            ..MutateSettings::default()
        };
        let (ops, _) = patched("CronJob", "CREATE", cj, &s);
        assert_eq!(
            ops,
            [
                json!({"op":"add","path":"/spec/jobTemplate/spec/template/spec/containers/0/securityContext","value":{"allowPrivilegeEscalation":false}})
            ]
        );
    }
}
