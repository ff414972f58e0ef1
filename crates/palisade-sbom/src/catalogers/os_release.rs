//! `/etc/os-release` (and its fallbacks): which distribution and release this is. It yields
//! no packages; [`crate::Inventory`] asks for the distro through [`parse_os_release`] to
//! build package URLs and to let vulnerability matching pick the right advisories.

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Distro, Package};

pub struct OsRelease;

/// Files that name the release, best first.
pub const OS_RELEASE_FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/lsb-release",
    "etc/alpine-release",
    "etc/debian_version",
    "etc/redhat-release",
];

impl Cataloger for OsRelease {
    fn name(&self) -> &'static str {
        "os-release"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        OS_RELEASE_FILES.contains(&file.path)
    }

    fn catalog(&self, _file: &FileInfo<'_>, _content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        Ok(Vec::new())
    }
}

/// Reads a distribution from one of [`OS_RELEASE_FILES`]. `os-release` and `lsb-release`
/// are `KEY=value` files with optional quotes; the others hold a bare version.
pub fn parse_os_release(path: &str, content: &[u8]) -> Option<Distro> {
    let text = String::from_utf8_lossy(content);
    match path {
        "etc/alpine-release" => Some(Distro {
            id: "alpine".into(),
            version_id: text.trim().to_string(),
            ..Distro::default()
        }),
        "etc/debian_version" => Some(Distro {
            id: "debian".into(),
            // `12.5` → `12`: Debian advisories are keyed by major release.
            version_id: text.trim().split('.').next().unwrap_or("").to_string(),
            ..Distro::default()
        }),
        "etc/redhat-release" => {
            // "Rocky Linux release 9.3 (Blue Onyx)"
            let t = text.trim();
            let lower = t.to_ascii_lowercase();
            let id = ["rocky", "almalinux", "centos", "fedora", "red hat"]
                .iter()
                .find(|n| lower.starts_with(*n))
                .map(|n| if *n == "red hat" { "rhel" } else { n })?;
            let version = t.split(" release ").nth(1)?.split_whitespace().next()?;
            Some(Distro {
                id: id.to_string(),
                version_id: version.to_string(),
                pretty_name: Some(t.to_string()),
                ..Distro::default()
            })
        }
        _ => {
            let mut d = Distro::default();
            for line in text.lines() {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
                match k.trim() {
                    "ID" | "DISTRIB_ID" => d.id = v.to_ascii_lowercase(),
                    "VERSION_ID" | "DISTRIB_RELEASE" => d.version_id = v,
                    "VERSION_CODENAME" | "DISTRIB_CODENAME" => d.version_codename = Some(v),
                    "PRETTY_NAME" | "DISTRIB_DESCRIPTION" => d.pretty_name = Some(v),
                    "ID_LIKE" => d.id_like = v.split_whitespace().map(str::to_string).collect(),
                    _ => {}
                }
            }
            (!d.id.is_empty()).then_some(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_os_release_and_fallbacks() {
        let d = parse_os_release(
            "etc/os-release",
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        )
        .unwrap();
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("debian", "12"));
        assert_eq!(d.version_codename.as_deref(), Some("bookworm"));
        assert_eq!(
            parse_os_release("etc/alpine-release", b"3.19.1\n")
                .unwrap()
                .version_id,
            "3.19.1"
        );
        assert_eq!(
            parse_os_release("etc/debian_version", b"12.5\n")
                .unwrap()
                .version_id,
            "12"
        );
        let r = parse_os_release(
            "etc/redhat-release",
            b"Rocky Linux release 9.3 (Blue Onyx)\n",
        )
        .unwrap();
        assert_eq!((r.id.as_str(), r.version_id.as_str()), ("rocky", "9.3"));
        assert!(parse_os_release("etc/os-release", b"garbage").is_none());
    }
}
