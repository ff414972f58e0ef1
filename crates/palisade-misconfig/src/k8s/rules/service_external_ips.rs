use palisade_core::{RuleMeta, Scanner, Severity};

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-038",
        title: "Service with externalIPs",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: &["Service"],
        controls: &["nsa:network-separation"],
        fix: "Remove `spec.externalIPs`; expose the Service through a LoadBalancer or Ingress, and block the field cluster-wide (DenyServiceExternalIPs admission plugin).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags Services that set `spec.externalIPs`.

## Why is this bad?
kube-proxy sends traffic addressed to any listed external IP to the Service's pods, on
every node, and nothing checks that the address belongs to the Service's owner. This is
CVE-2020-8554: anyone allowed to create or edit a Service can list another service's IP
(an internal database, a cloud metadata endpoint, a public DNS resolver) and intercept the
cluster's traffic to it, a man-in-the-middle that no patch fixes. Legitimate uses are
rare; the upstream recommendation is to disallow the field entirely.

## Example
```yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
    - port: 80
  externalIPs:
    - 198.51.100.20
```

## Use instead
```yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  loadBalancerSourceRanges:
    - 203.0.113.0/24
  selector:
    app: web
  ports:
    - port: 80
```

## References
- [Service: external IPs](https://kubernetes.io/docs/concepts/services-networking/service/#external-ips)
- [CVE-2020-8554: Man in the middle using LoadBalancer or ExternalIPs (kubernetes/kubernetes#97076)](https://github.com/kubernetes/kubernetes/issues/97076)
- [Admission controller DenyServiceExternalIPs](https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#denyserviceexternalips)
- NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    if r.kind != "Service" {
        return;
    }
    let Some(spec) = r.root.get("spec") else {
        return;
    };
    let Some(ips) = spec.get("externalIPs") else {
        return;
    };
    if ips.items().is_empty() {
        return;
    }
    let Some(span) = entry_span(spec, "externalIPs") else {
        return;
    };
    let list: Vec<&str> = ips
        .items()
        .iter()
        .map(|n| n.scalar_text().unwrap_or("?"))
        .collect();
    out.push(
        Hit::new(
            format!("Service {:?} sets externalIPs {}", r.name, list.join(", ")),
            span,
        )
        .field("spec.externalIPs"),
    );
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_external_ips() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
  externalIPs:
    - 198.51.100.20
    - 198.51.100.21
"#,
            &[(
                7,
                "Service \"web\" sets externalIPs 198.51.100.20, 198.51.100.21",
            )],
        );
    }

    #[test]
    fn empty_or_missing_external_ips_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  externalIPs: []
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  type: ClusterIP
---
apiVersion: v1
kind: Endpoints
metadata: {name: c}
subsets: []
"#,
            &[],
        );
    }
}
