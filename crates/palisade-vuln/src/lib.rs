//! Vulnerabilities: which packages of an inventory are affected by which advisories.
//!
//! - [`version`]: how each ecosystem orders versions (dpkg, apk, rpm, PEP 440, SemVer, Maven,
//!   RubyGems, NuGet, Packagist), the base of every range check.
//! - [`cvss`]: CVSS v3.x and v4.0 base scores, computed from vectors.
//!
//! What does not live here: reading images or directories (`palisade-artifact`), finding
//! packages (`palisade-sbom`), rendering (`palisade-report`).

pub mod cvss;
pub mod cyclonedx;
pub mod matcher;
pub mod osv;
pub mod store;
pub mod update;
pub mod version;
pub mod vex;
