use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::missing_resource;
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-026",
        title: "Memory request not set",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:resource-policies"],
        fix: "Set `resources.requests.memory` on every container to the memory it needs under normal load.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags regular and init containers without `resources.requests.memory`. A memory limit
counts as a request (the API server copies a limit into a missing request), and so do
pod-level `spec.resources`.

## Why is this bad?
The scheduler only reserves the memory that containers request. Without a request, pods
are packed onto nodes that cannot hold them at their real size; when the node runs out of
memory, the kubelet evicts pods that use more than they requested first, and the kernel's
OOM killer picks among the rest. The result is restarts and outages under load that are
hard to trace back to a missing line of YAML.

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
          cpu: 100m
          memory: 512Mi
        limits:
          memory: 512Mi
```

## References
- [Resource Management for Pods and Containers](https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/)
- [Node-pressure Eviction](https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/)
- NSA/CISA Kubernetes Hardening Guide, "Resource policies"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    missing_resource(r, "requests", "memory", "memory request", out);
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_containers_without_a_memory_request() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      initContainers:
        - name: fetch
          resources:
            requests: {memory: 64Mi}
      containers:
        - name: run
          resources:
            requests: {cpu: 100m}
        - name: capped
          resources:
            limits: {memory: 128Mi}
"#,
            &[(15, "container \"run\" has no memory request")],
        );
    }

    #[test]
    fn list_items_are_checked() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a}
    spec:
      containers:
        - name: a
          resources:
            requests: {memory: 1Gi}
  - apiVersion: v1
    kind: Pod
    metadata: {name: b}
    spec:
      containers:
        - name: b
"#,
            &[(18, "container \"b\" has no memory request")],
        );
    }
}
