use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::missing_resource;
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-027",
        title: "Memory limit not set",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:resource-policies"],
        fix: "Set `resources.limits.memory` on every container (or pod-level `spec.resources.limits.memory`).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags regular and init containers without `resources.limits.memory`, unless the pod sets
a pod-level memory limit in `spec.resources`.

## Why is this bad?
Memory cannot be throttled like CPU: a container without a limit can grow until the whole
node runs out of memory. A leak, an oversized request body or a deliberate memory bomb in
one pod then triggers the kernel's OOM killer and kubelet evictions for unrelated pods on
the same node. With a limit, only the offending container is killed and restarted.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: cache
spec:
  containers:
    - name: redis
      image: redis:7.4
      resources:
        requests:
          memory: 512Mi
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: cache
spec:
  containers:
    - name: redis
      image: redis:7.4
      resources:
        requests:
          memory: 512Mi
        limits:
          memory: 512Mi
```

## References
- [Resource Management for Pods and Containers](https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/)
- [Assign Memory Resources to Containers and Pods](https://kubernetes.io/docs/tasks/configure-pod-container/assign-memory-resource/)
- NSA/CISA Kubernetes Hardening Guide, "Resource policies"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    missing_resource(r, "limits", "memory", "memory limit", out);
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_containers_without_a_memory_limit() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      initContainers:
        - name: setup
          resources:
            limits: {memory: 32Mi}
      containers:
        - name: agent
          resources:
            requests: {memory: 64Mi}
            limits: {cpu: 100m}
"#,
            &[(16, "container \"agent\" has no memory limit")],
        );
    }

    #[test]
    fn clean_pod_passes() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      resources:
        limits: {memory: 128Mi}
"#,
            &[],
        );
    }
}
