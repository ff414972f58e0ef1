use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-010",
        title: "Unmasked /proc mount",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &[
            "pss:baseline:procMount",
            "pss:restricted:procMount_restricted",
        ],
        fix: "Remove `securityContext.procMount` or set it to `Default`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (init, regular and ephemeral) that set `securityContext.procMount` to
anything other than `Default` (in practice `Unmasked`) in pods that share the node's user
namespace, i.e. that do not set `spec.hostUsers: false`. The same setting in a
user-namespaced pod is reported by PAL-K8S-022.

## Why is this bad?
By default the runtime masks sensitive parts of `/proc` (such as `/proc/kcore`,
`/proc/sysrq-trigger` and `/proc/sys`) and makes others read-only. An unmasked `/proc`
exposes kernel memory, host-wide kernel tunables and information useful to break out of
the container, and with root in the host user namespace these are the host's. The Pod
Security Standards forbid it at the Baseline level unless the pod runs in its own user
namespace.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0
      securityContext:
        procMount: Unmasked
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0-rootless
      securityContext:
        procMount: Default
```

## References
- [Pod Security Standards: Baseline, /proc Mount Type](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Use a User Namespace With a Pod](https://kubernetes.io/docs/tasks/configure-pod-container/user-namespaces/)
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.uses_user_namespace() {
        return;
    }
    super::pss_util::proc_mount_hits(&pod, out);
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_unmasked_without_user_namespace() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostUsers: true
  initContainers:
    - name: init
      securityContext: {procMount: Unmasked}
  containers:
    - name: app
      securityContext:
        procMount: Unmasked
    - name: ok
      securityContext:
        procMount: Default
  ephemeralContainers:
    - name: debug
      securityContext:
        procMount: ""
"#,
            &[
                (
                    9,
                    "init container \"init\" sets securityContext.procMount to \"Unmasked\"",
                ),
                (
                    13,
                    "container \"app\" sets securityContext.procMount to \"Unmasked\"",
                ),
                (
                    20,
                    "ephemeral container \"debug\" sets securityContext.procMount to \"\"",
                ),
            ],
        );
    }

    #[test]
    fn user_namespaced_pods_are_left_to_022() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostUsers: false
  containers:
    - name: app
      securityContext: {procMount: Unmasked}
"#,
            &[],
        );
    }
}
