use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::{Node, Span};

use super::hardening_util::{credential_name, literal_secret_value};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-033",
        title: "ConfigMap holds credentials",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: &["ConfigMap"],
        controls: &["nsa:secrets"],
        fix: "Move credentials into a Secret (kept out of the repository) and reference it from the workload; keep only non-sensitive settings in the ConfigMap.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `ConfigMap` entries that hold credentials: keys named like a credential
(`password`, `db.password`, `api-key`, `client_secret`, `token`, ...) with a real value,
values containing a PEM private key, and configuration files that assign a password
(`password=...`, `db_password: ...`, `"password": "..."`). Empty values, placeholders
(`${VAR}`, `$secret-key`), booleans and file paths are skipped. Values are never printed.

## Why is this bad?
ConfigMaps are meant for non-confidential settings and are treated that way: they are not
covered by encryption at rest for Secrets, RBAC grants read access to them widely (many
monitoring and CI accounts can list every ConfigMap), they are printed in logs and
`kubectl describe` output, and they are committed to Git without a second thought. A
password or private key in one is readable by far more people and systems than intended.

## Example
```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: orders-config
data:
  application.properties: |
    spring.datasource.url=jdbc:postgresql://postgres:5432/orders
    spring.datasource.username=orders
    spring.datasource.password=Winter2024!
```

## Use instead
```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: orders-config
data:
  application.properties: |
    spring.datasource.url=jdbc:postgresql://postgres:5432/orders
    spring.datasource.username=orders
    spring.datasource.password=${DB_PASSWORD}
# DB_PASSWORD comes from a Secret through env[].valueFrom.secretKeyRef
# or a mounted Secret volume.
```

## References
- [ConfigMaps](https://kubernetes.io/docs/concepts/configuration/configmap/)
- [Good practices for Kubernetes Secrets](https://kubernetes.io/docs/concepts/security/secrets-good-practices/)
- NSA/CISA Kubernetes Hardening Guide, "Secrets"
"#;

/// Whether a text holds a PEM private key.
fn has_private_key(value: &str) -> bool {
    value.lines().any(|l| {
        l.find("-----BEGIN ")
            .is_some_and(|i| l[i..].contains("PRIVATE KEY-----"))
    })
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-".contains(c)
}

/// If `line` assigns a password (`x.password=v`, `password: v`, `"db_password": "v"`,
/// `export PASSWORD=v`), the name it assigns to.
fn password_assignment(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    for prefix in ["- ", "export "] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r.trim_start();
        }
    }
    // Key-value pairs may follow each other on one line (`{"user": "a", "password": "b"}`).
    for part in rest.split([',', '{', ';']) {
        let part = part.trim_start();
        let part = part.strip_prefix(['"', '\'']).unwrap_or(part);
        let end = part.find(|c| !is_key_char(c)).unwrap_or(part.len());
        let name = &part[..end];
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with("password") || lower.ends_with("passwd")) {
            continue;
        }
        let after = part[end..]
            .strip_prefix(['"', '\''])
            .unwrap_or(&part[end..]);
        let after = after.trim_start();
        let value = if let Some(v) = after.strip_prefix('=') {
            v
        } else if let Some(v) = after.strip_prefix(':') {
            if !(v.is_empty() || v.starts_with([' ', '\t'])) {
                continue;
            }
            v
        } else {
            continue;
        };
        let value = value.trim().trim_end_matches([',', ';', '}']).trim_end();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        if value.starts_with(['$', '<', '%', '{', '[', '*', '&', '#'])
            || value.chars().all(|c| c == '*' || c == 'x' || c == 'X')
            || !literal_secret_value(value)
        {
            continue;
        }
        return Some(name);
    }
    None
}

