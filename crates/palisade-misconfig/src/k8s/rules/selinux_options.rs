use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use super::pss_util::{pod_sc, set, set_entry, show, text};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-009",
        title: "Custom SELinux options",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:seLinuxOptions"],
        fix: "Remove `seLinuxOptions.user` and `seLinuxOptions.role`, and leave `type` unset or use one of the container types (`container_t`, `container_init_t`, `container_kvm_t`, `container_engine_t`).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `securityContext.seLinuxOptions` of the pod or of any container (init, regular,
ephemeral) that
- sets `type` to anything other than `container_t`, `container_init_t`, `container_kvm_t`
  or `container_engine_t` (an unset or empty type is fine),
- sets `user`, or
- sets `role`.
The `level` (MCS categories) is not checked.

## Why is this bad?
On SELinux nodes the container types confine a process to its own files even when it runs
as root. Choosing another type can lift that confinement entirely: `spc_t` ("super
privileged container") and `unconfined_t` are not restricted by policy at all, and a
custom user or role can open up transitions into such domains. The Pod Security Standards
forbid custom SELinux users and roles and unknown types at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  securityContext:
    seLinuxOptions:
      type: spc_t
  containers:
    - name: agent
      image: registry.example.com/agent:2.0
      securityContext:
        seLinuxOptions:
          user: system_u
          role: system_r
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  securityContext:
    seLinuxOptions:
      level: "s0:c123,c456"
  containers:
    - name: agent
      image: registry.example.com/agent:2.0
```

## References
- [Pod Security Standards: Baseline, SELinux](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Assign SELinux labels to a Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#assign-selinux-labels-to-a-container)
"#;

const ALLOWED_TYPES: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// Reports the forbidden parts of the `seLinuxOptions` under `sc`.
fn options(sc: Option<&Node>, who: &str, field: &dyn Fn(&str) -> String, out: &mut Vec<Hit>) {
    let Some((opts, _)) = set_entry(sc, "seLinuxOptions") else {
        return;
    };
    for key in ["type", "user", "role"] {
        let Some((value, span)) = set_entry(Some(opts), key) else {
            continue;
        };
        let v = text(Some(value));
        let allowed = if key == "type" {
            value.scalar_text().is_some() && ALLOWED_TYPES.contains(&v)
        } else {
            v.is_empty() && value.scalar_text().is_some()
        };
        if allowed {
            continue;
        }
        let path = format!("securityContext.seLinuxOptions.{key}");
        out.push(
            Hit::new(format!("{who} sets {path} to {}", show(value)), span).field(field(&path)),
        );
    }
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    options(pod_sc(&pod), "pod", &|p| pod.field(p), out);
    for c in pod.containers() {
        options(set(c.security_context()), &c.label(), &|p| c.field(p), out);
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_types_users_and_roles() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    seLinuxOptions:
      type: spc_t
      level: "s0:c1,c2"
  initContainers:
    - name: init
      securityContext:
        seLinuxOptions: {type: container_init_t, user: system_u}
  containers:
    - name: app
      securityContext:
        seLinuxOptions:
          type: container_engine_t
          role: system_r
"#,
            &[
                (
                    8,
                    "pod sets securityContext.seLinuxOptions.type to \"spc_t\"",
                ),
                (
                    13,
                    "init container \"init\" sets securityContext.seLinuxOptions.user to \"system_u\"",
                ),
                (
                    19,
                    "container \"app\" sets securityContext.seLinuxOptions.role to \"system_r\"",
                ),
            ],
        );
    }

    #[test]
    fn clean_pod() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    seLinuxOptions: {type: "", user: "", role: null, level: "s0:c9"}
  containers:
    - name: app
      securityContext:
        seLinuxOptions: {type: container_kvm_t}
"#,
            &[],
        );
    }
}
