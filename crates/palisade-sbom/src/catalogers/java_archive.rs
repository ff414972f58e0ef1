//! Java archives (`.jar`, `.war`, `.ear`, and Jenkins plugins `.jpi`/`.hpi`): the Maven
//! artifacts they contain, named `group:artifact`.
//!
//! Per archive:
//! - every `META-INF/maven/<group>/<artifact>/pom.properties` is one package (`groupId`,
//!   `artifactId`, `version`); shaded jars carry one per bundled artifact;
//! - the archive itself is identified from `META-INF/MANIFEST.MF` (main section): version
//!   from `Implementation-Version`, else `Bundle-Version`; artifact from
//!   `Implementation-Title` when it is an identifier (no spaces), else the file name
//!   (`commons-lang3-3.12.0.jar` → `commons-lang3`), else `Bundle-Name` (no spaces), else
//!   the last segment of `Bundle-SymbolicName`; group from `Implementation-Vendor-Id`, else
//!   `Bundle-SymbolicName` without its last segment (`com.fasterxml.jackson.core.jackson-
//!   databind` → `com.fasterxml.jackson.core`, as Trivy does); without a group the name is
//!   the artifact alone. Without pom.properties, the file name `name-1.2.3.jar` is the last
//!   resort for the version (split at the first `-` followed by a digit). With
//!   pom.properties, this identity is added only when the manifest has a version and no
//!   pom.properties has the same artifact or version (up to trailing `.0`): that keeps
//!   shaded jars such as Debian's `guice.jar`, whose only pom.properties is cglib's, from
//!   losing their own identity (Syft and Trivy add it too), without doubling the common
//!   case. An archive with no version anywhere gives no package of its own: Maven has no
//!   unversioned artifacts and a guess would only mislead matching;
//! - archives inside it (`WEB-INF/lib/*.jar`, `BOOT-INF/lib/*.jar`, modules of an `.ear`, …)
//!   are read the same way, down to 4 levels, with locations like
//!   `app/shop.war:WEB-INF/lib/guava-31.1-jre.jar`.
//!
//! Limits for the whole file, nested archives included: 512 MB decompressed and 100 000
//! entries; a metadata file over 1 MB is ignored. Past a limit, what was found so far is
//! kept and nothing more is read. A broken nested archive is skipped.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct JavaArchive;

const ARCHIVE_EXTENSIONS: &[&str] = &[".jar", ".war", ".ear", ".jpi", ".hpi"];

/// Hard limits on what one outer archive may make us read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nested archive levels below the outer one.
    pub max_depth: usize,
    /// Decompressed bytes, all levels together.
    pub max_bytes: u64,
    /// Zip entries, all levels together.
    pub max_entries: u64,
    /// Largest `pom.properties` or `MANIFEST.MF` read.
    pub max_metadata: u64,
}

pub const LIMITS: Limits = Limits {
    max_depth: 4,
    max_bytes: 512 << 20,
    max_entries: 100_000,
    max_metadata: 1 << 20,
};

fn is_archive_name(name: &str) -> bool {
    archive_extension(name).is_some()
}

/// The archive extension `name` ends with, in any case.
fn archive_extension(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    ARCHIVE_EXTENSIONS
        .iter()
        .find(|e| b.len() >= e.len() && b[b.len() - e.len()..].eq_ignore_ascii_case(e.as_bytes()))
        .copied()
}

impl Cataloger for JavaArchive {
    fn name(&self) -> &'static str {
        "java-archive"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        is_archive_name(file.file_name())
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        catalog_archive(content, file.path, self.name(), LIMITS)
    }
}

/// Reads an archive with the given limits; an outer archive that is not a zip is an error.
pub fn catalog_archive(
    content: &[u8],
    path: &str,
    cataloger: &str,
    limits: Limits,
) -> Result<Vec<Package>, CatalogError> {
    let mut walk = Walk {
        limits,
        bytes_left: limits.max_bytes,
        entries_left: limits.max_entries,
        out: Vec::new(),
        cataloger,
    };
    walk.archive(content, path, 0)?;
    Ok(walk.out)
}

