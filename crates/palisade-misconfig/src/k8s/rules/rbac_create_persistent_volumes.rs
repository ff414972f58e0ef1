use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-065",
        title: "Role can create PersistentVolumes",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.9"],
        fix: "Remove `create` on `persistentvolumes`; let workloads request storage with PersistentVolumeClaims and a StorageClass.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of ClusterRoles that grant `create` on `persistentvolumes` in the
core API group. Entries with `resourceNames` are skipped: `create` cannot be limited by name,
so they grant no creation. Only explicit grants are reported; wildcards are PAL-K8S-050 to
052. Namespaced Roles are not checked: PersistentVolumes are cluster-wide.

## Why is this bad?
A PersistentVolume may be a `hostPath` volume, and Pod Security Admission only looks at
pods, not at the volumes their claims bind to. Whoever can create PersistentVolumes can
therefore define one on `/` or `/etc/kubernetes` of a node, claim it from a pod that passes
every pod check, and read or rewrite the node's files. Storage provisioners need this right;
users and applications should use PersistentVolumeClaims instead.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: storage-user
rules:
  - apiGroups: [""]
    resources: ["persistentvolumes", "persistentvolumeclaims"]
    verbs: ["get", "list", "create"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: storage-user
rules:
  - apiGroups: [""]
    resources: ["persistentvolumeclaims"]
    verbs: ["get", "list", "create"]
  - apiGroups: [""]
    resources: ["persistentvolumes"]
    verbs: ["get", "list"]
```

## References
- [Role Based Access Control Good Practices: Persistent volume creation](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#persistent-volume-creation)
- [Persistent Volumes](https://kubernetes.io/docs/concepts/storage/persistent-volumes/)
- CIS Kubernetes Benchmark, 5.1.9 "Minimize access to create persistent volumes"
"#;

const TARGETS: &[Target] = &[Target::cluster("", "persistentvolumes")];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if !rule.resource_names().is_empty() {
            continue;
        }
        if let Some(grant) = rule.explicit_grant(&["create"], TARGETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_pv_creation() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: provisioner}
rules:
- apiGroups: [""]
  resources: [persistentvolumeclaims, persistentvolumes]
  verbs: [get, list, watch, create, delete]
"#,
            &[(7, "rules[0] grants \"create\" on \"persistentvolumes\"")],
        );
    }

    #[test]
    fn leaves_claims_reads_named_entries_wildcards_and_roles_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-state-metrics}
rules:
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [create]
- apiGroups: [""]
  resources: [persistentvolumes]
  resourceNames: [pv-1]
  verbs: [create]
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: x}
rules:
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [create]
"#,
            &[],
        );
    }
}
