//! The inventory as a table for people: a few lines about the target, then the packages
//! grouped by ecosystem with a count per group, then the total.
//!
//! ```text
//! Target:  registry.example/app:1.2
//! Kind:    image
//! Digest:  sha256:…
//! Distro:  Debian GNU/Linux 12 (bookworm)
//! Layers:  6
//!
//! deb (2 packages)
//!   NAME      VERSION   LOCATION
//!   libssl3   3.0.11-1  /var/lib/dpkg/status
//!   …
//!
//! Total: 2 packages
//! ```

use std::fmt::Write as _;

use crate::Inventory;
use crate::package::{Ecosystem, Package};

/// Control characters (a package name from an image could carry terminal escapes) shown
/// escaped.
fn printable(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// First location's path, with `+N` when the package was found in N more places.
fn location(p: &Package) -> String {
    match p.locations.split_first() {
        None => String::new(),
        Some((first, [])) => printable(&first.path),
        Some((first, rest)) => format!("{} +{}", printable(&first.path), rest.len()),
    }
}

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

/// The table, with a final newline.
pub fn table(inv: &Inventory) -> String {
    let mut out = String::new();
    let t = &inv.target;
    let mut header: Vec<(&str, String)> =
        vec![("Target", printable(&t.name)), ("Kind", printable(&t.kind))];
    if let Some(d) = &t.digest {
        header.push(("Digest", printable(d)));
    }
    if let Some(d) = &inv.distro {
        let name = d
            .pretty_name
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| format!("{} {}", d.id, d.version_id).trim().to_string());
        header.push(("Distro", printable(&name)));
    }
    if t.kind == "image" || !t.layers.is_empty() {
        header.push(("Layers", t.layers.len().to_string()));
    }
    if !inv.problems.is_empty() {
        header.push(("Problems", inv.problems.len().to_string()));
    }
    for (k, v) in &header {
        let _ = writeln!(out, "{} {v}", pad(&format!("{k}:"), 9));
    }
    out.push('\n');

    let rows: Vec<(Ecosystem, String, String, String)> = inv
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem,
                printable(&p.name),
                printable(&p.version),
                location(p),
            )
        })
        .collect();
    let name_w = rows
        .iter()
        .map(|r| r.1.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let version_w = rows
        .iter()
        .map(|r| r.2.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);

    // Groups in the ecosystem order of the inventory (packages are sorted by ecosystem).
    let counts = inv.counts();
    for (eco, count) in &counts {
        let _ = writeln!(out, "{eco} ({})", plural(*count, "package"));
        let _ = writeln!(
            out,
            "  {}  {}  LOCATION",
            pad("NAME", name_w),
            pad("VERSION", version_w)
        );
        for r in rows.iter().filter(|r| r.0 == *eco) {
            let line = format!("  {}  {}  {}", pad(&r.1, name_w), pad(&r.2, version_w), r.3);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push('\n');
    }
    if counts.is_empty() {
        out.push_str("No packages found.\n\n");
    }
    let total = plural(inv.packages.len(), "package");
    if counts.len() > 1 {
        let _ = writeln!(out, "Total: {total} in {} ecosystems", counts.len());
    } else {
        let _ = writeln!(out, "Total: {total}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{Distro, PackageLocation};
    use crate::{LayerRef, TargetInfo};

    #[test]
    fn groups_counts_and_locations() {
        let mut a = Package::new(
            Ecosystem::Deb,
            "libssl3",
            "3.0.11-1",
            "/var/lib/dpkg/status",
            "dpkg",
        );
        a.locations.push(PackageLocation {
            path: "/other".into(),
            layer: None,
        });
        let b = Package::new(
            Ecosystem::Npm,
            "@babel/core",
            "7.24.0",
            "/app/package-lock.json",
            "npm-lock",
        );
        let c = Package::new(
            Ecosystem::Npm,
            "evil\x1b[31m",
            "1",
            "/app/node_modules/evil/package.json",
            "npm",
        );
        // Built through serde so that fields added to Inventory later need no change here.
        let target = TargetInfo {
            name: "app:1".into(),
            kind: "image".into(),
            digest: Some("sha256:abc".into()),
            layers: vec![LayerRef {
                index: 0,
                digest: "sha256:l0".into(),
                diff_id: None,
                created_by: None,
            }],
            ..TargetInfo::default()
        };
        let distro = Distro {
            id: "debian".into(),
            version_id: "12".into(),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            ..Distro::default()
        };
        let inv: Inventory = serde_json::from_value(serde_json::json!({
            "target": target, "distro": distro, "packages": [a, b, c],
        }))
        .unwrap();
        let text = table(&inv);
        let want = "\
Target:   app:1
Kind:     image
Digest:   sha256:abc
Distro:   Debian GNU/Linux 12 (bookworm)
Layers:   1

deb (1 package)
  NAME            VERSION   LOCATION
  libssl3         3.0.11-1  /var/lib/dpkg/status +1

npm (2 packages)
  NAME            VERSION   LOCATION
  @babel/core     7.24.0    /app/package-lock.json
  evil\\u{1b}[31m  1         /app/node_modules/evil/package.json

Total: 3 packages in 2 ecosystems
";
        assert_eq!(text, want);
    }
}
