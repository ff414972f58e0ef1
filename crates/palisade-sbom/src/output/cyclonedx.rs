//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>).
//!
//! The target is `metadata.component` (`container` for images, `file` for directories); the
//! operating system, when known, is the first of `components` (type `operating-system`, as
//! Syft and Trivy place it); every package is a `library` component whose `bom-ref` is its
//! package URL. Palisade's extra facts are `palisade:*` properties:
//!
//! | property | on | value |
//! |---|---|---|
//! | `palisade:ecosystem` | packages | `deb`, `npm`, `PyPI`, … |
//! | `palisade:found-by` | packages | the cataloger that found it first |
//! | `palisade:location:<n>` | packages | the n-th path it was found at (0-based) |
//! | `palisade:layer:digest`, `palisade:layer:index` | packages in images | one pair per layer it was found in, in layer order |
//! | `palisade:source-package`, `palisade:source-version` | OS packages | the source package (version only when it differs) |
//! | `palisade:target:kind`, `palisade:image:config-digest`, `palisade:image:platform`, `palisade:image:layer:<n>` | the target | as in the inventory |
//! | `palisade:distro:codename`, `palisade:distro:id-like` | the OS | from os-release |

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::license::{self, Expr};
use super::{TOOL_NAME, content_hash, pretty, target_purl, uuid_from_hash};
use crate::package::{Distro, Ecosystem, Package};
use crate::{Inventory, LayerRef};

const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";

/// The inventory as a CycloneDX 1.6 JSON document, pretty-printed with a final newline.
/// `created` is the RFC 3339 time the document records (`metadata.timestamp`); the
/// `serialNumber` is a UUID derived from a hash of the inventory, `tool_version` and
/// `created`, so the same arguments give the same bytes.
pub fn cyclonedx(inv: &Inventory, tool_version: &str, created: &str) -> String {
    pretty(&cyclonedx_value(inv, tool_version, created))
}

/// [`cyclonedx`] as a JSON value.
pub fn cyclonedx_value(inv: &Inventory, tool_version: &str, created: &str) -> Value {
    let serial = format!(
        "urn:uuid:{}",
        uuid_from_hash(content_hash("cyclonedx-1.6", inv, tool_version, created))
    );
    let mut refs: BTreeSet<String> = BTreeSet::new();
    let target = target_component(inv, &mut refs);
    let mut components: Vec<Value> = Vec::with_capacity(inv.packages.len() + 1);
    if let Some(d) = &inv.distro {
        components.push(os_component(d, &mut refs));
    }
    for p in &inv.packages {
        components.push(package_component(p, &mut refs));
    }
    let mut metadata = Map::new();
    if !created.is_empty() {
        metadata.insert("timestamp".into(), json!(created));
    }
    metadata.insert(
        "tools".into(),
        json!({ "components": [ { "type": "application", "name": TOOL_NAME, "version": tool_version } ] }),
    );
    metadata.insert("component".into(), target);
    let mut bom = json!({
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial,
        "version": 1,
        "metadata": metadata,
        "components": components,
    });
    if !inv.complete {
        // Part of the target could not be read: say so, so consumers do not take the list
        // for the whole truth.
        bom["compositions"] = json!([{ "aggregate": "incomplete" }]);
    }
    bom
}

/// `base`, or `base#2`, `base#3`… when a component already has that `bom-ref`.
fn unique_ref(base: String, used: &mut BTreeSet<String>) -> String {
    if used.insert(base.clone()) {
        return base;
    }
    (2u64..)
        .map(|n| format!("{base}#{n}"))
        .find(|c| used.insert(c.clone()))
        .expect("some suffix is free")
}

fn target_component(inv: &Inventory, refs: &mut BTreeSet<String>) -> Value {
    let t = &inv.target;
    let image = t.kind == "image";
    let purl = target_purl(t);
    let mut c = Map::new();
    c.insert(
        "type".into(),
        json!(if image { "container" } else { "file" }),
    );
    let bom_ref = unique_ref(
        purl.clone().unwrap_or_else(|| "palisade:target".into()),
        refs,
    );
    c.insert("bom-ref".into(), json!(bom_ref));
    c.insert(
        "name".into(),
        json!(if t.name.is_empty() {
            "unnamed"
        } else {
            t.name.as_str()
        }),
    );
    if let Some(d) = t.digest.as_deref().filter(|d| image && !d.is_empty()) {
        c.insert("version".into(), json!(d));
    }
    if let Some(p) = purl {
        c.insert("purl".into(), json!(p));
    }
    let mut props: Vec<(String, String)> = vec![("palisade:target:kind".into(), t.kind.clone())];
    if let Some(d) = &t.config_digest {
        props.push(("palisade:image:config-digest".into(), d.clone()));
    }
    if let Some(p) = &t.platform {
        props.push(("palisade:image:platform".into(), p.clone()));
    }
    for l in &t.layers {
        props.push((
            format!("palisade:image:layer:{}", l.index),
            l.digest.clone(),
        ));
    }
    c.insert("properties".into(), properties(props));
    Value::Object(c)
}

