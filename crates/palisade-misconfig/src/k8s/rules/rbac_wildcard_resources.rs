use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, policy_rules, quoted_list};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-051",
        title: "Role grants access to every resource",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.3"],
        fix: "Replace `resources: [\"*\"]` with the resources the subject works on.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant some verbs on the `"*"` resource,
that is on every resource and subresource of the listed API groups. An entry with `"*"` verbs
as well is reported by PAL-K8S-052 instead; aggregated ClusterRoles are skipped.

## Why is this bad?
`"*"` resources include Secrets, `pods/exec`, `nodes/proxy`, `serviceaccounts/token` and every
custom resource installed later, so even a "read-only" `get`/`list`/`watch` grant reads every
credential in scope, and `patch` or `delete` on everything lets the subject break or take over
any workload. Kubernetes is extensible: a wildcard written today also covers the CRDs of an
operator installed next year.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: dashboard-viewer
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["get", "list", "watch"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: dashboard-viewer
rules:
  - apiGroups: ["", "apps"]
    resources: ["pods", "services", "deployments", "replicasets"]
    verbs: ["get", "list", "watch"]
```

## References
- [Role Based Access Control Good Practices](https://kubernetes.io/docs/concepts/security/rbac-good-practices/)
- [Using RBAC Authorization: Referring to resources](https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources)
- CIS Kubernetes Benchmark, 5.1.3 "Minimize wildcard use in Roles and ClusterRoles"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        let Some((i, resource)) = rule.find("resources", "*") else {
            continue;
        };
        let verbs: Vec<&str> = rule.items("verbs").into_iter().map(|(_, t, _)| t).collect();
        if verbs.is_empty() || verbs.contains(&"*") || rule.items("apiGroups").is_empty() {
            continue;
        }
        out.push(
            Hit::new(
                format!(
                    "rules[{}] grants {} on every resource (\"*\") {}",
                    rule.index,
                    quoted_list(&verbs),
                    rule.groups_phrase()
                ),
                resource.span,
            )
            .field(rule.field("resources", i)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_star_resources_with_named_verbs() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: argocd-server}
rules:
- apiGroups: ['*']
  resources: ['*']
  verbs: [delete, get, patch]
- apiGroups: ['*']
  resources: ['*/finalizers']
  verbs: [update]
- apiGroups: [monitoring.coreos.com]
  resources:
  - prometheuses
  - '*'
  verbs: [get, list, watch]
"#,
            &[
                (
                    7,
                    "rules[0] grants \"delete\", \"get\", \"patch\" on every resource (\"*\") in every API group",
                ),
                (
                    15,
                    "rules[2] grants \"get\", \"list\", \"watch\" on every resource (\"*\") in API group \"monitoring.coreos.com\"",
                ),
            ],
        );
    }

    #[test]
    fn leaves_full_wildcards_and_named_resources_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: shop}
rules:
- apiGroups: [""]
  resources: ["*"]
  verbs: ["*"]
- apiGroups: [""]
  resources: [pods]
  verbs: [get]
- apiGroups: [""]
  resources: ["*"]
  verbs: []
"#,
            &[],
        );
    }
}
