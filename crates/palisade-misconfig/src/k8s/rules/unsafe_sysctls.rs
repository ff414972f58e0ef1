use palisade_core::{RuleMeta, Scanner, Severity};

use super::pss_util::{pod_sc, quote, set, set_entry};
use crate::k8s::Resource;
use crate::rule::{Hit, K8sRule};

pub static RULE: K8sRule = K8sRule {
    meta: RuleMeta {
        id: "PAL-K8S-012",
        title: "Unsafe sysctls",
        severity: Severity::High,
        scanner: Scanner::Kubernetes,
        kinds: super::WORKLOAD_KINDS,
        controls: &["pss:baseline:sysctls"],
        fix: "Remove the sysctl from `spec.securityContext.sysctls`; set node-wide kernel parameters on the nodes themselves (or on a dedicated, tainted node pool).",
        doc: DOC,
    },
    check,
};

const DOC: &str = r#"## What it does
Flags entries of `spec.securityContext.sysctls` whose name is not in the Pod Security
Standards' safe set: `kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`,
`net.ipv4.ip_local_reserved_ports`, `net.ipv4.ip_unprivileged_port_start`,
`net.ipv4.ping_group_range`, `net.ipv4.tcp_syncookies`, `net.ipv4.tcp_keepalive_time`,
`net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`,
`net.ipv4.tcp_fin_timeout`, `net.ipv4.tcp_rmem`, `net.ipv4.tcp_wmem`,
`net.ipv4.tcp_slow_start_after_idle` and `net.ipv4.tcp_notsent_lowat`. Names are
compared exactly; the slash-separated form (`net/ipv4/...`) is not accepted.

## Why is this bad?
The safe sysctls are namespaced: they only affect the pod's own network or IPC namespace.
Others either change the whole node (memory, kernel and file-system tunables) or can be
used to starve or destabilise neighbouring pods, for example by raising IPC limits or
changing how the kernel handles traffic. A pod author should not be able to tune the
node's kernel. The Pod Security Standards forbid unsafe sysctls at the Baseline level.

## Example
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: db
spec:
  securityContext:
    sysctls:
      - name: kernel.msgmax
        value: "65536"
      - name: vm.max_map_count
        value: "262144"
  containers:
    - name: db
      image: registry.example.com/db:5.1
```

## Use instead
```yaml
apiVersion: v1
kind: Pod
metadata:
  name: db
spec:
  securityContext:
    sysctls:
      - name: net.ipv4.ip_local_port_range
        value: "32768 60999"
  containers:
    - name: db
      image: registry.example.com/db:5.1
```

## References
- [Pod Security Standards: Baseline, Sysctls](https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline)
- [Using sysctls in a Kubernetes Cluster](https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/)
"#;

const SAFE: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn check(r: &Resource<'_>, out: &mut Vec<Hit>) {
    let Some(pod) = r.pod() else { return };
    let Some(sysctls) = set(pod_sc(&pod).and_then(|sc| sc.get("sysctls"))) else {
        return;
    };
    for (i, item) in sysctls.items().iter().enumerate() {
        let (name, span) = match set_entry(Some(item), "name") {
            Some((n, span)) => (n.scalar_text().unwrap_or(""), span),
            None => ("", item.span),
        };
        if SAFE.contains(&name) {
            continue;
        }
        out.push(
            Hit::new(format!("pod sets unsafe sysctl {}", quote(name)), span)
                .field(pod.field(&format!("securityContext.sysctls[{i}].name"))),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::assert_k8s;

    #[test]
    fn flags_unsafe_names() {
        assert_k8s(
            &super::RULE,
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  template:
    spec:
      securityContext:
        sysctls:
          - name: kernel.shm_rmid_forced
            value: "1"
          - name: vm.max_map_count
            value: "262144"
          - {name: net/ipv4/tcp_syncookies, value: "1"}
          - value: "1"
          - name: net.ipv4.tcp_notsent_lowat
            value: "16384"
      containers: [{name: c, image: x:1}]
"#,
            &[
                (12, "pod sets unsafe sysctl \"vm.max_map_count\""),
                (14, "pod sets unsafe sysctl \"net/ipv4/tcp_syncookies\""),
                (15, "pod sets unsafe sysctl \"\""),
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
  securityContext:
    sysctls:
      - {name: net.ipv4.tcp_keepalive_time, value: "600"}
      - {name: net.ipv4.tcp_slow_start_after_idle, value: "0"}
  containers: [{name: c, image: x:1}]
"#,
            &[],
        );
    }
}
