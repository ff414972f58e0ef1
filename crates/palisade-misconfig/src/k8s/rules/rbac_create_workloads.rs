use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-060",
        title: "Role can create workloads",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.4"],
        fix: "Remove `create` on pods and workload controllers unless the subject deploys workloads, and enforce Pod Security Admission in the namespaces it can deploy to.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of Roles and ClusterRoles that grant `create` on `pods` or
`replicationcontrollers` (core group), on `deployments`, `daemonsets`, `statefulsets` or
`replicasets` (`apps`), or on `jobs` or `cronjobs` (`batch`). Entries with `resourceNames`
are skipped: `create` cannot be limited by name, so they grant no creation. Only explicit
grants are reported; wildcards are PAL-K8S-050 to 052.

## Why is this bad?
Whoever can create a pod, directly or through a controller, chooses what runs in it: it can
mount any Secret, ConfigMap or service account token of the namespace, and, unless Pod Security
Admission forbids it, run privileged with `hostPath: /` and take over the node. The right to
create workloads is therefore worth at least every credential in the namespace. Deployers and
controllers need it; most other subjects do not.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: report-runner
  namespace: shop
rules:
  - apiGroups: ["batch"]
    resources: ["jobs"]
    verbs: ["get", "list", "create"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: report-runner
  namespace: shop
rules:
  - apiGroups: ["batch"]
    resources: ["jobs"]
    verbs: ["get", "list"]
```

## References
- [Role Based Access Control Good Practices: Workload creation](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#workload-creation)
- [Pod Security Admission](https://kubernetes.io/docs/concepts/security/pod-security-admission/)
- CIS Kubernetes Benchmark, 5.1.4 "Minimize access to create pods"
"#;

const TARGETS: &[Target] = &[
    Target::namespaced("", "pods"),
    Target::namespaced("", "replicationcontrollers"),
    Target::namespaced("apps", "deployments"),
    Target::namespaced("apps", "daemonsets"),
    Target::namespaced("apps", "statefulsets"),
    Target::namespaced("apps", "replicasets"),
    Target::namespaced("batch", "jobs"),
    Target::namespaced("batch", "cronjobs"),
];

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
    fn flags_workload_creation() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: argocd-server}
rules:
- apiGroups: [batch]
  resources: [jobs]
  verbs: [create]
- apiGroups: [apps, ""]
  resources: [deployments, pods, services, statefulsets]
  verbs: [get, create, update]
- apiGroups: ["*"]
  resources: [cronjobs, replicationcontrollers]
  verbs: [create]
"#,
            &[
                (7, "rules[0] grants \"create\" on \"jobs\""),
                (
                    10,
                    "rules[1] grants \"create\" on \"deployments\", \"pods\", \"statefulsets\"",
                ),
                (
                    13,
                    "rules[2] grants \"create\" on \"cronjobs\", \"replicationcontrollers\"",
                ),
            ],
        );
    }

    #[test]
    fn leaves_reads_wrong_groups_named_entries_and_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-state-metrics}
rules:
- apiGroups: [apps]
  resources: [statefulsets, daemonsets, deployments, replicasets]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [deployments, jobs]
  verbs: [create]
- apiGroups: [batch]
  resources: [jobs]
  resourceNames: [nightly]
  verbs: [create]
- apiGroups: [""]
  resources: [pods]
  verbs: ["*"]
- apiGroups: [""]
  resources: [pods/eviction, pods/binding]
  verbs: [create]
"#,
            &[],
        );
    }
}
