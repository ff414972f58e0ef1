use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

/// Known kinds that live in a namespace (a namespace on a cluster-scoped object is ignored
/// by the API server, so it is not a finding). Roles and RoleBindings are left out: they
/// must live in the namespace they grant access to, so one in `default` governs that
/// namespace rather than using it.
const NAMESPACED_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
    "Service",
    "Ingress",
    "NetworkPolicy",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "LimitRange",
    "ResourceQuota",
    "Endpoints",
    "EndpointSlice",
    "Lease",
];

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-030",
        title: "Object in the default namespace",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: NAMESPACED_KINDS,
        controls: &["cis:5.7.4"],
        fix: "Create a dedicated namespace for the application and set `metadata.namespace` to it.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags namespaced objects that explicitly set `metadata.namespace: default`. Objects
without a namespace are not flagged: where they land depends on how they are applied.
Roles and RoleBindings are not flagged either: granting access to the `default`
namespace (for example to monitor the `kubernetes` Service) requires them to live there.

## Why is this bad?
Namespaces are the unit that RBAC, NetworkPolicies, ResourceQuotas and Pod Security
admission labels attach to. The `default` namespace is shared by everything nobody placed
elsewhere, usually has no network policy and no Pod Security level, and any user allowed
to "just try something" can usually create pods in it. Workloads there cannot be isolated
from each other or given their own least-privilege access rules.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: billing
  namespace: default
spec:
  selector:
    matchLabels: {app: billing}
  template:
    metadata:
      labels: {app: billing}
    spec:
      containers:
        - name: billing
          image: ghcr.io/example/billing:5.0.2
```

## Use instead
```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: billing
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: billing
  namespace: billing
spec:
  selector:
    matchLabels: {app: billing}
  template:
    metadata:
      labels: {app: billing}
    spec:
      containers:
        - name: billing
          image: ghcr.io/example/billing:5.0.2
```

## References
- [Namespaces](https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/)
- CIS Kubernetes Benchmark 5.7.4, "The default namespace should not be used"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    if !NAMESPACED_KINDS.contains(&r.kind) || r.namespace != Some("default") {
        return;
    }
    let Some(span) = r.metadata().and_then(|m| entry_span(m, "namespace")) else {
        return;
    };
    out.push(
        Hit::new(
            format!("{} {:?} is in the default namespace", r.kind, r.name),
            span,
        )
        .field("metadata.namespace"),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_explicit_default_namespace() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: "default"}
"#,
            &[
                (6, "ConfigMap \"settings\" is in the default namespace"),
                (10, "Service \"web\" is in the default namespace"),
            ],
        );
    }

    #[test]
    fn other_namespaces_missing_and_cluster_scoped_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: prod}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: c, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: prometheus, namespace: default}
---
apiVersion: v1
kind: Namespace
metadata: {name: default}
"#,
            &[],
        );
    }
}
