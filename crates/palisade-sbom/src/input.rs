//! Reading SBOMs back into an [`Inventory`]: CycloneDX and SPDX JSON as Palisade, Syft and
//! Trivy write them, so `palisade scan sbom` can match any of them against advisories.
//!
//! Packages are identified by their package URL; components without one are skipped (and
//! counted). The distribution comes from `distro=` qualifiers or the operating-system
//! component.

use crate::package::{Distro, Ecosystem, Package, SourcePackage};
use crate::{Inventory, TargetInfo};

/// Why an SBOM could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SbomInputError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("not a CycloneDX or SPDX JSON document (no bomFormat or spdxVersion)")]
    Format,
}

/// A parsed package URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub ty: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: Vec<(String, String)>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Purl {
    /// Parses `pkg:type/namespace/name@version?qualifiers#subpath`.
    pub fn parse(s: &str) -> Option<Purl> {
        let rest = s.trim().strip_prefix("pkg:")?;
        let rest = rest.split('#').next().unwrap_or(rest);
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((r, q)) => (
                r,
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_ascii_lowercase(), decode(v)))
                    .collect(),
            ),
            None => (rest, Vec::new()),
        };
        let (path, version) = match rest.rsplit_once('@') {
            // `@` inside a namespace (npm scopes are encoded as %40, but be lenient).
            Some((p, v)) if !v.contains('/') && !p.is_empty() => (p, Some(decode(v))),
            _ => (rest, None),
        };
        let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if parts.len() < 2 {
            return None;
        }
        let ty = parts.remove(0).to_ascii_lowercase();
        let name = decode(parts.pop()?);
        let namespace = (!parts.is_empty()).then(|| {
            parts
                .iter()
                .map(|p| decode(p))
                .collect::<Vec<_>>()
                .join("/")
        });
        if name.is_empty() {
            return None;
        }
        Some(Purl {
            ty,
            namespace,
            name,
            version,
            qualifiers,
        })
    }

    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The ecosystem and the name as Palisade writes it for that ecosystem.
    pub fn ecosystem_and_name(&self) -> Option<(Ecosystem, String)> {
        let joined = |sep: &str| match &self.namespace {
            Some(ns) => format!("{ns}{sep}{}", self.name),
            None => self.name.clone(),
        };
        Some(match self.ty.as_str() {
            "deb" => (Ecosystem::Deb, self.name.clone()),
            "apk" => (Ecosystem::Apk, self.name.clone()),
            "rpm" => (Ecosystem::Rpm, self.name.clone()),
            "pypi" => (Ecosystem::PyPI, self.name.clone()),
            "npm" => (Ecosystem::Npm, joined("/")),
            "cargo" => (Ecosystem::CratesIo, self.name.clone()),
            "golang" => (Ecosystem::Go, joined("/")),
            "maven" => (Ecosystem::Maven, joined(":")),
            "composer" => (Ecosystem::Packagist, joined("/")),
            "gem" => (Ecosystem::RubyGems, self.name.clone()),
            "nuget" => (Ecosystem::NuGet, self.name.clone()),
            _ => return None,
        })
    }
}

/// `distro=debian-12` → debian / 12; `distro=alpine-3.19.1`; `distro=ubuntu-22.04`.
fn distro_from_qualifier(q: &str) -> Option<Distro> {
    let (id, version) = q.split_once('-')?;
    Some(Distro {
        id: id.to_ascii_lowercase(),
        version_id: version.to_string(),
        ..Distro::default()
    })
}