struct Walk<'c> {
    limits: Limits,
    bytes_left: u64,
    entries_left: u64,
    out: Vec<Package>,
    cataloger: &'c str,
}

/// Maven coordinates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Gav {
    group: String,
    artifact: String,
    version: String,
}

impl Walk<'_> {
    /// Reads one entry, counting its bytes against the budget; None past `cap` or the budget.
    fn read_entry(
        &mut self,
        zip: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        cap: u64,
    ) -> Option<Vec<u8>> {
        let entry = zip.by_index(index).ok()?;
        if entry.encrypted() || entry.is_dir() {
            return None;
        }
        let limit = cap.min(self.bytes_left);
        let mut buf = Vec::new();
        let read = entry.take(limit.saturating_add(1)).read_to_end(&mut buf);
        self.bytes_left = self.bytes_left.saturating_sub(buf.len() as u64);
        if read.is_err() || buf.len() as u64 > limit {
            return None;
        }
        Some(buf)
    }

    fn archive(
        &mut self,
        content: &[u8],
        location: &str,
        depth: usize,
    ) -> Result<(), CatalogError> {
        let mut zip = ZipArchive::new(Cursor::new(content))
            .map_err(|e| CatalogError::new(format!("not a readable zip archive: {e}")))?;
        let entries = zip.len() as u64;
        if entries > self.entries_left {
            self.entries_left = 0;
            return Err(CatalogError::new(format!(
                "more than {} zip entries in the archive and the archives inside it",
                self.limits.max_entries
            )));
        }
        self.entries_left -= entries;

        let mut poms: Vec<Gav> = Vec::new();
        let mut manifest: Option<Manifest> = None;
        let mut nested: Vec<(usize, String)> = Vec::new();
        for i in 0..zip.len() {
            let Some(Ok(name)) = zip.name_for_index(i) else {
                continue;
            };
            let name = name.into_owned();
            if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
                if let Some(data) = self.read_entry(&mut zip, i, self.limits.max_metadata)
                    && let Some(gav) = parse_pom_properties(&String::from_utf8_lossy(&data))
                    && !poms.contains(&gav)
                {
                    poms.push(gav);
                }
            } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                if let Some(data) = self.read_entry(&mut zip, i, self.limits.max_metadata) {
                    manifest = Some(parse_manifest(&String::from_utf8_lossy(&data)));
                }
            } else if is_archive_name(&name) && !name.ends_with('/') {
                nested.push((i, name));
            }
        }

        // With pom.properties present, the archive's own identity needs a manifest version
        // (a file-name guess next to real coordinates is mostly noise), and is dropped when
        // a pom.properties already has its artifact or version.
        let file_name = location.rsplit([':', '/']).next().unwrap_or(location);
        if let Some(own) = identify(manifest.as_ref(), file_name, !poms.is_empty())
            && !poms
                .iter()
                .any(|p| p.artifact == own.artifact || same_version(&p.version, &own.version))
        {
            poms.push(own);
        }
        for gav in poms {
            let name = if gav.group.is_empty() {
                gav.artifact
            } else {
                format!("{}:{}", gav.group, gav.artifact)
            };
            let p = Package::new(
                Ecosystem::Maven,
                name,
                gav.version,
                location,
                self.cataloger,
            );
            if !self
                .out
                .iter()
                .any(|o| o.name == p.name && o.version == p.version && o.locations == p.locations)
            {
                self.out.push(p);
            }
        }

        if depth >= self.limits.max_depth {
            return Ok(());
        }
        for (i, name) in nested {
            if self.bytes_left == 0 || self.entries_left == 0 {
                break;
            }
            let Some(data) = self.read_entry(&mut zip, i, u64::MAX) else {
                continue;
            };
            // A broken inner archive does not spoil the outer one.
            let _ = self.archive(&data, &format!("{location}:{name}"), depth + 1);
        }
        Ok(())
    }
}

