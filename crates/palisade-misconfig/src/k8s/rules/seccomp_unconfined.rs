use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-011",
        title: "Seccomp profile set to Unconfined",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &[
            "pss:baseline:seccompProfile_baseline",
            "pss:restricted:seccompProfile_restricted",
            "cis:5.7.2",
        ],
        fix: "Set `securityContext.seccompProfile.type` to `RuntimeDefault` (or `Localhost` with a reviewed profile).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags a `securityContext.seccompProfile` of the pod or of any container (init, regular,
ephemeral) whose `type` is not `RuntimeDefault` or `Localhost`: in practice `Unconfined`,
but also a profile object without a type. A missing profile is reported by PAL-K8S-021.
The deprecated `seccomp.security.alpha.kubernetes.io` annotations are ignored, as the Pod
Security admission controller ignores them.

## Why is this bad?
Seccomp filters the system calls a container may make. The runtime's default profile
blocks several dozen rarely needed and historically exploitable calls such as `keyctl`,
`add_key`, `unshare` and `mount` (the latter two unless the container holds `CAP_SYS_ADMIN`),
which featured in many container escapes. `Unconfined`
switches that filter off, exposing the full kernel attack surface to the container. The
Pod Security Standards forbid it at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  securityContext:
    seccompProfile:
      type: Unconfined
  containers:
    - name: app
      image: registry.example.com/app:1.0
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: app
      image: registry.example.com/app:1.0
```

## References
- [Pod Security Standards: Baseline, Seccomp](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Restrict a Container's Syscalls with seccomp](https://kubernetes.io/docs/tutorials/security/seccomp/)
- CIS Kubernetes Benchmark 5.7.2, "Ensure that the seccomp profile is set to docker/default in your pod definitions"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    super::pss_util::profile_type_hits(
        &pod,
        "seccompProfile",
        &["RuntimeDefault", "Localhost"],
        out,
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_explicit_bad_types() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  os: {name: windows}
  securityContext:
    seccompProfile:
      type: Unconfined
  initContainers:
    - name: init
      securityContext:
        seccompProfile: {}
  containers:
    - name: app
      securityContext:
        seccompProfile: {type: Unconfined}
    - name: ok
      securityContext:
        seccompProfile: {type: Localhost, localhostProfile: profiles/app.json}
    - name: inherits
"#,
            &[
                (
                    9,
                    "pod sets securityContext.seccompProfile.type to \"Unconfined\"",
                ),
                (
                    13,
                    "init container \"init\" sets securityContext.seccompProfile without a type",
                ),
                (
                    17,
                    "container \"app\" sets securityContext.seccompProfile.type to \"Unconfined\"",
                ),
            ],
        );
    }

    #[test]
    fn missing_profiles_and_annotations_are_not_flagged() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    seccomp.security.alpha.kubernetes.io/pod: unconfined
spec:
  securityContext: {seccompProfile: null}
  containers:
    - name: app
      image: x:1
"#,
            &[],
        );
    }
}
