use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-044",
        title: "Secret exposed through environment variables",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["cis:5.4.1"],
        fix: "Mount the Secret as a volume (read-only files) and have the application read the file, instead of `secretKeyRef` or `envFrom.secretRef`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers that read Secrets into environment variables, through
`env[].valueFrom.secretKeyRef` or `envFrom[].secretRef`.

## Why is this bad?
Environment variables leak more easily than files: they are inherited by every child
process, dumped in crash reports and debug endpoints, printed by frameworks at startup,
visible in `/proc/<pid>/environ` to anything sharing the process namespace, and shown by
`docker inspect` on the node. They are also fixed at container start, so a rotated Secret
only takes effect after a restart. Secrets mounted as files avoid all of this and are
updated in place.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: orders
spec:
  containers:
    - name: orders
      image: ghcr.io/example/orders:2.3.0
      env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: orders-db
              key: password
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: orders
spec:
  containers:
    - name: orders
      image: ghcr.io/example/orders:2.3.0
      env:
        - name: DB_PASSWORD_FILE
          value: /etc/orders-db/password
      volumeMounts:
        - name: db
          mountPath: /etc/orders-db
          readOnly: true
  volumes:
    - name: db
      secret:
        secretName: orders-db
```

## References
- [Secrets: using Secrets as files from a Pod](https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod)
- [Good practices for Kubernetes Secrets](https://kubernetes.io/docs/concepts/security/secrets-good-practices/)
- CIS Kubernetes Benchmark 5.4.1, "Prefer using Secrets as files over Secrets as environment variables"
"#;

fn name_of(n: &Node) -> &str {
    n.get("name")
        .and_then(Node::scalar_text)
        .unwrap_or("<unnamed>")
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for c in pod.containers() {
        for (i, e) in c
            .get("env")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(from) = e.get("valueFrom") else {
                continue;
            };
            let Some(reference) = from.get("secretKeyRef").filter(|n| !n.is_null()) else {
                continue;
            };
            let Some(span) = entry_span(from, "secretKeyRef") else {
                continue;
            };
            let key = reference
                .get("key")
                .and_then(Node::scalar_text)
                .unwrap_or("<unset>");
            out.push(
                Hit::new(
                    format!(
                        "{} reads key {key:?} of Secret {:?} into env var {:?}",
                        c.label(),
                        name_of(reference),
                        name_of(e)
                    ),
                    span,
                )
                .field(c.field(&format!("env[{i}].valueFrom.secretKeyRef"))),
            );
        }
        for (i, e) in c
            .get("envFrom")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(reference) = e.get("secretRef").filter(|n| !n.is_null()) else {
                continue;
            };
            let Some(span) = entry_span(e, "secretRef") else {
                continue;
            };
            out.push(
                Hit::new(
                    format!(
                        "{} loads every key of Secret {:?} into its environment",
                        c.label(),
                        name_of(reference)
                    ),
                    span,
                )
                .field(c.field(&format!("envFrom[{i}].secretRef"))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_secret_key_refs_and_env_from() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          envFrom:
            - configMapRef: {name: settings}
            - secretRef: {name: db}
      containers:
        - name: app
          env:
            - name: PLAIN
              value: x
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: db
                  key: password
            - name: POD_IP
              valueFrom:
                fieldRef: {fieldPath: status.podIP}
"#,
            &[
                (
                    12,
                    "init container \"migrate\" loads every key of Secret \"db\" into its environment",
                ),
                (
                    20,
                    "container \"app\" reads key \"password\" of Secret \"db\" into env var \"DB_PASSWORD\"",
                ),
            ],
        );
    }

    #[test]
    fn secret_volumes_and_config_maps_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      envFrom:
        - configMapRef: {name: settings}
      env:
        - name: MODE
          valueFrom:
            configMapKeyRef: {name: settings, key: mode}
      volumeMounts:
        - {name: s, mountPath: /etc/s, readOnly: true}
  volumes:
    - name: s
      secret: {secretName: db}
"#,
            &[],
        );
    }
}
