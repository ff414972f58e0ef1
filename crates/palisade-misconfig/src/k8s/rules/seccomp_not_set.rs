use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{pod_sc, set};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-021",
        title: "Seccomp profile not set",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:seccompProfile_restricted", "cis:5.7.2"],
        fix: "Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod (it applies to every container) or on each container.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags containers (init, regular and ephemeral) that end up with no seccomp profile: the
container sets no `securityContext.seccompProfile` and neither does the pod. A profile set
on the pod applies to every container that does not set its own. Explicitly unconfined
profiles are reported by PAL-K8S-011. Pods with `spec.os.name: windows` are exempt, as in
the Pod Security admission controller.

## Why is this bad?
Unless the kubelet is configured to default to it, a container without a profile runs
`Unconfined`: every system call of the kernel is reachable from it, including the ones
(`keyctl`, `add_key`, `unshare`, `mount`...) that most container escapes go through. The
runtime's default profile blocks them at no cost to ordinary applications, and the
Restricted profile of the Pod Security Standards requires it to be set explicitly.

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
      securityContext:
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: api
          image: registry.example.com/api:3.2
```

## References
- [Pod Security Standards: Restricted, Seccomp](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Restrict a Container's Syscalls with seccomp](https://kubernetes.io/docs/tutorials/security/seccomp/)
- CIS Kubernetes Benchmark 5.7.2, "Ensure that the seccomp profile is set to docker/default in your pod definitions"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    // A pod-level profile, valid or not, decides for every container without its own
    // (an invalid one is PAL-K8S-011's).
    if pod.is_windows() || set(pod_sc(&pod).and_then(|sc| sc.get("seccompProfile"))).is_some() {
        return;
    }
    for c in pod.containers() {
        if set(c.sc("seccompProfile")).is_some() {
            continue;
        }
        out.push(
            Hit::new(
                format!(
                    "neither {} nor the pod sets securityContext.seccompProfile",
                    c.label()
                ),
                c.missing_span(),
            )
            .field(c.field("securityContext.seccompProfile")),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_containers_without_any_profile() {
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
      securityContext:
        seccompProfile: {type: RuntimeDefault}
  containers:
    - name: app
      image: x:1
    - name: side
      image: x:1
      securityContext:
        runAsNonRoot: true
        seccompProfile: null
    - name: bad
      securityContext:
        seccompProfile: {type: Unconfined}
"#,
            &[
                (
                    12,
                    "neither container \"app\" nor the pod sets securityContext.seccompProfile",
                ),
                (
                    16,
                    "neither container \"side\" nor the pod sets securityContext.seccompProfile",
                ),
            ],
        );
    }

    #[test]
    fn pod_level_profile_is_inherited() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          securityContext:
            seccompProfile: {type: RuntimeDefault}
          containers:
            - name: app
              image: x:1
---
apiVersion: v1
kind: Pod
metadata: {name: unconfined}
spec:
  securityContext:
    seccompProfile: {type: Unconfined}
  containers:
    - name: app
      image: x:1
---
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  containers:
    - name: app
      image: x:1
"#,
            &[],
        );
    }
}
