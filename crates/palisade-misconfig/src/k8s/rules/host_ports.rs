use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{set, show};
use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-007",
        title: "Host ports used",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:hostPorts", "cis:5.2.13"],
        fix: "Remove `hostPort` from the container's ports and expose the workload through a Service (NodePort or LoadBalancer if it must be reachable from outside).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags container ports (of init, regular and ephemeral containers) that set a non-zero
`hostPort`.

## Why is this bad?
A host port binds the container's port on the node's own network interfaces, outside the
reach of NetworkPolicies and Services. It exposes the workload on every address of the
node, including ones meant to be private, lets the pod intercept traffic intended for a
node service on the same port, and limits scheduling to nodes where the port is free. The
Pod Security Standards forbid host ports at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: nginx
      image: nginx:1.27
      ports:
        - containerPort: 80
          hostPort: 80
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
    - name: nginx
      image: nginx:1.27
      ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 80
```

## References
- [Pod Security Standards: Baseline, Host Ports](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Configuration Best Practices: Services](https://kubernetes.io/docs/concepts/configuration/overview/#services)
- CIS Kubernetes Benchmark 5.2.13, "Minimize the admission of containers which use HostPorts"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for c in pod.containers() {
        let ports = set(c.get("ports")).map(|p| p.items()).unwrap_or(&[]);
        for (i, port) in ports.iter().enumerate() {
            let Some(host_port) = set(port.get("hostPort")) else {
                continue;
            };
            if host_port.as_i64() == Some(0) {
                continue;
            }
            let Some(span) = entry_span(port, "hostPort") else {
                continue;
            };
            out.push(
                Hit::new(
                    format!("{} uses hostPort {}", c.label(), show(host_port)),
                    span,
                )
                .field(c.field(&format!("ports[{i}].hostPort"))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_nonzero_host_ports() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec:
  template:
    spec:
      initContainers:
        - name: init
          ports: [{containerPort: 53, hostPort: 53, protocol: UDP}]
      containers:
        - name: app
          ports:
            - containerPort: 8080
              hostPort: 8080
            - containerPort: 9090
              hostPort: 0
            - containerPort: 9091
"#,
            &[
                (10, "init container \"init\" uses hostPort 53"),
                (15, "container \"app\" uses hostPort 8080"),
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
  containers:
    - name: app
      ports: [{containerPort: 80, hostPort: null}]
"#,
            &[],
        );
    }
}
