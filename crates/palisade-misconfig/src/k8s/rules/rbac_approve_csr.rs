use palisade_core::{RuleMeta, Scanner, Severity};

use super::rbac_util::{ROLE_KINDS, Target, policy_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-064",
        title: "Role can approve certificate signing requests",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: ROLE_KINDS,
        controls: &["cis:5.1.11"],
        fix: "Remove `update` on `certificatesigningrequests/approval`; if an approver is needed, limit its `approve` verb on `signers` to its own signer with `resourceNames`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `rules[]` entries of ClusterRoles that grant `update` or `patch` on
`certificatesigningrequests/approval` (including `*/approval`) in the `certificates.k8s.io`
group. Approving also needs the `approve` verb on the request's signer (`signers`); the
approval grant is reported on its own because it is the part that names CSR approval. Only
explicit grants are reported; wildcards are PAL-K8S-050 to 052.

## Why is this bad?
A subject that can approve certificate signing requests can have the cluster CA sign a
client certificate for any user name and group it likes, for example a user in
`system:masters` through the `kubernetes.io/kube-apiserver-client` signer, which then
authenticates as cluster administrator. Such certificates cannot be revoked and stay valid
until they expire.

## Example
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: csr-approver
rules:
  - apiGroups: ["certificates.k8s.io"]
    resources: ["certificatesigningrequests/approval"]
    verbs: ["update"]
  - apiGroups: ["certificates.k8s.io"]
    resources: ["signers"]
    verbs: ["approve"]
```

## Use instead
```yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: csr-viewer
rules:
  - apiGroups: ["certificates.k8s.io"]
    resources: ["certificatesigningrequests"]
    verbs: ["get", "list", "watch"]
```

## References
- [Certificates and Certificate Signing Requests: Authorization](https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#authorization)
- [Role Based Access Control Good Practices: CSRs and certificate issuing](https://kubernetes.io/docs/concepts/security/rbac-good-practices/#csrs-and-certificate-issuing)
- CIS Kubernetes Benchmark, 5.1.11 "Minimize access to the approval sub-resource of certificatesigningrequests objects"
"#;

const TARGETS: &[Target] = &[Target::cluster(
    "certificates.k8s.io",
    "certificatesigningrequests/approval",
)];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in policy_rules(r) {
        if let Some(grant) = rule.explicit_grant(&["update", "patch"], TARGETS) {
            out.push(rule.grant_hit(&grant));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_approval_updates() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr-approver}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests, certificatesigningrequests/approval]
  verbs: [get, list, update]
- apiGroups: [certificates.k8s.io]
  resources: [signers]
  resourceNames: [kubernetes.io/kube-apiserver-client]
  verbs: [approve]
- apiGroups: ["*"]
  resources: ["*/approval"]
  verbs: [patch]
"#,
            &[
                (
                    7,
                    "rules[0] grants \"update\" on \"certificatesigningrequests/approval\"",
                ),
                (14, "rules[2] grants \"patch\" on \"*/approval\""),
            ],
        );
    }

    #[test]
    fn leaves_csr_reads_signing_and_wildcards_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr-viewer}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests]
  verbs: [list, watch, create, update]
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests/status]
  verbs: [update]
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests/approval]
  verbs: [get, "*"]
- apiGroups: [""]
  resources: [certificatesigningrequests/approval]
  verbs: [update]
"#,
            &[],
        );
    }
}
