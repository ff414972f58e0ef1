use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-052",
        title: "Role grants full control",
        severity: Severity::Critical,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.3"],
        fix: "List the API groups, resources and verbs the subject needs instead of `\"*\"`; bind the built-in `admin` or `edit` role if a person needs broad access to one namespace.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant the `"*"` verb on the `"*"`
resource. The message says which API groups the entry covers: `"*"` in `apiGroups` makes it
the equivalent of `cluster-admin`. Aggregated ClusterRoles are skipped.

## Why is this bad?
Every verb on every resource includes creating privileged pods, reading every Secret,
`escalate` and `bind` on roles and `impersonate` on users: whoever holds the role can make
themselves a cluster administrator. A compromised controller with such a ClusterRole turns one
exploited pod into a compromised cluster, and the grant silently covers every API added later.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: deployer
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: deployer
rules:
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get", "list", "watch", "create", "update", "patch"]
  - apiGroups: [""]
    resources: ["services", "configmaps"]
    verbs: ["get", "list", "watch", "create", "update", "patch"]
```

## References
- [Role Based Access Control Good Practices](https://kubernetes.io/docs/concepts/security/rbac-good-practices/)
- [Using RBAC Authorization: User-facing roles](https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles)
- CIS Kubernetes Benchmark, 5.1.3 "Minimize wildcard use in Roles and ClusterRoles"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        let Some((i, verb)) = rule.find("verbs", "*") else {
            continue;
        };
        if !rule.has("resources", "*") || rule.items("apiGroups").is_empty() {
            continue;
        }
        out.push(
            Hit::new(
                format!(
                    "rules[{}] grants every verb on every resource {}",
                    rule.index,
                    rule.groups_phrase()
                ),
                verb.span,
            )
            .field(rule.field("verbs", i)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_star_on_star() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: argocd-application-controller}
rules:
- apiGroups: ['*']
  resources: ['*']
  verbs: ['*']
- nonResourceURLs: ['*']
  verbs: ['*']
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: monitoring-admin, namespace: monitoring}
rules:
- apiGroups:
  - monitoring.coreos.com
  resources:
  - "*"
  verbs:
  - get
  - "*"
"#,
            &[
                (
                    8,
                    "rules[0] grants every verb on every resource in every API group",
                ),
                (
                    22,
                    "rules[0] grants every verb on every resource in API group \"monitoring.coreos.com\"",
                ),
            ],
        );
    }

    #[test]
    fn leaves_partial_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: partial}
rules:
- apiGroups: ['*']
  resources: ['*']
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: ['*']
- apiGroups: ['*']
  resources: ['*/scale']
  verbs: ['*']
"#,
            &[],
        );
    }
}
