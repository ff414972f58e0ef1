use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::is_placeholder;
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-032",
        title: "Secret manifest contains data",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: &["Secret"],
        controls: &["nsa:secrets"],
        fix: "Keep secret values out of the repository: create the Secret out of band, or commit it encrypted (Sealed Secrets, SOPS) or as an External Secrets / CSI reference.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags every non-empty entry in the `data` or `stringData` of a `Secret` manifest. Empty
values and template placeholders (`${VAR}`, `{{ ... }}`) are skipped. Values are never
printed.

## Why is this bad?
`data` is only base64-encoded, not encrypted: anyone who can read the manifest can decode
it in one command. A Secret committed to a repository spreads to every clone, fork, CI
cache and backup, stays in Git history after it is "deleted", and cannot be revoked
without rotating the credential itself. Leaked cloud keys and database passwords in public
repositories are typically found and abused within minutes.

## Example
```yaml
apiVersion: v1
kind: Secret
metadata:
  name: orders-db
type: Opaque
stringData:
  username: orders
  password: Winter2024!
```

## Use instead
```yaml
# Commit only an encrypted form, e.g. a SealedSecret produced by kubeseal,
# or a reference resolved in the cluster by External Secrets:
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: orders-db
spec:
  secretStoreRef:
    name: vault
    kind: ClusterSecretStore
  target:
    name: orders-db
  data:
    - secretKey: password
      remoteRef:
        key: orders/db
        property: password
```

## References
- [Secrets](https://kubernetes.io/docs/concepts/configuration/secret/)
- [Good practices for Kubernetes Secrets](https://kubernetes.io/docs/concepts/security/secrets-good-practices/)
- NSA/CISA Kubernetes Hardening Guide, "Secrets"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    if r.kind != "Secret" {
        return;
    }
    for section in ["data", "stringData"] {
        let Some(map) = r.root.get(section) else {
            continue;
        };
        for (k, v) in map.entries() {
            let Some(key) = k.scalar_text() else { continue };
            let Some(value) = v.scalar_text() else {
                continue;
            };
            if value.trim().is_empty() || is_placeholder(value) {
                continue;
            }
            out.push(
                Hit::new(
                    format!(
                        "Secret {:?} holds a value for key {key:?} in {section}",
                        r.name
                    ),
                    k.span.join(v.span),
                )
                .field(format!("{section}.{key}"))
                .sensitive(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_each_non_empty_entry() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Secret
metadata: {name: db}
type: Opaque
data:
  username: b3JkZXJz
  empty: ""
  nothing:
  tls.key: |
    LS0tLS1CRUdJTi...
stringData:
  password: hunter2
  token: ${TOKEN}
"#,
            &[
                (
                    7,
                    "Secret \"db\" holds a value for key \"username\" in data",
                ),
                (
                    10,
                    "Secret \"db\" holds a value for key \"tls.key\" in data",
                ),
                (
                    13,
                    "Secret \"db\" holds a value for key \"password\" in stringData",
                ),
            ],
        );
    }

    #[test]
    fn empty_secrets_and_other_kinds_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Secret
metadata: {name: filled-later}
type: Opaque
---
apiVersion: v1
kind: Secret
metadata: {name: e}
data: {}
stringData:
  a: ''
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data:
  password: x
"#,
            &[],
        );
    }

    #[test]
    fn secrets_inside_a_list() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: SecretList
items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: s}
    data: {key: dmFsdWU=}
"#,
            &[(8, "Secret \"s\" holds a value for key \"key\" in data")],
        );
    }
}
