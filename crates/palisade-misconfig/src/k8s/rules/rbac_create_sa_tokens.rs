use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-063",
        title: "Role can create service account tokens",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.13"],
        fix: "Remove `create` on `serviceaccounts/token`, or limit it with `resourceNames` to the service accounts the subject must act as.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant `create` on the
`serviceaccounts/token` subresource (including `*/token`). Entries limited by `resourceNames`
are reported with the names of the service accounts. Only explicit grants are reported;
wildcards are PAL-K8S-050 to 052.

## Why is this bad?
The TokenRequest API issues a fresh, valid token for a service account to whoever may
`create` its `token` subresource. The subject can thereby act as every service account in
scope, including controllers with far more rights than its own, and can ask for long-lived
tokens that keep working after its own access is revoked.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: token-broker
rules:
  - apiGroups: [""]
    resources: ["serviceaccounts/token"]
    verbs: ["create"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: token-broker
  namespace: ci
rules:
  - apiGroups: [""]
    resources: ["serviceaccounts/token"]
    resourceNames: ["ci-runner"]
    verbs: ["create"]
```

## References
- [Role Based Access Control Good Practices: Token request](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#token-request)
- [TokenRequest API reference](https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/)
- CIS Kubernetes Benchmark, 5.1.13 "Minimize access to the service account token creation"
"#;

const TARGETS: &[Target] = &[Target::namespaced("", "serviceaccounts/token")];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) = rule.explicit_grant(&["create"], TARGETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_token_creation() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: token-broker}
rules:
- apiGroups: [""]
  resources: [serviceaccounts, serviceaccounts/token]
  verbs: [get, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ci, namespace: ci}
rules:
- apiGroups: [""]
  resources: ["*/token"]
  resourceNames: [ci-runner]
  verbs: [create]
"#,
            &[
                (7, "rules[0] grants \"create\" on \"serviceaccounts/token\""),
                (
                    15,
                    "rules[0] grants \"create\" on \"*/token\" (resourceNames \"ci-runner\")",
                ),
            ],
        );
    }

    #[test]
    fn leaves_service_account_management_and_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: sa-manager}
rules:
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [create, get]
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: [get]
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: ["*"]
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
"#,
            &[],
        );
    }
}
