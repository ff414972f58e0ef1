//! The SBOM writers against the official schemas (CycloneDX 1.6 at tag 1.6.2, SPDX 2.3 at
//! tag v2.3 and the later 2.3.1 revision; see tests/schemas/README.md), offline, on an
//! inventory built by hand with the awkward cases: deb packages with epoch, source package
//! and architecture, npm scopes, Maven groups, PyPI, the Go standard library, valid, invalid
//! and compound licences, an image with layers and a package found in two layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use palisade_sbom::output::{self, license};
use palisade_sbom::package::{PackageLocation, SourcePackage};
use palisade_sbom::{Distro, Ecosystem, Inventory, LayerRef, Package, TargetInfo};
use serde_json::{Value, json};

const CREATED: &str = "2024-02-13T00:39:35Z";
const VERSION: &str = "0.1.0";

fn schema(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every error of `instance` against `schema_file` (CycloneDX's referenced schemas are
/// registered under their `$id`s, so nothing is fetched).
fn errors(schema_file: &str, instance: &Value) -> Vec<String> {
    let mut registry = jsonschema::Registry::new();
    for extra in ["spdx.schema.json", "jsf-0.82.schema.json"] {
        let s = schema(extra);
        let id = s["$id"]
            .as_str()
            .expect("the schema has an $id")
            .to_string();
        registry = registry
            .add(id, jsonschema::Resource::from_contents(s))
            .expect("a valid URI");
    }
    let registry = registry.prepare().expect("the registry prepares offline");
    let validator = jsonschema::options()
        .offline()
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema(schema_file))
        .unwrap_or_else(|e| panic!("{schema_file} compiles: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(schema_file: &str, instance: &Value) {
    let errs = errors(schema_file, instance);
    assert!(
        errs.is_empty(),
        "{schema_file}: {} errors:\n{}",
        errs.len(),
        errs.join("\n")
    );
}

fn layer(index: usize) -> LayerRef {
    LayerRef {
        index,
        digest: format!("sha256:{}", format!("{index}").repeat(64)),
        diff_id: None,
        created_by: Some(format!("RUN step {index}")),
    }
}

fn pkg(
    eco: Ecosystem,
    name: &str,
    version: &str,
    path: &str,
    layer_index: Option<usize>,
    found_by: &str,
) -> Package {
    let mut p = Package::new(eco, name, version, path, found_by);
    p.locations[0].layer = layer_index.map(layer);
    p
}

fn with_licenses(mut p: Package, l: &[&str]) -> Package {
    p.licenses = l.iter().map(|s| s.to_string()).collect();
    p
}

fn debian() -> Distro {
    Distro {
        id: "debian".into(),
        version_id: "12".into(),
        version_codename: Some("bookworm".into()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        id_like: Vec::new(),
    }
}

/// Builds the inventory the way `InventoryBuilder::finish` leaves it (purls filled in,
/// packages sorted), through serde so fields added to `Inventory` later need no change here.
fn inventory(target: TargetInfo, distro: Option<Distro>, mut packages: Vec<Package>) -> Inventory {
    for p in &mut packages {
        p.purl = palisade_sbom::purl::purl(p, distro.as_ref());
    }
    packages.sort_by(|a, b| {
        (a.ecosystem, &a.name, &a.version, &a.purl).cmp(&(
            b.ecosystem,
            &b.name,
            &b.version,
            &b.purl,
        ))
    });
    serde_json::from_value(json!({ "target": target, "distro": distro, "packages": packages }))
        .expect("an inventory deserializes")
}

fn image_inventory() -> Inventory {
    let status = "/var/lib/dpkg/status";
    let mut libssl = pkg(
        Ecosystem::Deb,
        "libssl3",
        "3.0.11-1~deb12u2",
        status,
        Some(0),
        "dpkg",
    );
    libssl.arch = Some("amd64".into());
    libssl.source = Some(SourcePackage {
        name: "openssl".into(),
        version: None,
    });
    libssl.licenses = vec!["Apache-2.0".into()];
    let mut perl = pkg(
        Ecosystem::Deb,
        "perl-base",
        "1:5.36.0-7+deb12u1",
        status,
        Some(0),
        "dpkg",
    );
    perl.arch = Some("amd64".into());
    perl.source = Some(SourcePackage {
        name: "perl".into(),
        version: None,
    });
    // Debian copyright short names: `GPL-1.0+` is on the list (deprecated), `Artistic` not.
    perl.licenses = vec!["GPL-1.0+".into(), "Artistic".into()];
    let mut comerr = pkg(
        Ecosystem::Deb,
        "libcom-err2",
        "1.47.0-2+b1",
        status,
        Some(0),
        "dpkg",
    );
    comerr.arch = Some("amd64".into());
    comerr.source = Some(SourcePackage {
        name: "e2fsprogs".into(),
        version: Some("1.47.0-2".into()),
    });
    // Upgraded in a later layer: the same package found in two layers.
    comerr.locations.push(PackageLocation {
        path: "/var/lib/dpkg/status.d/libcom-err2".into(),
        layer: Some(layer(2)),
    });
    comerr.licenses = vec!["GPL-2+".into(), "BSD-3-Clause".into()];
    let mut tzdata = pkg(
        Ecosystem::Deb,
        "tzdata",
        "2024a-0+deb12u1",
        status,
        Some(0),
        "dpkg",
    );
    tzdata.arch = Some("all".into());

    let nm = "/app/node_modules";
    let packages = vec![
        libssl,
        perl,
        comerr,
        tzdata,
        with_licenses(
            pkg(
                Ecosystem::Npm,
                "@babel/core",
                "7.24.0",
                &format!("{nm}/@babel/core/package.json"),
                Some(3),
                "npm",
            ),
            &["MIT"],
        ),
        with_licenses(
            pkg(
                Ecosystem::Npm,
                "dual",
                "3.0.0",
                &format!("{nm}/dual/package.json"),
                Some(3),
                "npm",
            ),
            &["(MIT OR Apache-2.0)"],
        ),
        with_licenses(
            pkg(
                Ecosystem::Npm,
                "legacy",
                "0.2.0",
                &format!("{nm}/legacy/package.json"),
                Some(3),
                "npm",
            ),
            &["MIT", "SEE LICENSE IN LICENSE.txt"],
        ),
        with_licenses(
            pkg(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1",
                "/app/lib/log4j-core-2.14.1.jar",
                Some(4),
                "java-archive",
            ),
            &["Apache-2.0"],
        ),
        with_licenses(
            pkg(
                Ecosystem::Maven,
                "com.example:with-exception",
                "1.0",
                "/app/lib/with-exception-1.0.jar",
                Some(4),
                "java-archive",
            ),
            &["GPL-2.0-only WITH Classpath-exception-2.0"],
        ),
        with_licenses(
            pkg(
                Ecosystem::PyPI,
                "Jinja2",
                "3.1.2",
                "/usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA",
                Some(1),
                "python-installed",
            ),
            &["BSD-3-Clause"],
        ),
        with_licenses(
            pkg(
                Ecosystem::PyPI,
                "requests",
                "2.31.0",
                "/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
                Some(1),
                "python-installed",
            ),
            &["Apache 2.0"],
        ),
        with_licenses(
            pkg(
                Ecosystem::PyPI,
                "zope.interface",
                "6.1",
                "/usr/lib/python3/dist-packages/zope.interface-6.1.dist-info/METADATA",
                Some(1),
                "python-installed",
            ),
            &["UNKNOWN"],
        ),
        with_licenses(
            pkg(
                Ecosystem::CratesIo,
                "regex",
                "1.10.2",
                "/usr/bin/rg",
                Some(5),
                "cargo-auditable",
            ),
            &["MIT OR Apache-2.0", "Unicode-DFS-2016"],
        ),
        with_licenses(
            pkg(
                Ecosystem::CratesIo,
                "old-crate",
                "0.1.0",
                "/usr/bin/rg",
                Some(5),
                "cargo-auditable",
            ),
            &["MIT/Apache-2.0"],
        ),
        pkg(
            Ecosystem::Go,
            "stdlib",
            "1.19.8",
            "/usr/bin/age",
            Some(5),
            "go-binary",
        ),
        pkg(
            Ecosystem::Go,
            "filippo.io/age",
            "v1.1.1",
            "/usr/bin/age",
            Some(5),
            "go-binary",
        ),
    ];
    let target = TargetInfo {
        name: "registry.example.com/team/kitchen-sink:1.0".into(),
        kind: "image".into(),
        digest: Some(format!("sha256:{}", "ab".repeat(32))),
        config_digest: Some(format!("sha256:{}", "cd".repeat(32))),
        platform: Some("linux/amd64".into()),
        layers: (0..6).map(layer).collect(),
    };
    inventory(target, Some(debian()), packages)
}

fn dir_inventory() -> Inventory {
    let target = TargetInfo {
        name: "./my project".into(),
        kind: "filesystem".into(),
        ..TargetInfo::default()
    };
    let packages = vec![
        with_licenses(
            pkg(
                Ecosystem::Npm,
                "left-pad",
                "1.3.0",
                "package-lock.json",
                None,
                "npm-lock",
            ),
            &["WTFPL"],
        ),
        pkg(
            Ecosystem::PyPI,
            "Django",
            "4.2.1",
            "poetry.lock",
            None,
            "poetry-lock",
        ),
    ];
    inventory(target, None, packages)
}

fn empty_inventory() -> Inventory {
    inventory(TargetInfo::default(), None, Vec::new())
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).expect("the writer produces JSON")
}

#[test]
fn cyclonedx_validates_against_the_official_schema() {
    for inv in [image_inventory(), dir_inventory(), empty_inventory()] {
        let doc = parse(&output::cyclonedx(&inv, VERSION, CREATED));
        assert_valid("bom-1.6.schema.json", &doc);
    }
}

#[test]
fn schema_check_catches_mistakes() {
    // The validator is really checking: a licence id off the list and a bad component type fail.
    let mut doc = parse(&output::cyclonedx(&image_inventory(), VERSION, CREATED));
    doc["components"][1]["licenses"] = json!([{ "license": { "id": "Not-A-Licence" } }]);
    doc["components"][2]["type"] = json!("gadget");
    assert_eq!(errors("bom-1.6.schema.json", &doc).len(), 2);
    let mut doc = parse(&output::spdx(&image_inventory(), VERSION, CREATED));
    doc["packages"][2]["externalRefs"][0]["referenceCategory"] = json!("PACKAGE_MANAGER");
    assert_eq!(errors("spdx-2.3.schema.json", &doc).len(), 1);
}

#[test]
fn spdx_validates_against_the_official_schemas() {
    for inv in [image_inventory(), dir_inventory(), empty_inventory()] {
        let doc = parse(&output::spdx(&inv, VERSION, CREATED));
        assert_valid("spdx-2.3.schema.json", &doc);
        assert_valid("spdx-2.3.1.schema.json", &doc);
    }
}

#[test]
fn renders_are_byte_identical() {
    let inv = image_inventory();
    let renders: [fn(&Inventory) -> String; 4] = [
        |i: &Inventory| output::cyclonedx(i, VERSION, CREATED),
        |i: &Inventory| output::spdx(i, VERSION, CREATED),
        |i: &Inventory| output::json(i, VERSION),
        |i: &Inventory| output::table(i),
    ];
    for render in renders {
        let a = render(&inv);
        let b = render(&image_inventory());
        assert_eq!(a, b);
        assert!(a.ends_with('\n'));
    }
    // The document identifiers follow the content.
    let cdx = |i: &Inventory, created: &str| {
        parse(&output::cyclonedx(i, VERSION, created))["serialNumber"].clone()
    };
    assert_ne!(cdx(&inv, CREATED), cdx(&inv, "2024-02-14T00:00:00Z"));
    assert_ne!(cdx(&inv, CREATED), cdx(&dir_inventory(), CREATED));
    let ns = |i: &Inventory| parse(&output::spdx(i, VERSION, CREATED))["documentNamespace"].clone();
    assert_ne!(ns(&inv), ns(&dir_inventory()));
}

fn prop<'a>(c: &'a Value, name: &str) -> Vec<&'a str> {
    c["properties"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["name"] == name)
                .filter_map(|p| p["value"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cyclonedx_fields() {
    let inv = image_inventory();
    let doc = parse(&output::cyclonedx(&inv, VERSION, CREATED));
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["metadata"]["timestamp"], CREATED);
    assert_eq!(
        doc["metadata"]["tools"]["components"],
        json!([{ "type": "application", "name": "palisade", "version": VERSION }])
    );
    // urn:uuid, version 8, RFC 4122 variant.
    let serial = doc["serialNumber"].as_str().unwrap();
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    let groups: Vec<&str> = uuid.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(
        uuid.bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert!(groups[2].starts_with('8'), "{uuid}");
    assert!(groups[3].starts_with(['8', '9', 'a', 'b']), "{uuid}");

    let target = &doc["metadata"]["component"];
    assert_eq!(target["type"], "container");
    assert_eq!(target["name"], "registry.example.com/team/kitchen-sink:1.0");
    assert_eq!(target["version"], inv.target.digest.as_deref().unwrap());
    assert_eq!(
        target["purl"],
        format!(
            "pkg:oci/kitchen-sink@sha256%3A{}?arch=amd64&repository_url=registry.example.com/team/kitchen-sink&tag=1.0",
            "ab".repeat(32)
        )
    );
    assert_eq!(
        prop(target, "palisade:image:layer:5"),
        [layer(5).digest.as_str()]
    );

    let comps = doc["components"].as_array().unwrap();
    assert_eq!(comps.len(), inv.packages.len() + 1);
    assert_eq!(comps[0]["type"], "operating-system");
    assert_eq!(comps[0]["name"], "debian");
    assert_eq!(comps[0]["version"], "12");
    let libs = &comps[1..];
    let refs: BTreeSet<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), comps.len(), "bom-refs are unique");
    for (c, p) in libs.iter().zip(&inv.packages) {
        assert_eq!(c["type"], "library");
        assert!(p.purl.starts_with("pkg:"), "{}", p.name);
        assert_eq!(c["purl"], p.purl.as_str());
        assert_eq!(c["bom-ref"], p.purl.as_str());
        assert_eq!(c["version"], p.version.as_str());
        assert_eq!(prop(c, "palisade:ecosystem"), [p.ecosystem.as_str()]);
        assert_eq!(prop(c, "palisade:found-by"), [p.found_by.as_str()]);
        assert_eq!(
            prop(c, "palisade:location:0"),
            [p.locations[0].path.as_str()]
        );
    }
    let by_purl = |needle: &str| -> &Value {
        libs.iter()
            .find(|c| c["purl"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle}"))
    };

    let perl = by_purl("perl-base");
    assert_eq!(perl["name"], "perl-base");
    assert_eq!(perl["version"], "1:5.36.0-7+deb12u1");
    assert_eq!(
        perl["purl"],
        "pkg:deb/debian/perl-base@5.36.0-7%2Bdeb12u1?arch=amd64&distro=debian-12&epoch=1&upstream=perl"
    );
    assert_eq!(
        perl["licenses"],
        json!([{ "license": { "id": "GPL-1.0+" } }, { "license": { "name": "Artistic" } }])
    );
    assert_eq!(prop(perl, "palisade:source-package"), ["perl"]);
    assert_eq!(prop(perl, "palisade:layer:index"), ["0"]);

    let comerr = by_purl("libcom-err2");
    assert_eq!(prop(comerr, "palisade:source-package"), ["e2fsprogs"]);
    assert_eq!(prop(comerr, "palisade:source-version"), ["1.47.0-2"]);
    assert_eq!(prop(comerr, "palisade:layer:index"), ["0", "2"]);
    assert_eq!(
        prop(comerr, "palisade:layer:digest"),
        [layer(0).digest.as_str(), layer(2).digest.as_str()]
    );
    assert_eq!(
        prop(comerr, "palisade:location:1"),
        ["/var/lib/dpkg/status.d/libcom-err2"]
    );

    let babel = by_purl("pkg:npm/%40babel/core");
    assert_eq!(
        (babel["group"].as_str(), babel["name"].as_str()),
        (Some("@babel"), Some("core"))
    );
    assert_eq!(babel["licenses"], json!([{ "license": { "id": "MIT" } }]));
    assert_eq!(
        by_purl("pkg:npm/dual")["licenses"],
        json!([{ "expression": "MIT OR Apache-2.0" }])
    );
    assert_eq!(
        by_purl("pkg:npm/legacy")["licenses"],
        json!([{ "license": { "id": "MIT" } }, { "license": { "name": "SEE LICENSE IN LICENSE.txt" } }])
    );
    let log4j = by_purl("log4j-core");
    assert_eq!(log4j["group"], "org.apache.logging.log4j");
    assert_eq!(log4j["name"], "log4j-core");
    assert_eq!(
        by_purl("with-exception")["licenses"],
        json!([{ "expression": "GPL-2.0-only WITH Classpath-exception-2.0" }])
    );
    assert_eq!(
        by_purl("pkg:cargo/regex")["licenses"],
        json!([{ "expression": "(MIT OR Apache-2.0) AND Unicode-DFS-2016" }])
    );
    assert_eq!(
        by_purl("old-crate")["licenses"],
        json!([{ "license": { "name": "MIT/Apache-2.0" } }])
    );
    assert!(
        by_purl("zope-interface").get("licenses").is_none(),
        "UNKNOWN is no licence"
    );
    let stdlib = by_purl("pkg:golang/stdlib");
    assert_eq!(
        (stdlib["name"].as_str(), stdlib["version"].as_str()),
        (Some("stdlib"), Some("1.19.8"))
    );
    assert!(stdlib.get("group").is_none());

    // A directory: a `file` component, no purl, no OS.
    let doc = parse(&output::cyclonedx(&dir_inventory(), VERSION, CREATED));
    assert_eq!(doc["metadata"]["component"]["type"], "file");
    assert!(doc["metadata"]["component"].get("purl").is_none());
    assert_eq!(doc["components"].as_array().unwrap().len(), 2);
    assert!(
        doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "library")
    );
}

#[test]
fn spdx_fields() {
    let inv = image_inventory();
    let doc = parse(&output::spdx(
        &inv,
        VERSION,
        "2024-02-13T00:39:35.123456789Z",
    ));
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    assert_eq!(doc["creationInfo"]["created"], "2024-02-13T00:39:35Z");
    assert_eq!(
        doc["creationInfo"]["creators"],
        json!(["Tool: palisade-0.1.0"])
    );
    let ns = doc["documentNamespace"].as_str().unwrap();
    assert!(
        ns.starts_with("https://palisade.dev/spdxdocs/registry.example.com-team-kitchen-sink-1.0-"),
        "{ns}"
    );

    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        inv.packages.len() + 2,
        "target + OS + packages"
    );
    assert_eq!(packages[0]["SPDXID"], "SPDXRef-Target");
    assert_eq!(packages[0]["primaryPackagePurpose"], "CONTAINER");
    assert_eq!(packages[1]["SPDXID"], "SPDXRef-OperatingSystem");
    let ids: Vec<&str> = packages
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "SPDXIDs are unique"
    );
    for id in &ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'),
            "{id}"
        );
    }
    for (sp, p) in packages[2..].iter().zip(&inv.packages) {
        assert_eq!(sp["name"], p.name.as_str());
        assert_eq!(sp["versionInfo"], p.version.as_str());
        assert_eq!(sp["downloadLocation"], "NOASSERTION");
        assert_eq!(sp["filesAnalyzed"], false);
        assert_eq!(sp["licenseConcluded"], "NOASSERTION");
        assert_eq!(sp["copyrightText"], "NOASSERTION");
        assert_eq!(
            sp["externalRefs"],
            json!([{ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl }])
        );
        let prefix = format!("SPDXRef-Package-{}-", p.ecosystem.as_str());
        assert!(sp["SPDXID"].as_str().unwrap().starts_with(&prefix));
        assert!(
            sp["sourceInfo"]
                .as_str()
                .unwrap()
                .contains(&p.locations[0].path)
        );
    }

    // Relationships: the document describes the target, which contains everything else.
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(rels.len(), 1 + 1 + inv.packages.len());
    assert_eq!(
        rels[0],
        json!({ "spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Target" })
    );
    let contained: BTreeSet<&str> = rels[1..]
        .iter()
        .inspect(|r| {
            assert_eq!(r["spdxElementId"], "SPDXRef-Target");
            assert_eq!(r["relationshipType"], "CONTAINS");
        })
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect();
    assert_eq!(contained, ids[1..].iter().copied().collect());

    // Licences: every word is an SPDX id or a LicenseRef with its extracted text, and every
    // extracted text is used.
    let extracted: BTreeMap<&str, &str> = doc["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["licenseId"].as_str().unwrap(),
                e["extractedText"].as_str().unwrap(),
            )
        })
        .collect();
    let mut used = BTreeSet::new();
    let mut declared = BTreeMap::new();
    for sp in packages {
        let text = sp["licenseDeclared"].as_str().unwrap();
        declared.insert(sp["name"].as_str().unwrap(), text);
        if text == "NOASSERTION" {
            continue;
        }
        let e = license::parse(text).unwrap_or_else(|| panic!("{text:?} is an expression"));
        assert!(!e.has_unknown(), "{text}");
        assert_eq!(e.render(), text, "written canonically");
        e.refs(&mut |r| {
            assert!(extracted.contains_key(r), "{r} has an extracted text");
            used.insert(r.to_string());
        });
    }
    assert_eq!(used, extracted.keys().map(|k| k.to_string()).collect());
    assert_eq!(declared["perl-base"], "GPL-1.0+ AND LicenseRef-Artistic");
    assert_eq!(extracted["LicenseRef-Artistic"], "Artistic");
    assert_eq!(
        declared["libcom-err2"],
        "LicenseRef-GPL-2-plus AND BSD-3-Clause"
    );
    assert_eq!(extracted["LicenseRef-GPL-2-plus"], "GPL-2+");
    assert_eq!(declared["requests"], "LicenseRef-Apache-2.0");
    assert_eq!(extracted["LicenseRef-Apache-2.0"], "Apache 2.0");
    assert_eq!(
        declared["legacy"],
        "MIT AND LicenseRef-SEE-LICENSE-IN-LICENSE.txt"
    );
    assert_eq!(declared["old-crate"], "LicenseRef-MIT-Apache-2.0");
    assert_eq!(declared["dual"], "MIT OR Apache-2.0");
    assert_eq!(
        declared["regex"],
        "(MIT OR Apache-2.0) AND Unicode-DFS-2016"
    );
    assert_eq!(
        declared["com.example:with-exception"],
        "GPL-2.0-only WITH Classpath-exception-2.0"
    );
    assert_eq!(declared["zope.interface"], "NOASSERTION");
    assert_eq!(declared["stdlib"], "NOASSERTION");
    assert_eq!(extracted.len(), 5);

    // A directory: a FILE root package, no OS, no extracted licences.
    let doc = parse(&output::spdx(&dir_inventory(), VERSION, CREATED));
    assert_eq!(doc["packages"][0]["primaryPackagePurpose"], "FILE");
    assert_eq!(doc["packages"].as_array().unwrap().len(), 3);
    assert_eq!(doc["relationships"].as_array().unwrap().len(), 3);
    assert!(doc.get("hasExtractedLicensingInfos").is_none());
    assert!(
        doc["documentNamespace"]
            .as_str()
            .unwrap()
            .starts_with("https://palisade.dev/spdxdocs/my-project-")
    );
}

