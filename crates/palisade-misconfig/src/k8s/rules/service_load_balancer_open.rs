use palisade_core::{RuleMeta, Scanner, Severity};
use palisade_yaml::Node;

use crate::k8s::{Resource, entry_span};
use crate::rule::{Hit, K8sRule};

/// Annotations that make a cloud load balancer internal (reachable from the private
/// network only), with the value that does so.
const INTERNAL: &[(&str, &str)] = &[
    (
        "service.beta.kubernetes.io/aws-load-balancer-internal",
        "true",
    ),
    (
        "service.beta.kubernetes.io/aws-load-balancer-scheme",
        "internal",
    ),
    (
        "service.beta.kubernetes.io/azure-load-balancer-internal",
        "true",
    ),
    ("networking.gke.io/load-balancer-type", "Internal"),
    ("cloud.google.com/load-balancer-type", "Internal"),
    (
        "service.beta.kubernetes.io/oci-load-balancer-internal",
        "true",
    ),
    (
        "service.beta.kubernetes.io/openstack-internal-load-balancer",
        "true",
    ),
    (
        "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type",
        "private",
    ),
];

/// The legacy annotation that restricts source ranges like `loadBalancerSourceRanges`.
const RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-037",
        title: "Service of type LoadBalancer without source ranges",
        severity: Severity::Medium,
        scanner: Scanner::Kubernetes,
        kinds: &["Service"],
        controls: &["nsa:network-separation"],
        fix: "Set `spec.loadBalancerSourceRanges` to the client networks that need access, or make the load balancer internal.",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags Services with `spec.type: LoadBalancer` that set no `loadBalancerSourceRanges` (nor
the older `service.beta.kubernetes.io/load-balancer-source-ranges` annotation), or whose
ranges include `0.0.0.0/0` or `::/0`. Load balancers marked internal through the usual
cloud annotations (AWS, Azure, GKE, OCI, OpenStack, IBM) are not flagged.

## Why is this bad?
On most clouds a LoadBalancer Service provisions a load balancer with a public address
that accepts connections from the whole internet. Whatever runs behind it, often an admin
UI, a database or a metrics endpoint that was only meant for colleagues, is then found by
internet-wide scanners within hours. Source ranges make the cloud firewall drop everyone
else before traffic ever reaches the cluster.

## Example
```yaml
apiVersion: v1
kind: Service
metadata:
  name: grafana
spec:
  type: LoadBalancer
  selector:
    app: grafana
  ports:
    - port: 443
      targetPort: 3000
```

## Use instead
```yaml
apiVersion: v1
kind: Service
metadata:
  name: grafana
spec:
  type: LoadBalancer
  loadBalancerSourceRanges:
    - 203.0.113.0/24
  selector:
    app: grafana
  ports:
    - port: 443
      targetPort: 3000
```

## References
- [Service: type LoadBalancer](https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer)
- [Configure firewall rules for a cloud provider load balancer](https://kubernetes.io/docs/tasks/access-application-cluster/configure-cloud-provider-firewall/)
- NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening"
"#;

/// Whether a source range admits every address.
fn is_open(cidr: &str) -> bool {
    matches!(cidr.trim(), "0.0.0.0/0" | "::/0")
}

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    if r.kind != "Service" {
        return;
    }
    let Some(spec) = r.root.get("spec") else {
        return;
    };
    if spec.get("type").and_then(Node::scalar_text) != Some("LoadBalancer") {
        return;
    }
    let internal = INTERNAL.iter().any(|(key, value)| {
        r.annotation(key)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    });
    if internal {
        return;
    }
    let open = |what: String| {
        format!(
            "Service {:?} of type LoadBalancer accepts traffic from any address ({what})",
            r.name
        )
    };
    // The field, when set, wins over the annotation.
    let ranges = spec
        .get("loadBalancerSourceRanges")
        .map(Node::items)
        .unwrap_or(&[]);
    if !ranges.is_empty() {
        let everyone = ranges.iter().enumerate().find_map(|(i, n)| {
            n.scalar_text()
                .filter(|c| is_open(c))
                .map(|c| (i, c, n.span))
        });
        if let Some((i, cidr, span)) = everyone {
            out.push(
                Hit::new(
                    open(format!("loadBalancerSourceRanges includes {cidr}")),
                    span,
                )
                .field(format!("spec.loadBalancerSourceRanges[{i}]")),
            );
        }
        return;
    }
    if let Some(value) = r.annotation(RANGES_ANNOTATION)
        && !value.trim().is_empty()
    {
        let annotations = r.metadata().and_then(|m| m.get("annotations"));
        if let Some(cidr) = value.split(',').map(str::trim).find(|c| is_open(c))
            && let Some(span) = annotations.and_then(|a| entry_span(a, RANGES_ANNOTATION))
        {
            out.push(
                Hit::new(open(format!("{RANGES_ANNOTATION} includes {cidr}")), span)
                    .field(format!("metadata.annotations.{RANGES_ANNOTATION}")),
            );
        }
        return;
    }
    let Some(span) = entry_span(spec, "type") else {
        return;
    };
    out.push(Hit::new(open("no loadBalancerSourceRanges".into()), span).field("spec.type"));
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_open_load_balancers() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  ports: [{port: 443}]
---
apiVersion: v1
kind: Service
metadata:
  name: empty-ranges
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-internal: "false"
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: []
---
apiVersion: v1
kind: Service
metadata: {name: all-v6}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges:
    - 10.0.0.0/8
    - ::/0
---
apiVersion: v1
kind: Service
metadata:
  name: annotated-open
  annotations:
    service.beta.kubernetes.io/load-balancer-source-ranges: "10.0.0.0/8, 0.0.0.0/0"
spec:
  type: LoadBalancer
"#,
            &[
                (
                    6,
                    "Service \"web\" of type LoadBalancer accepts traffic from any address (no loadBalancerSourceRanges)",
                ),
                (
                    16,
                    "Service \"empty-ranges\" of type LoadBalancer accepts traffic from any address (no loadBalancerSourceRanges)",
                ),
                (
                    26,
                    "Service \"all-v6\" of type LoadBalancer accepts traffic from any address (loadBalancerSourceRanges includes ::/0)",
                ),
                (
                    33,
                    "Service \"annotated-open\" of type LoadBalancer accepts traffic from any address (service.beta.kubernetes.io/load-balancer-source-ranges includes 0.0.0.0/0)",
                ),
            ],
        );
    }

    #[test]
    fn restricted_and_internal_load_balancers_pass() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: v1
kind: Service
metadata: {name: ranges}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [10.0.0.0/8]
---
apiVersion: v1
kind: Service
metadata:
  name: annotated-ranges
  annotations:
    service.beta.kubernetes.io/load-balancer-source-ranges: "203.0.113.0/24"
spec:
  type: LoadBalancer
---
apiVersion: v1
kind: Service
metadata:
  name: internal
  annotations:
    networking.gke.io/load-balancer-type: "Internal"
spec:
  type: LoadBalancer
---
apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
"#,
            &[],
        );
    }
}
