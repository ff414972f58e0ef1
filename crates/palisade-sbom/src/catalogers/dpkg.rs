//! dpkg's database of installed packages (Debian, Ubuntu and their derivatives).
//!
//! Two layouts:
//! - `var/lib/dpkg/status`: every package dpkg knows, one deb822 stanza each, with a
//!   `Status: <want> <error-flag> <state>` field; only packages whose state is `installed`
//!   count (`deinstall ok config-files`, `purge ok not-installed`, `install ok
//!   half-installed`… are leftovers or broken installs).
//! - `var/lib/dpkg/status.d/<name>`: distroless images write one file per package holding
//!   the package's control stanza, usually without a `Status` field (it is installed by
//!   construction); the `*.md5sums` files beside them are file checksums, not stanzas.
//!
//! The status file does not carry licences (they live in `usr/share/doc/<pkg>/copyright`,
//! a separate file that this per-file cataloger cannot join to the package), so packages
//! come without licences.

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package, SourcePackage};

pub struct Dpkg;

const STATUS_FILE: &str = "var/lib/dpkg/status";
const STATUS_DIR: &str = "var/lib/dpkg/status.d/";

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        if file.path == STATUS_FILE {
            return true;
        }
        match file.path.strip_prefix(STATUS_DIR) {
            Some(name) => !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums"),
            None => false,
        }
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = String::from_utf8_lossy(content);
        let mut packages = Vec::new();
        let mut first_error: Option<CatalogError> = None;
        for stanza in stanzas(&text) {
            match package_of(&stanza, file.path, self.name()) {
                Ok(Some(p)) => packages.push(p),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // A damaged stanza is skipped; the file only counts as broken when nothing in it
        // could be read.
        match first_error {
            Some(e) if packages.is_empty() => Err(e),
            _ => Ok(packages),
        }
    }
}

/// The fields of one stanza that matter here, borrowed from the file's text.
#[derive(Default)]
struct Stanza<'a> {
    /// 1-based line of the stanza's first field.
    line: u32,
    package: Option<&'a str>,
    status: Option<&'a str>,
    version: Option<&'a str>,
    architecture: Option<&'a str>,
    source: Option<&'a str>,
    /// The first syntax problem met in the stanza.
    error: Option<CatalogError>,
}

/// Splits deb822 text into stanzas: blank (or whitespace-only) lines separate them, a line
/// starting with a space or tab continues the previous field, every other line is
/// `Field: value`. Field names are case-insensitive; the first occurrence wins.
fn stanzas(text: &str) -> Vec<Stanza<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Stanza<'_>> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(s) = current.take() {
                out.push(s);
            }
            continue;
        }
        let s = current.get_or_insert_with(|| Stanza {
            line: line_no,
            ..Stanza::default()
        });
        if line.starts_with(' ') || line.starts_with('\t') {
            // Continuation of a multi-line field (Description, Conffiles…): none of the
            // fields read here spans lines, so it is skipped, but a stanza cannot start
            // with one.
            if s.line == line_no && s.error.is_none() {
                s.error = Some(CatalogError::at_line(
                    line_no,
                    "continuation line outside a field",
                ));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            if s.error.is_none() {
                s.error = Some(CatalogError::at_line(line_no, "expected `Field: value`"));
            }
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            if s.error.is_none() {
                s.error = Some(CatalogError::at_line(
                    line_no,
                    format!("invalid field name {key:?}"),
                ));
            }
            continue;
        }
        let value = value.trim();
        let slot = if key.eq_ignore_ascii_case("Package") {
            &mut s.package
        } else if key.eq_ignore_ascii_case("Status") {
            &mut s.status
        } else if key.eq_ignore_ascii_case("Version") {
            &mut s.version
        } else if key.eq_ignore_ascii_case("Architecture") {
            &mut s.architecture
        } else if key.eq_ignore_ascii_case("Source") {
            &mut s.source
        } else {
            continue;
        };
        slot.get_or_insert(value);
    }
    if let Some(s) = current.take() {
        out.push(s);
    }
    out
}

