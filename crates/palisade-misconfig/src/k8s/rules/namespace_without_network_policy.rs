use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{K8sSetRule, ObjectFacts};

pub static RULE: K8sSetRule = K8sSetRule {
    meta: RuleMeta {
        id: "PAL-K8S-070",
        title: "Namespace has workloads but no NetworkPolicy",
        severity: Severity::Low,
        scanner: Scanner::Kubernetes,
        kinds: RUNNING_KINDS,
        controls: &["cis:5.3.2", "nsa:network-separation"],
        fix: "Add a NetworkPolicy to the namespace, starting with a default-deny policy (`podSelector: {}` with `policyTypes: [Ingress, Egress]`) and then allowing the flows the workloads need.",
        doc: DOC,
    },
    check,
};

/// Workload kinds that run pods (a PodTemplate only stores one).
const RUNNING_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

const DOC: &str = r#"## What it does
Looks at all objects of a scan together and reports, once per namespace, a namespace that
holds workloads (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets,
ReplicationControllers, Jobs, CronJobs) but no NetworkPolicy. The finding is placed on the
first workload of the namespace. Objects without `metadata.namespace` form one group,
"(no namespace set)", since they all land in the namespace they are applied to.
NetworkPolicies that live only in the cluster, or policies of other kinds (such as Cilium's
CiliumNetworkPolicy), are not seen: scan them together with the workloads.

## Why is this bad?
Without any NetworkPolicy, every pod accepts connections from every other pod in the cluster
and may connect anywhere. One compromised or malicious workload can then reach databases,
internal admin interfaces and metrics endpoints in every namespace, and nothing limits where
it sends stolen data. A default-deny policy per namespace turns this into an explicit list
of allowed flows.

## Example
```yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/shop/api:1.4.2
```

## Use instead
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: ["Ingress", "Egress"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/shop/api:1.4.2
```

## References
- [Network Policies: Default policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies)
- [Declare Network Policy](https://kubernetes.io/docs/tasks/administer-cluster/declare-network-policy/)
- CIS Kubernetes Benchmark, 5.3.2 "Ensure that all Namespaces have Network Policies defined"
- NSA/CISA Kubernetes Hardening Guide, "Network separation and hardening"
"#;

/// What the scan holds for one namespace.
struct Group<'a> {
    namespace: Option<&'a str>,
    first_workload: Option<usize>,
    workloads: usize,
    has_policy: bool,
}

fn check(facts: &[ObjectFacts], out: &mut Vec<(usize, String)>) {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        let ns = f.resource.namespace.as_deref();
        let pos = match groups.iter().position(|g| g.namespace == ns) {
            Some(pos) => pos,
            None => {
                groups.push(Group {
                    namespace: ns,
                    first_workload: None,
                    workloads: 0,
                    has_policy: false,
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[pos];
        if f.resource.kind == "NetworkPolicy" {
            g.has_policy = true;
        } else if f.is_workload && RUNNING_KINDS.contains(&f.resource.kind.as_str()) {
            g.workloads += 1;
            g.first_workload.get_or_insert(i);
        }
    }
    for g in groups {
        let Some(first) = g.first_workload else {
            continue;
        };
        if g.has_policy {
            continue;
        }
        let name = match g.namespace {
            Some(ns) => format!("namespace \"{ns}\""),
            None => "the namespace these objects are applied to (none set)".to_string(),
        };
        let count = if g.workloads == 1 {
            "1 workload".to_string()
        } else {
            format!("{} workloads", g.workloads)
        };
        out.push((
            first,
            format!("{name} has {count} but no NetworkPolicy in the scanned files"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::ResourceRef;
    use palisade_yaml::Span;

    use crate::rule::ObjectFacts;

    fn fact(kind: &str, name: &str, ns: Option<&str>, path: &str, line: u32) -> ObjectFacts {
        ObjectFacts {
            resource: ResourceRef {
                kind: kind.to_string(),
                name: name.to_string(),
                namespace: ns.map(str::to_string),
            },
            path: path.to_string(),
            span: Span {
                start_line: line,
                start_col: 1,
                end_line: line + 10,
                end_col: 1,
            },
            is_workload: crate::k8s::rules::WORKLOAD_KINDS.contains(&kind),
        }
    }

    fn run(facts: &[ObjectFacts]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        (super::RULE.check)(facts, &mut out);
        out
    }

    #[test]
    fn reports_each_unprotected_namespace_once_on_its_first_workload() {
        let facts = [
            fact("ConfigMap", "cfg", Some("shop"), "a.yaml", 1),
            fact("Deployment", "api", Some("shop"), "a.yaml", 8),
            fact("Deployment", "web", None, "b.yaml", 1),
            fact("CronJob", "report", Some("shop"), "b.yaml", 30),
            fact("Service", "web", None, "c.yaml", 1),
            fact("StatefulSet", "db", Some("data"), "d.yaml", 1),
            fact("NetworkPolicy", "default-deny", Some("data"), "z.yaml", 1),
            fact("Pod", "debug", None, "z.yaml", 20),
        ];
        assert_eq!(
            run(&facts),
            vec![
                (
                    1,
                    "namespace \"shop\" has 2 workloads but no NetworkPolicy in the scanned files".to_string()
                ),
                (
                    2,
                    "the namespace these objects are applied to (none set) has 2 workloads but no NetworkPolicy in the scanned files".to_string()
                ),
            ]
        );
    }

    #[test]
    fn policies_cover_their_own_namespace_only() {
        let facts = [
            fact("NetworkPolicy", "deny", None, "a.yaml", 1),
            fact("Deployment", "api", None, "a.yaml", 9),
            fact("Deployment", "api", Some("default"), "a.yaml", 30),
            fact("NetworkPolicy", "deny", Some("prod"), "b.yaml", 1),
            fact("Job", "migrate", Some("prod"), "b.yaml", 12),
        ];
        assert_eq!(
            run(&facts),
            vec![(
                2,
                "namespace \"default\" has 1 workload but no NetworkPolicy in the scanned files"
                    .to_string()
            )]
        );
    }

    #[test]
    fn namespaces_without_workloads_are_fine() {
        let facts = [
            fact("Namespace", "shop", None, "a.yaml", 1),
            fact("Service", "api", Some("shop"), "a.yaml", 5),
            fact("PodTemplate", "tpl", Some("shop"), "a.yaml", 20),
            fact("Role", "r", Some("shop"), "a.yaml", 40),
        ];
        assert_eq!(run(&facts), vec![]);
    }
}
