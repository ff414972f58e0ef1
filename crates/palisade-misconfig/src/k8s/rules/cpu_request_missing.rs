use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::missing_resource;
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-024",
        title: "CPU request not set",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:resource-policies"],
        fix: "Set `resources.requests.cpu` on every container to the CPU it needs under normal load.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags regular and init containers without `resources.requests.cpu`. A CPU limit counts as
a request (the API server copies a limit into a missing request), and so do pod-level
`spec.resources`.

## Why is this bad?
The scheduler places pods by their requests. A container without a CPU request is counted
as needing nothing, so nodes get overcommitted and, under contention, the container gets
only the minimum CPU share: a busy neighbour (or an attacker's crypto-miner in another pod)
can starve it. Pods without requests are also `BestEffort` or `Burstable`, the first to be
evicted when a node runs short of resources.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: worker
spec:
  containers:
    - name: worker
      image: ghcr.io/example/worker:2.0.1
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
      image: ghcr.io/example/worker:2.0.1
      resources:
        requests:
          cpu: 250m
          memory: 256Mi
        limits:
          cpu: "1"
          memory: 256Mi
```

## References
- [Resource Management for Pods and Containers](https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/)
- [Pod Quality of Service Classes](https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/)
- NSA/CISA Kubernetes Hardening Guide, "Resource policies"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    missing_resource(r, "requests", "cpu", "CPU request", out);
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_containers_without_a_cpu_request() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: db
          resources:
            requests:
              memory: 1Gi
        - name: exporter
          resources: {}
        - name: ok
          resources: {requests: {cpu: 100m}}
        - name: limited
          resources:
            limits: {cpu: 200m}
      ephemeralContainers:
        - name: debug
"#,
            &[
                (9, "init container \"init\" has no CPU request"),
                (14, "container \"db\" has no CPU request"),
                (17, "container \"exporter\" has no CPU request"),
            ],
        );
    }

    #[test]
    fn pod_level_resources_cover_all_containers() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources:
    requests: {cpu: "1"}
  containers:
    - name: a
    - name: b
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
"#,
            &[],
        );
    }
}
