use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-058",
        title: "Role can bind any role",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.8"],
        fix: "Remove the `bind` verb, or limit it with `resourceNames` to the few roles the subject may hand out.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant the `bind` verb on `roles` or
`clusterroles` in the `rbac.authorization.k8s.io` group. Entries limited by `resourceNames`
are reported with the names, so that a review can confirm none of them is powerful. Only
explicit grants are reported; wildcards are PAL-K8S-050 to 052.

## Why is this bad?
Kubernetes lets a subject create a RoleBinding or ClusterRoleBinding only for a role whose
permissions it already holds, unless it has `bind` on that role. With `bind` on
`clusterroles` and `create` on bindings, a service account can bind `cluster-admin` to itself
and take over the cluster, whatever else its own role says.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: namespace-onboarding
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["rolebindings"]
    verbs: ["create"]
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["clusterroles"]
    verbs: ["bind"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: namespace-onboarding
rules:
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["rolebindings"]
    verbs: ["create"]
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["clusterroles"]
    resourceNames: ["view"]
    verbs: ["bind"]
```

## References
- [Using RBAC Authorization: Restrictions on role binding creation or update](https://kubernetes.io/docs/reference/access-authn-authz/rbac/#restrictions-on-role-binding-creation-or-update)
- [Role Based Access Control Good Practices: Bind verb](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#bind-verb)
- CIS Kubernetes Benchmark, 5.1.8 "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"
"#;

/// `bind` is checked in the binding's namespace, so a Role may grant it on clusterroles too.
const TARGETS: &[Target] = &[
    Target::namespaced("rbac.authorization.k8s.io", "roles"),
    Target::namespaced("rbac.authorization.k8s.io", "clusterroles"),
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) = rule.explicit_grant(&["bind"], TARGETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_bind() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: onboarding, namespace: shop}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [rolebindings]
  verbs: [create]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  verbs: [bind]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles, roles]
  resourceNames: [view, edit]
  verbs: [bind, get]
"#,
            &[
                (10, "rules[1] grants \"bind\" on \"clusterroles\""),
                (
                    13,
                    "rules[2] grants \"bind\" on \"clusterroles\", \"roles\" (resourceNames \"view\", \"edit\")",
                ),
            ],
        );
    }

    #[test]
    fn leaves_binding_edits_and_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: binder}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [rolebindings, clusterrolebindings]
  verbs: [create, bind]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  verbs: ["*"]
"#,
            &[],
        );
    }
}
