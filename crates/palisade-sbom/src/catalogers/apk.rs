//! apk's database of installed packages (Alpine, Wolfi, Chainguard images…):
//! `lib/apk/db/installed` (apk-tools 3 also knows it as `usr/lib/apk/db/installed`).
//!
//! The format is apk-tools' "installed database": one record per package, records
//! separated by a blank line, each line `K:value` with a one-letter key. The keys read
//! here: `P` name, `V` version (`1.2.4_git20230717-r4`), `A` architecture, `L` licence as
//! the APKBUILD declares it, `o` origin (the APKBUILD the package was built from, which
//! Alpine's secdb keys advisories by). Everything else (`C` checksum, `T` description,
//! `D` dependencies, `F`/`R`/`a`/`Z` file lists…) is skipped.

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package, SourcePackage};

pub struct Apk;

const DB_FILES: &[&str] = &["lib/apk/db/installed", "usr/lib/apk/db/installed"];

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        DB_FILES.contains(&file.path)
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = String::from_utf8_lossy(content);
        let mut packages = Vec::new();
        let mut first_error: Option<CatalogError> = None;
        for record in records(&text) {
            match package_of(&record, file.path, self.name()) {
                Ok(p) => packages.push(p),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // A damaged record is skipped; the file only counts as broken when nothing in it
        // could be read.
        match first_error {
            Some(e) if packages.is_empty() => Err(e),
            _ => Ok(packages),
        }
    }
}

/// The fields of one record that matter here, borrowed from the file's text.
#[derive(Default)]
struct Record<'a> {
    /// 1-based line of the record's first line.
    line: u32,
    name: Option<&'a str>,
    version: Option<&'a str>,
    arch: Option<&'a str>,
    license: Option<&'a str>,
    origin: Option<&'a str>,
    error: Option<CatalogError>,
}

fn records(text: &str) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Record<'_>> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(r) = current.take() {
                out.push(r);
            }
            continue;
        }
        let r = current.get_or_insert_with(|| Record {
            line: line_no,
            ..Record::default()
        });
        let mut chars = line.chars();
        let (Some(key), Some(':')) = (chars.next(), chars.next()) else {
            if r.error.is_none() {
                r.error = Some(CatalogError::at_line(line_no, "expected a `K:value` line"));
            }
            continue;
        };
        let value = chars.as_str().trim();
        let slot = match key {
            'P' => &mut r.name,
            'V' => &mut r.version,
            'A' => &mut r.arch,
            'L' => &mut r.license,
            'o' => &mut r.origin,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    if let Some(r) = current.take() {
        out.push(r);
    }
    out
}

