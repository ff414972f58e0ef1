use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::set;
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-029",
        title: "Service account token mounted automatically",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["cis:5.1.6"],
        fix: "Set `automountServiceAccountToken: false` in the pod spec unless the application calls the Kubernetes API.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pod specs that leave `automountServiceAccountToken` unset. The kubelet then mounts
an API token for the pod's service account into every container (unless the
ServiceAccount object itself opts out, which a single manifest cannot show). An explicit
`automountServiceAccountToken: true` is taken as a deliberate statement that the workload
calls the Kubernetes API, and is not flagged.

## Why is this bad?
Most applications never talk to the Kubernetes API, yet by default each of their
containers gets a bearer token at `/var/run/secrets/kubernetes.io/serviceaccount/token`.
Anyone who gains code execution or a file-read bug in the container can use that token
against the API server with all permissions granted to the service account, which is
often more than intended (RBAC bindings accumulate over time). Turning the mount off
removes the credential from pods that do not need it.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  selector:
    matchLabels: {app: frontend}
  template:
    metadata:
      labels: {app: frontend}
    spec:
      serviceAccountName: frontend
      containers:
        - name: frontend
          image: ghcr.io/example/frontend:3.2.0
```

## Use instead
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  selector:
    matchLabels: {app: frontend}
  template:
    metadata:
      labels: {app: frontend}
    spec:
      serviceAccountName: frontend
      automountServiceAccountToken: false
      containers:
        - name: frontend
          image: ghcr.io/example/frontend:3.2.0
```

## References
- [Configure Service Accounts for Pods: opt out of API credential automounting](https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting)
- [Service Accounts](https://kubernetes.io/docs/concepts/security/service-accounts/)
- CIS Kubernetes Benchmark 5.1.6, "Ensure that Service Account Tokens are only mounted where necessary"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    let key = "automountServiceAccountToken";
    if set(pod.spec.get(key)).is_some() {
        // `false` is the fix; `true` is an explicit, reviewed choice. Anything else is
        // rejected by the API server.
        return;
    }
    out.push(
        Hit::new(
            format!("pod does not set {key}, so an API token is mounted into its containers"),
            pod.missing_span(),
        )
        .field(pod.field(key)),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_unset_and_null() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  automountServiceAccountToken: null
  containers:
    - name: p
"#,
            &[
                (
                    8,
                    "pod does not set automountServiceAccountToken, so an API token is mounted into its containers",
                ),
                (
                    15,
                    "pod does not set automountServiceAccountToken, so an API token is mounted into its containers",
                ),
            ],
        );
    }

    #[test]
    fn explicit_values_pass_and_other_kinds_are_ignored() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          automountServiceAccountToken: false
          containers:
            - name: c
---
apiVersion: v1
kind: Pod
metadata: {name: needs-api}
spec:
  automountServiceAccountToken: true
  containers: [{name: operator}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa}
"#,
            &[],
        );
    }
}
