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
first workload of the namespace. Objects without `metadata.namespace` land in whatever
namespace they are applied to, usually together with the files beside them: they are grouped
by folder, and a NetworkPolicy without a namespace covers the workloads of its own folder and
the folders below it.
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

/// Where the objects of a group will run: a namespace they name, or, for objects that name
/// none (they land in whatever namespace they are applied to), the folder they sit in.
#[derive(PartialEq, Eq)]
enum Place<'a> {
    Namespace(&'a str),
    Folder(&'a str),
}

/// What the scan holds for one place.
struct Group<'a> {
    place: Place<'a>,
    first_workload: usize,
    workloads: usize,
}

fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// An unnamespaced policy in folder `policy` is applied together with the unnamespaced
/// objects of that folder and the folders below it.
fn covers(policy: &str, folder: &str) -> bool {
    policy.is_empty()
        || folder == policy
        || folder
            .strip_prefix(policy)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn check(facts: &[ObjectFacts], out: &mut Vec<(usize, String)>) {
    let mut policy_namespaces: Vec<&str> = Vec::new();
    let mut policy_folders: Vec<&str> = Vec::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        let place = match f.resource.namespace.as_deref() {
            Some(ns) => Place::Namespace(ns),
            None => Place::Folder(folder_of(&f.path)),
        };
        if f.resource.kind == "NetworkPolicy" {
            match place {
                Place::Namespace(ns) => policy_namespaces.push(ns),
                Place::Folder(dir) => policy_folders.push(dir),
            }
        } else if f.is_workload && RUNNING_KINDS.contains(&f.resource.kind.as_str()) {
            match groups.iter_mut().find(|g| g.place == place) {
                Some(g) => g.workloads += 1,
                None => groups.push(Group {
                    place,
                    first_workload: i,
                    workloads: 1,
                }),
            }
        }
    }
    for g in groups {
        let count = if g.workloads == 1 {
            "1 workload".to_string()
        } else {
            format!("{} workloads", g.workloads)
        };
        let message = match g.place {
            Place::Namespace(ns) if !policy_namespaces.contains(&ns) => {
                format!("namespace \"{ns}\" has {count} but no NetworkPolicy in the scanned files")
            }
            Place::Folder(dir) if !policy_folders.iter().any(|p| covers(p, dir)) => {
                let place = if dir.is_empty() {
                    String::new()
                } else {
                    format!(" in \"{dir}\"")
                };
                format!(
                    "{count}{place} set no namespace, and no NetworkPolicy without a namespace is in this folder or above"
                )
            }
            _ => continue,
        };
        out.push((g.first_workload, message));
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
            ignored: None,
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
                    "2 workloads set no namespace, and no NetworkPolicy without a namespace is in this folder or above".to_string()
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
    fn unnamespaced_policies_cover_their_folder_and_below() {
        let facts = [
            fact("NetworkPolicy", "deny", None, "apps/a/np.yaml", 1),
            fact("Deployment", "x", None, "apps/a/x.yaml", 1),
            fact("Deployment", "y", None, "apps/a/sub/y.yaml", 1),
            fact("Deployment", "z", None, "apps/b/z.yaml", 1),
            fact("Deployment", "w", None, "apps/ab/w.yaml", 1),
        ];
        assert_eq!(
            run(&facts),
            vec![
                (
                    3,
                    "1 workload in \"apps/b\" set no namespace, and no NetworkPolicy without a namespace is in this folder or above".to_string()
                ),
                (
                    4,
                    "1 workload in \"apps/ab\" set no namespace, and no NetworkPolicy without a namespace is in this folder or above".to_string()
                ),
            ]
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
