//! Reading NetworkPolicy rules for PAL-K8S-071 and 072: which `ingress`/`egress` entries
//! let every peer through on every port.
//!
//! Only `networking.k8s.io` (and the old `extensions`) NetworkPolicies are read; Calico's
//! `projectcalico.org` NetworkPolicy shares the kind but not the schema.

use palisade_yaml::Node;

use crate::k8s::Resource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// The `policyTypes` value.
    fn policy_type(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }

    /// The rule list under `spec`.
    pub fn key(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// The peer list inside one rule.
    fn peers_key(self) -> &'static str {
        match self {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        }
    }
}

/// One rule that allows all traffic in its direction.
pub(super) struct OpenRule<'a> {
    pub index: usize,
    pub node: &'a Node,
    /// `any source`, `any destination`, or the catch-all CIDR that lets everything through.
    pub peer: String,
    /// `every pod in the namespace` or `the selected pods`.
    pub pods: &'static str,
}

/// The rules of a NetworkPolicy that allow every peer on every port in `dir`, when the policy
/// governs that direction at all.
pub(super) fn open_rules<'a>(r: &Resource<'a>, dir: Direction) -> Vec<OpenRule<'a>> {
    if r.kind != "NetworkPolicy"
        || !(r.api_version.starts_with("networking.k8s.io/")
            || r.api_version.starts_with("extensions/"))
    {
        return Vec::new();
    }
    let Some(spec) = r.root.get("spec") else {
        return Vec::new();
    };
    if !governs(spec, dir) {
        return Vec::new();
    }
    let pods = if selects_everything(spec.get("podSelector")) {
        "every pod in the namespace"
    } else {
        "the selected pods"
    };
    let any = match dir {
        Direction::Ingress => "any source",
        Direction::Egress => "any destination",
    };
    let mut out = Vec::new();
    let Some(rules) = spec.get(dir.key()) else {
        return out;
    };
    for (index, node) in rules.items().iter().enumerate() {
        if !(node.is_null() || node.as_map().is_some()) {
            continue;
        }
        if !is_empty_list(node.get("ports")) {
            continue;
        }
        let peers = node.get(dir.peers_key());
        let peer = if is_empty_list(peers) {
            Some(any.to_string())
        } else {
            peers
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .find_map(|p| open_peer(p, any))
        };
        if let Some(peer) = peer {
            out.push(OpenRule {
                index,
                node,
                peer,
                pods,
            });
        }
    }
    out
}

/// Whether the policy restricts `dir`. Without `policyTypes` (or with an empty list) the API
/// server assumes Ingress always and Egress when there are egress rules; callers only look
/// at the rules that exist, so an unset list governs both.
fn governs(spec: &Node, dir: Direction) -> bool {
    let types: Vec<&str> = spec
        .get("policyTypes")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::scalar_text)
        .collect();
    types.is_empty() || types.contains(&dir.policy_type())
}

/// A missing, null or empty list: no restriction.
fn is_empty_list(n: Option<&Node>) -> bool {
    match n {
        None => true,
        Some(n) => n.is_null() || n.as_seq().is_some_and(<[Node]>::is_empty),
    }
}

/// A missing or empty label selector (`{}`, or only empty `matchLabels`/`matchExpressions`).
fn selects_everything(sel: Option<&Node>) -> bool {
    let Some(sel) = sel else { return true };
    if sel.is_null() {
        return true;
    }
    sel.as_map().is_some_and(|entries| {
        entries.iter().all(|(_, v)| {
            v.is_null()
                || v.as_map().is_some_and(<[(Node, Node)]>::is_empty)
                || v.as_seq().is_some_and(<[Node]>::is_empty)
        })
    })
}

/// A peer that matches every address: `{}` (which the API server would reject, but which
/// means "no restriction" to anyone reading it), or an `ipBlock` of `0.0.0.0/0` or `::/0`
/// without `except`.
fn open_peer(peer: &Node, any: &str) -> Option<String> {
    if peer.is_null() || peer.as_map().is_some_and(<[(Node, Node)]>::is_empty) {
        return Some(any.to_string());
    }
    let entries = peer.as_map()?;
    if entries.len() != 1 {
        return None;
    }
    let block = peer.get("ipBlock")?;
    let cidr = block.get("cidr")?.scalar_text()?;
    if !matches!(cidr, "0.0.0.0/0" | "::/0") || !is_empty_list(block.get("except")) {
        return None;
    }
    Some(cidr.to_string())
}
