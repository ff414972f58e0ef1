use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-057",
        title: "Role can escalate privileges",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.8"],
        fix: "Remove the `escalate` verb; whoever edits roles should only grant permissions they hold themselves.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant the `escalate` verb on `roles`
or `clusterroles` in the `rbac.authorization.k8s.io` group (`clusterroles` only in
ClusterRoles: a Role cannot grant it). Entries limited by `resourceNames` are reported with
the names. Only explicit grants are reported; wildcards are PAL-K8S-050 to 052.

## Why is this bad?
Kubernetes normally refuses to let anyone create or update a role that grants more than they
hold themselves. `escalate` switches that protection off: together with `update` on a role
bound to the subject, it can add `"*"` on `"*"` to its own role and become cluster
administrator in one request.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: role-manager
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["roles", "clusterroles"]
    verbs: ["get", "list", "create", "update", "escalate"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: role-manager
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["roles", "clusterroles"]
    verbs: ["get", "list", "create", "update"]
```

## References
- [Using RBAC Authorization: Privilege escalation prevention and bootstrapping](https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping)
- [Role Based Access Control Good Practices: Escalate verb](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#escalate-verb)
- CIS Kubernetes Benchmark, 5.1.8 "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"
"#;

const TARGETS: &[Target] = &[
    Target::namespaced("rbac.authorization.k8s.io", "roles"),
    Target::cluster("rbac.authorization.k8s.io", "clusterroles"),
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) = rule.explicit_grant(&["escalate"], TARGETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_escalate() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: role-manager}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, clusterroles]
  verbs: [get, update, escalate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ns-role-manager, namespace: shop}
rules:
- apiGroups: ["*"]
  resources:
  - clusterroles
  - roles
  resourceNames: [app]
  verbs: [escalate]
"#,
            &[
                (
                    7,
                    "rules[0] grants \"escalate\" on \"roles\", \"clusterroles\"",
                ),
                (
                    17,
                    "rules[0] grants \"escalate\" on \"roles\" (resourceNames \"app\")",
                ),
            ],
        );
    }

    #[test]
    fn leaves_plain_role_edits_and_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: role-manager}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, clusterroles, rolebindings]
  verbs: [get, list, create, update, bind]
- apiGroups: [""]
  resources: [roles]
  verbs: [escalate]
- apiGroups: [rbac.authorization.k8s.io]
  resources: ["*"]
  verbs: [escalate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: shop}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  verbs: [escalate]
"#,
            &[],
        );
    }
}
