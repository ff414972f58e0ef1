//! pnpm's lockfile, `pnpm-lock.yaml`. Every resolved package is a key of the top-level
//! `packages:` map; how the key is written depends on `lockfileVersion`:
//!
//! | lockfile | key |
//! |---|---|
//! | 5.x | `/name/1.2.3`, `/@scope/name/1.2.3`, with peers as `_peer@1.0.0+other@2.0.0` |
//! | 6.x | `/name@1.2.3`, `/@scope/name@1.2.3`, with peers as `(peer@1.0.0)(other@2.0.0)` |
//! | 9.x | `name@1.2.3`, `@scope/name@1.2.3` (peers only in `snapshots:`, stripped anyway) |
//!
//! Packages not from a registry (git, tarball URLs) carry `name:` and `version:` fields,
//! which win over the key. `file:` and `link:` versions are the project's own folders, not
//! installs, and are skipped. `importers:` (what each workspace project asked for) and
//! `snapshots:` (v9: the same packages once per peer set) add no package and are not read.
//! The same name and version installed with different peers is one package.

use std::collections::HashSet;

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package};

pub struct PnpmLock;

impl Cataloger for PnpmLock {
    fn name(&self) -> &'static str {
        "pnpm-lock"
    }

    /// A lockfile: directories only, images report what is installed.
    fn applies_to(&self, kind: TargetKind) -> bool {
        kind == TargetKind::Filesystem
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        file.file_name() == "pnpm-lock.yaml" && !file.path.contains("node_modules/")
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let text = std::str::from_utf8(content)
            .map_err(|e| CatalogError::new(format!("not UTF-8 text: {e}")))?;
        let stream = palisade_yaml::parse_stream(text);
        if let Some(e) = &stream.error {
            return Err(CatalogError::at_line(
                e.line(),
                format!("invalid YAML: {e}"),
            ));
        }
        let Some(doc) = stream.documents.first() else {
            return Ok(Vec::new());
        };
        if doc.root.as_map().is_none() {
            return Err(CatalogError::at_line(
                doc.root.span.start_line,
                "pnpm-lock.yaml is not a mapping",
            ));
        }
        let major = doc
            .root
            .get("lockfileVersion")
            .and_then(|v| v.scalar_text())
            .and_then(|v| v.trim().split('.').next()?.parse::<u32>().ok());
        let Some(entries) = doc.root.get("packages").and_then(|p| p.as_map()) else {
            return Ok(Vec::new());
        };
        let mut found: Vec<(String, String)> = Vec::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut first_error: Option<CatalogError> = None;
        for (key, value) in entries {
            let line = key.span.start_line;
            let Some(key_text) = key.scalar_text() else {
                first_error.get_or_insert(CatalogError::at_line(
                    line,
                    "a package key that is not a string",
                ));
                continue;
            };
            let from_key = parse_key(key_text, major);
            let field = |k: &str| {
                value
                    .get(k)
                    .and_then(|v| v.scalar_text())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let name = field("name").or(from_key.map(|(n, _)| n));
            let version = field("version").or(from_key.map(|(_, v)| v));
            let (Some(name), Some(version)) = (name, version) else {
                first_error.get_or_insert(CatalogError::at_line(
                    line,
                    format!("cannot read a name and version from {:?}", clip(key_text)),
                ));
                continue;
            };
            if version.starts_with("file:") || version.starts_with("link:") {
                continue;
            }
            if seen.insert((name.to_string(), version.to_string())) {
                found.push((name.to_string(), version.to_string()));
            }
        }
        match first_error {
            Some(e) if found.is_empty() => Err(e),
            _ => Ok(found
                .into_iter()
                .map(|(name, version)| {
                    Package::new(Ecosystem::Npm, name, version, file.path, self.name())
                })
                .collect()),
        }
    }
}

