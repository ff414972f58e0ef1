use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::missing_resource;
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-025",
        title: "CPU limit not set",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:resource-policies"],
        fix: "Set `resources.limits.cpu` on every container (or pod-level `spec.resources.limits.cpu`).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags regular and init containers without `resources.limits.cpu`, unless the pod sets a
pod-level CPU limit in `spec.resources`.

## Why is this bad?
A container without a CPU limit may use every idle core of its node. A runaway loop, a
request flood or a compromised process mining cryptocurrency then slows down every other
pod on the node, including system daemons, and the cost only shows up on the bill. The
NSA/CISA guide recommends limits on every container, or namespace defaults through a
`LimitRange`, so one workload cannot exhaust a shared node.

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
      resources:
        requests:
          cpu: 250m
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
        limits:
          cpu: "1"
```

## References
- [Resource Management for Pods and Containers](https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/)
- [Limit Ranges](https://kubernetes.io/docs/concepts/policy/limit-range/)
- NSA/CISA Kubernetes Hardening Guide, "Resource policies"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    missing_resource(r, "limits", "cpu", "CPU limit", out);
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_containers_without_a_cpu_limit() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx:1.27
          resources:
            requests: {cpu: 100m}
        - name: ok
          resources:
            limits: {cpu: 500m}
        - name: bare
          image: busybox:1.36
"#,
            &[
                (11, "container \"web\" has no CPU limit"),
                (16, "container \"bare\" has no CPU limit"),
            ],
        );
    }

    #[test]
    fn pod_level_limit_and_null_values() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  resources:
    limits: {cpu: "2"}
  containers:
    - name: a
---
apiVersion: v1
kind: Pod
metadata: {name: q}
spec:
  containers:
    - name: a
      resources:
        limits:
          cpu: null
"#,
            &[(18, "container \"a\" has no CPU limit")],
        );
    }
}
