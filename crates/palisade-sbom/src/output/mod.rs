//! SBOM writers: CycloneDX 1.6 JSON ([`cyclonedx`]), SPDX 2.3 JSON ([`spdx`]), a table for
//! people ([`table`]) and Palisade's own JSON ([`json`]).
//!
//! Every writer is a pure function of its arguments: the inventory, and for the SBOM formats
//! the tool version and the creation time the caller picked (`SOURCE_DATE_EPOCH`, the image's
//! creation time…). The same arguments give the same bytes: packages come sorted in the
//! inventory, JSON objects are written with sorted keys, and the identifiers a document needs
//! (CycloneDX `serialNumber`, SPDX `documentNamespace`) are derived from a hash of the
//! arguments instead of being random.
//!
//! Licences: both SBOM formats want SPDX licence identifiers and expressions; packages
//! declare whatever they like. [`license`] parses what they declare; [`spdx_ids`] is the SPDX
//! licence list the CycloneDX schema enumerates.

mod cyclonedx;
pub mod license;
mod spdx;
pub mod spdx_ids;
mod table;

use serde::Serialize;

use crate::package::purl_encode;
use crate::{Inventory, TargetInfo};

pub use cyclonedx::{cyclonedx, cyclonedx_value};
pub use spdx::{spdx, spdx_value};
pub use table::table;

/// The tool name the documents record.
pub const TOOL_NAME: &str = "palisade";

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct NativeJson<'a> {
    schema_version: u32,
    tool: Tool<'a>,
    #[serde(flatten)]
    inventory: &'a Inventory,
}

/// Palisade's own JSON: the [`Inventory`] as serde writes it, with two fields in front —
///
/// ```json
/// {
///   "schema_version": 1,
///   "tool": { "name": "palisade", "version": "0.1.0" },
///   "target": { "name": "…", "kind": "image", "digest": "sha256:…", "layers": [ … ] },
///   "distro": { "id": "debian", "version_id": "12", … },
///   "packages": [ { "name": "…", "version": "…", "ecosystem": "deb", "purl": "pkg:deb/…",
///                   "locations": [ { "path": "/var/lib/dpkg/status", "layer": { … } } ],
///                   "found_by": "dpkg", … } ],
///   "problems": [ … ]
/// }
/// ```
///
/// `schema_version` changes only when a field is renamed or removed (fields may be added
/// within a version), as for the scan report. Pretty-printed, with a final newline.
pub fn json(inv: &Inventory, tool_version: &str) -> String {
    let doc = NativeJson {
        schema_version: 1,
        tool: Tool {
            name: TOOL_NAME,
            version: tool_version,
        },
        inventory: inv,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("an inventory serializes to JSON");
    s.push('\n');
    s
}

/// Pretty JSON with a final newline.
fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a JSON value serializes");
    s.push('\n');
    s
}

