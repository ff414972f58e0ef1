use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{set, set_entry, show, text};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-014",
        title: "Probe or lifecycle hook targets another host",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:hostProbesAndHostLifecycle"],
        fix: "Remove `host` from the probe's or hook's `httpGet` / `tcpSocket` so that it targets the pod's own IP.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `httpGet.host` and `tcpSocket.host` set to a non-empty value in the liveness,
readiness and startup probes and the `postStart` / `preStop` lifecycle hooks of any
container (init, regular, ephemeral). Every non-empty host is reported, including
`localhost` and `127.0.0.1`: the check cannot know what they resolve to from the kubelet.

## Why is this bad?
Probes and HTTP/TCP lifecycle hooks are not run by the container but by the kubelet, from
the node's network namespace. Pointing them at an arbitrary host turns the kubelet into a
proxy a pod author controls: it can reach addresses the pod itself cannot (node-local
services, cloud metadata endpoints, other networks that NetworkPolicies would block), a
server-side request forgery. The Pod Security Standards forbid it at the Baseline level
since Kubernetes 1.34.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
      livenessProbe:
        httpGet:
          host: 169.254.169.254
          path: /latest/meta-data/
          port: 80
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
      livenessProbe:
        httpGet:
          path: /healthz
          port: 80
```

## References
- [Pod Security Standards: Baseline, Probes and lifecycle handlers](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Configure Liveness, Readiness and Startup Probes](https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/)
- [Container Lifecycle Hooks](https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/)
"#;

const HANDLERS: &[&[&str]] = &[
    &["livenessProbe"],
    &["readinessProbe"],
    &["startupProbe"],
    &["lifecycle", "postStart"],
    &["lifecycle", "preStop"],
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    for c in pod.containers() {
        for path in HANDLERS {
            let Some(handler) = set(c.node.path(path)) else {
                continue;
            };
            for action in ["httpGet", "tcpSocket"] {
                let Some((host, span)) = set_entry(set(handler.get(action)), "host") else {
                    continue;
                };
                if host.scalar_text().is_some() && text(Some(host)).is_empty() {
                    continue;
                }
                let field = format!("{}.{action}.host", path.join("."));
                out.push(
                    Hit::new(
                        format!("{} sets {field} to {}", c.label(), show(host)),
                        span,
                    )
                    .field(c.field(&field)),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_every_non_empty_host() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: sidecar
      restartPolicy: Always
      readinessProbe:
        tcpSocket: {host: 8.8.8.8, port: 8080}
  containers:
    - name: app
      livenessProbe:
        httpGet:
          host: localhost
          port: 80
      startupProbe:
        exec: {command: [true]}
      lifecycle:
        postStart:
          httpGet: {host: "", port: 80}
        preStop:
          tcpSocket:
            host: bad.example.com
            port: 22
"#,
            &[
                (
                    10,
                    "init container \"sidecar\" sets readinessProbe.tcpSocket.host to \"8.8.8.8\"",
                ),
                (
                    15,
                    "container \"app\" sets livenessProbe.httpGet.host to \"localhost\"",
                ),
                (
                    24,
                    "container \"app\" sets lifecycle.preStop.tcpSocket.host to \"bad.example.com\"",
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
  containers:
    - name: app
      readinessProbe:
        httpGet: {path: /healthz, port: 8080, host: null}
      livenessProbe:
        grpc: {port: 9000}
"#,
            &[],
        );
    }
}
