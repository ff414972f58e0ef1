//! Shared reading of RBAC objects for the PAL-K8S-050..065 rules.
//!
//! Matching follows the API server's RBAC authorizer: a `rules[]` entry applies to a request
//! when its `apiGroups` holds the group or `"*"`, its `resources` holds the resource (or
//! `resource/subresource`), `"*"`, or `"*/subresource"`, and its `verbs` hold the verb or
//! `"*"`. Nothing here decides what is risky; each rule file names its resources and verbs.
//! Bindings (subjects, roleRef) are read here too, so that 053 and 054 name subjects alike.

use palisade_yaml::Node;

use crate::k8s::Resource;
use crate::rule::Hit;

/// Kinds holding `rules[]`.
pub(super) const ROLE_KINDS: &[&str] = &["Role", "ClusterRole"];

/// Kinds binding a role to subjects.
pub(super) const BINDING_KINDS: &[&str] = &["RoleBinding", "ClusterRoleBinding"];

/// How many names a message lists before it says "and N more".
const LIST_MAX: usize = 5;

/// One `rules[]` entry of a Role or ClusterRole.
pub(super) struct PolicyRule<'a> {
    pub index: usize,
    pub node: &'a Node,
    /// The entry belongs to a (namespaced) Role, which cannot grant cluster-scoped resources.
    pub in_role: bool,
}

/// A resource a rule looks for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target {
    /// API group, `""` for the core group.
    pub group: &'static str,
    /// `resource` or `resource/subresource`; `resource/*` stands for any subresource name
    /// (used for `userextras/<key>`).
    pub resource: &'static str,
    /// Cluster-scoped resources are not granted by a namespaced Role.
    pub cluster_scoped: bool,
}

impl Target {
    pub const fn namespaced(group: &'static str, resource: &'static str) -> Target {
        Target {
            group,
            resource,
            cluster_scoped: false,
        }
    }

    pub const fn cluster(group: &'static str, resource: &'static str) -> Target {
        Target {
            group,
            resource,
            cluster_scoped: true,
        }
    }

    /// Whether a `resources` item of a rule entry names this resource (`"*"` excluded: the
    /// callers only want explicit grants).
    fn matched_by(&self, item: &str) -> bool {
        if let Some(base) = self.resource.strip_suffix("/*") {
            return item
                .strip_prefix(base)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|sub| !sub.is_empty());
        }
        if item == self.resource {
            return true;
        }
        // `*/exec` grants the `exec` subresource of every resource.
        match (self.resource.split_once('/'), item.strip_prefix("*/")) {
            (Some((_, sub)), Some(item_sub)) => sub == item_sub,
            _ => false,
        }
    }
}

/// An explicit grant found in one entry: the matching verbs and resource items.
pub(super) struct Grant<'a> {
    pub verbs: Vec<&'a str>,
    /// (index in `resources`, text, node)
    pub resources: Vec<(usize, &'a str, &'a Node)>,
}

/// Every `rules[]` entry of a Role or ClusterRole; none for other kinds. Aggregated
/// ClusterRoles are skipped: the controller manager overwrites their rules with the union of
/// the roles they select, and those roles are checked themselves.
pub(super) fn policy_rules<'a>(r: &Resource<'a>) -> Vec<PolicyRule<'a>> {
    if !ROLE_KINDS.contains(&r.kind) {
        return Vec::new();
    }
    if r.kind == "ClusterRole" && r.root.get("aggregationRule").is_some_and(|n| !n.is_null()) {
        return Vec::new();
    }
    let Some(rules) = r.root.get("rules") else {
        return Vec::new();
    };
    rules
        .items()
        .iter()
        .enumerate()
        .filter(|(_, n)| n.as_map().is_some())
        .map(|(index, node)| PolicyRule {
            index,
            node,
            in_role: r.kind == "Role",
        })
        .collect()
}