/// Builds a package from a purl and the SBOM's extra facts.
fn package_from(
    purl_text: &str,
    source: Option<(String, Option<String>)>,
    location: Option<String>,
    found_by: &str,
) -> Option<(Package, Option<Distro>)> {
    let purl = Purl::parse(purl_text)?;
    let (ecosystem, name) = purl.ecosystem_and_name()?;
    let mut version = purl.version.clone()?;
    if matches!(ecosystem, Ecosystem::Deb | Ecosystem::Rpm)
        && let Some(epoch) = purl.qualifier("epoch")
        && !version.contains(':')
        && epoch != "0"
    {
        version = format!("{epoch}:{version}");
    }
    if ecosystem == Ecosystem::Go && name == "stdlib" {
        version = version
            .trim_start_matches("go")
            .trim_start_matches('v')
            .to_string();
    }
    let mut p = Package::new(
        ecosystem,
        name,
        version,
        location.as_deref().unwrap_or(""),
        found_by,
    );
    p.purl = purl_text.to_string();
    p.arch = purl.qualifier("arch").map(str::to_string);
    // Syft writes the source package as `upstream=name` or `upstream=name@version`.
    let upstream = purl.qualifier("upstream").map(|u| match u.split_once('@') {
        Some((n, v)) => (n.to_string(), Some(v.to_string())),
        None => (u.to_string(), None),
    });
    if let Some((name, version)) = source.or(upstream) {
        p.source = Some(SourcePackage { name, version });
    }
    if location.is_none() {
        p.locations.clear();
    }
    let distro = purl.qualifier("distro").and_then(distro_from_qualifier);
    Some((p, distro))
}

fn prop<'a>(c: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    c.get("properties")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))?
        .get("value")?
        .as_str()
}