/// The source line of line `i` of a scalar, when its span shows that its lines map one to
/// one onto the source (a literal block, or a one-line scalar).
fn value_line(v: &Node, text: &str, i: usize) -> Option<u32> {
    let lines = text.lines().count() as u32;
    let Span {
        start_line,
        start_col,
        end_line,
        end_col,
    } = v.span;
    // A block scalar inside a nested mapping ends where the next, less indented key
    // starts: that line is not part of it. (At column 1 the parser has already moved the
    // end back to the last content line.)
    let end_line = if end_line > start_line && end_col > 1 && end_col <= start_col {
        end_line - 1
    } else {
        end_line
    };
    (end_line.checked_sub(start_line)? + 1 == lines).then_some(start_line + i as u32)
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    if r.kind != "ConfigMap" {
        return;
    }
    let Some(data) = r.root.get("data") else {
        return;
    };
    for (k, v) in data.entries() {
        let Some(key) = k.scalar_text() else { continue };
        let Some(value) = v.scalar_text() else {
            continue;
        };
        let entry = k.span.join(v.span);
        let field = format!("data.{key}");
        let name = format!("ConfigMap {:?} key {key:?}", r.name);
        if credential_name(key) && literal_secret_value(value) && !value.trim().starts_with('$') {
            out.push(
                Hit::new(format!("{name} looks like a credential"), entry)
                    .field(field)
                    .sensitive(),
            );
        } else if has_private_key(value) {
            out.push(
                Hit::new(format!("{name} contains a private key"), entry)
                    .field(field)
                    .sensitive(),
            );
        } else if let Some((i, assigned)) = value
            .lines()
            .enumerate()
            .find_map(|(i, l)| password_assignment(l).map(|n| (i, n)))
        {
            let span = value_line(v, value, i)
                .map(|line| Span {
                    start_line: line,
                    start_col: 1,
                    end_line: line,
                    end_col: 1,
                })
                .unwrap_or(entry);
            out.push(
                Hit::new(format!("{name} assigns a password to {assigned:?}"), span)
                    .field(field)
                    .sensitive(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_credential_keys_private_keys_and_password_assignments() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data:
  db.password: hunter2
  apiKey: "abc123"
  tls.key: |
    -----BEGIN RSA PRIVATE KEY-----
    MIIEow...
    -----END RSA PRIVATE KEY-----
  application.properties: |
    spring.datasource.url=jdbc:postgresql://db:5432/app
    spring.datasource.password=Winter2024!
  settings.json: '{"user": "app", "password": "p4ss"}'
  config.yaml: |
    database:
      host: db
      admin_password: "s3cret"
"#,
            &[
                (
                    6,
                    "ConfigMap \"app\" key \"db.password\" looks like a credential",
                ),
                (
                    7,
                    "ConfigMap \"app\" key \"apiKey\" looks like a credential",
                ),
                (
                    8,
                    "ConfigMap \"app\" key \"tls.key\" contains a private key",
                ),
                (
                    14,
                    "ConfigMap \"app\" key \"application.properties\" assigns a password to \"spring.datasource.password\"",
                ),
                (
                    15,
                    "ConfigMap \"app\" key \"settings.json\" assigns a password to \"password\"",
                ),
                (
                    19,
                    "ConfigMap \"app\" key \"config.yaml\" assigns a password to \"admin_password\"",
                ),
            ],
        );
    }

    #[test]
    fn placeholders_prose_and_references_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: ok}
data:
  password.file: /etc/secrets/password
  auth.enabled: "true"
  token: ""
  dex.config: |
    connectors:
      - type: github
        config:
          clientSecret: $dex.github.clientSecret
  application.properties: |
    spring.datasource.password=${DB_PASSWORD}
    ldap.password=
    smtp.password: <your-password>
  rules.yaml: |
    - alert: WeakPassword
      annotations:
        description: The admin password: was not rotated for 90 days.
        summary: "Check password: policy"
  ini: |
    [security]
    admin_password = $__file{/etc/secrets/admin}
    disable_password = true
  cert.pem: |
    -----BEGIN CERTIFICATE-----
    MIIB...
    -----END CERTIFICATE-----
"#,
            &[],
        );
    }

    #[test]
    fn password_assignment_parsing() {
        use super::password_assignment as pa;
        assert_eq!(pa("export DB_PASSWORD=abc"), Some("DB_PASSWORD"));
        assert_eq!(pa("  - password: abc"), Some("password"));
        assert_eq!(pa("password:abc"), None);
        assert_eq!(pa("password: ****"), None);
        assert_eq!(pa("reset the password: now"), None);
        assert_eq!(pa("passwordless: true"), None);
    }
}
