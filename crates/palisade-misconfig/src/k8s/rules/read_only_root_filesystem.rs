use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::set;
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-023",
        title: "Root filesystem is writable",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:immutable-filesystems"],
        fix: "Set `securityContext.readOnlyRootFilesystem: true` and mount an `emptyDir` volume where the process must write.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags regular and init containers whose `securityContext.readOnlyRootFilesystem` is not
`true`. Ephemeral debug containers and Windows pods (which do not support the field) are
not checked.

## Why is this bad?
With a writable root filesystem, an attacker who gets code execution in the container can
drop tools, replace binaries or libraries the application loads later, and plant
persistence that survives until the pod is deleted. A read-only root filesystem turns most
of these steps into errors and makes the image the single source of truth for what runs;
the few paths that really need writes (`/tmp`, caches) can be mounted as `emptyDir`.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: ghcr.io/example/api:1.4.2
```

## Use instead
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: ghcr.io/example/api:1.4.2
          securityContext:
            readOnlyRootFilesystem: true
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
```

## References
- [Configure a Security Context for a Pod or Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/)
- [Kubernetes API: Pod (container security context)](https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/)
- NSA/CISA Kubernetes Hardening Guide, "Use immutable container file systems"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.is_windows() {
        return;
    }
    for c in pod.long_running_containers() {
        let field = c.field("securityContext.readOnlyRootFilesystem");
        match set(c.sc("readOnlyRootFilesystem")) {
            Some(v) if v.as_bool() == Some(true) => {}
            Some(v) => {
                let Some(span) = c
                    .security_context()
                    .and_then(|sc| entry_span(sc, "readOnlyRootFilesystem"))
                else {
                    continue;
                };
                let shown = v.scalar_text().unwrap_or("a non-boolean value");
                out.push(
                    Hit::new(
                        format!(
                            "{} sets securityContext.readOnlyRootFilesystem to {shown}",
                            c.label()
                        ),
                        span,
                    )
                    .field(field),
                );
            }
            None => out.push(
                Hit::new(
                    format!(
                        "{} does not set securityContext.readOnlyRootFilesystem to true",
                        c.label()
                    ),
                    c.missing_span(),
                )
                .field(field),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_missing_and_false_on_regular_and_init_containers() {
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
          image: migrate:1
      containers:
        - name: app
          securityContext:
            readOnlyRootFilesystem: false
        - name: sidecar
          securityContext:
            runAsNonRoot: true
        - name: ok
          securityContext: {readOnlyRootFilesystem: true}
      ephemeralContainers:
        - name: debug
          image: busybox:1.36
"#,
            &[
                (
                    9,
                    "init container \"migrate\" does not set securityContext.readOnlyRootFilesystem to true",
                ),
                (
                    14,
                    "container \"app\" sets securityContext.readOnlyRootFilesystem to false",
                ),
                (
                    16,
                    "container \"sidecar\" does not set securityContext.readOnlyRootFilesystem to true",
                ),
            ],
        );
    }

    #[test]
    fn clean_and_windows_pods_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  containers:
    - name: app
      securityContext:
        readOnlyRootFilesystem: true
---
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  containers:
    - name: app
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {}
"#,
            &[],
        );
    }

    #[test]
    fn null_counts_as_missing_and_cronjob_is_reached() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              securityContext:
                readOnlyRootFilesystem: null
"#,
            &[(
                12,
                "container \"job\" does not set securityContext.readOnlyRootFilesystem to true",
            )],
        );
    }
}
