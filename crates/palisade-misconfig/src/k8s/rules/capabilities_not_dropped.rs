use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{set, set_entry, show};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-016",
        title: "Capabilities not dropped",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:capabilities_restricted", "cis:5.2.8"],
        fix: "Set `securityContext.capabilities.drop: [\"ALL\"]` on every container and add back only what is needed (at most `NET_BIND_SERVICE`).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (init, regular and ephemeral) whose `securityContext.capabilities.drop`
does not contain `ALL` (exactly, in capitals), including containers with no
`securityContext` or no `capabilities` at all. Pods with `spec.os.name: windows` are
exempt, as in the Pod Security admission controller.

## Why is this bad?
Unless told otherwise the container runtime grants a default set of Linux capabilities,
among them `NET_RAW` (craft raw packets: ARP and DNS spoofing of other pods on the node),
`DAC_OVERRIDE`, `SETUID` and `MKNOD`. Most applications need none of them, yet an attacker
who gets code execution inherits all of them. Dropping `ALL` and adding back only what is
required is what the Restricted profile demands; dropping a few named capabilities leaves
the others in place.

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
          image: registry.example.com/api:3.2
          securityContext:
            capabilities:
              drop: ["NET_RAW"]
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
          image: registry.example.com/api:3.2
          securityContext:
            capabilities:
              drop: ["ALL"]
```

## References
- [Pod Security Standards: Restricted, Capabilities](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Set capabilities for a Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container)
- CIS Kubernetes Benchmark 5.2.8, "Minimize the admission of containers with the NET_RAW capability"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.is_windows() {
        return;
    }
    for c in pod.containers() {
        let caps = set(c.sc("capabilities"));
        match set_entry(caps, "drop") {
            Some((drop, span)) => {
                if drop.items().iter().any(|n| n.scalar_text() == Some("ALL")) {
                    continue;
                }
                out.push(
                    Hit::new(
                        format!(
                            "{} sets securityContext.capabilities.drop to {} without \"ALL\"",
                            c.label(),
                            show(drop)
                        ),
                        span,
                    )
                    .field(c.field("securityContext.capabilities.drop")),
                );
            }
            None => out.push(
                Hit::new(
                    format!(
                        "{} does not set securityContext.capabilities.drop to [\"ALL\"]",
                        c.label()
                    ),
                    c.missing_span(),
                )
                .field(c.field("securityContext.capabilities.drop")),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_missing_and_partial_drops() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      image: x:1
  containers:
    - name: partial
      securityContext:
        capabilities:
          drop: [NET_RAW, all]
    - name: nocaps
      securityContext:
        runAsNonRoot: true
    - name: ok
      securityContext: {capabilities: {drop: [ALL]}}
    - name: nulldrop
      securityContext: {capabilities: {drop: null}}
  ephemeralContainers:
    - name: debug
      securityContext: {capabilities: {drop: []}}
    - name: long
      securityContext: {capabilities: {drop: [A, B, C, D, E]}}
"#,
            &[
                (
                    7,
                    "init container \"init\" does not set securityContext.capabilities.drop to [\"ALL\"]",
                ),
                (
                    13,
                    "container \"partial\" sets securityContext.capabilities.drop to [\"NET_RAW\", \"all\"] without \"ALL\"",
                ),
                (
                    15,
                    "container \"nocaps\" does not set securityContext.capabilities.drop to [\"ALL\"]",
                ),
                (
                    20,
                    "container \"nulldrop\" does not set securityContext.capabilities.drop to [\"ALL\"]",
                ),
                (
                    23,
                    "ephemeral container \"debug\" sets securityContext.capabilities.drop to [] without \"ALL\"",
                ),
                (
                    25,
                    "ephemeral container \"long\" sets securityContext.capabilities.drop to [\"A\", \"B\", \"C\", … (5 items)] without \"ALL\"",
                ),
            ],
        );
    }

    #[test]
    fn windows_pods_are_exempt() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os:
    name: windows
  containers:
    - name: app
      image: mcr.microsoft.com/windows/nanoserver:ltsc2022
"#,
            &[],
        );
    }
}