/// Is a `Status` value that of an installed package? The want flag must be `install` or
/// `hold` (a held package is installed and pinned) and the state `installed`. A stanza
/// without `Status` (distroless `status.d` files) is installed by construction.
fn is_installed(status: Option<&str>) -> bool {
    let Some(status) = status else { return true };
    let words: Vec<&str> = status.split_whitespace().collect();
    matches!(words.as_slice(), [want, _, "installed"] if matches!(*want, "install" | "hold"))
}

/// `glibc` or `util-linux (2.38.1-5+deb12u3)` → name and optional version.
fn parse_source(source: &str) -> Option<(&str, Option<&str>)> {
    let (name, version) = match source.split_once('(') {
        Some((name, rest)) => {
            let version = rest.split(')').next().unwrap_or("").trim();
            (name.trim(), (!version.is_empty()).then_some(version))
        }
        None => (source.trim(), None),
    };
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some((name, version))
}

fn package_of(
    s: &Stanza<'_>,
    path: &str,
    cataloger: &str,
) -> Result<Option<Package>, CatalogError> {
    if let Some(e) = &s.error {
        return Err(e.clone());
    }
    if !is_installed(s.status) {
        return Ok(None);
    }
    let name = match s.package {
        Some(n) if !n.is_empty() => n,
        _ => {
            return Err(CatalogError::at_line(
                s.line,
                "stanza without a Package field",
            ));
        }
    };
    // dpkg cannot install a package without a version, so an installed stanza without
    // one is a damaged record rather than an unversioned package.
    let version = match s.version {
        Some(v) if !v.is_empty() => v,
        _ => {
            return Err(CatalogError::at_line(
                s.line,
                format!("package {name:?} has no Version field"),
            ));
        }
    };
    let mut p = Package::new(Ecosystem::Deb, name, version, path, cataloger);
    p.arch = s.architecture.filter(|a| !a.is_empty()).map(str::to_string);
    if let Some((src_name, src_version)) = s.source.and_then(parse_source) {
        p.source = Some(SourcePackage {
            name: src_name.to_string(),
            version: src_version.filter(|v| *v != version).map(str::to_string),
        });
    }
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    fn run(path: &str, text: &str) -> Result<Vec<Package>, CatalogError> {
        Dpkg.catalog(&info(path), text.as_bytes())
    }

    const STATUS: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 13001
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u14
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
 .
 Package: not-a-package
Homepage: https://www.gnu.org/software/libc/libc.html

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5+deb12u3)
Version: 1:2.38.1-5+deb12u3
Conffiles:
 /etc/x 0123456789abcdef
Description: basic utilities from 4.4BSD-Lite

Package: age
Status: install ok installed
Architecture: amd64
Source: age (1.1.1-1)
Version: 1.1.1-1+b3

Package: old-thing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: gone
Status: purge ok not-installed
Architecture: amd64

Package: broken-install
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0

