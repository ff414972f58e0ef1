use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{BINDING_KINDS, role_ref, subjects};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-054",
        title: "Role bound to anonymous or all users",
        severity: Severity::Critical,
        scanner: Scanner::Kubernetes,
        kinds: BINDING_KINDS,
        controls: &["nsa:authentication-authorization"],
        fix: "Bind the role to the specific users, groups or service accounts that need it, not to `system:anonymous`, `system:unauthenticated` or `system:authenticated`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags subjects of RoleBindings and ClusterRoleBindings that name the anonymous user
(`system:anonymous`) or the groups every unauthenticated (`system:unauthenticated`) or every
authenticated (`system:authenticated`) client belongs to, whether the subject is written as a
User or a Group. The default bindings of the built-in discovery roles
(`system:basic-user`, `system:discovery`, `system:public-info-viewer`) are not reported.

## Why is this bad?
Anyone who can reach the API server is `system:anonymous` when anonymous authentication is
on (the default), so a role bound to it or to `system:unauthenticated` is open to the whole
network. `system:authenticated` is hardly narrower: it holds every service account of every
namespace and, on some managed clusters, far more: on GKE it includes anyone signed in with
any Google account. Such bindings are a classic path to data theft and cluster takeover.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: read-pods
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: pod-reader
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:authenticated
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: read-pods
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: pod-reader
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: sre-team
```

## References
- [Authenticating: Anonymous requests](https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests)
- [Using RBAC Authorization: Discovery roles](https://kubernetes.io/docs/reference/access-authn-authz/rbac/#discovery-roles)
- [Role Based Access Control Good Practices](https://kubernetes.io/docs/concepts/security/rbac-good-practices/)
- NSA/CISA Kubernetes Hardening Guide, "Authentication and authorization"
"#;

/// Built-in ClusterRoles that Kubernetes itself binds to these groups, by design.
const DISCOVERY_ROLES: &[&str] = &[
    "system:basic-user",
    "system:discovery",
    "system:public-info-viewer",
];

fn who(name: &str) -> Option<&'static str> {
    match name {
        "system:anonymous" => Some("the anonymous user"),
        "system:unauthenticated" => Some("every unauthenticated request"),
        "system:authenticated" => Some("every authenticated user"),
        _ => None,
    }
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some((ref_kind, ref_name, _)) = role_ref(r) else {
        return;
    };
    if ref_kind == "ClusterRole" && DISCOVERY_ROLES.contains(&ref_name) {
        return;
    }
    for s in subjects(r) {
        if s.kind != "User" && s.kind != "Group" {
            continue;
        }
        let Some(who) = who(s.name) else { continue };
        out.push(
            Hit::new(
                format!("binds {ref_kind} \"{ref_name}\" to {} ({who})", s.label()),
                s.node.span,
            )
            .field(format!("subjects[{}]", s.index)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_anonymous_and_everyone_subjects() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: open}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- kind: User
  name: system:anonymous
- kind: Group
  name: "system:unauthenticated"
- {kind: ServiceAccount, name: default, namespace: shop}
- {kind: Group, name: system:authenticated}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: open, namespace: shop}
roleRef: {kind: Role, name: pod-reader}
subjects:
- {kind: Group, name: system:anonymous}
"#,
            &[
                (
                    7,
                    "binds ClusterRole \"view\" to User \"system:anonymous\" (the anonymous user)",
                ),
                (
                    9,
                    "binds ClusterRole \"view\" to Group \"system:unauthenticated\" (every unauthenticated request)",
                ),
                (
                    12,
                    "binds ClusterRole \"view\" to Group \"system:authenticated\" (every authenticated user)",
                ),
                (
                    19,
                    "binds Role \"pod-reader\" to Group \"system:anonymous\" (the anonymous user)",
                ),
            ],
        );
    }

    #[test]
    fn leaves_default_discovery_bindings_and_named_subjects_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:public-info-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:public-info-viewer}
subjects:
- {kind: Group, name: system:authenticated}
- {kind: Group, name: system:unauthenticated}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops}
roleRef: {kind: ClusterRole, name: view}
subjects:
- {kind: Group, name: system:authenticated-admins}
- {kind: ServiceAccount, name: system:anonymous, namespace: x}
"#,
            &[],
        );
    }
}