fn os_component(d: &Distro, refs: &mut BTreeSet<String>) -> Value {
    let mut c = Map::new();
    c.insert("type".into(), json!("operating-system"));
    let base = if d.version_id.is_empty() {
        format!("palisade:os:{}", d.id)
    } else {
        format!("palisade:os:{}@{}", d.id, d.version_id)
    };
    c.insert("bom-ref".into(), json!(unique_ref(base, refs)));
    c.insert("name".into(), json!(d.id));
    if !d.version_id.is_empty() {
        c.insert("version".into(), json!(d.version_id));
    }
    if let Some(p) = d.pretty_name.as_deref().filter(|p| !p.is_empty()) {
        c.insert("description".into(), json!(p));
    }
    let mut props = Vec::new();
    if let Some(code) = d.version_codename.as_deref().filter(|c| !c.is_empty()) {
        props.push(("palisade:distro:codename".to_string(), code.to_string()));
    }
    for like in &d.id_like {
        props.push(("palisade:distro:id-like".to_string(), like.clone()));
    }
    if !props.is_empty() {
        c.insert("properties".into(), properties(props));
    }
    Value::Object(c)
}

/// Maven `group:artifact` and npm `@scope/name` split into CycloneDX `group` and `name`.
fn group_and_name(p: &Package) -> (Option<&str>, &str) {
    match p.ecosystem {
        Ecosystem::Maven => match p.name.split_once(':') {
            Some((g, a)) if !g.is_empty() && !a.is_empty() => (Some(g), a),
            _ => (None, &p.name),
        },
        Ecosystem::Npm => match p.name.split_once('/') {
            Some((scope, n)) if scope.len() > 1 && scope.starts_with('@') && !n.is_empty() => {
                (Some(scope), n)
            }
            _ => (None, &p.name),
        },
        _ => (None, &p.name),
    }
}

fn package_component(p: &Package, refs: &mut BTreeSet<String>) -> Value {
    let mut c = Map::new();
    c.insert("type".into(), json!("library"));
    let base = if p.purl.is_empty() {
        format!("palisade:{}:{}@{}", p.ecosystem.as_str(), p.name, p.version)
    } else {
        p.purl.clone()
    };
    c.insert("bom-ref".into(), json!(unique_ref(base, refs)));
    let (group, name) = group_and_name(p);
    if let Some(g) = group {
        c.insert("group".into(), json!(g));
    }
    c.insert("name".into(), json!(name));
    if !p.version.is_empty() {
        c.insert("version".into(), json!(p.version));
    }
    if let Some(l) = licenses(&p.licenses) {
        c.insert("licenses".into(), l);
    }
    if !p.purl.is_empty() {
        c.insert("purl".into(), json!(p.purl));
    }
    let mut props: Vec<(String, String)> = vec![
        ("palisade:ecosystem".into(), p.ecosystem.as_str().into()),
        ("palisade:found-by".into(), p.found_by.clone()),
    ];
    for (i, loc) in p.locations.iter().enumerate() {
        props.push((format!("palisade:location:{i}"), loc.path.clone()));
    }
    // One digest/index pair per layer the package was found in, in layer order; the two
    // lists line up (properties sort stably by name).
    let mut layers: Vec<&LayerRef> = p
        .locations
        .iter()
        .filter_map(|l| l.layer.as_ref())
        .collect();
    layers.sort_by_key(|l| l.index);
    layers.dedup_by_key(|l| l.index);
    for l in layers {
        props.push(("palisade:layer:digest".into(), l.digest.clone()));
        props.push(("palisade:layer:index".into(), l.index.to_string()));
    }
    if let Some(src) = &p.source {
        props.push(("palisade:source-package".into(), src.name.clone()));
        if let Some(v) = &src.version {
            props.push(("palisade:source-version".into(), v.clone()));
        }
    }
    c.insert("properties".into(), properties(props));
    Value::Object(c)
}