Package: pinned
Status: hold ok installed
Architecture: all
Source: pinned (3.0)
Version: 3.0
";

    #[test]
    fn reads_installed_packages_only() {
        let pkgs = run(STATUS_FILE, STATUS).unwrap();
        let got: Vec<(&str, &str)> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("libc6", "2.36-9+deb12u14"),
                ("bsdutils", "1:2.38.1-5+deb12u3"),
                ("age", "1.1.1-1+b3"),
                ("pinned", "3.0"),
            ]
        );
        let libc = &pkgs[0];
        assert_eq!(libc.ecosystem, Ecosystem::Deb);
        assert_eq!(libc.arch.as_deref(), Some("amd64"));
        assert_eq!(
            libc.source,
            Some(SourcePackage {
                name: "glibc".into(),
                version: None
            })
        );
        assert_eq!(libc.found_by, "dpkg");
        assert_eq!(libc.locations[0].path, STATUS_FILE);
        assert!(libc.licenses.is_empty());
        assert_eq!(
            pkgs[1].source,
            Some(SourcePackage {
                name: "util-linux".into(),
                version: Some("2.38.1-5+deb12u3".into())
            })
        );
        assert_eq!(
            pkgs[2].source.as_ref().unwrap().version.as_deref(),
            Some("1.1.1-1")
        );
        // Source version equal to the binary version is not repeated.
        assert_eq!(
            pkgs[3].source,
            Some(SourcePackage {
                name: "pinned".into(),
                version: None
            })
        );
        assert_eq!(pkgs[3].arch.as_deref(), Some("all"));
    }

    #[test]
    fn crlf_whitespace_separators_and_no_trailing_newline() {
        let text = "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n  \r\nPackage: b\r\nStatus: install ok installed\r\nVersion: 2\r\nArchitecture: arm64";
        let pkgs = run(STATUS_FILE, text).unwrap();
        assert_eq!(pkgs.len(), 2);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("a", "1")
        );
        assert_eq!(pkgs[0].arch, None);
        assert_eq!(pkgs[1].arch.as_deref(), Some("arm64"));
    }

    #[test]
    fn field_names_are_case_insensitive_and_first_wins() {
        let pkgs = run(
            STATUS_FILE,
            "package: a\nSTATUS: install ok installed\nversion: 1\nVersion: 2\n",
        )
        .unwrap();
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("a", "1")
        );
    }

    #[test]
    fn damaged_stanzas_are_skipped_and_the_rest_kept() {
        let text = "\
Package: no-version
Status: install ok installed

Status: install ok installed
Version: 1

Package: garbage
this line has no colon
Version: 1

Package: good
Status: install ok installed
Version: 1.0
";
        let pkgs = run(STATUS_FILE, text).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "good");
    }

    #[test]
    fn nothing_readable_is_an_error_with_a_line() {
        let e = run(
            STATUS_FILE,
            "\n\nPackage: x\nStatus: install ok installed\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = run(STATUS_FILE, " leading continuation\nPackage: x\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = run(STATUS_FILE, "hello\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        // Empty and all-removed files are fine and empty.
        assert!(run(STATUS_FILE, "").unwrap().is_empty());
        assert!(
            run(
                STATUS_FILE,
                "Package: x\nStatus: deinstall ok config-files\nVersion: 1\n"
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn binary_input_does_not_panic() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let _ = Dpkg.catalog(&info(STATUS_FILE), &bytes);
        let _ = Dpkg.catalog(&info(STATUS_FILE), b"Package: \xff\xfe\nVersion: 1\n");
        let _ = Dpkg.catalog(&info(STATUS_FILE), b"Package: a\nSource: (\nVersion: 1\n");
        let _ = Dpkg.catalog(
            &info(STATUS_FILE),
            b"Package: a\nSource: x (1\nVersion: 1\n",
        );
    }

    #[test]
    fn distroless_status_d() {
        // Distroless writes the control stanza without a Status field.
        let text = "\
Package: libssl3
Source: openssl
Version: 3.0.11-1~deb12u2
Architecture: amd64
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Installed-Size: 6293
Depends: libc6 (>= 2.34)
Section: libs
Priority: optional
Multi-Arch: same
Homepage: https://www.openssl.org/
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation of the SSL
 and TLS cryptographic protocols for secure communication over the
 Internet.
";
        let pkgs = run("var/lib/dpkg/status.d/libssl3", text).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "libssl3");
        assert_eq!(pkgs[0].version, "3.0.11-1~deb12u2");
        assert_eq!(pkgs[0].source.as_ref().unwrap().name, "openssl");
        assert_eq!(pkgs[0].locations[0].path, "var/lib/dpkg/status.d/libssl3");
    }

    #[test]
    fn wants_status_and_status_d_entries() {
        for (path, want) in [
            ("var/lib/dpkg/status", true),
            ("var/lib/dpkg/status.d/base", true),
            ("var/lib/dpkg/status.d/libssl3.md5sums", false),
            ("var/lib/dpkg/status.d/", false),
            ("var/lib/dpkg/status.d/sub/x", false),
            ("var/lib/dpkg/status-old", false),
            ("var/lib/dpkg/available", false),
            ("usr/var/lib/dpkg/status", false),
        ] {
            assert_eq!(Dpkg.wants(&info(path)), want, "{path}");
        }
    }

    #[test]
    fn parses_source_field() {
        assert_eq!(parse_source("glibc"), Some(("glibc", None)));
        assert_eq!(
            parse_source("libcap2 (1:2.66-4+deb12u3)"),
            Some(("libcap2", Some("1:2.66-4+deb12u3")))
        );
        assert_eq!(parse_source(" ( 1 )"), None);
        assert_eq!(parse_source("x ()"), Some(("x", None)));
    }
}