fn package_of(r: &Record<'_>, path: &str, cataloger: &str) -> Result<Package, CatalogError> {
    if let Some(e) = &r.error {
        return Err(e.clone());
    }
    let name = match r.name {
        Some(n) if !n.is_empty() => n,
        _ => {
            return Err(CatalogError::at_line(
                r.line,
                "record without a package name (P:)",
            ));
        }
    };
    // apk cannot install a package without a version: a record without one is damaged.
    let version = match r.version {
        Some(v) if !v.is_empty() => v,
        _ => {
            return Err(CatalogError::at_line(
                r.line,
                format!("package {name:?} has no version (V:)"),
            ));
        }
    };
    let mut p = Package::new(Ecosystem::Apk, name, version, path, cataloger);
    p.arch = r.arch.filter(|a| !a.is_empty()).map(str::to_string);
    if let Some(l) = r.license.filter(|l| !l.is_empty()) {
        p.licenses.push(l.to_string());
    }
    // Subpackages share their origin's version, so the source has no version of its own.
    if let Some(o) = r.origin.filter(|o| !o.is_empty()) {
        p.source = Some(SourcePackage {
            name: o.to_string(),
            version: None,
        });
    }
    Ok(p)
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

    fn run(text: &str) -> Result<Vec<Package>, CatalogError> {
        Apk.catalog(&info("lib/apk/db/installed"), text.as_bytes())
    }

    /// Shaped like an Alpine 3.19 database: three records with the usual keys and file
    /// lists, the last one without a trailing newline.
    const INSTALLED: &str = "\
C:Q1qKcZ+j23xssAXmgQhkOO8dHnbWw=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407278
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1704401346
c:ba71a1ac7e01bc4e3be24a4b36c1d0c5bd5b9ff6
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1yFKqMmHMQFAqTYXxT1cXdDEhW9E=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

C:Q1LuJEllez2Zs1pyoAuKJr442A6fA=
P:musl-utils
V:1.2.4_git20230717-r4
A:x86_64
S:36938
I:135168
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT AND BSD-2-Clause AND GPL-2.0-or-later
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1704401346
c:ba71a1ac7e01bc4e3be24a4b36c1d0c5bd5b9ff6
D:scanelf so:libc.musl-x86_64.so.1
p:cmd:getconf=1.2.4_git20230717-r4 cmd:getent=1.2.4_git20230717-r4 cmd:iconv=1.2.4_git20230717-r4 cmd:ldconfig=1.2.4_git20230717-r4 cmd:ldd=1.2.4_git20230717-r4
r:libiconv
F:sbin
R:ldconfig
a:0:0:755
Z:Q1H3Z7Z0aISleySzKCVaT5UgUffe4=
F:usr
F:usr/bin
R:getconf
a:0:0:755
Z:Q1IED+3dk2mMGIY1Spam1nrzy6k1M=

C:Q1r8kG/jUDlBnGbO0mIzVx/OdOOOA=
P:ca-certificates-bundle
V:20230506-r0
A:x86_64
S:126538
I:229376
T:Pre generated bundle of Mozilla certificates
U:https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/
L:MPL-2.0 AND MIT
o:ca-certificates
m:Natanael Copa <ncopa@alpinelinux.org>
t:1683482722
c:59ac5e2a5ea5c3ff4ba8a6b7fcb3bd6fce6d32d3
r:ca-certificates-cacert
p:ca-certificates-cacert=20230506-r0
F:etc
F:etc/ssl
R:cert.pem
a:0:0:777
Z:Q1Nj6gTBdkZpTFW/obJGdpfvK0StA=
F:etc/ssl/certs
R:ca-certificates.crt
Z:Q1Zj3ZTmaiwfMR8QV9D/4dLSAiAVg=";

    #[test]
    fn reads_installed_database() {
        let pkgs = run(INSTALLED).unwrap();
        let got: Vec<(&str, &str)> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("musl", "1.2.4_git20230717-r4"),
                ("musl-utils", "1.2.4_git20230717-r4"),
                ("ca-certificates-bundle", "20230506-r0"),
            ]
        );
        let utils = &pkgs[1];
        assert_eq!(utils.ecosystem, Ecosystem::Apk);
        assert_eq!(utils.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            utils.licenses,
            ["MIT AND BSD-2-Clause AND GPL-2.0-or-later"]
        );
        assert_eq!(
            utils.source,
            Some(SourcePackage {
                name: "musl".into(),
                version: None
            })
        );
        assert_eq!(utils.found_by, "apk");
        assert_eq!(utils.locations[0].path, "lib/apk/db/installed");
        assert_eq!(pkgs[2].source.as_ref().unwrap().name, "ca-certificates");
        assert_eq!(pkgs[2].licenses, ["MPL-2.0 AND MIT"]);
    }

    #[test]
    fn crlf_and_missing_optional_fields() {
        let pkgs = run("P:a\r\nV:1-r0\r\n\r\n\r\nP:b\r\nV:2-r1\r\nA:aarch64\r\n").unwrap();
        assert_eq!(pkgs.len(), 2);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].version.as_str()),
            ("a", "1-r0")
        );
        assert!(pkgs[0].arch.is_none() && pkgs[0].source.is_none() && pkgs[0].licenses.is_empty());
        assert_eq!(pkgs[1].arch.as_deref(), Some("aarch64"));
    }

    #[test]
    fn damaged_records_are_skipped_and_the_rest_kept() {
        let text = "P:no-version\nA:x86_64\n\nV:1.0-r0\n\nP:garbage\nV:1\nthis is not a key line\n\nP:good\nV:1.0-r0\n";
        let pkgs = run(text).unwrap();
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "good");
    }

    #[test]
    fn nothing_readable_is_an_error_with_a_line() {
        assert_eq!(run("\nP:x\nA:x86_64\n").unwrap_err().line, Some(2));
        assert_eq!(run("hello world\n").unwrap_err().line, Some(1));
        assert!(run("").unwrap().is_empty());
    }

    #[test]
    fn binary_input_does_not_panic() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let _ = Apk.catalog(&info("lib/apk/db/installed"), &bytes);
        let _ = Apk.catalog(&info("lib/apk/db/installed"), b"P:\xff\nV:\xc3\n\xc3:\n");
    }

    #[test]
    fn wants_the_installed_database() {
        assert!(Apk.wants(&info("lib/apk/db/installed")));
        assert!(Apk.wants(&info("usr/lib/apk/db/installed")));
        assert!(!Apk.wants(&info("lib/apk/db/triggers")));
        assert!(!Apk.wants(&info("lib/apk/db/installed.old")));
    }
}
