use palisade_core::{RuleMeta, Scanner, Severity};

use super::netpol_util::{Direction, open_rules};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-071",
        title: "NetworkPolicy allows all ingress",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: &["NetworkPolicy"],
        controls: &["nsa:network-separation"],
        fix: "Give every ingress rule a `from` list of the pods, namespaces or address ranges that need access and a `ports` list of the ports they use.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags `ingress` rules of NetworkPolicies that restrict neither the source nor the port: an
empty rule (`- {}`), one with an empty `from` and no `ports`, or one whose `from` holds an
empty peer or an `ipBlock` of `0.0.0.0/0` or `::/0` without `except`. Only policies that
govern ingress are checked: those listing `Ingress` in `policyTypes`, or with no
`policyTypes` at all (ingress is then implied). The message says whether the policy selects
every pod of the namespace (`podSelector: {}`).

## Why is this bad?
NetworkPolicies add up: once any policy lets all traffic into a pod, no other policy can
narrow it again. An allow-all rule, often left from debugging or copied from an example,
silently cancels the namespace's default-deny policy and opens the pods to every other pod in
the cluster and, through node ports and load balancers, to the outside. A compromised pod
anywhere can then reach admin ports, metrics endpoints and databases that were meant to be
private.

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes: ["Ingress"]
  ingress:
    - {}
```

## Use instead
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes: ["Ingress"]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app: frontend
      ports:
        - protocol: TCP
          port: 8080
```

## References
- [Network Policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/)
- [Declare Network Policy](https://kubernetes.io/docs/tasks/administer-cluster/declare-network-policy/)
- NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening"
"#;

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    for rule in open_rules(r, Direction::Ingress) {
        out.push(
            Hit::new(
                format!(
                    "ingress rule {} allows traffic from {} on any port to {}",
                    rule.index, rule.peer, rule.pods
                ),
                rule.node.span,
            )
            .field(format!("spec.ingress[{}]", rule.index)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_open_ingress_rules() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: argocd-server-network-policy}
spec:
  ingress:
  - {}
  podSelector:
    matchLabels: {app.kubernetes.io/name: argocd-server}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all}
spec:
  podSelector: {}
  ingress:
  - from: []
    ports: []
  - from:
    - podSelector: {matchLabels: {app: web}}
    - ipBlock:
        cidr: 0.0.0.0/0
  - from:
    - {}
  - ports:
    - port: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-typed-too}
spec:
  podSelector:
    matchLabels: {}
  policyTypes: [Egress, Ingress]
  ingress:
  -
"#,
            &[
                (
                    7,
                    "ingress rule 0 allows traffic from any source on any port to the selected pods",
                ),
                (
                    18,
                    "ingress rule 0 allows traffic from any source on any port to every pod in the namespace",
                ),
                (
                    20,
                    "ingress rule 1 allows traffic from 0.0.0.0/0 on any port to every pod in the namespace",
                ),
                (
                    24,
                    "ingress rule 2 allows traffic from any source on any port to every pod in the namespace",
                ),
                (
                    37,
                    "ingress rule 0 allows traffic from any source on any port to every pod in the namespace",
                ),
            ],
        );
    }

    #[test]
    fn leaves_restricted_rules_egress_only_policies_and_calico_alone() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: argocd-repo-server-network-policy}
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {}
    ports:
    - {port: 8084}
  - from:
    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}
  - from:
    - ipBlock: {cidr: 10.0.0.0/8}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only}
spec:
  podSelector: {}
  policyTypes: [Egress]
  ingress:
  - {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  ingress: []
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: calico}
spec:
  ingress:
  - action: Deny
"#,
            &[],
        );
    }
}
