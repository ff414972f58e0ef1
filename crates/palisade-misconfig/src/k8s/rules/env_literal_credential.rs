use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use super::hardening_util::{credential_name, literal_secret_value, set};
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-031",
        title: "Credential in a literal environment variable",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["cis:5.4.1", "nsa:secrets"],
        fix: "Move the value into a Secret and reference it with `valueFrom.secretKeyRef` (or mount the Secret as a file).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags container environment variables whose name looks like a credential (`PASSWORD`,
`PASSWD`, `PWD`, `SECRET`, `TOKEN`, `API_KEY`, `PRIVATE_KEY`, `ACCESS_KEY`, `CREDENTIALS`,
a trailing `AUTH`) and that carry a literal `value` instead of `valueFrom`. Names that
point at a credential rather than hold it (`TOKEN_URL`, `PASSWORD_FILE`,
`PASSWORD_SECRET_NAME`, `..._PATH`) and values that cannot be a secret (`$(VAR)`
references, booleans, file paths, plain URLs, placeholders such as `<password>`,
`insert_…`, `replace_…` or `your_…`) are skipped, as is etcd's `INITIAL_CLUSTER_TOKEN`
(a cluster name, not a credential). The value is never printed.

## Why is this bad?
A literal value is stored in plain text in the manifest, in Git history, in CI logs, in
the object in etcd (not encrypted at rest like Secrets can be) and in every
`kubectl get -o yaml` output. Anyone with read access to Deployments, which is granted far
more widely than access to Secrets, can read it. Rotating it means editing and redeploying
the workload, so such credentials tend to never change.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  selector:
    matchLabels: {app: orders}
  template:
    metadata:
      labels: {app: orders}
    spec:
      containers:
        - name: orders
          image: ghcr.io/example/orders:2.3.0
          env:
            - name: DB_HOST
              value: postgres.db.svc
            - name: DB_PASSWORD
              value: "Winter2024!"
```

## Use instead
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  selector:
    matchLabels: {app: orders}
  template:
    metadata:
      labels: {app: orders}
    spec:
      containers:
        - name: orders
          image: ghcr.io/example/orders:2.3.0
          env:
            - name: DB_HOST
              value: postgres.db.svc
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: orders-db
                  key: password
```

## References
- [Secrets: using Secrets as environment variables](https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-environment-variables)
- [Good practices for Kubernetes Secrets](https://kubernetes.io/docs/concepts/security/secrets-good-practices/)
- CIS Kubernetes Benchmark 5.4.1, "Prefer using Secrets as files over Secrets as environment variables"
- NSA/CISA Kubernetes Hardening Guide, "Secrets"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for c in pod.containers() {
        let Some(env) = c.get("env") else { continue };
        for (i, e) in env.items().iter().enumerate() {
            let Some(name) = e.get("name").and_then(Node::scalar_text) else {
                continue;
            };
            let Some(value) = set(e.get("value")).and_then(Node::scalar_text) else {
                continue;
            };
            if !credential_name(name) || !literal_secret_value(value) {
                continue;
            }
            let Some(span) = entry_span(e, "value") else {
                continue;
            };
            out.push(
                Hit::new(
                    format!(
                        "{} sets credential-like env var {name:?} to a literal value",
                        c.label()
                    ),
                    span,
                )
                .field(c.field(&format!("env[{i}].value")))
                .sensitive(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_literal_credentials_without_printing_them() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          env:
            - {name: PGPASSWORD, value: hunter2}
      containers:
        - name: app
          env:
            - name: DB_PASSWORD
              value: "s3cr3t"
            - name: stripeApiKey
              value: sk_live_abc
            - name: GITHUB_TOKEN
              value: ghp_xxx
            - name: BASIC_AUTH
              value: admin:admin
            - name: AWS_SECRET_ACCESS_KEY
              value: wJalrXUtnFEMI
            - name: DATABASE_URL_PASSWORD
              value: "1234"
"#,
            &[
                (
                    11,
                    "init container \"migrate\" sets credential-like env var \"PGPASSWORD\" to a literal value",
                ),
                (
                    16,
                    "container \"app\" sets credential-like env var \"DB_PASSWORD\" to a literal value",
                ),
                (
                    18,
                    "container \"app\" sets credential-like env var \"stripeApiKey\" to a literal value",
                ),
                (
                    20,
                    "container \"app\" sets credential-like env var \"GITHUB_TOKEN\" to a literal value",
                ),
                (
                    22,
                    "container \"app\" sets credential-like env var \"BASIC_AUTH\" to a literal value",
                ),
                (
                    24,
                    "container \"app\" sets credential-like env var \"AWS_SECRET_ACCESS_KEY\" to a literal value",
                ),
                (
                    26,
                    "container \"app\" sets credential-like env var \"DATABASE_URL_PASSWORD\" to a literal value",
                ),
            ],
        );
    }

    #[test]
    fn references_and_non_secrets_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      env:
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: db, key: password}
        - name: PASSWORD_SECRET_NAME
          value: db-credentials
        - name: TOKEN_URL
          value: https://auth.example.com/token
        - name: DB_PASSWORD_FILE
          value: /etc/secrets/db
        - name: TOKEN
          value: /var/run/secrets/kubernetes.io/serviceaccount/token
        - name: SECRET_COPY
          value: $(DB_PASSWORD)
        - name: AUTH_ENABLED
          value: "true"
        - name: API_KEY
          value: ""
        - name: REDIS_PASSWORD
        - name: PASSWORD_MIN_LENGTH
          value: "12"
        - name: TOKENIZERS_PARALLELISM
          value: "off"
        - name: KEYCLOAK_AUTH
          value: "false"
        - name: AUTH_PROVIDER
          value: github
        - name: ETCD_INITIAL_CLUSTER_TOKEN
          value: etcd-cluster-1
        - name: ETCD_DISCOVERY_TOKEN
          value: INSERT_ETCD_DISCOVERY_TOKEN
        - name: ADMIN_PASSWORD
          value: <choose-a-password>
"#,
            &[],
        );
    }

    #[test]
    fn ephemeral_containers_and_pod_templates() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: PodTemplate
metadata: {name: t}
template:
  spec:
    ephemeralContainers:
      - name: dbg
        env:
          - name: ADMIN_PWD
            value: changeme
"#,
            &[(
                11,
                "ephemeral container \"dbg\" sets credential-like env var \"ADMIN_PWD\" to a literal value",
            )],
        );
    }
}
