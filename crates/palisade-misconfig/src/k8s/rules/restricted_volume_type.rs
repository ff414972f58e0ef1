use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{quote, set, volume_name};
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-018",
        title: "Restricted volume type",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:restricted:restrictedVolumes"],
        fix: "Use a PersistentVolumeClaim (or a csi / ephemeral volume) instead of naming the storage backend in the pod spec.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pod volumes whose type is not one the Restricted profile allows. Allowed are
`configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `image`,
`persistentVolumeClaim`, `projected` and `secret`; a volume with no source at all is an
`emptyDir` once the API server has defaulted it, and is allowed too. Everything else
(`nfs`, `iscsi`, `gitRepo`, `rbd`, `cephfs`, `awsElasticBlockStore`, `gcePersistentDisk`,
`azureDisk`, `flexVolume`, ...) is reported. `hostPath` volumes are reported by
PAL-K8S-006 instead.

## Why is this bad?
Inline volume sources let a pod author reach storage directly, bypassing the storage
classes and PersistentVolume objects that cluster administrators control: any NFS export
or iSCSI target the node can reach can be mounted, and `gitRepo` runs `git` on the node
as root against a repository the author chooses (CVE-2024-10220). `flexVolume` drivers
run as root on the node with the options the pod passes. Going through a
PersistentVolumeClaim keeps access to backing storage an administrator's decision.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: reports
spec:
  containers:
    - name: app
      image: registry.example.com/reports:1.0
      volumeMounts:
        - name: share
          mountPath: /data
  volumes:
    - name: share
      nfs:
        server: nfs.internal.example.com
        path: /exports/reports
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: reports
spec:
  containers:
    - name: app
      image: registry.example.com/reports:1.0
      volumeMounts:
        - name: share
          mountPath: /data
  volumes:
    - name: share
      persistentVolumeClaim:
        claimName: reports-share
```

## References
- [Pod Security Standards: Restricted, Volume Types](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted)
- [Persistent Volumes](https://kubernetes.io/docs/concepts/storage/persistent-volumes/)
- [Volumes: gitRepo (deprecated)](https://kubernetes.io/docs/concepts/storage/volumes/#gitrepo)
"#;

/// Sources the Restricted profile accepts.
const ALLOWED: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Sources it rejects, in the order the reference implementation names them (`hostPath`
/// belongs to PAL-K8S-006).
const RESTRICTED: &[&str] = &[
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for (i, v) in pod.volumes().iter().enumerate() {
        let has = |key: &str| set(v.get(key)).is_some();
        if ALLOWED.iter().any(|k| has(k)) || has("hostPath") {
            continue;
        }
        // No recognised source at all: the API server defaults it to emptyDir.
        let Some(kind) = RESTRICTED.iter().find(|k| has(k)) else {
            continue;
        };
        let Some(span) = entry_span(v, kind) else {
            continue;
        };
        out.push(
            Hit::new(
                format!(
                    "volume {} uses restricted volume type {}",
                    quote(volume_name(v)),
                    quote(kind)
                ),
                span,
            )
            .field(pod.field(&format!("volumes[{i}].{kind}"))),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_restricted_types() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers: [{name: c, image: x:1}]
      volumes:
        - name: share
          nfs: {server: nfs.example.com, path: /x}
        - name: repo
          gitRepo:
            repository: https://example.com/r.git
        - name: host
          hostPath: {path: /etc}
"#,
            &[
                (11, "volume \"share\" uses restricted volume type \"nfs\""),
                (
                    13,
                    "volume \"repo\" uses restricted volume type \"gitRepo\"",
                ),
            ],
        );
    }

    #[test]
    fn allowed_and_source_less_volumes() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: x:1}]
  volumes:
    - name: volume0
    - name: tmp
      emptyDir: {}
    - name: cfg
      configMap: {name: cfg}
    - name: token
      projected: {sources: []}
    - name: inline
      csi: {driver: secrets-store.csi.k8s.io}
    - name: scratch
      ephemeral:
        volumeClaimTemplate:
          spec: {accessModes: [ReadWriteOnce]}
    - name: nulled
      nfs: null
"#,
            &[],
        );
    }
}
