use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::{host_paths, is_under};
use super::runtime_socket_mount::is_runtime_path;
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

/// Host directories that are sensitive together with everything below them.
const TREES: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/boot",
    "/root",
    "/home",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/sbin",
];

/// Sensitive only as a whole (`/dev/fuse` or `/dev/kvm` are device mounts with a purpose).
const EXACT: &[&str] = &["/", "/dev"];

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-035",
        title: "Sensitive host path mounted",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["cis:5.2.12"],
        fix: "Remove the hostPath volume, or mount only the specific file the workload needs, read-only; use ConfigMaps, Secrets or emptyDir for data of its own.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `hostPath` volumes that mount a sensitive part of the node's filesystem: the root
`/`, `/etc` (including `/etc/kubernetes`), `/proc`, `/sys`, `/boot`, `/root`, `/home`,
`/var/lib/kubelet`, `/var/lib/etcd`, the system binaries and libraries (`/usr`, `/lib`,
`/lib64`, `/bin`, `/sbin`) or anything below them, and `/dev` as a whole.
Paths are compared after removing repeated and trailing slashes. Container runtime
sockets are reported by PAL-K8S-034 instead.

## Why is this bad?
These paths hold the node's identity and control: `/etc` has the kubelet's and the
control plane's credentials and certificates, `/var/lib/kubelet` has every pod's mounted
secrets and service account tokens, `/var/lib/etcd` is the whole cluster state, a writable
`/usr` or `/lib` lets a container replace the binaries and libraries the node runs, and writes
to `/etc`, `/root` or `/boot` give persistent root on the node (cron jobs, SSH keys,
kernels). `/proc`, `/sys` and `/dev` expose host processes, kernel tunables and raw
devices. A compromised pod with such a mount can usually take over the node and then the
cluster.

## Example
```yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: log-agent
spec:
  selector:
    matchLabels: {app: log-agent}
  template:
    metadata:
      labels: {app: log-agent}
    spec:
      containers:
        - name: agent
          image: fluent/fluent-bit:3.2.2
          volumeMounts:
            - name: host-root
              mountPath: /host
      volumes:
        - name: host-root
          hostPath:
            path: /
```

## Use instead
```yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: log-agent
spec:
  selector:
    matchLabels: {app: log-agent}
  template:
    metadata:
      labels: {app: log-agent}
    spec:
      containers:
        - name: agent
          image: fluent/fluent-bit:3.2.2
          volumeMounts:
            - name: pod-logs
              mountPath: /var/log/pods
              readOnly: true
      volumes:
        - name: pod-logs
          hostPath:
            path: /var/log/pods
            type: Directory
```

## References
- [Volumes: hostPath](https://kubernetes.io/docs/concepts/storage/volumes/#hostpath)
- [Pod Security Standards: HostPath Volumes](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- CIS Kubernetes Benchmark 5.2.12, "Minimize the admission of HostPath volumes"
"#;

fn is_sensitive(path: &str) -> bool {
    !is_runtime_path(path) && (EXACT.contains(&path) || TREES.iter().any(|t| is_under(path, t)))
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for (name, path, span, field) in host_paths(r) {
        if is_sensitive(&path) {
            out.push(
                Hit::new(
                    format!("volume {name:?} mounts the sensitive host path \"{path}\""),
                    span,
                )
                .field(field),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_sensitive_paths_and_their_subdirectories() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  volumes:
    - {name: root, hostPath: {path: /}}
    - {name: root2, hostPath: {path: "///"}}
    - {name: etc, hostPath: {path: /etc/}}
    - {name: kube, hostPath: {path: /etc/kubernetes/pki}}
    - {name: proc, hostPath: {path: /proc}}
    - {name: sys, hostPath: {path: /sys/fs/cgroup}}
    - {name: dev, hostPath: {path: /dev}}
    - {name: kubelet, hostPath: {path: /var/lib/kubelet/pods}}
    - {name: etcd, hostPath: {path: /var/lib/etcd}}
    - {name: home, hostPath: {path: /home/admin/.ssh}}
"#,
            &[
                (7, "volume \"root\" mounts the sensitive host path \"/\""),
                (8, "volume \"root2\" mounts the sensitive host path \"/\""),
                (9, "volume \"etc\" mounts the sensitive host path \"/etc\""),
                (
                    10,
                    "volume \"kube\" mounts the sensitive host path \"/etc/kubernetes/pki\"",
                ),
                (
                    11,
                    "volume \"proc\" mounts the sensitive host path \"/proc\"",
                ),
                (
                    12,
                    "volume \"sys\" mounts the sensitive host path \"/sys/fs/cgroup\"",
                ),
                (13, "volume \"dev\" mounts the sensitive host path \"/dev\""),
                (
                    14,
                    "volume \"kubelet\" mounts the sensitive host path \"/var/lib/kubelet/pods\"",
                ),
                (
                    15,
                    "volume \"etcd\" mounts the sensitive host path \"/var/lib/etcd\"",
                ),
                (
                    16,
                    "volume \"home\" mounts the sensitive host path \"/home/admin/.ssh\"",
                ),
            ],
        );
    }

    #[test]
    fn system_binaries_and_libraries() {
        assert_k8s(
            &super::RULE,
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - {name: usr, hostPath: {path: /usr/lib}}\n  - {name: lib, hostPath: {path: /lib64}}\n  - {name: ok, hostPath: {path: /usrdata}}\n  containers: [{name: c, image: x:1}]\n",
            &[
                (
                    6,
                    "volume \"usr\" mounts the sensitive host path \"/usr/lib\"",
                ),
                (
                    7,
                    "volume \"lib\" mounts the sensitive host path \"/lib64\"",
                ),
            ],
        );
    }

    #[test]
    fn runtime_paths_devices_and_other_dirs_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      volumes:
        - {name: sock, hostPath: {path: /var/run/docker.sock}}
        - {name: run, hostPath: {path: /run}}
        - {name: fuse, hostPath: {path: /dev/fuse}}
        - {name: logs, hostPath: {path: /var/log}}
        - {name: etcd-like, hostPath: {path: /etcd-data}}
        - {name: data, hostPath: {path: /mnt/data}}
"#,
            &[],
        );
    }
}
