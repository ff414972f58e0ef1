use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-042",
        title: "Process namespace shared between containers",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:kubernetes-pod-security"],
        fix: "Remove `shareProcessNamespace: true`; use an ephemeral debug container with `targetContainerName` when you need to inspect another container's processes.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pod specs that set `shareProcessNamespace: true`.

## Why is this bad?
With a shared process namespace every container of the pod sees the others' processes.
A compromised sidecar can then read another container's environment variables and
command line, reach its filesystem through `/proc/<pid>/root` (including mounted secrets
and service account tokens that were not mounted into the sidecar), and signal or trace
its processes when running as the same user. The isolation between containers, which is
often why a credential was given to only one of them, is gone.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  shareProcessNamespace: true
  containers:
    - name: app
      image: ghcr.io/example/app:3.1.0
    - name: log-shipper
      image: fluent/fluent-bit:3.2.2
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: ghcr.io/example/app:3.1.0
    - name: log-shipper
      image: fluent/fluent-bit:3.2.2
# For debugging: kubectl debug -it app --image=busybox:1.36 --target=app
```

## References
- [Share Process Namespace between Containers in a Pod](https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/)
- [Ephemeral Containers](https://kubernetes.io/docs/concepts/workloads/pods/ephemeral-containers/)
- NSA/CISA Kubernetes Hardening Guide, "Kubernetes Pod security"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    let key = "shareProcessNamespace";
    if pod.spec.get(key).and_then(Node::as_bool) != Some(true) {
        return;
    }
    let Some(span) = entry_span(pod.spec, key) else {
        return;
    };
    out.push(
        Hit::new(
            "pod shares one process namespace between its containers (shareProcessNamespace: true)",
            span,
        )
        .field(pod.field(key)),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_shared_process_namespace() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  template:
    spec:
      shareProcessNamespace: true
      containers:
        - name: a
"#,
            &[(
                8,
                "pod shares one process namespace between its containers (shareProcessNamespace: true)",
            )],
        );
    }

    #[test]
    fn false_or_missing_passes() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  shareProcessNamespace: false
  containers: [{name: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec:
  containers: [{name: b}]
"#,
            &[],
        );
    }
}
