use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{BINDING_KINDS, capped_list, role_ref, subjects};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-053",
        title: "cluster-admin role bound",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: BINDING_KINDS,
        controls: &["cis:5.1.1"],
        fix: "Bind a role that grants only what the subject needs (for people in one namespace, the built-in `admin` or `edit` ClusterRole through a RoleBinding).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags RoleBindings and ClusterRoleBindings whose `roleRef` is the built-in `cluster-admin`
ClusterRole and that have at least one subject.

## Why is this bad?
`cluster-admin` allows every action on every resource. Through a ClusterRoleBinding the
subjects own the whole cluster; through a RoleBinding they own the namespace, including its
Secrets and the right to grant themselves anything there. A workload's service account bound
to it means that any remote code execution in that workload is a cluster compromise, and a
person's everyday account bound to it turns every typo into a cluster-wide change.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ci-deployer
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: ci
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ci-deployer
  namespace: shop
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: ci
```

## References
- [Using RBAC Authorization: User-facing roles](https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles)
- [Role Based Access Control Good Practices](https://kubernetes.io/docs/concepts/security/rbac-good-practices/)
- CIS Kubernetes Benchmark, 5.1.1 "Ensure that the cluster-admin role is only used where required"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some((kind, name, name_node)) = role_ref(r) else {
        return;
    };
    if kind != "ClusterRole" || name != "cluster-admin" {
        return;
    }
    let labels: Vec<String> = subjects(r).iter().map(|s| s.label()).collect();
    if labels.is_empty() {
        return;
    }
    let scope = if r.kind == "ClusterRoleBinding" {
        "on the whole cluster".to_string()
    } else {
        match r.namespace {
            Some(ns) => format!("in namespace \"{ns}\""),
            None => "in its namespace".to_string(),
        }
    };
    out.push(
        Hit::new(
            format!("grants cluster-admin {scope} to {}", capped_list(&labels)),
            name_node.span,
        )
        .field("roleRef.name"),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_cluster_admin_bindings() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- {kind: ServiceAccount, name: deployer, namespace: ci}
- {kind: User, name: alice}
- {kind: Group, name: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-admin, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "cluster-admin"}
subjects:
- kind: ServiceAccount
  name: app
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: no-namespace}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, name: a}
- {kind: User, name: b}
- {kind: User, name: c}
- {kind: User, name: d}
- {kind: User, name: e}
- {kind: User, name: f}
"#,
            &[
                (
                    8,
                    "grants cluster-admin on the whole cluster to ServiceAccount \"ci/deployer\", User \"alice\", Group \"ops\"",
                ),
                (
                    17,
                    "grants cluster-admin in namespace \"shop\" to ServiceAccount \"app\"",
                ),
                (
                    25,
                    "grants cluster-admin in its namespace to User \"a\", User \"b\", User \"c\", User \"d\", User \"e\" and 1 more",
                ),
            ],
        );
    }

    #[test]
    fn leaves_other_roles_and_empty_bindings_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: view}
roleRef: {kind: ClusterRole, name: view}
subjects:
- {kind: User, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: local, namespace: shop}
roleRef: {kind: Role, name: cluster-admin}
subjects:
- {kind: User, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nobody}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cluster-admin}
roleRef: {kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: User, name: alice}
"#,
            &[],
        );
    }
}
