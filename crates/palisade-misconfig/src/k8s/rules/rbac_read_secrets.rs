use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-055",
        title: "Role can read Secrets",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.2"],
        fix: "Remove `get`, `list` and `watch` on `secrets`, or limit `get` to the Secrets the workload owns with `resourceNames`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant `get`, `list` or `watch` on
`secrets` in the core API group. Only explicit grants are reported (wildcards are PAL-K8S-050
to 052), and entries limited to named Secrets with `resourceNames` are left alone: that is
the least-privilege way to let a workload read its own Secret.

## Why is this bad?
Reading Secrets means reading the credentials in them: database passwords, cloud keys, TLS
private keys and, on older clusters, service account tokens of more powerful accounts. `list`
and `watch` return the full content of every Secret in scope, not just names, so a ClusterRole
with `list secrets` lets whoever steals the token collect every credential in the cluster and
move on from there.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: app
  namespace: shop
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list", "watch"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: app
  namespace: shop
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["app-db-credentials"]
    verbs: ["get"]
```

## References
- [Role Based Access Control Good Practices: Listing secrets](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets)
- [Good practices for Kubernetes Secrets](https://kubernetes.io/docs/concepts/security/secrets-good-practices/)
- CIS Kubernetes Benchmark, 5.1.2 "Minimize access to secrets"
"#;

const SECRETS: &[Target] = &[Target::namespaced("", "secrets")];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if !rule.resource_names().is_empty() {
            continue;
        }
        if let Some(grant) = rule.explicit_grant(&["get", "list", "watch"], SECRETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_secret_reads() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: argocd-server, namespace: argocd}
rules:
- apiGroups: ['']
  resources: [configmaps, secrets]
  verbs: [create, get, list, watch, update, patch, delete]
- apiGroups:
  - "*"
  resources:
  - secrets
  verbs:
  - watch
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
- apiGroups: ['', apps]
  resources: [pods, secrets, deployments]
  verbs: [list, list]
"#,
            &[
                (
                    7,
                    "rules[0] grants \"get\", \"list\", \"watch\" on \"secrets\"",
                ),
                (12, "rules[1] grants \"watch\" on \"secrets\""),
                (21, "rules[0] grants \"list\" on \"secrets\""),
            ],
        );
    }

    #[test]
    fn reads_list_items_as_kubectl_prints_them() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: ingress-nginx}
  rules:
  - apiGroups:
    - ""
    resources:
    - configmaps
    - "secrets"
    verbs:
    - "list"
    - "watch"
"#,
            &[(13, "rules[0] grants \"list\", \"watch\" on \"secrets\"")],
        );
    }

    #[test]
    fn leaves_named_secrets_other_groups_wildcards_and_writes_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: argocd-redis, namespace: argocd}
rules:
- apiGroups: ['']
  resourceNames: [argocd-redis]
  resources: [secrets]
  verbs: [get]
- apiGroups: ['']
  resources: [secrets]
  verbs: [create]
- apiGroups: [external-secrets.io]
  resources: [secrets]
  verbs: [get, list]
- apiGroups: ['']
  resources: [secrets]
  verbs: ['*']
- apiGroups: ['']
  resources: ['*']
  verbs: [get]
- resources: [secrets]
  verbs: [get]
"#,
            &[],
        );
    }
}
