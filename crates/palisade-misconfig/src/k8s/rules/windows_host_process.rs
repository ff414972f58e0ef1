use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use super::pss_util::{pod_sc, set, set_entry};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-013",
        title: "Windows HostProcess container",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:windowsHostProcess", "cis:5.2.11"],
        fix: "Remove `securityContext.windowsOptions.hostProcess: true`; run node management tasks outside of ordinary workloads.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags pods and containers (init, regular, ephemeral) that set
`securityContext.windowsOptions.hostProcess: true`.

## Why is this bad?
A Windows HostProcess container is not isolated at all: it runs as a process directly on
the Windows node, with the node's network, file system and, usually, a built-in account
such as `NT AUTHORITY\SYSTEM`. It is the Windows equivalent of a privileged container with
every host namespace shared; compromising it means owning the node. The Pod Security
Standards forbid it at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: node-agent
spec:
  hostNetwork: true
  securityContext:
    windowsOptions:
      hostProcess: true
      runAsUserName: "NT AUTHORITY\\SYSTEM"
  nodeSelector:
    kubernetes.io/os: windows
  containers:
    - name: agent
      image: registry.example.com/win-agent:1.0
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: node-agent
spec:
  os:
    name: windows
  securityContext:
    windowsOptions:
      runAsUserName: "ContainerUser"
  containers:
    - name: agent
      image: registry.example.com/win-agent:1.0
```

## References
- [Pod Security Standards: Baseline, HostProcess](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Create a Windows HostProcess Pod](https://kubernetes.io/docs/tasks/configure-pod-container/create-hostprocess-pod/)
- CIS Kubernetes Benchmark 5.2.11, "Minimize the admission of Windows HostProcess Containers"
"#;

fn host_process(sc: Option<&Node>) -> Option<palisade_yaml::Span> {
    let (opts, _) = set_entry(sc, "windowsOptions")?;
    let (value, span) = set_entry(Some(opts), "hostProcess")?;
    (value.as_bool() == Some(true)).then_some(span)
}

const FIELD: &str = "securityContext.windowsOptions.hostProcess";

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    if let Some(span) = host_process(pod_sc(&pod)) {
        out.push(Hit::new(format!("pod sets {FIELD} to true"), span).field(pod.field(FIELD)));
    }
    for c in pod.containers() {
        if let Some(span) = host_process(set(c.security_context())) {
            out.push(
                Hit::new(format!("{} sets {FIELD} to true", c.label()), span).field(c.field(FIELD)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_pod_and_container_host_process() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  template:
    spec:
      hostNetwork: true
      securityContext:
        windowsOptions:
          hostProcess: true
      containers:
        - name: agent
          securityContext:
            windowsOptions: {hostProcess: true, runAsUserName: "NT AUTHORITY\\SYSTEM"}
        - name: ok
          securityContext:
            windowsOptions: {hostProcess: false}
"#,
            &[
                (
                    11,
                    "pod sets securityContext.windowsOptions.hostProcess to true",
                ),
                (
                    15,
                    "container \"agent\" sets securityContext.windowsOptions.hostProcess to true",
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
metadata: {name: p}
spec:
  os: {name: windows}
  securityContext: {windowsOptions: {runAsUserName: ContainerUser}}
  containers: [{name: c, image: x:1, securityContext: {windowsOptions: null}}]
"#,
            &[],
        );
    }
}
