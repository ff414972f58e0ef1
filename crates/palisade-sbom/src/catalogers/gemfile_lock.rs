//! `Gemfile.lock` (Bundler): the gems under `specs:` in the `GEM`, `GIT`, `PATH` and
//! `PLUGIN SOURCE` sections, one `    name (version)` line each at a 4-space indent (their
//! own dependencies follow at 6 spaces and are not separate entries).
//!
//! Platform-specific gems are written `nokogiri (1.13.10-x86_64-linux)`; the version is the
//! part before the first `-` (Bundler's own lockfile parser splits there: RubyGems versions
//! never contain `-`), so the package is `nokogiri` `1.13.10` — what Trivy 0.59.1 reports
//! and what advisories are keyed by (Syft 1.18.1 keeps the platform in the version). Several
//! platform variants of one version are one package.
//!
//! Only for directories: in images the installed gems' specifications are the evidence.

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct GemfileLock;

/// Sections whose `specs:` list gems.
const SPEC_SECTIONS: &[&str] = &["GEM", "GIT", "PATH", "PLUGIN SOURCE"];

impl Cataloger for GemfileLock {
    fn name(&self) -> &'static str {
        "gemfile-lock"
    }

    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        matches!(file.file_name(), "Gemfile.lock" | "gems.locked")
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = std::str::from_utf8(content).map_err(|e| {
            let line = content[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            CatalogError::at_line(
                u32::try_from(line).unwrap_or(u32::MAX),
                "Gemfile.lock is not UTF-8",
            )
        })?;
        let mut out: Vec<Package> = Vec::new();
        let mut in_specs_section = false;
        let mut in_specs = false;
        for raw in text.lines() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let indent = line.len() - line.trim_start_matches(' ').len();
            match indent {
                0 => {
                    in_specs_section = SPEC_SECTIONS.contains(&line.trim_end());
                    in_specs = false;
                }
                2 => in_specs = in_specs_section && line.trim_end() == "  specs:",
                4 if in_specs => {
                    let Some((name, version)) = parse_spec(line.trim()) else {
                        continue;
                    };
                    if !out.iter().any(|p| p.name == name && p.version == version) {
                        out.push(Package::new(
                            Ecosystem::RubyGems,
                            name,
                            version,
                            file.path,
                            self.name(),
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// `name (version[-platform])` → (name, version).
fn parse_spec(s: &str) -> Option<(&str, &str)> {
    let (name, rest) = s.split_once(' ')?;
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    let version = inner.split('-').next()?.trim();
    if name.is_empty() || version.is_empty() || name.contains(['(', ')']) {
        return None;
    }
    Some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(String, String)> {
        let file = FileInfo {
            path: "Gemfile.lock",
            size: text.len() as u64,
            mode: 0o644,
        };
        GemfileLock
            .catalog(&file, text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect()
    }

    #[test]
    fn reads_specs_of_every_source_section() {
        let text = "GIT
  remote: https://github.com/foo/bar.git
  revision: abc
  specs:
    bar (0.1.0)
      rack

PATH
  remote: vendor/baz
  specs:
    baz (2.0.0)

GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.13.10-x86_64-linux)
      racc (~> 1.4)
    nokogiri (1.13.10-aarch64-linux)
      racc (~> 1.4)
    racc (1.6.2)
    ffi (1.15.5-x86_64-linux-gnu)
    pre (1.0.0.rc1)
    broken line
    alsobroken ()

PLATFORMS
  x86_64-linux

DEPENDENCIES
  bar!
  nokogiri (~> 1.13)

CHECKSUMS
  racc (1.6.2) sha256=abc

BUNDLED WITH
   2.4.1
";
        // Same as Trivy 0.59.1 on this file.
        let want: Vec<(String, String)> = [
            ("bar", "0.1.0"),
            ("baz", "2.0.0"),
            ("nokogiri", "1.13.10"),
            ("racc", "1.6.2"),
            ("ffi", "1.15.5"),
            ("pre", "1.0.0.rc1"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(run(text), want);
        assert_eq!(run(&text.replace('\n', "\r\n")), want);
    }

    #[test]
    fn odd_input() {
        assert!(run("").is_empty());
        assert!(run("DEPENDENCIES\n    rails (5.0)\n").is_empty());
        let file = FileInfo {
            path: "Gemfile.lock",
            size: 1,
            mode: 0,
        };
        assert_eq!(
            GemfileLock
                .catalog(&file, b"GEM\n  specs:\n\xff")
                .unwrap_err()
                .line,
            Some(3)
        );
        assert!(!GemfileLock.applies_to(TargetKind::Image));
        assert!(GemfileLock.wants(&FileInfo {
            path: "app/Gemfile.lock",
            size: 1,
            mode: 0
        }));
    }
}
