use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-036",
        title: "Service of type NodePort",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: &["Service"],
        controls: &["nsa:network-separation"],
        fix: "Use a ClusterIP Service behind an Ingress or Gateway (or a LoadBalancer restricted with loadBalancerSourceRanges) instead of NodePort.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags Services with `spec.type: NodePort`.

## Why is this bad?
A NodePort Service opens the same port (30000-32767 by default) on every node of the
cluster, on every node address, bypassing the ingress layer where TLS, authentication and
rate limiting usually live. Anyone who can reach any node, including from outside when
nodes have public addresses, reaches the backend pods directly. Node firewalls are rarely
kept in sync with these ports, so services meant to be internal end up exposed.

## Example
```yaml
apiVersion: v1
kind: Service
metadata:
  name: admin
spec:
  type: NodePort
  selector:
    app: admin
  ports:
    - port: 80
      targetPort: 8080
      nodePort: 30080
```

## Use instead
```yaml
apiVersion: v1
kind: Service
metadata:
  name: admin
spec:
  type: ClusterIP
  selector:
    app: admin
  ports:
    - port: 80
      targetPort: 8080
```

## References
- [Service: type NodePort](https://kubernetes.io/docs/concepts/services-networking/service/#type-nodeport)
- [Ingress](https://kubernetes.io/docs/concepts/services-networking/ingress/)
- NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    if r.kind != "Service" {
        return;
    }
    let Some(spec) = r.root.get("spec") else {
        return;
    };
    if spec.get("type").and_then(Node::scalar_text) != Some("NodePort") {
        return;
    }
    let Some(span) = entry_span(spec, "type") else {
        return;
    };
    let ports: Vec<&str> = spec
        .get("ports")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|p| p.get("nodePort").and_then(Node::scalar_text))
        .collect();
    let detail = if ports.is_empty() {
        String::new()
    } else {
        format!(" (node port {})", ports.join(", "))
    };
    out.push(
        Hit::new(
            format!(
                "Service {:?} is exposed on every node through type NodePort{detail}",
                r.name
            ),
            span,
        )
        .field("spec.type"),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_node_port_services() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Service
metadata: {name: admin}
spec:
  type: NodePort
  ports:
    - {port: 80, nodePort: 30080}
    - {port: 443, nodePort: 30443}
---
apiVersion: v1
kind: Service
metadata: {name: auto}
spec:
  type: "NodePort"
  ports:
    - port: 80
"#,
            &[
                (
                    6,
                    "Service \"admin\" is exposed on every node through type NodePort (node port 30080, 30443)",
                ),
                (
                    15,
                    "Service \"auto\" is exposed on every node through type NodePort",
                ),
            ],
        );
    }

    #[test]
    fn other_types_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  type: LoadBalancer
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec:
  type: ExternalName
  externalName: db.example.com
"#,
            &[],
        );
    }
}