/// Name and version from a `packages:` key, peers stripped.
fn parse_key(key: &str, major: Option<u32>) -> Option<(&str, &str)> {
    let had_slash = key.starts_with('/');
    let key = key.strip_prefix('/').unwrap_or(key);
    // v6/v9 peers: `name@1.0.0(react@18.2.0)(react-dom@18.2.0)`.
    let key = key.split('(').next().unwrap_or(key);
    let v5 = match major {
        Some(m) => m < 6,
        // No version field: a v5 key's last segment is a bare version.
        None => had_slash && !key.rsplit('/').next().unwrap_or("").contains('@'),
    };
    let (name, version) = if v5 {
        let (name, version) = key.rsplit_once('/')?;
        // v5 peers: `1.0.0_react@18.2.0+react-dom@18.2.0`.
        (name, version.split('_').next().unwrap_or(version))
    } else {
        let at = key.get(1..)?.find('@')? + 1;
        (&key[..at], &key[at + 1..])
    };
    let (name, version) = (name.trim(), version.trim());
    if name.is_empty() || version.is_empty() || name == "@" {
        return None;
    }
    Some((name, version))
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    fn run(content: &str) -> Result<Vec<(String, String)>, CatalogError> {
        PnpmLock
            .catalog(&file("pnpm-lock.yaml"), content.as_bytes())
            .map(|ps| ps.into_iter().map(|p| (p.name, p.version)).collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn wants_and_applies() {
        assert!(PnpmLock.wants(&file("pnpm-lock.yaml")));
        assert!(PnpmLock.wants(&file("repo/pnpm-lock.yaml")));
        assert!(!PnpmLock.wants(&file("node_modules/.pnpm/lock.yaml")));
        assert!(!PnpmLock.wants(&file("node_modules/x/pnpm-lock.yaml")));
        assert!(!PnpmLock.wants(&file("pnpm-workspace.yaml")));
        assert!(!PnpmLock.applies_to(TargetKind::Image));
        assert!(PnpmLock.applies_to(TargetKind::Filesystem));
    }

    #[test]
    fn reads_v5() {
        let text = r#"lockfileVersion: 5.4

specifiers:
  react: ^18.2.0

dependencies:
  react: 18.2.0

packages:

  /js-tokens/4.0.0:
    resolution: {integrity: sha512-RdJUflcE3cUzKiMqQgsCu06FPu9UdIJO0beYbPhHN4k6apgJtifcoCtT9bcxOpYBtpD2kCM6Sbzg4CausW/PKQ==}
    dev: false

  /react/18.2.0:
    resolution: {integrity: sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==}
    engines: {node: '>=0.10.0'}
    dependencies:
      loose-envify: 1.4.0
    dev: false

  /@testing-library/react/14.0.0_biqbaboplfbrettd7655fr4n2y:
    resolution: {integrity: sha512-x}
    peerDependencies:
      react: ^18.0.0
    dev: true

  /@types/react/18.2.14:
    resolution: {integrity: sha512-y}
    dev: true

  /use-sync/1.0.0_react@18.2.0:
    resolution: {integrity: sha512-z}

  /use-sync/1.0.0_react@17.0.2:
    resolution: {integrity: sha512-z}

  github.com/user/forked/0123abc:
    resolution: {tarball: https://codeload.github.com/user/forked/tar.gz/0123abc}
    name: forked
    version: 2.1.0
    dev: false

  file:packages/local:
    resolution: {directory: packages/local, type: directory}
    name: local
    version: file:packages/local
"#;
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("js-tokens", "4.0.0"),
                ("react", "18.2.0"),
                ("@testing-library/react", "14.0.0"),
                ("@types/react", "18.2.14"),
                ("use-sync", "1.0.0"),
                ("forked", "2.1.0"),
            ])
        );
    }

    #[test]
    fn reads_v6() {
        let text = r#"lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      vue:
        specifier: ^3.3.0
        version: 3.3.4

  packages/app:
    dependencies:
      lib:
        specifier: workspace:*
        version: link:../lib

packages:

  /@vue/shared@3.3.4:
    resolution: {integrity: sha512-7OjdcV8vQ74eiz1TZLzZP4JwqM5fA94K6yntPS5Z25r9HDuGNzaGdgvwKYq6S+MxwF0TFRwe50fIR/MYnakdkQ==}
    dev: false

  /vue@3.3.4:
    resolution: {integrity: sha512-a}
    dev: false

  /@vitejs/plugin-vue@4.2.3(vite@4.4.0)(vue@3.3.4):
    resolution: {integrity: sha512-b}
    engines: {node: ^14.18.0 || >=16.0.0}
    peerDependencies:
      vite: ^4.0.0
      vue: ^3.2.25
    dev: true

  /@vitejs/plugin-vue@4.2.3(vite@4.4.1)(vue@3.3.4):
    resolution: {integrity: sha512-b}
    dev: true

  registry.example.com/private-pkg@1.0.0:
    resolution: {integrity: sha512-c, tarball: https://registry.example.com/private-pkg/-/private-pkg-1.0.0.tgz}
    name: private-pkg
    version: 1.0.0
    dev: false
"#;
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("@vue/shared", "3.3.4"),
                ("vue", "3.3.4"),
                ("@vitejs/plugin-vue", "4.2.3"),
                ("private-pkg", "1.0.0")
            ])
        );
    }

    #[test]
    fn reads_v9() {
        let text = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    devDependencies:
      typescript:
        specifier: ^5.4.0
        version: 5.4.5

packages:

  '@babel/parser@7.24.5':
    resolution: {integrity: sha512-EOv5IK8arwh3LI47dz1b0tKUb/1uhHAnHJOrjgtQMIpu1uXd9mlFrJg9IUgGUgZ41Ch0K8REPTYpO7B76b4vJg==}
    engines: {node: '>=6.0.0'}
    hasBin: true

  typescript@5.4.5:
    resolution: {integrity: sha512-a}
    engines: {node: '>=14.17'}
    hasBin: true

  '@vitest/ui@1.6.0(vitest@1.6.0)':
    resolution: {integrity: sha512-b}

  tarball-dep@https://codeload.github.com/org/tarball-dep/tar.gz/0123abc:
    resolution: {tarball: https://codeload.github.com/org/tarball-dep/tar.gz/0123abc}
    version: 0.9.1

snapshots:

  '@babel/parser@7.24.5':
    dependencies:
      '@babel/types': 7.24.5

  '@vitest/ui@1.6.0(vitest@1.6.0)':
    dependencies:
      vitest: 1.6.0
"#;
        assert_eq!(
            run(text).unwrap(),
            pairs(&[
                ("@babel/parser", "7.24.5"),
                ("typescript", "5.4.5"),
                ("@vitest/ui", "1.6.0"),
                ("tarball-dep", "0.9.1")
            ])
        );
    }

    #[test]
    fn key_forms() {
        assert_eq!(
            parse_key("/@scope/name/1.0.0_peer@2.0.0+other@1.0.0", Some(5)),
            Some(("@scope/name", "1.0.0"))
        );
        assert_eq!(parse_key("/name/1.0.0", None), Some(("name", "1.0.0")));
        assert_eq!(
            parse_key("/@scope/name@1.0.0(@types/node@20.0.0)", None),
            Some(("@scope/name", "1.0.0"))
        );
        assert_eq!(
            parse_key("@scope/name@1.0.0(a@1)(b@2)", Some(9)),
            Some(("@scope/name", "1.0.0"))
        );
        assert_eq!(parse_key("name", Some(9)), None);
        assert_eq!(parse_key("@scope", Some(9)), None);
        assert_eq!(parse_key("/", Some(5)), None);
        assert_eq!(parse_key("", None), None);
        assert_eq!(parse_key("@@", Some(9)), None);
        assert_eq!(parse_key("name@", Some(9)), None);
    }

    #[test]
    fn bad_input() {
        let e = run("lockfileVersion: '9.0'\npackages:\n  'a@1.0.0': {\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let e = run(
            "lockfileVersion: '9.0'\n\npackages:\n\n  nonsense:\n    resolution: {integrity: x}\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        // A bad key among good ones is skipped.
        assert_eq!(
            run("lockfileVersion: '9.0'\npackages:\n  nonsense: {}\n  ok@1.0.0: {}\n").unwrap(),
            pairs(&[("ok", "1.0.0")])
        );
        assert_eq!(run("lockfileVersion: '9.0'\n").unwrap(), vec![]);
        assert_eq!(run("").unwrap(), vec![]);
        assert!(run("- a\n- b\n").is_err());
        assert!(
            PnpmLock
                .catalog(&file("pnpm-lock.yaml"), b"\xff\xfe")
                .is_err()
        );
        let deep = format!("packages: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(run(&deep).is_err());
    }
}