#[test]
fn native_json_and_table() {
    let inv = image_inventory();
    let doc = parse(&output::json(&inv, VERSION));
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(
        doc["tool"],
        json!({ "name": "palisade", "version": VERSION })
    );
    // The rest is the inventory itself.
    let mut obj = doc.as_object().unwrap().clone();
    obj.remove("schema_version");
    obj.remove("tool");
    let back: Inventory = serde_json::from_value(Value::Object(obj)).unwrap();
    assert_eq!(back, inv);

    let text = output::table(&inv);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Target:   registry.example.com/team/kitchen-sink:1.0"
    );
    assert_eq!(lines[3], "Distro:   Debian GNU/Linux 12 (bookworm)");
    assert_eq!(lines[4], "Layers:   6");
    for group in [
        "deb (4 packages)",
        "npm (3 packages)",
        "Maven (2 packages)",
        "PyPI (3 packages)",
        "Go (2 packages)",
    ] {
        assert!(lines.contains(&group), "{group}");
    }
    assert!(text.contains("/var/lib/dpkg/status +1"));
    assert_eq!(*lines.last().unwrap(), "Total: 16 packages in 6 ecosystems");
    assert!(
        output::table(&empty_inventory()).ends_with("No packages found.\n\nTotal: 0 packages\n")
    );
}
