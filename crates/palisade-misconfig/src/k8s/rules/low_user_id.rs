use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::{IdSetter, inherited_id};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-040",
        title: "Runs with a low user ID",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:non-root-containers"],
        fix: "Set `securityContext.runAsUser` to an ID of 10000 or more that no host account uses.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pods and containers whose effective `securityContext.runAsUser` is between 1 and
9999. A container's own value overrides the pod's; the pod's value is reported once when
at least one container inherits it. UID 0 is reported by PAL-K8S-020. Windows pods and
pods in a user namespace (`hostUsers: false`, where container IDs are remapped) are not
checked.

## Why is this bad?
Low user IDs are the ones node accounts and system services use (1000 is typically the
first human user, many daemons sit below that). A container process running as such a
UID shares its identity with that host account: after a container escape, or through any
`hostPath` or shared volume, it can read and modify the host user's files. IDs of 10000
and above are unlikely to collide with anything on the node.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  securityContext:
    runAsUser: 1000
    runAsNonRoot: true
  containers:
    - name: api
      image: ghcr.io/example/api:1.4.2
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  securityContext:
    runAsUser: 10001
    runAsGroup: 10001
    runAsNonRoot: true
  containers:
    - name: api
      image: ghcr.io/example/api:1.4.2
```

## References
- [Configure a Security Context for a Pod or Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/)
- [User Namespaces](https://kubernetes.io/docs/concepts/workloads/pods/user-namespaces/)
- NSA/CISA Kubernetes Hardening Guide, "Use containers built to run applications as non-root users"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.is_windows() || pod.uses_user_namespace() {
        return;
    }
    inherited_id(&pod, "runAsUser", |setter, uid, span, field| {
        if !(1..10000).contains(&uid) {
            return;
        }
        let who = match setter {
            IdSetter::Pod => "pod".to_string(),
            IdSetter::Container(c) => c.label(),
        };
        out.push(Hit::new(format!("{who} runs as user ID {uid}, below 10000"), span).field(field));
    });
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_low_ids_with_inheritance() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      securityContext:
        runAsUser: 1000
      initContainers:
        - name: init
          securityContext: {runAsUser: 65534}
      containers:
        - name: inherits
        - name: own
          securityContext:
            runAsUser: 999
        - name: root
          securityContext:
            runAsUser: 0
"#,
            &[
                (9, "pod runs as user ID 1000, below 10000"),
                (17, "container \"own\" runs as user ID 999, below 10000"),
            ],
        );
    }

    #[test]
    fn overridden_pod_value_and_exemptions_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: overridden}
spec:
  securityContext: {runAsUser: 1000}
  containers:
    - name: a
      securityContext: {runAsUser: 10001}
---
apiVersion: v1
kind: Pod
metadata: {name: userns}
spec:
  hostUsers: false
  securityContext: {runAsUser: 1000}
  containers:
    - name: a
---
apiVersion: v1
kind: Pod
metadata: {name: unset}
spec:
  securityContext:
    runAsUser: null
  containers:
    - name: a
      securityContext: {runAsNonRoot: true}
"#,
            &[],
        );
    }
}
