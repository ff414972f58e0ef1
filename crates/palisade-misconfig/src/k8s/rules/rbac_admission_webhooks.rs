use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-062",
        title: "Role can change admission webhooks",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.12"],
        fix: "Remove write verbs on webhook configurations; let the installer create them, and give a CA injector only `update`/`patch` on its own configuration by `resourceNames`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of ClusterRoles that grant `create`, `update`, `patch`, `delete` or
`deletecollection` on `validatingwebhookconfigurations` or `mutatingwebhookconfigurations`
in the `admissionregistration.k8s.io` group. Entries limited by `resourceNames` are reported
with the names: control over even one configuration lets its holder rewrite where it sends
requests and which ones. Only explicit grants are reported; wildcards are PAL-K8S-050 to 052.

## Why is this bad?
Admission webhooks see, and mutating webhooks may rewrite, every object the API server is
asked to store. Whoever can create or edit a webhook configuration can point it at a server
they control and receive every Secret written in the cluster, inject a sidecar or a privileged
setting into every new pod, or delete the policy webhooks (such as Gatekeeper or Kyverno) that
keep workloads in line.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cert-injector
rules:
  - apiGroups: ["admissionregistration.k8s.io"]
    resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cert-injector
rules:
  - apiGroups: ["admissionregistration.k8s.io"]
    resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]
    verbs: ["get", "list", "watch"]
```

## References
- [Role Based Access Control Good Practices: Control admission webhooks](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#control-admission-webhooks)
- [Dynamic Admission Control](https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/)
- CIS Kubernetes Benchmark, 5.1.12 "Minimize access to webhook configuration objects"
"#;

const TARGETS: &[Target] = &[
    Target::cluster(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    Target::cluster(
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) = rule.explicit_grant(
            &["create", "update", "patch", "delete", "deletecollection"],
            TARGETS,
        ) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_webhook_writes() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cainjector}
rules:
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations]
  verbs: [get, list, watch, update, patch]
- apiGroups: [admissionregistration.k8s.io]
  resources:
  - mutatingwebhookconfigurations
  resourceNames: [my-webhook]
  verbs: [delete]
"#,
            &[
                (
                    7,
                    "rules[0] grants \"update\", \"patch\" on \"validatingwebhookconfigurations\", \"mutatingwebhookconfigurations\"",
                ),
                (
                    11,
                    "rules[1] grants \"delete\" on \"mutatingwebhookconfigurations\" (resourceNames \"my-webhook\")",
                ),
            ],
        );
    }

    #[test]
    fn leaves_reads_policies_wildcards_and_roles_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-state-metrics}
rules:
- apiGroups: [admissionregistration.k8s.io]
  resources: [mutatingwebhookconfigurations, validatingwebhookconfigurations]
  verbs: [list, watch]
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingadmissionpolicies]
  verbs: [create]
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: x}
rules:
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  verbs: [update]
"#,
            &[],
        );
    }
}
