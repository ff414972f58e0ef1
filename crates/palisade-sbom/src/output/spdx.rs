//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>).
//!
//! One package for the target (`SPDXRef-Target`, which the document DESCRIBES), one for the
//! operating system when known (`SPDXRef-OperatingSystem`), one per package; the target
//! CONTAINS each of the others. Palisade does not analyse files (`filesAnalyzed: false`) and
//! concludes no licences: `licenseDeclared` carries what the package declares, as an SPDX
//! expression in which every word that is not an SPDX licence id becomes a `LicenseRef-`
//! with its `hasExtractedLicensingInfos` entry, as the spec requires.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::license::{self, Expr};
use super::spdx_ids::LICENSE_LIST_VERSION;
use super::{
    TOOL_NAME, content_hash, fnv64, pretty, shorten, target_purl, to_idstring, uuid_from_hash,
};
use crate::Inventory;
use crate::package::Package;

const NOASSERTION: &str = "NOASSERTION";
const TARGET_ID: &str = "SPDXRef-Target";
const OS_ID: &str = "SPDXRef-OperatingSystem";

/// The inventory as an SPDX 2.3 JSON document, pretty-printed with a final newline.
/// `created` is the RFC 3339 time the document records (fractions of a second are dropped:
/// SPDX wants `YYYY-MM-DDThh:mm:ssZ`); the `documentNamespace` ends in a UUID derived from a
/// hash of the inventory, `tool_version` and `created`, so the same arguments give the same
/// bytes.
pub fn spdx(inv: &Inventory, tool_version: &str, created: &str) -> String {
    pretty(&spdx_value(inv, tool_version, created))
}

/// [`spdx`] as a JSON value.
pub fn spdx_value(inv: &Inventory, tool_version: &str, created: &str) -> Value {
    let t = &inv.target;
    let doc_name = if t.name.is_empty() {
        "unnamed"
    } else {
        t.name.as_str()
    };
    let slug = to_idstring(doc_name, "unnamed");
    let slug = match slug.trim_matches(['.', '-']) {
        "" => "unnamed",
        s => s,
    };
    let namespace = format!(
        "https://palisade.dev/spdxdocs/{slug}-{}",
        uuid_from_hash(content_hash("spdx-2.3", inv, tool_version, created))
    );

    let mut refs = LicenseRefs::default();
    let declared: Vec<Vec<Declared>> = inv
        .packages
        .iter()
        .map(|p| declared(p, &mut refs))
        .collect();
    refs.assign();

    let mut packages: Vec<Value> = Vec::with_capacity(inv.packages.len() + 2);
    let mut relationships: Vec<Value> =
        vec![relationship("SPDXRef-DOCUMENT", "DESCRIBES", TARGET_ID)];
    packages.push(target_package(inv));
    if let Some(d) = &inv.distro {
        let mut os = base_package(OS_ID, &d.id, Some(&d.version_id));
        os.insert("primaryPackagePurpose".into(), json!("OPERATING_SYSTEM"));
        if let Some(p) = d.pretty_name.as_deref().filter(|p| !p.is_empty()) {
            os.insert("description".into(), json!(p));
        }
        packages.push(Value::Object(os));
        relationships.push(relationship(TARGET_ID, "CONTAINS", OS_ID));
    }
    let mut ids: BTreeSet<String> = [TARGET_ID.to_string(), OS_ID.to_string()].into();
    for (p, decl) in inv.packages.iter().zip(declared) {
        let id = package_id(p, &mut ids);
        let mut m = base_package(&id, &p.name, Some(&p.version));
        let exprs: Vec<Expr> = decl.into_iter().map(|d| refs.resolve(d)).collect();
        if let Some(e) = license::all_of(exprs) {
            m.insert("licenseDeclared".into(), json!(e.render()));
        }
        if !p.purl.is_empty() {
            m.insert("externalRefs".into(), purl_ref(&p.purl));
        }
        m.insert("sourceInfo".into(), json!(source_info(p)));
        packages.push(Value::Object(m));
        relationships.push(relationship(TARGET_ID, "CONTAINS", &id));
    }

    let mut doc = Map::new();
    doc.insert("spdxVersion".into(), json!("SPDX-2.3"));
    doc.insert("dataLicense".into(), json!("CC0-1.0"));
    doc.insert("SPDXID".into(), json!("SPDXRef-DOCUMENT"));
    doc.insert("name".into(), json!(doc_name));
    doc.insert("documentNamespace".into(), json!(namespace));
    doc.insert(
        "creationInfo".into(),
        json!({
            "created": spdx_time(created),
            "creators": [format!("Tool: {TOOL_NAME}-{tool_version}")],
            "licenseListVersion": LICENSE_LIST_VERSION,
        }),
    );
    if !inv.complete {
        doc.insert(
            "comment".into(),
            json!("Incomplete: part of the target could not be read (see the tool's errors); packages may be missing."),
        );
    }
    doc.insert("packages".into(), Value::Array(packages));
    doc.insert("relationships".into(), Value::Array(relationships));
    let extracted = refs.extracted();
    if !extracted.is_empty() {
        doc.insert("hasExtractedLicensingInfos".into(), Value::Array(extracted));
    }
    Value::Object(doc)
}

