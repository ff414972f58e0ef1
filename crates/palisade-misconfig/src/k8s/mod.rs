//! Kubernetes objects as views over a spanned YAML tree.
//!
//! [`Resource`] wraps one object (one document, or one item of a `List`) and gives checks
//! what they need without copying: the pod spec of any workload kind, every container with
//! its kind and field path, security contexts. Checks never parse YAML themselves.

pub mod rules;

use palisade_core::ResourceRef;
use palisade_yaml::{Node, Span};

/// Kinds whose objects hold a pod spec, and where it is.
const WORKLOADS: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("ReplicationController", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    (
        "CronJob",
        &["spec", "jobTemplate", "spec", "template", "spec"],
    ),
    ("PodTemplate", &["template", "spec"]),
];

/// Built-in kinds Palisade knows; anything else (CRDs, other tools' YAML) is skipped quietly.
pub const KNOWN_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
    "Service",
    "Ingress",
    "NetworkPolicy",
    "Namespace",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "LimitRange",
    "ResourceQuota",
    "StorageClass",
    "PriorityClass",
    "Endpoints",
    "EndpointSlice",
    "IngressClass",
    "PodSecurityPolicy",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "APIService",
    "CustomResourceDefinition",
    "RuntimeClass",
    "CSIDriver",
    "Lease",
];

/// One Kubernetes object.
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    pub root: &'a Node,
    pub kind: &'a str,
    pub api_version: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
}

impl<'a> Resource<'a> {
    /// Views a node as a Kubernetes object if it has string `apiVersion` and `kind`.
    pub fn from_node(root: &'a Node) -> Option<Resource<'a>> {
        let kind = root.get("kind")?.as_str()?;
        let api_version = root.get("apiVersion")?.as_str()?;
        let meta = root.get("metadata");
        let name = meta
            .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
            .and_then(Node::scalar_text)
            .unwrap_or("<unnamed>");
        let namespace = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Node::scalar_text);
        Some(Resource {
            root,
            kind,
            api_version,
            name,
            namespace,
        })
    }

    pub fn is_known_kind(&self) -> bool {
        KNOWN_KINDS.contains(&self.kind)
    }

    pub fn reference(&self) -> ResourceRef {
        ResourceRef {
            kind: self.kind.to_string(),
            name: self.name.to_string(),
            namespace: self.namespace.map(str::to_string),
        }
    }

    pub fn metadata(&self) -> Option<&'a Node> {
        self.root.get("metadata")
    }

    /// The object's own annotation value.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata()?.get("annotations")?.get(key)?.scalar_text()
    }

    /// The pod spec of a workload, wherever its kind keeps it.
    pub fn pod(&self) -> Option<Pod<'a>> {
        let (_, path) = WORKLOADS.iter().find(|(k, _)| *k == self.kind)?;
        let spec = self.root.path(path)?;
        spec.as_map()?;
        let meta_path = &path[..path.len() - 1];
        let meta = if meta_path.is_empty() {
            self.root.get("metadata")
        } else {
            self.root.path(meta_path).and_then(|t| t.get("metadata"))
        };
        Some(Pod {
            spec,
            meta,
            prefix: path.join("."),
        })
    }

    pub fn is_workload(&self) -> bool {
        WORKLOADS.iter().any(|(k, _)| *k == self.kind)
    }

    /// The span of the whole object (used when a finding concerns the object as such).
    pub fn span(&self) -> Span {
        self.root.span
    }

    /// The span of `metadata.name` if present, else of the object's first line.
    pub fn name_span(&self) -> Span {
        self.metadata()
            .and_then(|m| m.entry("name"))
            .map(|(k, v)| k.span.join(v.span))
            .unwrap_or(Span {
                end_line: self.root.span.start_line,
                ..self.root.span
            })
    }
}

/// A pod spec with the metadata that applies to it (pod or template metadata).
#[derive(Debug, Clone)]
pub struct Pod<'a> {
    pub spec: &'a Node,
    pub meta: Option<&'a Node>,
    /// Field path of the spec inside the object, e.g. `spec.template.spec`.
    pub prefix: String,
}

