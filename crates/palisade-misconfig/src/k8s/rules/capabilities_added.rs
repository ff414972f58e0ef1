use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{BASELINE_CAPS, added_caps, quote};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-005",
        title: "Non-default capabilities added",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &[
            "pss:baseline:capabilities_baseline",
            "pss:restricted:capabilities_restricted",
            "cis:5.2.9",
        ],
        fix: "Remove the capability from `securityContext.capabilities.add`; keep `drop: [\"ALL\"]` and add back at most `NET_BIND_SERVICE`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (init, regular and ephemeral) whose `securityContext.capabilities.add`
lists a capability outside the container runtime's default set: `AUDIT_WRITE`, `CHOWN`,
`DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `MKNOD`, `NET_BIND_SERVICE`, `SETFCAP`,
`SETGID`, `SETPCAP`, `SETUID` and `SYS_CHROOT`. Names are compared exactly, as the Pod
Security admission controller does: `NET_RAW`, `ALL`, lowercase `chown` and prefixed
`CAP_CHOWN` are all reported. Adding one of the default capabilities is reported by
PAL-K8S-017 instead.

## Why is this bad?
Capabilities beyond the default set hand out pieces of root's power over the node:
`SYS_ADMIN` allows mounting filesystems and is the usual step in container escapes,
`SYS_PTRACE` lets a process read the memory of others, `NET_ADMIN` rewrites the node's
routing and firewall in host-network pods, and `NET_RAW` enables ARP and DNS spoofing of
neighbouring pods. The Pod Security Standards forbid them at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: vpn
spec:
  containers:
    - name: tunnel
      image: registry.example.com/tunnel:1.4
      securityContext:
        capabilities:
          add: ["NET_ADMIN", "SYS_ADMIN"]
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: vpn
spec:
  containers:
    - name: tunnel
      image: registry.example.com/tunnel:1.4
      securityContext:
        allowPrivilegeEscalation: false
        capabilities:
          drop: ["ALL"]
          add: ["NET_BIND_SERVICE"]
```

## References
- [Pod Security Standards: Baseline, Capabilities](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Set capabilities for a Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container)
- [capabilities(7)](https://man7.org/linux/man-pages/man7/capabilities.7.html)
- CIS Kubernetes Benchmark 5.2.9, "Minimize the admission of containers with added capabilities"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for c in pod.containers() {
        for (i, node, cap) in added_caps(&c) {
            if BASELINE_CAPS.contains(&cap) {
                continue;
            }
            out.push(
                Hit::new(
                    format!("{} adds capability {}", c.label(), quote(cap)),
                    node.span,
                )
                .field(c.field(&format!("securityContext.capabilities.add[{i}]"))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_caps_outside_the_default_set() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      initContainers:
        - name: setup
          securityContext:
            capabilities:
              add: [NET_RAW, CHOWN]
      containers:
        - name: app
          securityContext:
            capabilities:
              drop: [ALL]
              add:
                - SYS_ADMIN
                - NET_BIND_SERVICE
                - ALL
      ephemeralContainers:
        - name: debug
          securityContext: {capabilities: {add: [SYS_PTRACE]}}
"#,
            &[
                (12, "init container \"setup\" adds capability \"NET_RAW\""),
                (19, "container \"app\" adds capability \"SYS_ADMIN\""),
                (21, "container \"app\" adds capability \"ALL\""),
                (
                    24,
                    "ephemeral container \"debug\" adds capability \"SYS_PTRACE\"",
                ),
            ],
        );
    }

    #[test]
    fn exact_names_only() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      securityContext:
        capabilities:
          add: [chown, CAP_CHOWN, KILL]
"#,
            &[
                (10, "container \"app\" adds capability \"chown\""),
                (10, "container \"app\" adds capability \"CAP_CHOWN\""),
            ],
        );
    }

    #[test]
    fn clean_and_windows_pods() {
        // The Baseline check is not relaxed for Windows pods.
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  os: {name: windows}
  containers:
    - name: ok
      securityContext:
        capabilities: {add: [AUDIT_WRITE, SETUID], drop: [NET_RAW]}
    - name: none
      securityContext: {capabilities: null}
    - name: bad
      securityContext: {capabilities: {add: [BPF]}}
"#,
            &[(14, "container \"bad\" adds capability \"BPF\"")],
        );
    }
}
