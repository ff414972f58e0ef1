//! Version orderings, one module per scheme, and the map from OSV ecosystem names to schemes.
//!
//! A version that does not parse is an error, never a guess: matching reports such packages
//! as "cannot order" instead of calling them vulnerable or not.

use std::cmp::Ordering;

/// A version that the scheme cannot order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot order version {version:?} ({scheme}): {reason}")]
pub struct VersionError {
    pub scheme: &'static str,
    pub version: String,
    pub reason: String,
}

impl VersionError {
    pub fn new(scheme: &'static str, version: &str, reason: impl Into<String>) -> VersionError {
        VersionError {
            scheme,
            version: version.to_string(),
            reason: reason.into(),
        }
    }
}

/// How an ecosystem orders versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian and Ubuntu (`deb-version(7)`): epochs, `~`, revisions.
    Dpkg,
    /// Alpine (apk-tools): suffixes `_alpha`…`_p`, `-rN`.
    Apk,
    /// rpm (`rpmvercmp`), with epoch and release: Red Hat, Rocky, AlmaLinux, Fedora, SUSE.
    Rpm,
    /// PEP 440 (PyPI).
    Pep440,
    /// SemVer 2.0 (npm, crates.io; Go with a leading `v` and pseudo-versions).
    Semver,
    /// Maven's ComparableVersion.
    Maven,
    /// RubyGems' Gem::Version.
    RubyGems,
    /// NuGet (SemVer 2.0 with four-part versions and case-insensitive labels).
    NuGet,
    /// Composer (Packagist).
    Packagist,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Pep440 => "PEP 440",
            Scheme::Semver => "SemVer",
            Scheme::Maven => "Maven",
            Scheme::RubyGems => "RubyGems",
            Scheme::NuGet => "NuGet",
            Scheme::Packagist => "Composer",
        }
    }

    /// The scheme of an OSV ecosystem name (`Debian:12`, `PyPI`, `crates.io`, `Go`, …);
    /// None for ecosystems Palisade does not order.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "Fedora" | "openSUSE" | "SUSE" | "Mageia"
            | "Oracle" => Scheme::Rpm,
            "PyPI" => Scheme::Pep440,
            "npm" | "crates.io" | "Go" | "Hex" | "Pub" => Scheme::Semver,
            "Maven" => Scheme::Maven,
            "RubyGems" => Scheme::RubyGems,
            "NuGet" => Scheme::NuGet,
            "Packagist" => Scheme::Packagist,
            _ => return None,
        })
    }

    /// Compares two versions of this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
            Scheme::Rpm => rpm::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Semver => semver::compare(a, b),
            Scheme::Maven => maven::compare(a, b),
            Scheme::RubyGems => rubygems::compare(a, b),
            Scheme::NuGet => nuget::compare(a, b),
            Scheme::Packagist => packagist::compare(a, b),
        }
    }
}

pub mod apk;
pub mod dpkg;
pub mod maven;
pub mod nuget;
pub mod packagist;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;