/// FNV-1a, 128 bit: a stable content hash with no dependency. It identifies documents; it
/// is not meant to resist someone crafting collisions.
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;

    fn new() -> Fnv128 {
        Fnv128(Self::OFFSET)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

impl std::io::Write for Fnv128 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// FNV-1a, 64 bit, for short stable suffixes.
fn fnv64(s: &str) -> u64 {
    palisade_core::hash::fnv1a(s.as_bytes())
}

/// Hash of everything a document is made from: the format, the inventory (as its native
/// JSON), the tool version and the creation time. Two documents differ in this hash exactly
/// when they may differ in content.
fn content_hash(format: &str, inv: &Inventory, tool_version: &str, created: &str) -> u128 {
    let mut h = Fnv128::new();
    for part in [format, tool_version, created] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    serde_json::to_writer(&mut h, inv).expect("an inventory serializes to JSON");
    h.0
}

/// A UUID made from a hash: RFC 9562 (which replaces RFC 4122) version 8, "custom", with
/// the RFC 4122 variant bits. Version 5 would claim a SHA-1 name hash, which this is not.
fn uuid_from_hash(h: u128) -> String {
    let mut b = h.to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `s` with only letters, digits, `.` and `-` (the SPDX `idstring` alphabet): `+` becomes
/// `-plus`, runs of other characters one `-`; no `-` at either end; `fallback` when nothing
/// is left.
fn to_idstring(s: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else {
            if !out.ends_with('-') {
                out.push('-');
            }
            if c == '+' {
                out.push_str("plus-");
            }
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() {
        fallback.to_string()
    } else {
        t.to_string()
    }
}

/// `s` cut to at most `max` characters, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The package URL of an image target (`pkg:oci/<name>@<manifest digest>?arch=…&
/// repository_url=…&tag=…`), when the target is an image with a known manifest digest.
///
/// The name is the last component of the repository, lower-case. `repository_url` is only
/// given for references that name their registry (`ghcr.io/org/app:1`); for `alpine:3.19`
/// (Docker Hub) and local layouts or archives (`oci:DIR:tag`, `docker-archive:FILE`, a
/// path) there is none, and the name comes from the file or folder name.
pub fn target_purl(t: &TargetInfo) -> Option<String> {
    if t.kind != "image" {
        return None;
    }
    let digest = t.digest.as_deref().filter(|d| !d.is_empty())?;
    let name = t.name.trim();
    let mut tag: Option<&str> = None;
    let mut repository_url: Option<&str> = None;
    let base: &str;
    let transport = ["oci-archive:", "oci:", "docker-archive:"]
        .iter()
        .find_map(|p| name.strip_prefix(p).map(|rest| (*p, rest)));
    let looks_like_path = |s: &str| {
        s.starts_with('/')
            || s.starts_with("./")
            || s.starts_with("../")
            || s.starts_with('~')
            || s.contains('\\')
            || s.ends_with(".tar")
            || s == "."
    };
    if let Some((transport, rest)) = transport {
        let (path, suffix) = rest.split_once(':').unwrap_or((rest, ""));
        if transport == "docker-archive:" && !suffix.is_empty() {
            // docker-archive:FILE:repo:tag
            let (repo, t) = split_tag(suffix);
            base = last_segment(repo);
            tag = t;
        } else {
            base = file_stem(path);
            tag = (!suffix.is_empty()).then_some(suffix);
        }
    } else if looks_like_path(name) {
        base = file_stem(name);
    } else {
        let without_digest = name.split_once('@').map_or(name, |(r, _)| r);
        let (repo, t) = split_tag(without_digest);
        tag = t;
        base = last_segment(repo);
        if let Some((first, _)) = repo.split_once('/')
            && (first.contains('.') || first.contains(':') || first == "localhost")
        {
            repository_url = Some(repo);
        }
    }
    let base = base.to_ascii_lowercase();
    if base.is_empty() {
        return None;
    }
    let mut qualifiers: Vec<(&str, String)> = Vec::new();
    if let Some(arch) = t
        .platform
        .as_deref()
        .and_then(|p| p.split('/').nth(1))
        .filter(|a| !a.is_empty())
    {
        qualifiers.push(("arch", purl_encode(arch)));
    }
    if let Some(url) = repository_url {
        let encoded: Vec<String> = url.split('/').map(purl_encode).collect();
        qualifiers.push(("repository_url", encoded.join("/")));
    }
    if let Some(tag) = tag.filter(|t| !t.is_empty()) {
        qualifiers.push(("tag", purl_encode(tag)));
    }
    let mut s = format!("pkg:oci/{}@{}", purl_encode(&base), purl_encode(digest));
    for (i, (k, v)) in qualifiers.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    Some(s)
}

/// `repo:tag` → (`repo`, `tag`); a `:` before the last `/` is a registry port.
fn split_tag(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (s, None),
    }
}

fn last_segment(s: &str) -> &str {
    s.trim_end_matches('/').rsplit('/').next().unwrap_or(s)
}

fn file_stem(path: &str) -> &str {
    let seg = last_segment(path.trim_end_matches(['/', '\\']));
    let seg = seg.rsplit('\\').next().unwrap_or(seg);
    seg.strip_suffix(".tar").unwrap_or(seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str) -> TargetInfo {
        TargetInfo {
            name: name.into(),
            kind: "image".into(),
            digest: Some("sha256:abc".into()),
            platform: Some("linux/arm64/v8".into()),
            ..TargetInfo::default()
        }
    }

    #[test]
    fn oci_purls() {
        let cases = [
            (
                "alpine:3.19",
                "pkg:oci/alpine@sha256%3Aabc?arch=arm64&tag=3.19",
            ),
            (
                "ghcr.io/Org/App:v1@sha256:abc",
                "pkg:oci/app@sha256%3Aabc?arch=arm64&repository_url=ghcr.io/Org/App&tag=v1",
            ),
            (
                "localhost:5000/team/api",
                "pkg:oci/api@sha256%3Aabc?arch=arm64&repository_url=localhost%3A5000/team/api",
            ),
            (
                "/images/kitchen-sink-oci",
                "pkg:oci/kitchen-sink-oci@sha256%3Aabc?arch=arm64",
            ),
            (
                "oci:./layout:edge",
                "pkg:oci/layout@sha256%3Aabc?arch=arm64&tag=edge",
            ),
            (
                "docker-archive:img.tar:acme/web:2",
                "pkg:oci/web@sha256%3Aabc?arch=arm64&tag=2",
            ),
            (
                "oci-archive:/tmp/app.tar",
                "pkg:oci/app@sha256%3Aabc?arch=arm64",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(target_purl(&image(name)).as_deref(), Some(want), "{name}");
        }
        let mut no_digest = image("alpine");
        no_digest.digest = None;
        assert_eq!(target_purl(&no_digest), None);
        let dir = TargetInfo {
            name: ".".into(),
            kind: "filesystem".into(),
            ..TargetInfo::default()
        };
        assert_eq!(target_purl(&dir), None);
    }

    #[test]
    fn hashes_and_ids() {
        // FNV-1a reference values (empty input gives the offset basis; "a" from the
        // published test vectors).
        assert_eq!(fnv64(""), 0xcbf29ce484222325);
        assert_eq!(fnv64("a"), 0xaf63dc4c8601ec8c);
        let mut h = Fnv128::new();
        h.update(b"a");
        assert_eq!(h.0, 0xd228cb696f1a8caf78912b704e4a8964);
        let u = uuid_from_hash(0);
        assert_eq!(u, "00000000-0000-8000-8000-000000000000");
        let u = uuid_from_hash(u128::MAX);
        assert_eq!(u, "ffffffff-ffff-8fff-bfff-ffffffffffff");
        assert_eq!(to_idstring("@babel/core", "x"), "babel-core");
        assert_eq!(to_idstring("GPL-2+", "x"), "GPL-2-plus");
        assert_eq!(to_idstring("  ", "x"), "x");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
