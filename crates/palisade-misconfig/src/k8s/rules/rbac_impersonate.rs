use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-059",
        title: "Role can impersonate",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.8"],
        fix: "Remove the `impersonate` verb, or limit it with `resourceNames` to the specific low-privilege users or service accounts that must be impersonated.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant the `impersonate` verb on
`users`, `groups` or `serviceaccounts` (core group) or on `uids` and `userextras/<key>`
(`authentication.k8s.io`). Users, groups, UIDs and extras are cluster-wide, so only
`serviceaccounts` counts in a namespaced Role. Entries limited by `resourceNames` are
reported with the names. Only explicit grants are reported; wildcards are PAL-K8S-050 to 052.

## Why is this bad?
Impersonation lets a client send requests as someone else with the `Impersonate-User` and
`Impersonate-Group` headers; the API server then authorizes them with the impersonated
identity's rights. Whoever may impersonate any user or group can claim to be in
`system:masters`, which bypasses RBAC entirely, so the verb is equivalent to
`cluster-admin` unless it is limited to a few harmless names.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: support-tool
rules:
  - apiGroups: [""]
    resources: ["users", "groups"]
    verbs: ["impersonate"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: support-tool
rules:
  - apiGroups: [""]
    resources: ["users"]
    resourceNames: ["support-readonly"]
    verbs: ["impersonate"]
```

## References
- [Authenticating: User impersonation](https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation)
- [Role Based Access Control Good Practices: Impersonate verb](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#impersonate-verb)
- CIS Kubernetes Benchmark, 5.1.8 "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"
"#;

const TARGETS: &[Target] = &[
    Target::cluster("", "users"),
    Target::cluster("", "groups"),
    Target::namespaced("", "serviceaccounts"),
    Target::cluster("authentication.k8s.io", "uids"),
    Target::cluster("authentication.k8s.io", "userextras/*"),
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) = rule.explicit_grant(&["impersonate"], TARGETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_impersonation() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonator}
rules:
- apiGroups: [""]
  resources: [users, groups, serviceaccounts]
  verbs: [impersonate]
- apiGroups: [authentication.k8s.io]
  resources: [userextras/scopes, uids]
  verbs: [impersonate]
- apiGroups: [""]
  resources: [groups]
  resourceNames: [system:masters]
  verbs: [impersonate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ns-impersonator, namespace: shop}
rules:
- apiGroups: [""]
  resources: [users, serviceaccounts]
  verbs: [impersonate]
"#,
            &[
                (
                    7,
                    "rules[0] grants \"impersonate\" on \"users\", \"groups\", \"serviceaccounts\"",
                ),
                (
                    10,
                    "rules[1] grants \"impersonate\" on \"userextras/scopes\", \"uids\"",
                ),
                (
                    13,
                    "rules[2] grants \"impersonate\" on \"groups\" (resourceNames \"system:masters\")",
                ),
                (22, "rules[0] grants \"impersonate\" on \"serviceaccounts\""),
            ],
        );
    }

    #[test]
    fn leaves_other_verbs_groups_and_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: viewer}
rules:
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get, list]
- apiGroups: [""]
  resources: [uids, userextras/scopes]
  verbs: [impersonate]
- apiGroups: [""]
  resources: [users]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: shop}
rules:
- apiGroups: [""]
  resources: [users, groups]
  verbs: [impersonate]
"#,
            &[],
        );
    }
}