impl<'a> PolicyRule<'a> {
    /// The scalar items of a list field with their index and node. A null item reads as
    /// `""`, as the API server decodes it (so `- ` under `apiGroups` is the core group).
    pub fn items(&self, key: &str) -> Vec<(usize, &'a str, &'a Node)> {
        self.node
            .get(key)
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let text = if n.is_null() {
                    Some("")
                } else {
                    n.scalar_text()
                };
                text.map(|t| (i, t, n))
            })
            .collect()
    }

    /// Whether a list field holds `value`.
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.items(key).iter().any(|(_, t, _)| *t == value)
    }

    /// The first item of a list field equal to `value`.
    pub fn find(&self, key: &str, value: &str) -> Option<(usize, &'a Node)> {
        self.items(key)
            .into_iter()
            .find(|(_, t, _)| *t == value)
            .map(|(i, _, n)| (i, n))
    }

    /// Whether `apiGroups` names `group` or `"*"`.
    pub fn covers_group(&self, group: &str) -> bool {
        self.items("apiGroups")
            .iter()
            .any(|(_, g, _)| *g == "*" || *g == group)
    }

    /// `rules[2].verbs[0]`
    pub fn field(&self, key: &str, item: usize) -> String {
        format!("rules[{}].{key}[{item}]", self.index)
    }

    /// The `resourceNames` the entry is limited to (empty: every object).
    pub fn resource_names(&self) -> Vec<&'a str> {
        self.items("resourceNames")
            .into_iter()
            .map(|(_, t, _)| t)
            .collect()
    }

    /// The API groups as a message names them: `in every API group`, `in the core API
    /// group`, `in API group "apps"`, `in API groups "apps", "batch"`.
    pub fn groups_phrase(&self) -> String {
        let groups: Vec<&str> = self
            .items("apiGroups")
            .into_iter()
            .map(|(_, t, _)| t)
            .collect();
        if groups.contains(&"*") {
            "in every API group".to_string()
        } else if groups == [""] {
            "in the core API group".to_string()
        } else {
            let noun = if groups.len() == 1 {
                "API group"
            } else {
                "API groups"
            };
            format!("in {noun} {}", quoted_list(&groups))
        }
    }

    /// The explicit grant of any of `verbs` on any of `targets`. `None` when the entry uses
    /// the `"*"` verb or the `"*"` resource (PAL-K8S-050..052 report those), when no verb
    /// matches, or when no resource in a covered API group matches.
    pub fn explicit_grant(&self, verbs: &[&str], targets: &[Target]) -> Option<Grant<'a>> {
        if self.has("verbs", "*") || self.has("resources", "*") {
            return None;
        }
        let mut found_verbs: Vec<&'a str> = Vec::new();
        for (_, v, _) in self.items("verbs") {
            if verbs.contains(&v) && !found_verbs.contains(&v) {
                found_verbs.push(v);
            }
        }
        if found_verbs.is_empty() {
            return None;
        }
        let resources: Vec<(usize, &'a str, &'a Node)> = self
            .items("resources")
            .into_iter()
            .filter(|(_, item, _)| {
                targets.iter().any(|t| {
                    !(t.cluster_scoped && self.in_role)
                        && self.covers_group(t.group)
                        && t.matched_by(item)
                })
            })
            .collect();
        if resources.is_empty() {
            return None;
        }
        Some(Grant {
            verbs: found_verbs,
            resources,
        })
    }

    /// The usual hit for an explicit grant: `rule 2 grants "get", "list" on "secrets"`,
    /// followed by the `resourceNames` the entry is limited to, pointing at the first
    /// matching `resources` item.
    pub fn grant_hit(&self, grant: &Grant<'a>) -> Hit {
        let verbs: Vec<&str> = grant.verbs.clone();
        let resources: Vec<&str> = grant.resources.iter().map(|(_, t, _)| *t).collect();
        let mut message = format!(
            "rules[{}] grants {} on {}",
            self.index,
            quoted_list(&verbs),
            quoted_list(&resources)
        );
        let names = self.resource_names();
        if !names.is_empty() {
            message.push_str(&format!(" (resourceNames {})", quoted_list(&names)));
        }
        let (i, _, node) = grant.resources[0];
        Hit::new(message, node.span).field(self.field("resources", i))
    }
}

/// `"a", "b", "c"`, or `"a", "b", "c", "d", "e" and 3 more`.
pub(super) fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect();
    capped_list(&quoted)
}

/// Items joined with `, `, the ones past the fifth counted as `and 3 more`.
pub(super) fn capped_list(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(LIST_MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LIST_MAX {
        out.push_str(&format!(" and {} more", items.len() - LIST_MAX));
    }
    out
}

/// One subject of a RoleBinding or ClusterRoleBinding.
pub(super) struct Subject<'a> {
    pub index: usize,
    pub node: &'a Node,
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
}

impl Subject<'_> {
    /// `ServiceAccount "monitoring/prometheus"`, `Group "system:authenticated"`.
    pub fn label(&self) -> String {
        match self.namespace {
            Some(ns) if self.kind == "ServiceAccount" => {
                format!("{} \"{ns}/{}\"", self.kind, self.name)
            }
            _ => format!("{} \"{}\"", self.kind, self.name),
        }
    }
}

/// The subjects of a binding (none for other kinds).
pub(super) fn subjects<'a>(r: &Resource<'a>) -> Vec<Subject<'a>> {
    if !BINDING_KINDS.contains(&r.kind) {
        return Vec::new();
    }
    let Some(list) = r.root.get("subjects") else {
        return Vec::new();
    };
    list.items()
        .iter()
        .enumerate()
        .filter_map(|(index, node)| {
            Some(Subject {
                index,
                node,
                kind: node.get("kind")?.scalar_text()?,
                name: node.get("name")?.scalar_text()?,
                namespace: node.get("namespace").and_then(Node::scalar_text),
            })
        })
        .collect()
}

/// A binding's `roleRef` as (kind, name, the `roleRef.name` value node).
pub(super) fn role_ref<'a>(r: &Resource<'a>) -> Option<(&'a str, &'a str, &'a Node)> {
    if !BINDING_KINDS.contains(&r.kind) {
        return None;
    }
    let role_ref = r.root.get("roleRef")?;
    let kind = role_ref.get("kind")?.scalar_text()?;
    let name = role_ref.get("name")?;
    Some((kind, name.scalar_text()?, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_items_match_like_the_authorizer() {
        let exec = Target::namespaced("", "pods/exec");
        assert!(exec.matched_by("pods/exec"));
        assert!(exec.matched_by("*/exec"));
        assert!(!exec.matched_by("pods"));
        assert!(!exec.matched_by("pods/*"));
        assert!(!exec.matched_by("*/attach"));
        let secrets = Target::namespaced("", "secrets");
        assert!(secrets.matched_by("secrets"));
        assert!(!secrets.matched_by("*/secrets"));
        let extras = Target::cluster("authentication.k8s.io", "userextras/*");
        assert!(extras.matched_by("userextras/scopes"));
        assert!(!extras.matched_by("userextras"));
        assert!(!extras.matched_by("userextras/"));
    }

    #[test]
    fn lists_are_capped() {
        assert_eq!(quoted_list(&["a", "b"]), "\"a\", \"b\"");
        assert_eq!(
            quoted_list(&["a", "b", "c", "d", "e", "f", "g"]),
            "\"a\", \"b\", \"c\", \"d\", \"e\" and 2 more"
        );
    }
}
