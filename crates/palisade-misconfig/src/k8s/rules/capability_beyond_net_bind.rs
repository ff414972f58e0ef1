use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{BASELINE_CAPS, added_caps, quote};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-017",
        title: "Capability added beyond NET_BIND_SERVICE",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:capabilities_restricted", "cis:5.2.10"],
        fix: "Remove the capability from `securityContext.capabilities.add`; under the Restricted profile only `NET_BIND_SERVICE` may be added back after `drop: [\"ALL\"]`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (init, regular and ephemeral) that add one of the container runtime's
default capabilities other than `NET_BIND_SERVICE`: `AUDIT_WRITE`, `CHOWN`,
`DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `MKNOD`, `SETFCAP`, `SETGID`, `SETPCAP`,
`SETUID` or `SYS_CHROOT`. The Baseline level allows these, the Restricted level does not.
Capabilities outside the default set are reported by PAL-K8S-005. Pods with
`spec.os.name: windows` are exempt, as in the Pod Security admission controller.

## Why is this bad?
Even the default capabilities let a process that runs as root inside the container do
more than it needs: `DAC_OVERRIDE` ignores file permissions on every mounted volume,
`SETUID`/`SETGID` let it switch to any user, `CHOWN` and `FOWNER` take over files, and
`MKNOD` creates device nodes. An attacker who gets code execution keeps these powers.
Dropping everything and adding back only `NET_BIND_SERVICE` (to bind ports below 1024)
is what the Restricted profile requires.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: nginx
      image: nginx:1.27
      securityContext:
        capabilities:
          drop: ["ALL"]
          add: ["CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"]
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: nginx
      image: nginxinc/nginx-unprivileged:1.27
      securityContext:
        runAsNonRoot: true
        capabilities:
          drop: ["ALL"]
          add: ["NET_BIND_SERVICE"]
```

## References
- [Pod Security Standards: Restricted, Capabilities](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Set capabilities for a Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-capabilities-for-a-container)
- CIS Kubernetes Benchmark 5.2.10, "Minimize the admission of containers with capabilities assigned"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.is_windows() {
        return;
    }
    for c in pod.containers() {
        for (i, node, cap) in added_caps(&c) {
            if cap == "NET_BIND_SERVICE" || !BASELINE_CAPS.contains(&cap) {
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
    fn flags_default_caps_other_than_net_bind_service() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      initContainers:
        - name: fix-perms
          securityContext:
            capabilities:
              drop: [ALL]
              add:
                - CHOWN
                - NET_BIND_SERVICE
                - SYS_ADMIN
      containers:
        - name: app
          securityContext: {capabilities: {add: [KILL]}}
"#,
            &[
                (14, "init container \"fix-perms\" adds capability \"CHOWN\""),
                (19, "container \"app\" adds capability \"KILL\""),
            ],
        );
    }

    #[test]
    fn clean_pod_and_windows_exemption() {
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
        capabilities: {drop: [ALL], add: [NET_BIND_SERVICE, chown]}
---
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  containers:
    - name: app
      securityContext:
        capabilities: {add: [CHOWN]}
"#,
            &[],
        );
    }
}
