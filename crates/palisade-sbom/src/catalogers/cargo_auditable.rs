//! Rust executables built with `cargo auditable`: the `.dep-v0` section (ELF, Mach-O, PE)
//! holds zlib-compressed JSON listing every crate compiled in:
//! `{"packages":[{"name","version","source","kind","dependencies","root"}]}`.
//!
//! Decisions (same as Syft 1.18.1 and Trivy 0.59.1, which both read it through
//! go-rustaudit):
//! - `kind: "build"` packages are skipped: build dependencies run at compile time and are not
//!   linked into the executable. `kind` absent means runtime.
//! - The root package (`root: true`, the crate the binary was built from) is kept: for tools
//!   installed with `cargo install` it is a crates.io crate that advisories name directly
//!   (RustSec has advisories against binary crates), and the SBOM should say what the file is.
//! - Every source (`crates.io`, `git`, `local`, `registry`, other) is kept: the crates are in
//!   the binary whatever their origin.
//!
//! The decompressed JSON is capped at 8 MB (real ones are tens of KB) against zlib bombs.

use std::io::Read;

use object::{Object, ObjectSection};
use serde::Deserialize;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::catalogers::go_binary::{is_native_executable, wants_executable};
use crate::package::{Ecosystem, Package};

pub struct CargoAuditable;

/// Largest decompressed dependency list accepted.
pub const MAX_JSON: u64 = 8 << 20;

const SECTION: &str = ".dep-v0";

impl Cataloger for CargoAuditable {
    fn name(&self) -> &'static str {
        "cargo-auditable"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        wants_executable(file)
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        if !is_native_executable(content) {
            return Ok(Vec::new());
        }
        let Some(section) = find_section(content) else {
            return Ok(Vec::new());
        };
        Ok(decode_dep_info(section)?
            .into_iter()
            .map(|(name, version)| {
                Package::new(Ecosystem::CratesIo, name, version, file.path, self.name())
            })
            .collect())
    }
}

/// The bytes of the `.dep-v0` section, if the executable has one.
pub fn find_section(content: &[u8]) -> Option<&[u8]> {
    let obj = object::File::parse(content).ok()?;
    let section = obj.section_by_name(SECTION)?;
    let (offset, size) = section.file_range()?;
    let from = usize::try_from(offset).ok()?;
    let to = from.checked_add(usize::try_from(size).ok()?)?;
    content.get(from..to)
}

#[derive(Deserialize)]
struct DepInfo {
    packages: Vec<serde_json::Value>,
}

/// Decompresses and reads the section: (name, version) of every runtime package, in order.
/// Entries without a name or version are skipped.
pub fn decode_dep_info(compressed: &[u8]) -> Result<Vec<(String, String)>, CatalogError> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| CatalogError::new(format!("cannot decompress the .dep-v0 section: {e}")))?;
    if json.len() as u64 > MAX_JSON {
        return Err(CatalogError::new(format!(
            "the .dep-v0 section decompresses to more than {} MB",
            MAX_JSON >> 20
        )));
    }
    let info: DepInfo = serde_json::from_slice(&json).map_err(|e| {
        CatalogError::new(format!("the .dep-v0 section is not a dependency list: {e}"))
    })?;
    let mut out = Vec::new();
    for p in &info.packages {
        let (Some(name), Some(version)) = (
            p.get("name").and_then(|v| v.as_str()),
            p.get("version").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        if name.is_empty() || version.is_empty() {
            continue;
        }
        if p.get("kind").and_then(|k| k.as_str()) == Some("build") {
            continue;
        }
        out.push((name.to_string(), version.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::catalogers::go_binary::tests::minimal_elf;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    const JSON: &str = r#"{"packages":[
        {"name":"mytool","version":"0.3.1","source":"local","dependencies":[1,2,3],"root":true},
        {"name":"serde","version":"1.0.197","source":"crates.io"},
        {"name":"cc","version":"1.0.90","source":"crates.io","kind":"build"},
        {"name":"forked","version":"0.1.0","source":"git","kind":"runtime"},
        {"name":"","version":"1.0.0","source":"crates.io"},
        {"name":"noversion","source":"crates.io"}
    ]}"#;

    #[test]
    fn reads_runtime_packages_from_the_section() {
        let elf = minimal_elf(".dep-v0", &zlib(JSON.as_bytes()));
        let file = FileInfo {
            path: "usr/local/bin/mytool",
            size: elf.len() as u64,
            mode: 0o755,
        };
        let pkgs = CargoAuditable.catalog(&file, &elf).unwrap();
        let got: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("mytool", "0.3.1"),
                ("serde", "1.0.197"),
                ("forked", "0.1.0")
            ]
        );
        assert!(
            pkgs.iter()
                .all(|p| p.ecosystem == Ecosystem::CratesIo && p.found_by == "cargo-auditable")
        );
        assert_eq!(pkgs[0].locations[0].path, "usr/local/bin/mytool");
    }

    #[test]
    fn no_section_no_packages() {
        let file = FileInfo {
            path: "bin/ls",
            size: 0,
            mode: 0o755,
        };
        let elf = minimal_elf(".text", b"\x90\x90");
        assert!(CargoAuditable.catalog(&file, &elf).unwrap().is_empty());
        // A real system executable, when there is one.
        if let Ok(ls) = std::fs::read("/bin/ls") {
            assert!(CargoAuditable.catalog(&file, &ls).unwrap().is_empty());
        }
        assert!(
            CargoAuditable
                .catalog(&file, b"not an executable")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_sections_are_errors() {
        let file = FileInfo {
            path: "x",
            size: 0,
            mode: 0o755,
        };
        assert!(
            CargoAuditable
                .catalog(&file, &minimal_elf(".dep-v0", b"not zlib"))
                .is_err()
        );
        assert!(
            CargoAuditable
                .catalog(&file, &minimal_elf(".dep-v0", &zlib(b"[1,2]")))
                .is_err()
        );
        let truncated = zlib(JSON.as_bytes());
        assert!(decode_dep_info(&truncated[..truncated.len() / 2]).is_err());
        // A bomb: 9 MB of spaces compress to a few KB.
        let bomb = zlib(&vec![b' '; (MAX_JSON + (1 << 20)) as usize]);
        assert!(bomb.len() < 100_000);
        let err = decode_dep_info(&bomb).unwrap_err();
        assert!(err.message.contains("more than 8 MB"), "{}", err.message);
    }
}