/// `groupId`, `artifactId` and `version` of a `pom.properties` (Java properties syntax).
fn parse_pom_properties(text: &str) -> Option<Gav> {
    let mut gav = Gav::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(sep) = line.find(['=', ':']) else {
            continue;
        };
        let key = line[..sep].trim();
        let value = line[sep + 1..].trim().to_string();
        match key {
            "groupId" => gav.group = value,
            "artifactId" => gav.artifact = value,
            "version" => gav.version = value,
            _ => {}
        }
    }
    (!gav.group.is_empty() && !gav.artifact.is_empty() && !gav.version.is_empty()).then_some(gav)
}

/// The attributes of a manifest's main section that identify the archive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Manifest {
    implementation_title: Option<String>,
    implementation_version: Option<String>,
    implementation_vendor_id: Option<String>,
    bundle_symbolic_name: Option<String>,
    bundle_name: Option<String>,
    bundle_version: Option<String>,
}

/// Reads the main section (up to the first empty line), joining continuation lines.
fn parse_manifest(text: &str) -> Manifest {
    let mut attrs: Vec<String> = Vec::new();
    for line in text
        .split(['\n'])
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
    {
        if line.is_empty() {
            break;
        }
        match (line.strip_prefix(' '), attrs.last_mut()) {
            (Some(cont), Some(last)) => last.push_str(cont),
            _ => attrs.push(line.to_string()),
        }
    }
    let mut m = Manifest::default();
    for a in attrs {
        let Some((key, value)) = a.split_once(':') else {
            continue;
        };
        let value = value.trim();
        // Unresolved build variables (`%bundle.name`, `${project.version}`) say nothing.
        if value.is_empty() || value.starts_with('%') || value.contains("${") {
            continue;
        }
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "implementation-title" => &mut m.implementation_title,
            "implementation-version" => &mut m.implementation_version,
            "implementation-vendor-id" => &mut m.implementation_vendor_id,
            "bundle-symbolicname" => &mut m.bundle_symbolic_name,
            "bundle-name" => &mut m.bundle_name,
            "bundle-version" => &mut m.bundle_version,
            _ => continue,
        };
        *slot = Some(value.to_string());
    }
    // `org.example.bundle;singleton:=true`
    if let Some(bsn) = &mut m.bundle_symbolic_name {
        *bsn = bsn.split(';').next().unwrap_or("").trim().to_string();
    }
    m
}

/// `commons-lang3-3.12.0.jar` → (`commons-lang3`, `3.12.0`): split at the first `-` that is
/// followed by a digit.
fn parse_file_name(file_name: &str) -> Option<(String, String)> {
    let ext = archive_extension(file_name)?;
    let stem = &file_name[..file_name.len() - ext.len()];
    let bytes = stem.as_bytes();
    let at = (1..bytes.len()).find(|&i| bytes[i - 1] == b'-' && bytes[i].is_ascii_digit())?;
    let (artifact, version) = (&stem[..at - 1], &stem[at..]);
    (!artifact.is_empty()).then(|| (artifact.to_string(), version.to_string()))
}

/// Versions equal up to trailing `.0` components (OSGi writes `1.26.0` for Maven's `1.26`).
fn same_version(a: &str, b: &str) -> bool {
    fn trim(mut v: &str) -> &str {
        while let Some(rest) = v.strip_suffix(".0") {
            v = rest;
        }
        v
    }
    trim(a) == trim(b)
}