/// `2024-02-13T00:39:35.123456789Z` → `2024-02-13T00:39:35Z`; other forms unchanged.
/// SPDX wants `YYYY-MM-DDThh:mm:ssZ`: UTC, no fraction.
fn spdx_time(created: &str) -> String {
    match palisade_core::time::parse_rfc3339(created) {
        Some(secs) => palisade_core::time::rfc3339(secs),
        None => created.to_string(),
    }
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({ "spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to })
}

fn purl_ref(purl: &str) -> Value {
    json!([{ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl }])
}

/// The fields every package here has: nothing downloaded, no files analysed, no licence
/// concluded, no copyright known.
fn base_package(id: &str, name: &str, version: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("SPDXID".into(), json!(id));
    m.insert("name".into(), json!(name));
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        m.insert("versionInfo".into(), json!(v));
    }
    m.insert("downloadLocation".into(), json!(NOASSERTION));
    m.insert("filesAnalyzed".into(), json!(false));
    m.insert("licenseConcluded".into(), json!(NOASSERTION));
    m.insert("licenseDeclared".into(), json!(NOASSERTION));
    m.insert("copyrightText".into(), json!(NOASSERTION));
    m
}

fn target_package(inv: &Inventory) -> Value {
    let t = &inv.target;
    let image = t.kind == "image";
    let name = if t.name.is_empty() {
        "unnamed"
    } else {
        t.name.as_str()
    };
    let mut m = base_package(TARGET_ID, name, t.digest.as_deref().filter(|_| image));
    m.insert(
        "primaryPackagePurpose".into(),
        json!(if image { "CONTAINER" } else { "FILE" }),
    );
    if let Some(p) = target_purl(t) {
        m.insert("externalRefs".into(), purl_ref(&p));
    }
    let mut facts = vec![format!("{} target", t.kind)];
    if let Some(c) = &t.config_digest {
        facts.push(format!("config {c}"));
    }
    if let Some(p) = &t.platform {
        facts.push(format!("platform {p}"));
    }
    if !t.layers.is_empty() {
        let layers: Vec<String> = t
            .layers
            .iter()
            .map(|l| format!("{} {}", l.index, l.digest))
            .collect();
        facts.push(format!("layers: {}", layers.join(", ")));
    }
    m.insert("comment".into(), json!(facts.join("; ")));
    Value::Object(m)
}

/// `SPDXRef-Package-<ecosystem>-<name>-<8 hex digits of a hash of the purl>`, unique in the
/// document (`-2`, `-3`… on a clash).
fn package_id(p: &Package, used: &mut BTreeSet<String>) -> String {
    let key = if p.purl.is_empty() {
        format!("{}\0{}\0{}", p.ecosystem.as_str(), p.name, p.version)
    } else {
        p.purl.clone()
    };
    let base = format!(
        "SPDXRef-Package-{}-{}-{:08x}",
        to_idstring(p.ecosystem.as_str(), "pkg"),
        to_idstring(&p.name, "unnamed"),
        fnv64(&key) >> 32
    );
    if used.insert(base.clone()) {
        return base;
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| used.insert(c.clone()))
        .expect("some suffix is free")
}

/// `acquired package info from <cataloger>: <path> (layer <n> <digest>), …`, and the
/// source package for OS packages.
fn source_info(p: &Package) -> String {
    let locations: Vec<String> = p
        .locations
        .iter()
        .map(|l| match &l.layer {
            Some(layer) => format!("{} (layer {} {})", l.path, layer.index, layer.digest),
            None => l.path.clone(),
        })
        .collect();
    let mut s = format!(
        "acquired package info from {}: {}",
        p.found_by,
        locations.join(", ")
    );
    if let Some(src) = &p.source {
        s.push_str("; built from source package ");
        s.push_str(&src.name);
        if let Some(v) = &src.version {
            s.push(' ');
            s.push_str(v);
        }
    }
    s
}

/// One licence a package declares, before `LicenseRef-` names are given out.
enum Declared {
    /// An expression; its unknown words still need `LicenseRef-` names.
    Expr(Expr),
    /// Text that is no expression at all; it becomes one `LicenseRef-`.
    Text(String),
}

fn declared(p: &Package, refs: &mut LicenseRefs) -> Vec<Declared> {
    let mut out = Vec::new();
    for raw in p.licenses.iter().filter(|l| !license::is_placeholder(l)) {
        let raw = raw.trim();
        match license::parse(raw) {
            Some(e) => {
                e.refs(&mut |r| {
                    refs.declared.insert(r.to_string());
                });
                e.unknowns(&mut |w| {
                    refs.texts.insert(w.to_string());
                });
                out.push(Declared::Expr(e));
            }
            None => {
                refs.texts.insert(raw.to_string());
                out.push(Declared::Text(raw.to_string()));
            }
        }
    }
    out
}

/// The `LicenseRef-`s of a document: those packages declare as such, and those made up for
/// words and texts that are no SPDX ids.
#[derive(Default)]
struct LicenseRefs {
    /// `LicenseRef-…` as packages wrote them.
    declared: BTreeSet<String>,
    /// Words and texts that need a made-up `LicenseRef-`.
    texts: BTreeSet<String>,
    /// Text → its `LicenseRef-`.
    assigned: BTreeMap<String, String>,
}

impl LicenseRefs {
    /// Names every text, in sorted order so the result does not depend on package order:
    /// `LicenseRef-<text as an idstring>`, with a hash suffix when that is long or taken.
    fn assign(&mut self) {
        let mut taken: BTreeSet<String> = self.declared.clone();
        for text in &self.texts {
            let mut id = to_idstring(text, "unknown");
            if id.len() > 64 {
                id.truncate(48);
                id = format!("{}-{:08x}", id.trim_end_matches('-'), fnv64(text) >> 32);
            }
            let mut name = format!("LicenseRef-{id}");
            if taken.contains(&name) {
                name = format!("LicenseRef-{id}-{:08x}", fnv64(text) >> 32);
            }
            if taken.contains(&name) {
                let base = name.clone();
                name = (2u64..)
                    .map(|n| format!("{base}-{n}"))
                    .find(|c| !taken.contains(c))
                    .expect("some suffix is free");
            }
            taken.insert(name.clone());
            self.assigned.insert(text.clone(), name);
        }
    }

    fn name_of(&self, text: &str) -> String {
        self.assigned
            .get(text)
            .cloned()
            .expect("every text was assigned a LicenseRef")
    }

    fn resolve(&self, d: Declared) -> Expr {
        match d {
            Declared::Expr(e) => e.replace_unknowns(&mut |w| self.name_of(w)),
            Declared::Text(t) => Expr::Ref(self.name_of(&t)),
        }
    }

    /// `hasExtractedLicensingInfos`, sorted by `licenseId`.
    fn extracted(&self) -> Vec<Value> {
        let mut out: BTreeMap<&str, Value> = BTreeMap::new();
        for r in &self.declared {
            out.insert(
                r,
                json!({
                    "licenseId": r,
                    "name": r,
                    "extractedText": r,
                    "comment": "Declared by the package as this LicenseRef; its text was not available.",
                }),
            );
        }
        for (text, r) in &self.assigned {
            let first_line = text.lines().next().unwrap_or("").trim();
            out.insert(
                r,
                json!({
                    "licenseId": r,
                    "name": shorten(first_line, 100),
                    "extractedText": text,
                    "comment": "The licence as the package declares it; it is not an SPDX licence list identifier.",
                }),
            );
        }
        out.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Ecosystem;

    #[test]
    fn times() {
        assert_eq!(
            spdx_time("2024-02-13T00:39:35.123456789Z"),
            "2024-02-13T00:39:35Z"
        );
        assert_eq!(spdx_time("2024-02-13T00:39:35Z"), "2024-02-13T00:39:35Z");
        // SPDX requires UTC: an offset is converted, not passed through.
        assert_eq!(
            spdx_time("2024-02-13T00:39:35+02:00"),
            "2024-02-12T22:39:35Z"
        );
    }

    #[test]
    fn license_refs_are_unique_and_stable() {
        let mut p = Package::new(Ecosystem::Npm, "x", "1", "p", "t");
        p.licenses = vec![
            "GPL 2".into(),
            "GPL-2".into(),
            "LicenseRef-GPL-2".into(),
            "MIT OR Artistic".into(),
            "x".repeat(200),
        ];
        let mut refs = LicenseRefs::default();
        let d = declared(&p, &mut refs);
        refs.assign();
        let exprs: Vec<String> = d.into_iter().map(|d| refs.resolve(d).render()).collect();
        let h = |s: &str| format!("{:08x}", fnv64(s) >> 32);
        assert_eq!(exprs[0], format!("LicenseRef-GPL-2-{}", h("GPL 2")));
        assert_eq!(exprs[1], format!("LicenseRef-GPL-2-{}", h("GPL-2")));
        assert_eq!(exprs[2], "LicenseRef-GPL-2");
        assert_eq!(exprs[3], "MIT OR LicenseRef-Artistic");
        assert_eq!(
            exprs[4],
            format!("LicenseRef-{}-{}", "x".repeat(48), h(&"x".repeat(200)))
        );
        let ids: BTreeSet<String> = refs
            .extracted()
            .iter()
            .map(|e| e["licenseId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), 5);
        for e in &exprs {
            for word in e.split(' ').filter(|w| w.starts_with("LicenseRef-")) {
                assert!(ids.contains(word), "{word}");
            }
        }
    }
}
