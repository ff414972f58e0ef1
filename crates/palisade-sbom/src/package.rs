//! What an inventory is made of: packages, where they were found, and package URLs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The package ecosystem, named as OSV names it where OSV has a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ecosystem {
    /// dpkg packages (Debian, Ubuntu, …).
    #[serde(rename = "deb")]
    Deb,
    /// apk packages (Alpine, Wolfi, …).
    #[serde(rename = "apk")]
    Apk,
    /// rpm packages (Fedora, RHEL, Rocky, AlmaLinux, …).
    #[serde(rename = "rpm")]
    Rpm,
    #[serde(rename = "PyPI")]
    PyPI,
    #[serde(rename = "npm")]
    Npm,
    #[serde(rename = "crates.io")]
    CratesIo,
    /// Go modules, and the Go standard library as the package `stdlib`.
    #[serde(rename = "Go")]
    Go,
    #[serde(rename = "Maven")]
    Maven,
    #[serde(rename = "Packagist")]
    Packagist,
    #[serde(rename = "RubyGems")]
    RubyGems,
    #[serde(rename = "NuGet")]
    NuGet,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 11] = [
        Ecosystem::Deb,
        Ecosystem::Apk,
        Ecosystem::Rpm,
        Ecosystem::PyPI,
        Ecosystem::Npm,
        Ecosystem::CratesIo,
        Ecosystem::Go,
        Ecosystem::Maven,
        Ecosystem::Packagist,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
    ];

    /// The name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Go => "Go",
            Ecosystem::Maven => "Maven",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
        }
    }

    /// The package-url type (https://github.com/package-url/purl-spec).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Go => "golang",
            Ecosystem::Maven => "maven",
            Ecosystem::Packagist => "composer",
            Ecosystem::RubyGems => "gem",
            Ecosystem::NuGet => "nuget",
        }
    }

    /// Is this an operating-system package manager (as opposed to a language ecosystem)?
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

pub use palisade_core::LayerRef;

/// Where a package was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackageLocation {
    /// Path inside the target, with a leading `/` for images and root filesystems, relative
    /// for project directories.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub layer: Option<LayerRef>,
}

/// The source package a binary package was built from (Debian and rpm advisories are keyed
/// by source package).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourcePackage {
    pub name: String,
    /// Source version when it differs from the binary package's version.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
}

/// One package of an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Name as the ecosystem writes it: `libssl3`, `Jinja2`, `@babel/core`,
    /// `org.apache.logging.log4j:log4j-core` (Maven as group:artifact), `golang.org/x/net`.
    pub name: String,
    /// Version as the ecosystem writes it, with the epoch for deb (`1:2.3-4`) and rpm
    /// (`1:2.3-4.fc39`) when there is one.
    pub version: String,
    pub ecosystem: Ecosystem,
    /// Package URL; filled in by [`crate::finalize`] once the distribution is known.
    #[serde(default)]
    pub purl: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<SourcePackage>,
    /// Declared licences, as written (SPDX expressions where the package gives one).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub licenses: Vec<String>,
    /// CPU architecture for OS packages (`amd64`, `x86_64`, `noarch`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arch: Option<String>,
    /// Every place the package was found (the same package from a lockfile and an
    /// installed copy is one package with two locations).
    pub locations: Vec<PackageLocation>,
    /// The cataloger that found it first.
    pub found_by: String,
}

impl Package {
    /// A package found at `path` by `cataloger`, with no source, licence or architecture.
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
        path: &str,
        cataloger: &str,
    ) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            ecosystem,
            purl: String::new(),
            source: None,
            licenses: Vec::new(),
            arch: None,
            locations: vec![PackageLocation {
                path: path.to_string(),
                layer: None,
            }],
            found_by: cataloger.to_string(),
        }
    }
}

/// The operating system release of an image or root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Distro {
    /// `ID` from os-release: `debian`, `ubuntu`, `alpine`, `fedora`, `rhel`, `rocky`, …
    pub id: String,
    /// `VERSION_ID`: `12`, `22.04`, `3.19.1`, `39`.
    pub version_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version_codename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pretty_name: Option<String>,
    /// `ID_LIKE` entries.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub id_like: Vec<String>,
}

/// Percent-encodes a purl component (name, version, qualifier value) as the purl spec
/// requires: everything but unreserved characters; `@` `/` `?` `#` `%` `+` `:` always.
pub fn purl_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
