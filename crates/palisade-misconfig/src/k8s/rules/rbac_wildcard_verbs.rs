use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, policy_rules, quoted_list};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-050",
        title: "Role grants every verb on some resources",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.3"],
        fix: "Replace `verbs: [\"*\"]` with the verbs the subject needs, e.g. `[\"get\", \"list\", \"watch\"]`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant the `"*"` verb on a named list of
resources. An entry with `"*"` resources as well is reported by PAL-K8S-052 instead;
aggregated ClusterRoles are skipped (the controller manager fills in their rules).

## Why is this bad?
`"*"` grants every verb the API server knows for those resources, today and in future
releases: not only `get` and `update` but `delete`, `deletecollection` and, for some resources,
special verbs such as `escalate`, `bind`, `impersonate` or `approve`. A workload that only reads
ConfigMaps but holds `"*"` on them can also wipe them, and `"*"` on Secrets hands out every
credential in scope. If the service account's token leaks, the attacker inherits all of it.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: config-reader
  namespace: shop
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["*"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: config-reader
  namespace: shop
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["get", "list", "watch"]
```

## References
- [Role Based Access Control Good Practices](https://kubernetes.io/docs/concepts/security/rbac-good-practices/)
- [Using RBAC Authorization](https://kubernetes.io/docs/reference/access-authn-authz/rbac/)
- CIS Kubernetes Benchmark, 5.1.3 "Minimize wildcard use in Roles and ClusterRoles"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        let Some((i, verb)) = rule.find("verbs", "*") else {
            continue;
        };
        let resources: Vec<&str> = rule
            .items("resources")
            .into_iter()
            .map(|(_, t, _)| t)
            .collect();
        if resources.is_empty() || resources.contains(&"*") || rule.items("apiGroups").is_empty() {
            continue;
        }
        out.push(
            Hit::new(
                format!(
                    "rules[{}] grants every verb (\"*\") on {} {}",
                    rule.index,
                    quoted_list(&resources),
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
    fn flags_star_verbs_on_named_resources() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: operator}
rules:
- apiGroups: [apps]
  resources: [statefulsets]
  verbs:
  - '*'
- apiGroups: [""]
  resources: [configmaps, secrets]
  verbs: [get, "*"]
- apiGroups: ["", apps]
  resources: [pods, a, b, c, d, e, f]
  verbs: ["*"]
- apiGroups: ["*"]
  resources: [widgets]
  verbs: ["*"]
"#,
            &[
                (
                    9,
                    "rules[0] grants every verb (\"*\") on \"statefulsets\" in API group \"apps\"",
                ),
                (
                    12,
                    "rules[1] grants every verb (\"*\") on \"configmaps\", \"secrets\" in the core API group",
                ),
                (
                    15,
                    "rules[2] grants every verb (\"*\") on \"pods\", \"a\", \"b\", \"c\", \"d\" and 2 more in API groups \"\", \"apps\"",
                ),
                (
                    18,
                    "rules[3] grants every verb (\"*\") on \"widgets\" in every API group",
                ),
            ],
        );
    }

    #[test]
    fn leaves_full_wildcards_non_resource_urls_and_aggregated_roles_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: admin-ish}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
- nonResourceURLs: ["*"]
  verbs: ["*"]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: ["*"]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-rbac}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: ["*"]
"#,
            &[],
        );
    }
}
