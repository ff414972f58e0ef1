use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-061",
        title: "Role can access nodes/proxy",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.10"],
        fix: "Remove access to `nodes/proxy`; monitoring agents can read the kubelet's `nodes/metrics` and `nodes/stats` subresources instead.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of ClusterRoles that grant `get`, `create`, `update`, `patch` or
`delete` on the `nodes/proxy` subresource (including `*/proxy`). Entries limited by
`resourceNames` are reported with the node names. Only explicit grants are reported;
wildcards are PAL-K8S-050 to 052. Namespaced Roles are not checked: nodes are cluster-wide.

## Why is this bad?
`nodes/proxy` is what the kubelet checks before serving its own API, through the API server's
proxy or directly on port 10250. That API runs commands in any container on the node
(`/exec`, `/run`), reads logs and lists pods; a WebSocket exec is a plain GET, so even a
"read-only" `get` is enough. Nothing of it passes admission control, and requests sent
straight to the kubelet never reach the API server's audit log: a stolen token with this
grant is a quiet way into every workload on every node.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: metrics-scraper
rules:
  - apiGroups: [""]
    resources: ["nodes", "nodes/proxy"]
    verbs: ["get", "list", "watch"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: metrics-scraper
rules:
  - apiGroups: [""]
    resources: ["nodes", "nodes/metrics", "nodes/stats"]
    verbs: ["get", "list", "watch"]
```

## References
- [Role Based Access Control Good Practices: Access to proxy subresource of Nodes](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#access-to-proxy-subresource-of-nodes)
- [Kubelet authentication/authorization](https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/)
- CIS Kubernetes Benchmark, 5.1.10 "Minimize access to the proxy sub-resource of nodes"
"#;

const TARGETS: &[Target] = &[Target::cluster("", "nodes/proxy")];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) =
            rule.explicit_grant(&["get", "create", "update", "patch", "delete"], TARGETS)
        {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_node_proxy() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: prometheus}
rules:
- apiGroups: [""]
  resources:
  - nodes
  - nodes/metrics
  - nodes/proxy
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: ["*/proxy"]
  resourceNames: [node-1]
  verbs: [create]
"#,
            &[
                (10, "rules[0] grants \"get\" on \"nodes/proxy\""),
                (
                    13,
                    "rules[1] grants \"create\" on \"*/proxy\" (resourceNames \"node-1\")",
                ),
            ],
        );
    }

    #[test]
    fn leaves_metrics_roles_and_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: prometheus-k8s}
rules:
- apiGroups: [""]
  resources: [nodes/metrics, services/proxy]
  verbs: [get]
- apiGroups: [""]
  resources: [nodes/proxy]
  verbs: ["*"]
- apiGroups: [""]
  resources: [nodes/proxy]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: monitoring}
rules:
- apiGroups: [""]
  resources: [nodes/proxy]
  verbs: [get]
"#,
            &[],
        );
    }
}
