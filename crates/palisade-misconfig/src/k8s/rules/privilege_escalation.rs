use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{set, set_entry, show};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-015",
        title: "Privilege escalation allowed",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:allowPrivilegeEscalation", "cis:5.2.6"],
        fix: "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (init, regular and ephemeral) that do not set
`securityContext.allowPrivilegeEscalation: false`, whether the field is `true` or simply
missing (there is no pod-level setting, and the default is to allow escalation). Pods with
`spec.os.name: windows` are exempt, as in the Pod Security admission controller.

## Why is this bad?
`allowPrivilegeEscalation` controls the kernel's `no_new_privs` flag. Without it, a
process in the container can gain privileges it did not start with: by executing a
setuid-root binary (`sudo`, `su`, `ping` in many images) or a file with file
capabilities. An attacker who gets a foothold as a non-root user can thus become root
inside the container, the first step towards escaping it. The Restricted profile requires
escalation to be switched off explicitly.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: worker
spec:
  containers:
    - name: worker
      image: registry.example.com/worker:4.1
      securityContext:
        runAsNonRoot: true
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: worker
spec:
  containers:
    - name: worker
      image: registry.example.com/worker:4.1
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
```

## References
- [Pod Security Standards: Restricted, Privilege Escalation](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Configure a Security Context for a Pod or Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/)
- [No New Privileges Flag (kernel documentation)](https://docs.kernel.org/userspace-api/no_new_privs.html)
- CIS Kubernetes Benchmark 5.2.6, "Minimize the admission of containers with allowPrivilegeEscalation"
"#;

const FIELD: &str = "securityContext.allowPrivilegeEscalation";

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.is_windows() {
        return;
    }
    for c in pod.containers() {
        let hit = match set_entry(set(c.security_context()), "allowPrivilegeEscalation") {
            Some((value, _)) if value.as_bool() == Some(false) => continue,
            Some((value, span)) => Hit::new(
                format!("{} sets {FIELD} to {}", c.label(), show(value)),
                span,
            ),
            None => Hit::new(
                format!("{} does not set {FIELD} to false", c.label()),
                c.missing_span(),
            ),
        };
        out.push(hit.field(c.field(FIELD)));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_true_and_missing() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: x:1
      containers:
        - name: app
          securityContext:
            allowPrivilegeEscalation: true
        - name: nofield
          securityContext:
            runAsNonRoot: true
        - name: ok
          securityContext: {allowPrivilegeEscalation: false}
      ephemeralContainers:
        - name: debug
          securityContext: {allowPrivilegeEscalation: null}
"#,
            &[
                (
                    9,
                    "init container \"init\" does not set securityContext.allowPrivilegeEscalation to false",
                ),
                (
                    14,
                    "container \"app\" sets securityContext.allowPrivilegeEscalation to true",
                ),
                (
                    16,
                    "container \"nofield\" does not set securityContext.allowPrivilegeEscalation to false",
                ),
                (
                    22,
                    "ephemeral container \"debug\" does not set securityContext.allowPrivilegeEscalation to false",
                ),
            ],
        );
    }

    #[test]
    fn windows_pods_are_exempt() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  containers:
    - name: app
      securityContext: {allowPrivilegeEscalation: true}
"#,
            &[],
        );
    }
}
