use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-001",
        title: "Privileged container",
        severity: Severity::Critical,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &[
            "pss:baseline:privileged",
            "nsa:kubernetes-pod-security",
            "cis:5.2.2",
        ],
        fix: "Remove `securityContext.privileged: true`, or set it to false; grant only the capabilities the process needs.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (including init and ephemeral containers) that set
`securityContext.privileged: true`.

## Why is this bad?
A privileged container runs with every Linux capability, sees all host devices and is not
confined by seccomp, AppArmor or SELinux. A process that escapes or is compromised inside it
is effectively root on the node: it can mount the host disk, load kernel modules and read
every other pod's secrets. The Pod Security Standards forbid it at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: false
        allowPrivilegeEscalation: false
        capabilities:
          drop: ["ALL"]
```

## References
- [Pod Security Standards: Baseline, Privileged Containers](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Configure a Security Context for a Pod or Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/)
- NSA/CISA Kubernetes Hardening Guide, "Kubernetes Pod security"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for c in pod.containers() {
        if c.sc("privileged").and_then(|n| n.as_bool()) == Some(true) {
            let span = entry_span(c.security_context().unwrap(), "privileged").unwrap();
            out.push(
                Hit::new(format!("{} runs privileged", c.label()), span)
                    .field(c.field("securityContext.privileged")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_every_container_kind() {
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
        - name: init
          securityContext: {privileged: true}
      containers:
        - name: app
          securityContext:
            privileged: true
        - name: ok
          securityContext:
            privileged: false
"#,
            &[
                (10, "init container \"init\" runs privileged"),
                (14, "container \"app\" runs privileged"),
            ],
        );
    }
}
