use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{pod_sc, set, set_entry, show};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-019",
        title: "Container may run as root",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:runAsNonRoot", "cis:5.2.7"],
        fix: "Set `securityContext.runAsNonRoot: true` on the pod (it applies to every container) and build the image with a non-root `USER`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags workloads where `securityContext.runAsNonRoot` does not end up `true` for every
container (init, regular, ephemeral):
- the pod sets `runAsNonRoot: false` (reported once, on the pod; containers that inherit it
  are not reported again);
- a container sets `runAsNonRoot: false` itself;
- neither the container nor the pod sets it.

A non-zero `runAsUser` does not satisfy this check. Pods with `spec.hostUsers: false` are
exempt: root inside their user namespace is an unprivileged user on the node.

## Why is this bad?
Without `runAsNonRoot: true` the kubelet starts the container as whatever user the image
says, and for most images that is root. Root in a container shares UID 0 with root on the
node: any kernel bug, writable host mount or extra capability then works with full
privileges, and files written to volumes are owned by root. With the flag set, the kubelet
refuses to start a container that would run as UID 0.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:3.2
```

## Use instead
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: api
          image: registry.example.com/api:3.2
```

## References
- [Pod Security Standards: Restricted, Running as Non-root](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Configure a Security Context for a Pod or Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/)
- CIS Kubernetes Benchmark 5.2.7, "Minimize the admission of root containers"
"#;

const FIELD: &str = "securityContext.runAsNonRoot";

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.uses_user_namespace() {
        return;
    }
    let pod_value = set_entry(pod_sc(&pod), "runAsNonRoot");
    let pod_true = pod_value.is_some_and(|(v, _)| v.as_bool() == Some(true));
    if let Some((value, span)) = pod_value
        && !pod_true
    {
        out.push(
            Hit::new(format!("pod sets {FIELD} to {}", show(value)), span).field(pod.field(FIELD)),
        );
    }
    for c in pod.containers() {
        match set_entry(set(c.security_context()), "runAsNonRoot") {
            Some((value, _)) if value.as_bool() == Some(true) => {}
            Some((value, span)) => out.push(
                Hit::new(
                    format!("{} sets {FIELD} to {}", c.label(), show(value)),
                    span,
                )
                .field(c.field(FIELD)),
            ),
            // Inherits the pod's value: fine if true, already reported if not.
            None if pod_value.is_some() => {}
            None => out.push(
                Hit::new(
                    format!("neither {} nor the pod sets {FIELD} to true", c.label()),
                    c.missing_span(),
                )
                .field(c.field(FIELD)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_missing_and_false() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  os: {name: windows}
  initContainers:
    - name: init
      image: x:1
  containers:
    - name: app
      securityContext:
        runAsNonRoot: false
    - name: uid
      securityContext:
        runAsUser: 1000
    - name: ok
      securityContext: {runAsNonRoot: true}
"#,
            &[
                (
                    8,
                    "neither init container \"init\" nor the pod sets securityContext.runAsNonRoot to true",
                ),
                (
                    13,
                    "container \"app\" sets securityContext.runAsNonRoot to false",
                ),
                (
                    15,
                    "neither container \"uid\" nor the pod sets securityContext.runAsNonRoot to true",
                ),
            ],
        );
    }

    #[test]
    fn pod_level_value_is_inherited() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: good}
spec:
  template:
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: app
          image: x:1
        - name: override
          securityContext: {runAsNonRoot: false}
---
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  securityContext:
    runAsNonRoot: false
  containers:
    - name: inherits
      image: x:1
    - name: fixed
      securityContext: {runAsNonRoot: true}
    - name: own
      securityContext: {runAsNonRoot: false}
"#,
            &[
                (
                    13,
                    "container \"override\" sets securityContext.runAsNonRoot to false",
                ),
                (20, "pod sets securityContext.runAsNonRoot to false"),
                (
                    27,
                    "container \"own\" sets securityContext.runAsNonRoot to false",
                ),
            ],
        );
    }

    #[test]
    fn user_namespaced_pods_are_exempt() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostUsers: false
  containers:
    - name: app
      securityContext: {runAsNonRoot: false}
"#,
            &[],
        );
    }
}
