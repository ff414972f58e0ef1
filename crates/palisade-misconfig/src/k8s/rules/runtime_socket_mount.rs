use palisade_core::{RuleMeta, Scanner, Severity};

use super::hardening_util::{host_paths, is_under};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

/// Container runtime sockets and the state directories that hold them or give the same
/// control. `/var/run` and `/run` hold the sockets of every runtime.
const EXACT: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run",
    "/run",
    "/var/lib/docker",
    "/var/lib/containerd",
    r"\\.\pipe\docker_engine",
    r"\\.\pipe\containerd-containerd",
];

/// Runtime directories flagged with everything below them.
const TREES: &[&str] = &[
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
];

/// Whether a normalised host path is a container runtime socket or its directory.
pub fn is_runtime_path(path: &str) -> bool {
    EXACT.contains(&path) || TREES.iter().any(|t| is_under(path, t))
}

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-034",
        title: "Container runtime socket mounted",
        severity: Severity::Critical,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["cis:5.2.12"],
        fix: "Remove the hostPath volume; give the workload a narrower API (e.g. the Kubernetes API with scoped RBAC) instead of the runtime socket.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `hostPath` volumes that mount a container runtime socket or the directory holding
it: `/var/run/docker.sock`, `/var/run/cri-dockerd.sock`, containerd's and CRI-O's run
directories (`/var/run/containerd`, `/var/run/crio` and anything below), `/var/run` and
`/run` themselves, the runtime state roots `/var/lib/docker` and `/var/lib/containerd`,
and on Windows nodes the named pipes `\\.\pipe\docker_engine` and
`\\.\pipe\containerd-containerd`. Paths are compared after removing repeated and
trailing slashes; the `/run/...` spellings count the same as `/var/run/...`.

## Why is this bad?
Whoever can talk to the runtime socket controls every container on the node: they can
start a new privileged container with the host's root filesystem mounted, exec into any
other pod, and read their secrets and environment. A compromised pod with the socket
mounted is therefore a full node compromise, regardless of its own security context, and
from the node an attacker can usually reach the kubelet's and other pods' credentials.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  containers:
    - name: builder
      image: docker:27.3-cli
      volumeMounts:
        - name: docker-sock
          mountPath: /var/run/docker.sock
  volumes:
    - name: docker-sock
      hostPath:
        path: /var/run/docker.sock
        type: Socket
```

## Use instead
```yaml
# Build images without the node's runtime, e.g. with an unprivileged BuildKit:
apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  containers:
    - name: buildkit
      image: moby/buildkit:v0.17.0-rootless
      args: ["--oci-worker-no-process-sandbox"]
      securityContext:
        seccompProfile: {type: Unconfined}
        appArmorProfile: {type: Unconfined}
        runAsUser: 1000
        runAsGroup: 1000
```

## References
- [Volumes: hostPath](https://kubernetes.io/docs/concepts/storage/volumes/#hostpath)
- [Pod Security Standards: HostPath Volumes](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Docker: Protect the Docker daemon socket](https://docs.docker.com/engine/security/protect-access/)
- CIS Kubernetes Benchmark 5.2.12, "Minimize the admission of HostPath volumes"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for (name, path, span, field) in host_paths(r) {
        if is_runtime_path(&path) {
            out.push(
                Hit::new(
                    format!(
                        "volume {name:?} mounts the container runtime path \"{path}\" from the host"
                    ),
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
    fn flags_runtime_sockets_and_directories() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      volumes:
        - name: docker
          hostPath: {path: /var/run/docker.sock, type: Socket}
        - name: containerd
          hostPath:
            path: /run/containerd/containerd.sock
        - name: run
          hostPath:
            path: /var/run/
        - name: crio
          hostPath:
            path: //var/run/crio/crio.sock
        - name: lib-docker
          hostPath:
            path: /var/lib/docker
        - name: cri-dockerd
          hostPath:
            path: /var/run/cri-dockerd.sock
        - name: pipe
          hostPath:
            path: \\.\pipe\docker_engine
"#,
            &[
                (
                    10,
                    "volume \"docker\" mounts the container runtime path \"/var/run/docker.sock\" from the host",
                ),
                (
                    13,
                    "volume \"containerd\" mounts the container runtime path \"/run/containerd/containerd.sock\" from the host",
                ),
                (
                    16,
                    "volume \"run\" mounts the container runtime path \"/var/run\" from the host",
                ),
                (
                    19,
                    "volume \"crio\" mounts the container runtime path \"/var/run/crio/crio.sock\" from the host",
                ),
                (
                    22,
                    "volume \"lib-docker\" mounts the container runtime path \"/var/lib/docker\" from the host",
                ),
                (
                    25,
                    "volume \"cri-dockerd\" mounts the container runtime path \"/var/run/cri-dockerd.sock\" from the host",
                ),
                (
                    28,
                    r#"volume "pipe" mounts the container runtime path "\\.\pipe\docker_engine" from the host"#,
                ),
            ],
        );
    }

    #[test]
    fn other_paths_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  volumes:
    - name: logs
      hostPath: {path: /var/lib/docker/containers}
    - name: xtables
      hostPath: {path: /run/xtables.lock, type: FileOrCreate}
    - name: etc
      hostPath: {path: /etc}
    - name: data
      emptyDir: {}
    - name: dockerish
      hostPath: {path: /var/run/docker.sock.d}
"#,
            &[],
        );
    }
}
