use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-002",
        title: "Host network namespace shared",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:hostNamespaces", "cis:5.2.5"],
        fix: "Remove `hostNetwork: true` (or set it to false) and expose the workload through a Service instead.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pods that set `spec.hostNetwork: true`.

## Why is this bad?
A pod on the host network shares the node's network stack: it can bind any port on the
node's addresses, reach services listening only on localhost (such as the kubelet's or a
local database's admin port) and sniff traffic of other pods on the node with a raw socket.
Most NetworkPolicy implementations cannot restrict host-network pods. The Pod Security Standards forbid it at the Baseline level.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: metrics
spec:
  selector:
    matchLabels: {app: metrics}
  template:
    metadata:
      labels: {app: metrics}
    spec:
      hostNetwork: true
      containers:
        - name: exporter
          image: prom/node-exporter:v1.8.2
          ports:
            - containerPort: 9100
```

## Use instead
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: metrics
spec:
  selector:
    matchLabels: {app: metrics}
  template:
    metadata:
      labels: {app: metrics}
    spec:
      containers:
        - name: exporter
          image: prom/node-exporter:v1.8.2
          ports:
            - containerPort: 9100
```

## References
- [Pod Security Standards: Baseline, Host Namespaces](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Pod API reference (`hostNetwork`)](https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/)
- CIS Kubernetes Benchmark 5.2.5, "Minimize the admission of containers wishing to share the host network namespace"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    super::pss_util::host_namespace(r, "hostNetwork", out);
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
  hostNetwork: true
  containers: [{name: c, image: x:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec:
  hostNetwork: false
  containers: [{name: c, image: x:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec:
  hostNetwork: null
  containers: [{name: c, image: x:1}]
"#,
            &[(6, "pod sets hostNetwork to true")],
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
              hostNetwork: true
              containers: [{name: c, image: x:1}]
  - apiVersion: v1
    kind: Service
    metadata: {name: s}
    spec:
      hostNetwork: true
"#,
            &[(14, "pod sets hostNetwork to true")],
        );
    }
}
