use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-039",
        title: "Ingress without TLS",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: &["Ingress"],
        controls: &["nsa:network-separation"],
        fix: "Add a `spec.tls` entry listing every host of the Ingress with the Secret that holds its certificate (e.g. issued by cert-manager).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags Ingresses that route traffic (`spec.rules` or a default backend) but have no
`spec.tls`, and, when `spec.tls` exists, each rule host that no TLS entry covers
(`*.example.com` covers one label below `example.com`; a TLS entry without `hosts`
covers every host).

## Why is this bad?
Without TLS the Ingress serves plain HTTP: session cookies, bearer tokens, passwords and
personal data cross every network between the client and the cluster in clear text, where
anyone on a shared Wi-Fi, a compromised router or a proxy can read and modify them. Hosts
left out of the TLS list are served with the controller's default certificate or not at
all over HTTPS, so clients fall back to HTTP or learn to click through warnings.

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
spec:
  ingressClassName: nginx
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: frontend
                port:
                  number: 80
```

## Use instead
```yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
spec:
  ingressClassName: nginx
  tls:
    - hosts:
        - shop.example.com
      secretName: shop-example-com-tls
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: frontend
                port:
                  number: 80
```

## References
- [Ingress: TLS](https://kubernetes.io/docs/concepts/services-networking/ingress/#tls)
- [Kubernetes API: IngressTLS](https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/)
- NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening" (encrypt traffic)
"#;

/// Whether a TLS host entry covers a rule host.
fn covers(tls_host: &str, host: &str) -> bool {
    if tls_host.eq_ignore_ascii_case(host) {
        return true;
    }
    match (tls_host.strip_prefix("*."), host.split_once('.')) {
        (Some(domain), Some((label, rest))) => {
            !label.is_empty() && label != "*" && domain.eq_ignore_ascii_case(rest)
        }
        _ => false,
    }
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    if r.kind != "Ingress" {
        return;
    }
    let Some(spec) = r.root.get("spec") else {
        return;
    };
    let rules = spec.get("rules").map(Node::items).unwrap_or(&[]);
    let tls = spec.get("tls").map(Node::items).unwrap_or(&[]);
    if tls.is_empty() {
        let routed = ["rules", "defaultBackend", "backend"]
            .into_iter()
            .find(|k| {
                spec.get(k)
                    .is_some_and(|n| !n.is_null() && (*k != "rules" || !rules.is_empty()))
            });
        if let Some(key) = routed
            && let Some(span) = entry_span(spec, key)
        {
            out.push(
                Hit::new(
                    format!("Ingress {:?} serves plain HTTP: it has no spec.tls", r.name),
                    span,
                )
                .field(format!("spec.{key}")),
            );
        }
        return;
    }
    let mut tls_hosts = Vec::new();
    for t in tls {
        let hosts = t.get("hosts").map(Node::items).unwrap_or(&[]);
        if hosts.is_empty() {
            return; // covers every host
        }
        tls_hosts.extend(hosts.iter().filter_map(Node::scalar_text));
    }
    for (i, rule) in rules.iter().enumerate() {
        let Some(host) = rule.get("host").and_then(Node::scalar_text) else {
            continue;
        };
        if tls_hosts.iter().any(|t| covers(t, host)) {
            continue;
        }
        let Some(span) = entry_span(rule, "host") else {
            continue;
        };
        out.push(
            Hit::new(
                format!(
                    "Ingress {:?} serves host {host:?} without TLS (not in spec.tls)",
                    r.name
                ),
                span,
            )
            .field(format!("spec.rules[{i}].host")),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_ingresses_without_tls() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: catch-all}
spec:
  defaultBackend:
    service: {name: web, port: {number: 80}}
"#,
            &[
                (6, "Ingress \"shop\" serves plain HTTP: it has no spec.tls"),
                (
                    16,
                    "Ingress \"catch-all\" serves plain HTTP: it has no spec.tls",
                ),
            ],
        );
    }

    #[test]
    fn flags_hosts_missing_from_tls() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: multi}
spec:
  tls:
    - hosts: [shop.example.com, "*.apps.example.com"]
      secretName: certs
  rules:
    - host: shop.example.com
    - host: API.apps.example.com
    - host: admin.example.com
    - host: deep.a.apps.example.com
    - http: {}
"#,
            &[
                (
                    12,
                    "Ingress \"multi\" serves host \"admin.example.com\" without TLS (not in spec.tls)",
                ),
                (
                    13,
                    "Ingress \"multi\" serves host \"deep.a.apps.example.com\" without TLS (not in spec.tls)",
                ),
            ],
        );
    }

    #[test]
    fn covered_and_empty_ingresses_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: wildcard-tls}
spec:
  tls:
    - secretName: default-cert
  rules:
    - host: anything.example.com
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nothing}
spec:
  rules: []
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {}
"#,
            &[],
        );
    }
}
