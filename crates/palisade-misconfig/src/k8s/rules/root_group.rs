use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use super::hardening_util::{IdSetter, inherited_id, set};
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-041",
        title: "Runs with the root group",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["nsa:non-root-containers"],
        fix: "Use a non-zero group ID (10000 or more) for `runAsGroup` and `fsGroup`, and remove 0 from `supplementalGroups`.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pods and containers whose effective `securityContext.runAsGroup` is 0 (a container's
own value overrides the pod's), pods with `fsGroup: 0`, and pods whose
`supplementalGroups` include 0. Windows pods are not checked.

## Why is this bad?
Group 0 is root's group. Many files in images and on nodes are owned by `root:root` with
group read or write permission, so a non-root user in group 0 can still read or change
them, and `fsGroup: 0` makes every mounted volume group-owned by root. After a container
escape or through a shared `hostPath` mount, the process acts with root's group
privileges on the host. Running as a non-root user achieves little if the group stays
root.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  securityContext:
    runAsUser: 10001
    runAsGroup: 0
    fsGroup: 0
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
    fsGroup: 10001
  containers:
    - name: api
      image: ghcr.io/example/api:1.4.2
```

## References
- [Configure a Security Context for a Pod or Container](https://kubernetes.io/docs/tasks/configure-pod-container/security-context/)
- [Kubernetes API: Pod (pod security context)](https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/)
- NSA/CISA Kubernetes Hardening Guide, "Use containers built to run applications as non-root users"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if pod.is_windows() {
        return;
    }
    inherited_id(&pod, "runAsGroup", |setter, gid, span, field| {
        if gid != 0 {
            return;
        }
        let who = match setter {
            IdSetter::Pod => "pod".to_string(),
            IdSetter::Container(c) => c.label(),
        };
        out.push(Hit::new(format!("{who} runs with group ID 0 (runAsGroup)"), span).field(field));
    });
    let Some(sc) = set(pod.security_context()) else {
        return;
    };
    if set(sc.get("fsGroup")).and_then(Node::as_i64) == Some(0)
        && let Some(span) = entry_span(sc, "fsGroup")
    {
        out.push(
            Hit::new(
                "pod sets fsGroup to 0, making volumes owned by the root group",
                span,
            )
            .field(pod.field("securityContext.fsGroup")),
        );
    }
    if let Some(groups) = sc.get("supplementalGroups") {
        for (i, g) in groups.items().iter().enumerate() {
            if g.as_i64() == Some(0) {
                out.push(
                    Hit::new("pod adds the root group (0) in supplementalGroups", g.span)
                        .field(pod.field(&format!("securityContext.supplementalGroups[{i}]"))),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_group_zero_everywhere() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  securityContext:
    runAsGroup: 0
    fsGroup: 0
    supplementalGroups:
      - 5
      - 0
  containers:
    - name: inherits
    - name: own
      securityContext: {runAsGroup: 0}
    - name: fine
      securityContext: {runAsGroup: 3000}
"#,
            &[
                (7, "pod runs with group ID 0 (runAsGroup)"),
                (15, "container \"own\" runs with group ID 0 (runAsGroup)"),
                (
                    8,
                    "pod sets fsGroup to 0, making volumes owned by the root group",
                ),
                (11, "pod adds the root group (0) in supplementalGroups"),
            ],
        );
    }

    #[test]
    fn overridden_nonzero_and_windows_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  template:
    spec:
      securityContext:
        runAsGroup: 0
        fsGroup: 2000
        supplementalGroups: [1000]
      containers:
        - name: a
          securityContext: {runAsGroup: 10001}
---
apiVersion: v1
kind: Pod
metadata: {name: win}
spec:
  os: {name: windows}
  securityContext: {fsGroup: 0}
  containers:
    - name: a
"#,
            &[],
        );
    }
}
