use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-003",
        title: "Host PID namespace shared",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:hostNamespaces", "cis:5.2.3"],
        fix: "Remove `hostPID: true` (or set it to false); use `shareProcessNamespace` if containers of the pod need to see each other's processes.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pods that set `spec.hostPID: true`.

## Why is this bad?
With the host's PID namespace a container sees every process on the node, including those
of other pods. It can read their command lines and environment (often holding secrets)
through `/proc`, signal them, and, combined with ptrace or a privileged context, attach to
them or enter their namespaces with `nsenter`. The Pod Security Standards forbid it at the
Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  hostPID: true
  containers:
    - name: tools
      image: busybox:1.36
      command: ["sleep", "3600"]
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  shareProcessNamespace: true
  containers:
    - name: tools
      image: busybox:1.36
      command: ["sleep", "3600"]
```

## References
- [Pod Security Standards: Baseline, Host Namespaces](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Share Process Namespace between Containers in a Pod](https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/)
- CIS Kubernetes Benchmark 5.2.3, "Minimize the admission of containers wishing to share the host process ID namespace"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    super::pss_util::host_namespace(r, "hostPID", out);
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_true_only() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  hostPID: true
  containers: [{name: c, image: x:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec:
  hostPID: false
  containers: [{name: c, image: x:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec:
  hostPID: null
  containers: [{name: c, image: x:1}]
"#,
            &[(6, "pod sets hostPID to true")],
        );
    }

    #[test]
    fn cronjob_template_and_lists() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: CronJob
    metadata: {name: nightly}
    spec:
      schedule: "0 1 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              hostPID: true
              containers: [{name: c, image: x:1}]
  - apiVersion: v1
    kind: Service
    metadata: {name: s}
    spec:
      hostPID: true
"#,
            &[(14, "pod sets hostPID to true")],
        );
    }
}
