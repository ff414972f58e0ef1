use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{pod_meta_field, profile_type_hits, quote, text};
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-008",
        title: "Forbidden AppArmor profile",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:appArmorProfile"],
        fix: "Set `securityContext.appArmorProfile.type` to `RuntimeDefault` (or `Localhost` with a reviewed profile), and remove `unconfined` AppArmor annotations.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags AppArmor settings that turn confinement off or name an unknown profile:
- `securityContext.appArmorProfile.type` of the pod or of any container (init, regular,
  ephemeral) other than `RuntimeDefault` or `Localhost` (for example `Unconfined`, or an
  `appArmorProfile` without a type);
- pod (template) annotations `container.apparmor.security.beta.kubernetes.io/<container>`
  whose value is not empty, `runtime/default` or `localhost/<profile>` (for example
  `unconfined`).

## Why is this bad?
On nodes with AppArmor the runtime's default profile blocks many steps of a container
breakout: writing to `/proc/sys` and `/sys`, mounting filesystems, and access to sensitive
kernel interfaces. An `Unconfined` container loses that layer, so a kernel or runtime bug
or an over-broad capability is easier to turn into control of the node. The Pod Security
Standards forbid overriding or disabling the default profile at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
  annotations:
    container.apparmor.security.beta.kubernetes.io/app: unconfined
spec:
  containers:
    - name: app
      image: registry.example.com/app:1.0
      securityContext:
        appArmorProfile:
          type: Unconfined
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  securityContext:
    appArmorProfile:
      type: RuntimeDefault
  containers:
    - name: app
      image: registry.example.com/app:1.0
```

## References
- [Pod Security Standards: Baseline, AppArmor](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Restrict a Container's Access to Resources with AppArmor](https://kubernetes.io/docs/tutorials/security/apparmor/)
"#;

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    profile_type_hits(
        &pod,
        "appArmorProfile",
        &["RuntimeDefault", "Localhost"],
        out,
    );
    let Some(annotations) = pod.meta.and_then(|m| m.get("annotations")) else {
        return;
    };
    for (k, v) in annotations.entries() {
        let Some(key) = k.scalar_text() else { continue };
        if !key.starts_with(ANNOTATION_PREFIX) {
            continue;
        }
        let value = text(Some(v));
        if value.is_empty() || value == "runtime/default" || value.starts_with("localhost/") {
            continue;
        }
        let span = entry_span(annotations, key).unwrap_or(k.span);
        out.push(
            Hit::new(
                format!(
                    "annotation {} sets AppArmor profile {}",
                    quote(key),
                    quote(value)
                ),
                span,
            )
            .field(pod_meta_field(
                &pod,
                &format!("annotations[{}]", quote(key)),
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_fields_and_annotations() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata:
      annotations:
        container.apparmor.security.beta.kubernetes.io/app: unconfined
        container.apparmor.security.beta.kubernetes.io/other: docker/default
        container.apparmor.security.beta.kubernetes.io/ok1: runtime/default
        container.apparmor.security.beta.kubernetes.io/ok2: localhost/my-profile
        container.apparmor.security.beta.kubernetes.io/ok3: ""
        apparmor.example.com/unrelated: unconfined
    spec:
      securityContext:
        appArmorProfile: {type: Unconfined}
      initContainers:
        - name: init
          securityContext:
            appArmorProfile: {}
      containers:
        - name: app
          securityContext:
            appArmorProfile:
              type: Localhost
              localhostProfile: k8s-app
        - name: bad
          securityContext:
            appArmorProfile:
              type: unconfined
"#,
            &[
                (
                    17,
                    "pod sets securityContext.appArmorProfile.type to \"Unconfined\"",
                ),
                (
                    21,
                    "init container \"init\" sets securityContext.appArmorProfile without a type",
                ),
                (
                    31,
                    "container \"bad\" sets securityContext.appArmorProfile.type to \"unconfined\"",
                ),
                (
                    9,
                    "annotation \"container.apparmor.security.beta.kubernetes.io/app\" sets AppArmor profile \"unconfined\"",
                ),
                (
                    10,
                    "annotation \"container.apparmor.security.beta.kubernetes.io/other\" sets AppArmor profile \"docker/default\"",
                ),
            ],
        );
    }

    #[test]
    fn clean_pod() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: {container.apparmor.security.beta.kubernetes.io/c: runtime/default}
spec:
  securityContext:
    appArmorProfile: {type: RuntimeDefault}
  containers:
    - name: c
      securityContext: {appArmorProfile: null}
"#,
            &[],
        );
    }
}