/// Where in the pod a container is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }

    /// How a message names it: `container`, `init container`, `ephemeral container`.
    pub fn noun(self) -> &'static str {
        match self {
            ContainerKind::Init => "init container",
            ContainerKind::Regular => "container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// One container of a pod.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    pub node: &'a Node,
    pub kind: ContainerKind,
    pub index: usize,
    pub name: &'a str,
    /// Field path, e.g. `spec.template.spec.containers[1]`.
    pub path: String,
}

impl<'a> Pod<'a> {
    /// Every container in the order the API server visits them: init, regular, ephemeral.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut out = Vec::new();
        for kind in [
            ContainerKind::Init,
            ContainerKind::Regular,
            ContainerKind::Ephemeral,
        ] {
            let Some(list) = self.spec.get(kind.field()) else {
                continue;
            };
            for (index, node) in list.items().iter().enumerate() {
                if node.as_map().is_none() {
                    continue;
                }
                out.push(Container {
                    node,
                    kind,
                    index,
                    name: node
                        .get("name")
                        .and_then(Node::scalar_text)
                        .unwrap_or("<unnamed>"),
                    path: format!("{}.{}[{index}]", self.prefix, kind.field()),
                });
            }
        }
        out
    }

    /// Regular and init containers (the ones that have resources, probes and ports that run
    /// for the pod's life; ephemeral debug containers cannot set them).
    pub fn long_running_containers(&self) -> Vec<Container<'a>> {
        self.containers()
            .into_iter()
            .filter(|c| c.kind != ContainerKind::Ephemeral)
            .collect()
    }

    pub fn security_context(&self) -> Option<&'a Node> {
        self.spec.get("securityContext")
    }

    /// A pod-level security context field.
    pub fn sc(&self, key: &str) -> Option<&'a Node> {
        self.security_context()?.get(key)
    }

    /// `spec.hostUsers: false`: the pod runs in a user namespace.
    pub fn uses_user_namespace(&self) -> bool {
        self.spec.get("hostUsers").and_then(Node::as_bool) == Some(false)
    }

    /// `spec.os.name: windows`.
    pub fn is_windows(&self) -> bool {
        self.spec.path(&["os", "name"]).and_then(Node::as_str) == Some("windows")
    }

    pub fn volumes(&self) -> &'a [Node] {
        self.spec.get("volumes").map(Node::items).unwrap_or(&[])
    }

    pub fn field(&self, rest: &str) -> String {
        format!("{}.{rest}", self.prefix)
    }

    /// A pod template (or pod) annotation.
    pub fn annotation(&self, key: &str) -> Option<&'a Node> {
        self.meta?.get("annotations")?.get(key)
    }

    /// Span to blame when a pod-level field is missing: the `spec:` block's first line.
    pub fn missing_span(&self) -> Span {
        Span {
            end_line: self.spec.span.start_line,
            ..self.spec.span
        }
    }
}

impl<'a> Container<'a> {
    pub fn security_context(&self) -> Option<&'a Node> {
        self.node.get("securityContext")
    }

    /// A container-level security context field.
    pub fn sc(&self, key: &str) -> Option<&'a Node> {
        self.security_context()?.get(key)
    }

    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.node.get(key)
    }

    pub fn field(&self, rest: &str) -> String {
        format!("{}.{rest}", self.path)
    }

    /// `container "web"`, `init container "setup"`.
    pub fn label(&self) -> String {
        format!("{} \"{}\"", self.kind.noun(), self.name)
    }

    /// Span to blame when a container field is missing: the securityContext block if there
    /// is one, else the container's first line.
    pub fn missing_span(&self) -> Span {
        if let Some((k, _)) = self.node.entry("securityContext") {
            return k.span;
        }
        Span {
            end_line: self.node.span.start_line,
            ..self.node.span
        }
    }
}

/// The span of `key: value` inside a mapping node.
pub fn entry_span(map: &Node, key: &str) -> Option<Span> {
    map.entry(key).map(|(k, v)| k.span.join(v.span))
}
