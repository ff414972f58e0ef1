use palisade_core::{RuleMeta, Scanner, Severity};

use super::netpol_util::{Direction, open_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-072",
        title: "NetworkPolicy allows all egress",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: &["NetworkPolicy"],
        controls: &["nsa:network-separation"],
        fix: "Give every egress rule a `to` list of the services or address ranges the pods call and a `ports` list; allow DNS to kube-dns explicitly.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `egress` rules of NetworkPolicies that restrict neither the destination nor the port:
an empty rule (`- {}`), one with an empty `to` and no `ports`, or one whose `to` holds an
empty peer or an `ipBlock` of `0.0.0.0/0` or `::/0` without `except`. Only policies that
govern egress are checked: those listing `Egress` in `policyTypes`, or with no
`policyTypes` and some egress rules (the API server then adds `Egress` itself).

## Why is this bad?
Open egress is what turns a compromised pod into a working foothold: it can download tools,
reach the cloud metadata endpoint for node credentials, scan and attack other services in the
cluster, and send stolen data anywhere. Because policies add up, one allow-all egress rule
also cancels any default-deny egress policy for the pods it selects.

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: worker
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: worker
  policyTypes: ["Egress"]
  egress:
    - {}
```

## Use instead
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: worker
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: worker
  policyTypes: ["Egress"]
  egress:
    - to:
        - podSelector:
            matchLabels:
              app: postgres
      ports:
        - protocol: TCP
          port: 5432
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - protocol: UDP
          port: 53
```

## References
- [Network Policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/)
- [NetworkPolicy API reference: NetworkPolicySpec](https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/#NetworkPolicySpec)
- NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in open_rules(r, Direction::Egress) {
        out.push(
            Hit::new(
                format!(
                    "egress rule {} allows traffic to {} on any port from {}",
                    rule.index, rule.peer, rule.pods
                ),
                rule.node.span,
            )
            .field(format!("spec.egress[{}]", rule.index)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_open_egress_rules() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: alertmanager-main, namespace: monitoring}
spec:
  egress:
  - {}
  podSelector:
    matchLabels: {app.kubernetes.io/name: alertmanager}
  policyTypes:
  - Egress
  - Ingress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: implied-egress}
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock: {cidr: "::/0"}
"#,
            &[
                (
                    7,
                    "egress rule 0 allows traffic to any destination on any port from the selected pods",
                ),
                (
                    20,
                    "egress rule 0 allows traffic to ::/0 on any port from every pod in the namespace",
                ),
            ],
        );
    }

    #[test]
    fn leaves_restricted_egress_and_ingress_only_policies_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-only}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - podSelector: {matchLabels: {app: postgres}}
  - ports:
    - {port: 53, protocol: UDP}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ingress-only}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  egress:
  - {}
"#,
            &[],
        );
    }
}
