use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::{Node, Span};

use super::pss_util::{pod_sc, set, set_entry};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-020",
        title: "Runs as root user ID 0",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:runAsUser", "cis:5.2.7"],
        fix: "Set `securityContext.runAsUser` to a non-zero UID (for example 10001), or remove it and let the image's non-root `USER` apply.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `securityContext.runAsUser: 0` on the pod or on any container (init, regular,
ephemeral). A missing `runAsUser` is not reported here (see PAL-K8S-019 for containers
that may run as root by default). Pods with `spec.hostUsers: false` are exempt: UID 0 in
their user namespace maps to an unprivileged user on the node.

## Why is this bad?
UID 0 in a container is UID 0 on the node unless user namespaces are used. Asking for it
explicitly defeats `runAsNonRoot` and the image's own `USER`, and gives the process root's
rights over every file on mounted volumes and over anything a container escape reaches.
Almost no application needs it; the Restricted profile forbids it.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: job
spec:
  securityContext:
    runAsUser: 0
  containers:
    - name: job
      image: registry.example.com/job:1.3
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: job
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
  containers:
    - name: job
      image: registry.example.com/job:1.3
```

## References
- [Pod Security Standards: Restricted, Running as Non-root user](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Configure a Security Context for a Pod or Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/)
- CIS Kubernetes Benchmark 5.2.7, "Minimize the admission of root containers"
"#;

const FIELD: &str = "securityContext.runAsUser";

fn root_uid(sc: Option<&Node>) -> Option<Span> {
    let (value, span) = set_entry(sc, "runAsUser")?;
    (value.as_i64() == Some(0)).then_some(span)
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.uses_user_namespace() {
        return;
    }
    if let Some(span) = root_uid(pod_sc(&pod)) {
        out.push(Hit::new(format!("pod sets {FIELD} to 0"), span).field(pod.field(FIELD)));
    }
    for c in pod.containers() {
        if let Some(span) = root_uid(set(c.security_context())) {
            out.push(
                Hit::new(format!("{} sets {FIELD} to 0", c.label()), span).field(c.field(FIELD)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_explicit_zero() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    runAsUser: 0
  initContainers:
    - name: init
      securityContext: {runAsUser: 0}
  containers:
    - name: app
      securityContext:
        runAsUser: 1000
    - name: unset
      image: x:1
"#,
            &[
                (7, "pod sets securityContext.runAsUser to 0"),
                (
                    10,
                    "init container \"init\" sets securityContext.runAsUser to 0",
                ),
            ],
        );
    }

    #[test]
    fn user_namespaced_and_clean_pods() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: userns}
spec:
  hostUsers: false
  securityContext: {runAsUser: 0}
  containers: [{name: c, image: x:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: clean}
spec:
  securityContext: {runAsUser: 10001, runAsNonRoot: true}
  containers: [{name: c, image: x:1, securityContext: {runAsUser: null}}]
"#,
            &[],
        );
    }
}