/// Properties sorted by name (a numeric last part in number order: `location:2` before
/// `location:10`), keeping the given order among equal names.
fn properties(mut props: Vec<(String, String)>) -> Value {
    fn key(name: &str) -> (&str, Option<u64>) {
        match name.rsplit_once(':') {
            Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => {
                (head, tail.parse().ok())
            }
            _ => (name, None),
        }
    }
    props.sort_by(|a, b| key(&a.0).cmp(&key(&b.0)));
    Value::Array(
        props
            .into_iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect(),
    )
}

/// CycloneDX `licenses`: listed SPDX ids as `{"license": {"id"}}`, anything else as
/// `{"license": {"name"}}`. A valid compound expression (every id listed) becomes the one
/// `{"expression"}` entry the schema allows — joined with `AND` to the package's other
/// licences when those are expressions too; when they are not, the expression is kept as a
/// name, since the schema does not allow mixing the two forms.
fn licenses(declared: &[String]) -> Option<Value> {
    let items: Vec<(&str, Option<Expr>)> = declared
        .iter()
        .filter(|l| !license::is_placeholder(l))
        .map(|l| (l.trim(), license::parse(l).filter(|e| !e.has_unknown())))
        .collect();
    if items.is_empty() {
        return None;
    }
    let compound = items
        .iter()
        .any(|(_, e)| e.as_ref().is_some_and(|e| e.as_plain_id().is_none()));
    if compound && items.iter().all(|(_, e)| e.is_some()) {
        let joined = license::all_of(items.into_iter().filter_map(|(_, e)| e).collect())?;
        return Some(json!([{ "expression": joined.render() }]));
    }
    let mut out: Vec<Value> = Vec::new();
    for (raw, e) in items {
        let v = match e.as_ref().and_then(Expr::as_plain_id) {
            Some(id) => json!({ "license": { "id": id } }),
            None => json!({ "license": { "name": raw } }),
        };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Some(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lic(v: &[&str]) -> Option<Value> {
        licenses(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn licence_forms() {
        assert_eq!(lic(&[]), None);
        assert_eq!(lic(&["NOASSERTION", " "]), None);
        assert_eq!(lic(&["mit"]), Some(json!([{"license": {"id": "MIT"}}])));
        assert_eq!(
            lic(&["MIT", "Apache-2.0", "MIT"]),
            Some(json!([{"license": {"id": "MIT"}}, {"license": {"id": "Apache-2.0"}}]))
        );
        assert_eq!(
            lic(&["(MIT OR Apache-2.0)"]),
            Some(json!([{"expression": "MIT OR Apache-2.0"}]))
        );
        assert_eq!(
            lic(&["MIT OR Apache-2.0", "ISC"]),
            Some(json!([{"expression": "(MIT OR Apache-2.0) AND ISC"}]))
        );
        assert_eq!(
            lic(&["GPL-2.0+"]),
            Some(json!([{"license": {"id": "GPL-2.0+"}}]))
        );
        assert_eq!(
            lic(&["Apache-2.0+"]),
            Some(json!([{"expression": "Apache-2.0+"}]))
        );
        assert_eq!(
            lic(&["GPL-2+", "BSD License"]),
            Some(json!([{"license": {"name": "GPL-2+"}}, {"license": {"name": "BSD License"}}]))
        );
        assert_eq!(
            lic(&["MIT OR Apache-2.0", "Custom licence"]),
            Some(
                json!([{"license": {"name": "MIT OR Apache-2.0"}}, {"license": {"name": "Custom licence"}}])
            )
        );
    }

    #[test]
    fn property_order() {
        let props = properties(vec![
            ("palisade:location:10".into(), "j".into()),
            ("palisade:location:2".into(), "b".into()),
            ("palisade:found-by".into(), "x".into()),
            ("palisade:layer:index".into(), "3".into()),
            ("palisade:layer:digest".into(), "d3".into()),
            ("palisade:layer:index".into(), "1".into()),
        ]);
        let names: Vec<String> = props
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}={}",
                    p["name"].as_str().unwrap(),
                    p["value"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "palisade:found-by=x",
                "palisade:layer:digest=d3",
                "palisade:layer:index=3",
                "palisade:layer:index=1",
                "palisade:location:2=b",
                "palisade:location:10=j"
            ]
        );
    }
}