/// Identifies an archive from its manifest and file name (the file name's version only
/// when `manifest_version_only` is false).
fn identify(
    manifest: Option<&Manifest>,
    file_name: &str,
    manifest_version_only: bool,
) -> Option<Gav> {
    let m = manifest.cloned().unwrap_or_default();
    let from_name = parse_file_name(file_name);
    let version = m
        .implementation_version
        .clone()
        .or_else(|| m.bundle_version.clone())
        .or_else(|| {
            from_name
                .as_ref()
                .filter(|_| !manifest_version_only)
                .map(|(_, v)| v.clone())
        })?;
    let bsn = m.bundle_symbolic_name.as_deref().filter(|s| !s.is_empty());
    let artifact = m
        .implementation_title
        .clone()
        .filter(|t| !t.chars().any(char::is_whitespace))
        .or_else(|| from_name.as_ref().map(|(a, _)| a.clone()))
        .or_else(|| {
            m.bundle_name
                .clone()
                .filter(|t| !t.chars().any(char::is_whitespace))
        })
        .or_else(|| bsn.map(|b| b.rsplit('.').next().unwrap_or(b).to_string()))?;
    let group = m
        .implementation_vendor_id
        .clone()
        .or_else(|| {
            bsn.and_then(|b| b.rsplit_once('.'))
                .map(|(g, _)| g.to_string())
        })
        .unwrap_or_default();
    Some(Gav {
        group,
        artifact,
        version,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::CompressionMethod;
    use zip::write::{SimpleFileOptions, ZipWriter};

    use super::*;

    /// A zip of (name, bytes) entries, deflated unless `stored`.
    fn zip_of(entries: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let method = if stored {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let opts = SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, opts).unwrap();
            } else {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn pom(group: &str, artifact: &str, version: &str) -> Vec<u8> {
        format!("#Generated by Maven\n#Tue Jan 01 00:00:00 UTC 2024\ngroupId={group}\nartifactId={artifact}\nversion={version}\n")
            .into_bytes()
    }

    fn run(bytes: &[u8], path: &str) -> Vec<(String, String, String)> {
        let file = FileInfo {
            path,
            size: bytes.len() as u64,
            mode: 0o644,
        };
        JavaArchive
            .catalog(&file, bytes)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.version, p.locations[0].path.clone()))
            .collect()
    }

    fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn one_package_per_pom_properties() {
        let jar = zip_of(
            &[
                ("META-INF/", b""),
                (
                    "META-INF/MANIFEST.MF",
                    b"Manifest-Version: 1.0\r\nImplementation-Title: ignored\r\n",
                ),
                (
                    "META-INF/maven/com.example/shaded/pom.properties",
                    &pom("com.example", "shaded", "1.0.0"),
                ),
                (
                    "META-INF/maven/com.google.guava/guava/pom.properties",
                    &pom("com.google.guava", "guava", "31.1-jre"),
                ),
                ("META-INF/maven/com.example/shaded/pom.xml", b"<project/>"),
                (
                    "META-INF/maven/broken/x/pom.properties",
                    b"groupId=broken\n",
                ),
                ("com/example/App.class", b"\xca\xfe\xba\xbe"),
            ],
            false,
        );
        assert_eq!(
            run(&jar, "app/shaded-1.0.0.jar"),
            vec![
                t("com.example:shaded", "1.0.0", "app/shaded-1.0.0.jar"),
                t("com.google.guava:guava", "31.1-jre", "app/shaded-1.0.0.jar"),
            ]
        );
        // Debian's guice.jar: only the shaded cglib has a pom.properties, so the jar's own
        // identity comes from the manifest as well.
        let mf = b"Manifest-Version: 1.0\nBundle-Name: guice\nBundle-SymbolicName: com.google.inject\nBundle-Version: 4.2.3\n";
        let jar = zip_of(
            &[
                ("META-INF/MANIFEST.MF", mf),
                (
                    "META-INF/maven/cglib/cglib/pom.properties",
                    &pom("cglib", "cglib", "3.2.12"),
                ),
            ],
            false,
        );
        assert_eq!(
            run(&jar, "usr/share/java/guice.jar"),
            vec![
                t("cglib:cglib", "3.2.12", "usr/share/java/guice.jar"),
                t("com.google:guice", "4.2.3", "usr/share/java/guice.jar"),
            ]
        );
        // The manifest's 1.26.0 is the pom's 1.26: no second package. A file-name version
        // alone does not add one either.
        let mf =
            b"Bundle-SymbolicName: org.codehaus.plexus.interpolation\nBundle-Version: 1.26.0\n";
        let pom_entry = "META-INF/maven/org.codehaus.plexus/plexus-interpolation/pom.properties";
        let pom_bytes = pom("org.codehaus.plexus", "plexus-interpolation", "1.26");
        let jar = zip_of(
            &[("META-INF/MANIFEST.MF", mf), (pom_entry, &pom_bytes)],
            false,
        );
        let only = vec![t(
            "org.codehaus.plexus:plexus-interpolation",
            "1.26",
            "p.jar",
        )];
        assert_eq!(run(&jar, "p.jar"), only);
        let jar = zip_of(&[(pom_entry, &pom_bytes)], false);
        let name = "geronimo-interceptor-3.0-spec-1.0.1.jar";
        assert_eq!(
            run(&jar, name),
            vec![t("org.codehaus.plexus:plexus-interpolation", "1.26", name)]
        );
    }

    #[test]
    fn manifest_then_file_name() {
        // OSGi-style manifest with a folded line and a directive on the symbolic name.
        let mf = b"Manifest-Version: 1.0\nBundle-SymbolicName: com.fasterxml.jackson.core.jackson-\n databind;singleton:=true\nBundle-Version: 2.15.2\nImplementation-Title: Jackson-core\n\nName: com/x/\nImplementation-Version: 9.9.9\n";
        let jar = zip_of(&[("META-INF/MANIFEST.MF", mf)], false);
        assert_eq!(
            run(&jar, "lib/x.jar"),
            vec![t(
                "com.fasterxml.jackson.core:Jackson-core",
                "2.15.2",
                "lib/x.jar"
            )]
        );
        // Title with spaces: the file name gives the artifact; Vendor-Id the group.
        let mf = b"Implementation-Title: Apache Commons Lang\nImplementation-Version: 3.12.0\nImplementation-Vendor-Id: org.apache.commons\n";
        let jar = zip_of(&[("META-INF/MANIFEST.MF", mf)], false);
        assert_eq!(
            run(&jar, "lib/commons-lang3-3.12.0.jar"),
            vec![t(
                "org.apache.commons:commons-lang3",
                "3.12.0",
                "lib/commons-lang3-3.12.0.jar"
            )]
        );
        // No group anywhere: the artifact alone.
        let mf = b"Implementation-Title: kotlin-stdlib\nImplementation-Version: 1.9.0\nImplementation-Vendor: JetBrains\n";
        let jar = zip_of(&[("META-INF/MANIFEST.MF", mf)], false);
        assert_eq!(
            run(&jar, "k.jar"),
            vec![t("kotlin-stdlib", "1.9.0", "k.jar")]
        );
        // Unresolved variables are ignored; the file name is the last resort.
        let mf = b"Implementation-Version: ${project.version}\nBundle-Version: %version\n";
        let jar = zip_of(&[("META-INF/MANIFEST.MF", mf)], false);
        assert_eq!(
            run(&jar, "lib/spring-core-5.3.4-SNAPSHOT.jar"),
            vec![t(
                "spring-core",
                "5.3.4-SNAPSHOT",
                "lib/spring-core-5.3.4-SNAPSHOT.jar"
            )]
        );
        // Nothing at all: no package.
        let jar = zip_of(&[("a.txt", b"x")], false);
        assert!(run(&jar, "lib/app.jar").is_empty());
    }

    #[test]
    fn nested_archives_with_locations() {
        let inner_lib = zip_of(
            &[(
                "META-INF/maven/org.slf4j/slf4j-api/pom.properties",
                &pom("org.slf4j", "slf4j-api", "2.0.9"),
            )],
            true,
        );
        let no_meta = zip_of(&[("x/Y.class", b"..")], false);
        let war = zip_of(
            &[
                (
                    "META-INF/maven/com.acme/shop/pom.properties",
                    &pom("com.acme", "shop", "1.2.0"),
                ),
                ("WEB-INF/lib/slf4j-api-2.0.9.jar", &inner_lib),
                ("WEB-INF/lib/legacy-util-0.9.jar", &no_meta),
                ("WEB-INF/lib/broken.jar", b"not a zip"),
            ],
            false,
        );
        let ear = zip_of(&[("shop.war", &war), ("lib/", b"")], true);
        assert_eq!(
            run(&ear, "opt/app.ear"),
            vec![
                t("com.acme:shop", "1.2.0", "opt/app.ear:shop.war"),
                t(
                    "org.slf4j:slf4j-api",
                    "2.0.9",
                    "opt/app.ear:shop.war:WEB-INF/lib/slf4j-api-2.0.9.jar"
                ),
                t(
                    "legacy-util",
                    "0.9",
                    "opt/app.ear:shop.war:WEB-INF/lib/legacy-util-0.9.jar"
                ),
            ]
        );
    }

    #[test]
    fn limits_hold() {
        // Depth: six levels of nesting, only the outer one plus four below are read.
        let mut jar = zip_of(
            &[(
                "META-INF/maven/g/level6/pom.properties",
                &pom("g", "level6", "1"),
            )],
            true,
        );
        for level in (0..6).rev() {
            let name = format!("META-INF/maven/g/level{level}/pom.properties");
            jar = zip_of(
                &[
                    (name.as_str(), &pom("g", &format!("level{level}"), "1")),
                    ("lib/inner.jar", &jar),
                ],
                true,
            );
        }
        let got = run(&jar, "a.jar");
        let names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec!["g:level0", "g:level1", "g:level2", "g:level3", "g:level4"]
        );

        // Decompressed bytes: a 2 MB inner jar (highly compressible) over a 1 MB budget is
        // not opened, but the outer archive's own package is kept.
        let big = zip_of(
            &[
                ("META-INF/maven/g/big/pom.properties", &pom("g", "big", "1")),
                ("pad.bin", &vec![0u8; 2 << 20]),
            ],
            true,
        );
        let outer = zip_of(
            &[
                (
                    "META-INF/maven/g/outer/pom.properties",
                    &pom("g", "outer", "1"),
                ),
                ("lib/big.jar", &big),
            ],
            false,
        );
        let limits = Limits {
            max_bytes: 1 << 20,
            ..LIMITS
        };
        let pkgs = catalog_archive(&outer, "o.jar", "java-archive", limits).unwrap();
        assert_eq!(
            pkgs.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["g:outer"]
        );

        // Entries.
        let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("f{i}"), Vec::new())).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let jar = zip_of(&refs, true);
        let limits = Limits {
            max_entries: 10,
            ..LIMITS
        };
        assert!(catalog_archive(&jar, "m.jar", "java-archive", limits).is_err());

        // Metadata files over the cap are ignored.
        let mut huge = pom("g", "huge", "1");
        huge.extend(std::iter::repeat_n(b'#', 2 << 20));
        let jar = zip_of(&[("META-INF/maven/g/huge/pom.properties", &huge)], false);
        assert!(run(&jar, "h.jar").is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let file = FileInfo {
            path: "x.jar",
            size: 0,
            mode: 0,
        };
        assert!(JavaArchive.catalog(&file, b"").is_err());
        assert!(JavaArchive.catalog(&file, b"PK\x03\x04garbage").is_err());
        let jar = zip_of(
            &[("META-INF/maven/g/a/pom.properties", &pom("g", "a", "1"))],
            false,
        );
        for cut in [10, jar.len() / 2, jar.len() - 10] {
            let _ = JavaArchive.catalog(&file, &jar[..cut]);
        }
        // Flip bytes inside the deflated data: reading fails or yields junk, never panics.
        let mut bad = jar.clone();
        for b in bad.iter_mut().skip(40).take(20) {
            *b ^= 0x5a;
        }
        let _ = JavaArchive.catalog(&file, &bad);
    }

    #[test]
    fn file_names_and_wants() {
        assert_eq!(
            parse_file_name("guava-31.1-jre.jar"),
            Some(("guava".into(), "31.1-jre".into()))
        );
        assert_eq!(
            parse_file_name("netty-codec-http2-4.1.94.Final.jar"),
            Some(("netty-codec-http2".into(), "4.1.94.Final".into()))
        );
        assert_eq!(parse_file_name("app.jar"), None);
        assert_eq!(parse_file_name("-1.0.jar"), None);
        assert_eq!(parse_file_name("foo-bar.war"), None);
        assert!(JavaArchive.wants(&FileInfo {
            path: "opt/jenkins/plugins/git.JPI",
            size: 1,
            mode: 0
        }));
        assert!(JavaArchive.wants(&FileInfo {
            path: "app/a.hpi",
            size: 1,
            mode: 0
        }));
        assert!(!JavaArchive.wants(&FileInfo {
            path: "app/a.zip",
            size: 1,
            mode: 0
        }));
        assert!(JavaArchive.applies_to(TargetKind::Image));
    }
}
