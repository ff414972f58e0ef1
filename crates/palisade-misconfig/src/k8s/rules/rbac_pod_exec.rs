use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-056",
        title: "Role can exec or attach into pods",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["nsa:authentication-authorization"],
        fix: "Remove `create` and `get` on `pods/exec` and `pods/attach`; give people who debug a separate, bound-on-demand role.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant `create` or `get` on the
`pods/exec` or `pods/attach` subresources (including `*/exec` and `*/attach`). `get` counts
because exec and attach over WebSockets are GET requests, which older API servers authorize
with the `get` verb. Only explicit grants are reported; wildcards are PAL-K8S-050 to 052.

## Why is this bad?
Exec runs any command in any container the role reaches, as that container's user, with its
mounted service account token, Secrets and network access; attach hands over the main
process's terminal. A subject that may exec into pods of a privileged controller or a
database effectively holds their permissions and data, and commands run this way bypass the
image and admission checks that guard new pods.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: support
  namespace: shop
rules:
  - apiGroups: [""]
    resources: ["pods", "pods/exec", "pods/log"]
    verbs: ["get", "list", "create"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: support
  namespace: shop
rules:
  - apiGroups: [""]
    resources: ["pods", "pods/log"]
    verbs: ["get", "list"]
```

## References
- [Role Based Access Control Good Practices](https://kubernetes.io/docs/concepts/security/rbac-good-practices/)
- [Using RBAC Authorization: Referring to resources](https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources)
- NSA/CISA Kubernetes Hardening Guide, "Authentication and authorization"
"#;

const TARGETS: &[Target] = &[
    Target::namespaced("", "pods/exec"),
    Target::namespaced("", "pods/attach"),
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) = rule.explicit_grant(&["create", "get"], TARGETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_exec_and_attach() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: support, namespace: shop}
rules:
- apiGroups: [""]
  resources: [pods, pods/log, pods/exec]
  verbs: [get, list, create]
- apiGroups: [""]
  resources: ["*/attach"]
  verbs: [create]
- apiGroups: [""]
  resources: [pods/attach]
  resourceNames: [debug-pod]
  verbs: [get]
"#,
            &[
                (7, "rules[0] grants \"get\", \"create\" on \"pods/exec\""),
                (10, "rules[1] grants \"create\" on \"*/attach\""),
                (
                    13,
                    "rules[2] grants \"get\" on \"pods/attach\" (resourceNames \"debug-pod\")",
                ),
            ],
        );
    }

    #[test]
    fn leaves_logs_wildcards_and_other_groups_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: viewer}
rules:
- apiGroups: [""]
  resources: [pods, pods/log, pods/portforward]
  verbs: [get, list, create]
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [pods/exec]
  verbs: ["*"]
- apiGroups: [metrics.k8s.io]
  resources: [pods/exec]
  verbs: [create]
- apiGroups: [""]
  resources: [pods/*]
  verbs: [create]
"#,
            &[],
        );
    }
}