/// Reads a CycloneDX or SPDX JSON document. `name` names the SBOM in the inventory.
pub fn read_sbom(bytes: &[u8], name: &str) -> Result<Inventory, SbomInputError> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| SbomInputError::Json(e.to_string()))?;
    let mut packages = Vec::new();
    let mut distro: Option<Distro> = None;
    let mut skipped = 0usize;
    let mut os_component: Option<Distro> = None;
    if doc.get("bomFormat").and_then(|f| f.as_str()) == Some("CycloneDX") {
        let mut components: Vec<&serde_json::Value> = Vec::new();
        let mut todo: Vec<&serde_json::Value> = doc
            .get("components")
            .and_then(|c| c.as_array())
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        if let Some(m) = doc.pointer("/metadata/component") {
            todo.push(m);
        }
        // Nested components (Syft and Trivy nest some), depth-limited.
        let mut steps = 0;
        while let Some(c) = todo.pop() {
            steps += 1;
            if steps > 1_000_000 {
                break;
            }
            components.push(c);
            if let Some(children) = c.get("components").and_then(|c| c.as_array()) {
                todo.extend(children.iter());
            }
        }
        for c in components {
            if c.get("type").and_then(|t| t.as_str()) == Some("operating-system") {
                let id = c
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let version = c
                    .get("version")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string();
                if !id.is_empty() {
                    os_component = Some(Distro {
                        id,
                        version_id: version,
                        ..Distro::default()
                    });
                }
                continue;
            }
            let Some(purl) = c.get("purl").and_then(|p| p.as_str()) else {
                if c.get("type").and_then(|t| t.as_str()) == Some("library") {
                    skipped += 1;
                }
                continue;
            };
            // Trivy records the source package and the file path as properties.
            let source = prop(c, "aquasecurity:trivy:SrcName")
                .map(|n| {
                    (
                        n.to_string(),
                        prop(c, "aquasecurity:trivy:SrcVersion").map(str::to_string),
                    )
                })
                .or_else(|| {
                    prop(c, "palisade:source-package").map(|n| {
                        (
                            n.to_string(),
                            prop(c, "palisade:source-version").map(str::to_string),
                        )
                    })
                });
            let location = prop(c, "aquasecurity:trivy:FilePath")
                .or_else(|| prop(c, "syft:location:0:path"))
                .or_else(|| prop(c, "palisade:location:0"))
                .map(str::to_string);
            match package_from(purl, source, location, "sbom") {
                Some((p, d)) => {
                    if distro.is_none() {
                        distro = d;
                    }
                    packages.push(p);
                }
                None => skipped += 1,
            }
        }
    } else if doc.get("spdxVersion").is_some() {
        for pkg in doc
            .get("packages")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let purl = pkg
                .get("externalRefs")
                .and_then(|r| r.as_array())
                .and_then(|refs| {
                    refs.iter()
                        .find(|r| r.get("referenceType").and_then(|t| t.as_str()) == Some("purl"))
                })
                .and_then(|r| r.get("referenceLocator"))
                .and_then(|l| l.as_str());
            let Some(purl) = purl else {
                // The document's own root and file entries have no purl; only count packages
                // that look like packages.
                if pkg.get("versionInfo").is_some() {
                    skipped += 1;
                }
                continue;
            };
            if purl.starts_with("pkg:oci/") || purl.starts_with("pkg:docker/") {
                continue;
            }
            match package_from(purl, None, None, "sbom") {
                Some((p, d)) => {
                    if distro.is_none() {
                        distro = d;
                    }
                    packages.push(p);
                }
                None => skipped += 1,
            }
        }
    } else {
        return Err(SbomInputError::Format);
    }
    let distro = distro.or(os_component);
    let mut merged: std::collections::BTreeMap<String, Package> = std::collections::BTreeMap::new();
    for p in packages {
        match merged.get_mut(&p.purl) {
            Some(existing) => {
                for l in p.locations {
                    if !existing.locations.contains(&l) {
                        existing.locations.push(l);
                    }
                }
            }
            None => {
                merged.insert(p.purl.clone(), p);
            }
        }
    }
    let mut packages: Vec<Package> = merged.into_values().collect();
    packages.sort_by(|a, b| {
        (a.ecosystem, &a.name, &a.version).cmp(&(b.ecosystem, &b.name, &b.version))
    });
    let mut problems = Vec::new();
    if skipped > 0 {
        problems.push(palisade_core::InputProblem {
            kind: palisade_core::ProblemKind::Warning,
            path: name.to_string(),
            line: None,
            message: format!(
                "{skipped} components without a package URL Palisade understands were skipped"
            ),
        });
    }
    Ok(Inventory {
        complete: true,
        target: TargetInfo {
            name: name.to_string(),
            kind: "sbom".into(),
            ..TargetInfo::default()
        },
        created: None,
        distro,
        packages,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let p = Purl::parse(
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
        )
        .unwrap();
        assert_eq!(
            (p.ty.as_str(), p.namespace.as_deref(), p.name.as_str()),
            ("deb", Some("debian"), "libssl3")
        );
        assert_eq!(p.version.as_deref(), Some("3.0.11-1~deb12u2"));
        assert_eq!(p.qualifier("distro"), Some("debian-12"));
        let n = Purl::parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(n.ecosystem_and_name().unwrap().1, "@babel/core");
        let g = Purl::parse("pkg:golang/golang.org/x/net@v0.1.0").unwrap();
        assert_eq!(g.ecosystem_and_name().unwrap().1, "golang.org/x/net");
        let m = Purl::parse("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").unwrap();
        assert_eq!(
            m.ecosystem_and_name().unwrap().1,
            "org.apache.logging.log4j:log4j-core"
        );
        assert!(Purl::parse("pkg:nothing").is_none());
        assert!(Purl::parse("not a purl").is_none());
    }

    #[test]
    fn cyclonedx_and_spdx() {
        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
            {"type":"operating-system","name":"debian","version":"12.5"},
            {"type":"library","name":"libc6","version":"2.36-9","purl":"pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12","properties":[{"name":"aquasecurity:trivy:SrcName","value":"glibc"}]},
            {"type":"library","name":"perl-base","purl":"pkg:deb/debian/perl-base@5.36.0-7?epoch=1&distro=debian-12"},
            {"type":"library","name":"nopurl"}]}"#;
        let inv = read_sbom(cdx, "x.cdx.json").unwrap();
        assert_eq!(inv.packages.len(), 2);
        assert_eq!(inv.distro.as_ref().unwrap().version_id, "12");
        let libc = &inv.packages[0];
        assert_eq!(libc.source.as_ref().unwrap().name, "glibc");
        assert_eq!(inv.packages[1].version, "1:5.36.0-7");
        assert_eq!(inv.problems.len(), 1);
        let spdx = br#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"urllib3","versionInfo":"1.26.4","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:pypi/urllib3@1.26.4"}]}]}"#;
        let inv = read_sbom(spdx, "x.spdx.json").unwrap();
        assert_eq!(inv.packages[0].name, "urllib3");
        assert!(read_sbom(b"{}", "x").is_err());
        assert!(read_sbom(b"not json", "x").is_err());
    }
}
