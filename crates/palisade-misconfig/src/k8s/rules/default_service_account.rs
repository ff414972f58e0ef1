use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use super::hardening_util::set;
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-043",
        title: "Default service account used",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["cis:5.1.5"],
        fix: "Create a dedicated ServiceAccount for the workload and set `serviceAccountName`, or set `automountServiceAccountToken: false` if it needs no API access.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pod specs that run as the namespace's `default` service account, either by naming it
or by setting neither `serviceAccountName` nor the deprecated `serviceAccount`, while its
token is mounted. Pods with `automountServiceAccountToken: false` are not flagged: no
credential of the default account reaches them.

## Why is this bad?
Every pod in the namespace that does not choose an account shares `default`. Any
permission granted to it, often added by a tool or an operator for one workload, is
silently given to all of them, and a compromise of any one pod yields the token. Separate
service accounts make permissions per workload visible and revocable, and keep the
default account free of bindings as the CIS Benchmark asks.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reporter
  namespace: analytics
spec:
  selector:
    matchLabels: {app: reporter}
  template:
    metadata:
      labels: {app: reporter}
    spec:
      containers:
        - name: reporter
          image: ghcr.io/example/reporter:1.0.3
```

## Use instead
```yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reporter
  namespace: analytics
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reporter
  namespace: analytics
spec:
  selector:
    matchLabels: {app: reporter}
  template:
    metadata:
      labels: {app: reporter}
    spec:
      serviceAccountName: reporter
      containers:
        - name: reporter
          image: ghcr.io/example/reporter:1.0.3
```

## References
- [Configure Service Accounts for Pods](https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/)
- [Service Accounts: default service accounts](https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts)
- CIS Kubernetes Benchmark 5.1.5, "Ensure that default service accounts are not actively used"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod
        .spec
        .get("automountServiceAccountToken")
        .and_then(Node::as_bool)
        == Some(false)
    {
        return;
    }
    let named = ["serviceAccountName", "serviceAccount"]
        .into_iter()
        .find_map(|k| {
            let v = set(pod.spec.get(k))?.scalar_text()?;
            (!v.is_empty()).then_some((k, v))
        });
    match named {
        Some((key, "default")) => {
            let Some(span) = entry_span(pod.spec, key) else {
                return;
            };
            out.push(
                Hit::new("pod runs as the \"default\" service account", span).field(pod.field(key)),
            );
        }
        Some(_) => {}
        None => out.push(
            Hit::new(
                "pod sets no serviceAccountName, so it runs as the \"default\" service account",
                pod.missing_span(),
            )
            .field(pod.field("serviceAccountName")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_implicit_and_explicit_default() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: implicit}
spec:
  template:
    spec:
      containers:
        - name: a
---
apiVersion: v1
kind: Pod
metadata: {name: explicit}
spec:
  containers:
    - name: a
  serviceAccountName: default
---
apiVersion: v1
kind: Pod
metadata: {name: legacy}
spec:
  serviceAccount: default
  containers:
    - name: a
"#,
            &[
                (
                    8,
                    "pod sets no serviceAccountName, so it runs as the \"default\" service account",
                ),
                (17, "pod runs as the \"default\" service account"),
                (23, "pod runs as the \"default\" service account"),
            ],
        );
    }

    #[test]
    fn dedicated_accounts_and_no_token_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: own}
spec:
  serviceAccountName: reporter
  containers: [{name: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: legacy-own}
spec:
  serviceAccount: reporter
  containers: [{name: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: no-token}
spec:
  automountServiceAccountToken: false
  serviceAccountName: default
  containers: [{name: a}]
"#,
            &[],
        );
    }
}
