use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-022",
        title: "Unmasked /proc mount in a user-namespaced pod",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:procMount_restricted"],
        fix: "Remove `securityContext.procMount` or set it to `Default`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (init, regular and ephemeral) that set `securityContext.procMount` to
anything other than `Default` (in practice `Unmasked`) in pods with `spec.hostUsers: false`.
The Baseline level allows this because the pod has its own user namespace; the Restricted
level does not. Pods that share the node's user namespace are reported by PAL-K8S-010.

## Why is this bad?
A user namespace limits what root in the container can do to the host, but an unmasked
`/proc` still exposes kernel interfaces (`/proc/kcore`, `/proc/sysrq-trigger`, parts of
`/proc/sys`) that the runtime otherwise hides. Any kernel bug reachable through them is
one layer closer to the node. Unless the workload really runs nested containers (such as
rootless image builders), keep the default masked `/proc`.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  hostUsers: false
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0-rootless
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
  hostUsers: false
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0-rootless
      securityContext:
        procMount: Default
```

## References
- [Pod Security Standards: Restricted](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Use a User Namespace With a Pod](https://kubernetes.io/docs/tasks/configure-pod-container/user-namespaces/)
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if !pod.uses_user_namespace() {
        return;
    }
    super::pss_util::proc_mount_hits(&pod, out);
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_unmasked_in_user_namespace() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      hostUsers: false
      containers:
        - name: app
          securityContext:
            procMount: Unmasked
        - name: ok
          securityContext: {procMount: Default}
"#,
            &[(
                12,
                "container \"app\" sets securityContext.procMount to \"Unmasked\"",
            )],
        );
    }

    #[test]
    fn host_user_namespace_is_left_to_010() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: app
      securityContext: {procMount: Unmasked}
"#,
            &[],
        );
    }
}
