use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{quote, set, volume_name};
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-006",
        title: "hostPath volume",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &[
            "pss:baseline:hostPathVolumes",
            "pss:restricted:restrictedVolumes",
            "cis:5.2.12",
        ],
        fix: "Replace the hostPath volume with an emptyDir, configMap, secret, projected or persistentVolumeClaim volume.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pod volumes of type `hostPath`, whatever the path and whether or not it is mounted
read-only.

## Why is this bad?
A hostPath volume exposes a directory or file of the node to the container. Writable
mounts of paths such as `/`, `/etc`, `/var/lib/kubelet` or the container runtime's socket
are direct routes to root on the node, and even read-only mounts leak other pods' data,
kubelet credentials and logs. Pods that depend on node paths also break when rescheduled
to another node. The Pod Security Standards forbid hostPath volumes at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: log-reader
spec:
  containers:
    - name: reader
      image: busybox:1.36
      volumeMounts:
        - name: logs
          mountPath: /logs
  volumes:
    - name: logs
      hostPath:
        path: /var/log
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: log-reader
spec:
  containers:
    - name: reader
      image: busybox:1.36
      volumeMounts:
        - name: logs
          mountPath: /logs
  volumes:
    - name: logs
      persistentVolumeClaim:
        claimName: app-logs
```

## References
- [Pod Security Standards: Baseline, HostPath Volumes](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Volumes: hostPath](https://kubernetes.io/docs/concepts/storage/volumes/#hostpath)
- CIS Kubernetes Benchmark 5.2.12, "Minimize the admission of HostPath volumes"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for (i, v) in pod.volumes().iter().enumerate() {
        let Some(host_path) = set(v.get("hostPath")) else {
            continue;
        };
        let Some(span) = entry_span(v, "hostPath") else {
            continue;
        };
        let name = quote(volume_name(v));
        let message = match host_path.get("path").and_then(|p| p.scalar_text()) {
            Some(path) => format!("volume {name} mounts host path {}", quote(path)),
            None => format!("volume {name} uses a hostPath volume"),
        };
        out.push(Hit::new(message, span).field(pod.field(&format!("volumes[{i}].hostPath"))));
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_host_path_volumes() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  template:
    spec:
      containers: [{name: c, image: x:1}]
      volumes:
        - name: root
          hostPath:
            path: /
            type: Directory
        - name: tmp
          emptyDir: {}
        - name: odd
          hostPath: {}
        - name: gone
          hostPath: null
"#,
            &[
                (11, "volume \"root\" mounts host path \"/\""),
                (17, "volume \"odd\" uses a hostPath volume"),
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
metadata: {name: p}
spec:
  containers: [{name: c, image: x:1}]
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: data}
    - name: scratch
"#,
            &[],
        );
    }
}
