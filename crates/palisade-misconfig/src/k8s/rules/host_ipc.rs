use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-004",
        title: "Host IPC namespace shared",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:hostNamespaces", "cis:5.2.4"],
        fix: "Remove `hostIPC: true` (or set it to false); share memory between containers of the pod with an `emptyDir` volume with `medium: Memory` instead.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pods that set `spec.hostIPC: true`.

## Why is this bad?
The host IPC namespace gives the container access to the node's System V shared memory
segments, semaphores and message queues and to `/dev/shm` of host processes. A compromised
container can read or corrupt data that other processes on the node keep in shared memory,
or disturb them by exhausting IPC resources. The Pod Security Standards forbid it at the
Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: cache
spec:
  hostIPC: true
  containers:
    - name: app
      image: registry.example.com/cache:2.1
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: cache
spec:
  containers:
    - name: app
      image: registry.example.com/cache:2.1
      volumeMounts:
        - name: shm
          mountPath: /dev/shm
  volumes:
    - name: shm
      emptyDir:
        medium: Memory
```

## References
- [Pod Security Standards: Baseline, Host Namespaces](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- CIS Kubernetes Benchmark 5.2.4, "Minimize the admission of containers wishing to share the host IPC namespace"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    super::pss_util::host_namespace(r, "hostIPC", out);
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
  hostIPC: true
  containers: [{name: c, image: x:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec:
  hostIPC: false
  containers: [{name: c, image: x:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec:
  hostIPC: null
  containers: [{name: c, image: x:1}]
"#,
            &[(6, "pod sets hostIPC to true")],
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
              hostIPC: true
              containers: [{name: c, image: x:1}]
  - apiVersion: v1
    kind: Service
    metadata: {name: s}
    spec:
      hostIPC: true
"#,
            &[(14, "pod sets hostIPC to true")],
        );
    }
}
