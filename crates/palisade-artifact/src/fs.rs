//! The final view of an image: every path with the layer that last wrote it, after whiteouts.
//!
//! Layers are applied in order. Within one layer, whiteouts (`.wh.<name>` deletes `<name>`,
//! `.wh..wh..opq` empties its folder) apply to the layers below only, so a layer's entries and
//! whiteouts are collected first and applied together when the layer ends ([`LayerChanges`]).
//! A layer that fails verification is never applied.

use std::collections::BTreeMap;

/// What a path is in the final view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File {
        size: u64,
        mode: u32,
    },
    Dir,
    Symlink(String),
    /// A hard link to another path (normalised like every path here).
    Hardlink(String),
    /// Character or block devices, FIFOs.
    Other,
}

/// One path of the final view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// The layer that wrote it (None for directory targets).
    pub layer: Option<usize>,
}

/// A layer's entries and whiteouts, applied at once when the layer is complete.
#[derive(Debug, Default)]
pub struct LayerChanges {
    pub entries: Vec<(String, EntryKind)>,
    /// Paths deleted by `.wh.<name>` files.
    pub whiteouts: Vec<String>,
    /// Folders emptied by `.wh..wh..opq` files.
    pub opaque: Vec<String>,
}

impl LayerChanges {
    /// Records one tar entry whose path is already normalised; whiteout files become
    /// whiteouts.
    pub fn add(&mut self, path: String, kind: EntryKind) {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", path.as_str()),
        };
        if name == ".wh..wh..opq" {
            self.opaque.push(dir.to_string());
        } else if let Some(target) = name.strip_prefix(".wh.") {
            if !target.is_empty() {
                self.whiteouts.push(join(dir, target));
            }
        } else {
            self.entries.push((path, kind));
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The layered file view.
#[derive(Debug, Default, Clone)]
pub struct LayeredFs {
    entries: BTreeMap<String, Entry>,
}

impl LayeredFs {
    pub fn new() -> LayeredFs {
        LayeredFs::default()
    }

    /// Removes `path`'s descendants (not `path` itself).
    fn remove_below(&mut self, path: &str) {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let doomed: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.entries.remove(&k);
        }
    }

    /// Applies one layer: its whiteouts to what is below, then its own entries.
    pub fn apply(&mut self, layer: Option<usize>, changes: LayerChanges) {
        for dir in &changes.opaque {
            self.remove_below(dir);
        }
        for path in &changes.whiteouts {
            self.entries.remove(path);
            self.remove_below(path);
        }
        for (path, kind) in changes.entries {
            if !matches!(kind, EntryKind::Dir) {
                // A file replacing a folder hides everything that was inside it.
                self.remove_below(&path);
            }
            self.entries.insert(path, Entry { kind, layer });
        }
    }

    /// Inserts one entry directly (directory targets, which have no layers).
    pub fn insert(&mut self, path: String, kind: EntryKind) {
        self.entries.insert(path, Entry { kind, layer: None });
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// Is the file at `path` written by `layer` what the final view holds? (For directory
    /// targets, `layer` is None and any present path counts.)
    pub fn present(&self, path: &str, layer: Option<usize>) -> bool {
        self.entries.get(path).is_some_and(|e| e.layer == layer)
    }

    /// Every path in the final view, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Regular files in the final view.
    pub fn file_count(&self) -> usize {
        self.entries
            .values()
            .filter(|e| matches!(e.kind, EntryKind::File { .. }))
            .count()
    }
}

/// Normalises a path from a tar header: no leading `/` or `./`, no `.` components, no
/// repeated slashes. Returns None for paths that climb out of the root (`..`), which are never
/// applied (a hostile layer must not place files outside the image).
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Resolves a symlink target (relative to the link's folder, or absolute inside the root)
/// to a normalised path, clamping `..` at the root as the kernel does inside a chroot.
pub fn resolve_link(link_path: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut v: Vec<&str> = link_path.split('/').collect();
        v.pop();
        v
    };
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.retain(|p| !p.is_empty());
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> EntryKind {
        EntryKind::File {
            size: 1,
            mode: 0o644,
        }
    }

    #[test]
    fn whiteouts_apply_to_lower_layers_only() {
        let mut fs = LayeredFs::new();
        let mut l0 = LayerChanges::default();
        for p in [
            "app",
            "app/config",
            "app/config/.env",
            "app/config/.env.bak",
            "etc",
            "etc/a",
            "etc/b/c",
        ] {
            l0.add(
                p.into(),
                if p.contains('.') || p.ends_with('a') || p.ends_with('c') {
                    file()
                } else {
                    EntryKind::Dir
                },
            );
        }
        fs.apply(Some(0), l0);
        let mut l1 = LayerChanges::default();
        l1.add("app/config/.wh..env".into(), file());
        l1.add("etc/.wh..wh..opq".into(), file());
        l1.add("etc/new".into(), file());
        fs.apply(Some(1), l1);
        assert!(fs.get("app/config/.env").is_none());
        assert!(fs.present("app/config/.env.bak", Some(0)));
        assert!(fs.get("etc/a").is_none() && fs.get("etc/b/c").is_none());
        assert!(
            fs.present("etc/new", Some(1)),
            "the opaque layer's own files stay"
        );
        assert!(fs.get("etc").is_some(), "an opaque folder itself stays");
    }

    #[test]
    fn later_layers_overwrite_and_files_replace_folders() {
        let mut fs = LayeredFs::new();
        let mut l0 = LayerChanges::default();
        l0.add("var/lib/dpkg/status".into(), file());
        l0.add("opt/x".into(), EntryKind::Dir);
        l0.add("opt/x/y".into(), file());
        fs.apply(Some(0), l0);
        let mut l1 = LayerChanges::default();
        l1.add("var/lib/dpkg/status".into(), file());
        l1.add("opt/x".into(), file());
        fs.apply(Some(1), l1);
        assert!(fs.present("var/lib/dpkg/status", Some(1)));
        assert!(!fs.present("var/lib/dpkg/status", Some(0)));
        assert!(fs.get("opt/x/y").is_none());
        // A folder whiteout removes everything below it.
        let mut l2 = LayerChanges::default();
        l2.add("var/lib/.wh.dpkg".into(), file());
        fs.apply(Some(2), l2);
        assert!(fs.get("var/lib/dpkg/status").is_none());
    }

    #[test]
    fn paths_are_normalised_and_escapes_refused() {
        assert_eq!(normalize("./usr//bin/./ls").as_deref(), Some("usr/bin/ls"));
        assert_eq!(normalize("/etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(normalize("../../etc/passwd"), None);
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(
            resolve_link("etc/os-release", "../usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(resolve_link("a/b", "/../../../etc/shadow"), "etc/shadow");
        assert_eq!(resolve_link("a/b", "../../../../x"), "x");
    }
}
