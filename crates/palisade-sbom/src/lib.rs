//! Inventories: which packages a target holds, and SBOMs that say so.
//!
//! The flow: the artifact layer streams files; [`InventoryBuilder::wants`] tells it which
//! files any enabled [cataloger](catalog::Cataloger) needs; [`InventoryBuilder::add_file`]
//! runs them and keeps each result with the file's layer; [`InventoryBuilder::finish`] keeps
//! only results whose file is still present in the final view (a later layer can overwrite or
//! delete it), reads the distribution, fills in package URLs and merges duplicates.
//!
//! What does not live here: opening images or directories (`palisade-artifact`), matching
//! vulnerabilities (`palisade-vuln`).

pub mod catalog;
pub mod catalogers;
pub mod input;
pub mod output;
pub mod package;
pub mod purl;

use std::collections::BTreeMap;

use palisade_core::{InputProblem, ProblemKind};
use serde::{Deserialize, Serialize};

pub use catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
pub use package::{Distro, Ecosystem, LayerRef, Package, PackageLocation, SourcePackage};

/// (ecosystem, name, version) of the packages one file records.
type PackageKeys = std::collections::HashSet<(Ecosystem, String, String)>;

fn yes() -> bool {
    true
}

/// What was inventoried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TargetInfo {
    /// The target as the user named it.
    pub name: String,
    /// `image` or `filesystem`.
    pub kind: String,
    /// Image manifest digest, when the target is an image.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub digest: Option<String>,
    /// Image config digest (the image id), when the target is an image.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub config_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub layers: Vec<LayerRef>,
}

/// The packages of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub target: TargetInfo,
    /// False when part of the target could not be read (a layer left out, a truncated
    /// archive): the inventory may miss packages.
    #[serde(default = "yes")]
    pub complete: bool,
    /// When the target was made (an image's `created`), if it says.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub distro: Option<Distro>,
    /// Sorted by ecosystem, name, version, purl.
    pub packages: Vec<Package>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub problems: Vec<InputProblem>,
}

impl Inventory {
    /// Package counts by ecosystem.
    pub fn counts(&self) -> BTreeMap<Ecosystem, usize> {
        let mut m = BTreeMap::new();
        for p in &self.packages {
            *m.entry(p.ecosystem).or_default() += 1;
        }
        m
    }
}

struct FileResult {
    path: String,
    layer: Option<LayerRef>,
    packages: Vec<Package>,
}

/// Collects cataloger results while the artifact layer streams files.
pub struct InventoryBuilder {
    catalogers: Vec<&'static dyn Cataloger>,
    results: Vec<FileResult>,
    release_files: Vec<(String, Option<usize>, Distro)>,
    problems: Vec<InputProblem>,
    prefix: &'static str,
}

impl InventoryBuilder {
    /// A builder with the catalogers enabled for `kind` (only those named in `only`, when
    /// it is not empty).
    pub fn new(kind: TargetKind, only: &[String]) -> InventoryBuilder {
        InventoryBuilder {
            catalogers: catalog::enabled(kind, only),
            results: Vec::new(),
            release_files: Vec::new(),
            problems: Vec::new(),
            prefix: match kind {
                TargetKind::Image => "/",
                TargetKind::Filesystem => "",
            },
        }
    }

    /// Does any enabled cataloger want this file?
    pub fn wants(&self, file: &FileInfo<'_>) -> bool {
        self.catalogers.iter().any(|c| c.wants(file))
    }

    /// Runs every cataloger that wants the file on its contents.
    pub fn add_file(&mut self, file: &FileInfo<'_>, layer: Option<&LayerRef>, content: &[u8]) {
        let shown_path = format!("{}{}", self.prefix, file.path);
        // A path written twice in one layer: the later copy is the one the layer leaves.
        let index = layer.map(|l| l.index);
        self.results
            .retain(|r| !(r.path == file.path && r.layer.as_ref().map(|l| l.index) == index));
        self.release_files
            .retain(|(p, l, _)| !(p == file.path && *l == index));
        if catalogers::os_release::OS_RELEASE_FILES.contains(&file.path)
            && let Some(d) = catalogers::parse_os_release(file.path, content)
        {
            self.release_files
                .push((file.path.to_string(), layer.map(|l| l.index), d));
        }
        for c in &self.catalogers {
            if !c.wants(file) {
                continue;
            }
            match c.catalog(file, content) {
                Ok(mut packages) => {
                    if packages.is_empty() {
                        continue;
                    }
                    for p in &mut packages {
                        for loc in &mut p.locations {
                            loc.path =
                                format!("{}{}", self.prefix, loc.path.trim_start_matches('/'));
                            loc.layer = layer.cloned();
                        }
                    }
                    self.results.push(FileResult {
                        path: file.path.to_string(),
                        layer: layer.cloned(),
                        packages,
                    });
                }
                Err(e) => self.problems.push(InputProblem {
                    kind: ProblemKind::Error,
                    path: shown_path.clone(),
                    line: e.line,
                    message: format!("{}: {}", c.name(), e.message),
                }),
            }
        }
    }

    /// Forgets everything found in layer `index` (its bytes did not verify).
    pub fn discard_layer(&mut self, index: usize) {
        self.results
            .retain(|r| r.layer.as_ref().is_none_or(|l| l.index != index));
        self.release_files.retain(|(_, l, _)| *l != Some(index));
    }

    /// Records a problem met while reading the target (a broken layer, a skipped file).
    pub fn problem(&mut self, p: InputProblem) {
        self.problems.push(p);
    }

    /// Keeps the results whose file is present in the final view — `present(path, layer)`
    /// says whether the file at `path` from layer `layer` (None for directories) is what the
    /// final view holds — then fills in package URLs and merges duplicates.
    pub fn finish(
        self,
        target: TargetInfo,
        present: impl Fn(&str, Option<usize>) -> bool,
    ) -> Inventory {
        let distro = catalogers::os_release::OS_RELEASE_FILES
            .iter()
            .find_map(|name| {
                self.release_files
                    .iter()
                    .rev()
                    .find(|(p, l, _)| p == name && present(p, *l))
                    .map(|(_, _, d)| d.clone())
            });
        let mut merged: BTreeMap<String, Package> = BTreeMap::new();
        // Each version of a package database records every package again; a package keeps
        // the layer that first recorded it unchanged in the file's history (the layer that
        // installed it), not the last layer that rewrote the file.
        let mut history: BTreeMap<String, Vec<(usize, PackageKeys)>> = BTreeMap::new();
        for r in &self.results {
            if let Some(l) = &r.layer {
                let set = r
                    .packages
                    .iter()
                    .map(|p| (p.ecosystem, p.name.clone(), p.version.clone()))
                    .collect();
                history
                    .entry(r.path.clone())
                    .or_default()
                    .push((l.index, set));
            }
        }
        for versions in history.values_mut() {
            versions.sort_by_key(|(l, _)| *l);
        }
        let layers_by_index: BTreeMap<usize, LayerRef> = self
            .results
            .iter()
            .filter_map(|r| r.layer.clone())
            .map(|l| (l.index, l))
            .collect();
        for r in self.results {
            if !present(&r.path, r.layer.as_ref().map(|l| l.index)) {
                continue;
            }
            let chain = r
                .layer
                .as_ref()
                .and_then(|l| history.get(&r.path).map(|h| (l.index, h)));
            for mut p in r.packages {
                if let Some((current, versions)) = chain {
                    let key = (p.ecosystem, p.name.clone(), p.version.clone());
                    let mut first = current;
                    for (layer, set) in versions
                        .iter()
                        .rev()
                        .skip_while(|(l, _)| *l > current)
                        .skip(1)
                    {
                        if set.contains(&key) {
                            first = *layer;
                        } else {
                            break;
                        }
                    }
                    if first != current
                        && let Some(lref) = layers_by_index.get(&first)
                    {
                        for loc in &mut p.locations {
                            loc.layer = Some(lref.clone());
                        }
                    }
                }
                p.purl = purl::purl(&p, distro.as_ref());
                match merged.get_mut(&p.purl) {
                    Some(existing) => {
                        for loc in p.locations {
                            if !existing.locations.contains(&loc) {
                                existing.locations.push(loc);
                            }
                        }
                        for l in p.licenses {
                            if !existing.licenses.contains(&l) {
                                existing.licenses.push(l);
                            }
                        }
                    }
                    None => {
                        merged.insert(p.purl.clone(), p);
                    }
                }
            }
        }
        let mut packages: Vec<Package> = merged.into_values().collect();
        for p in &mut packages {
            p.locations.sort_by(|a, b| a.path.cmp(&b.path));
        }
        packages.sort_by(|a, b| {
            (a.ecosystem, &a.name, &a.version, &a.purl).cmp(&(
                b.ecosystem,
                &b.name,
                &b.version,
                &b.purl,
            ))
        });
        let mut problems = self.problems;
        problems.sort_by(|a, b| (&a.path, a.line, &a.message).cmp(&(&b.path, b.line, &b.message)));
        Inventory {
            target,
            complete: true,
            created: None,
            distro,
            packages,
            problems,
        }
    }
}

/// Walks a target with the artifact layer and builds its inventory: the one call analyzers
/// need. `progress` hears (done, total) compressed bytes while image layers stream.
pub fn inventory_of(
    target: &palisade_artifact::TargetRef,
    name: &str,
    opts: &palisade_artifact::Options,
    only: &[String],
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Inventory, palisade_artifact::ArtifactError> {
    let kind = match target {
        palisade_artifact::TargetRef::Directory(_) => TargetKind::Filesystem,
        _ => TargetKind::Image,
    };
    let mut collector = Collector {
        builder: InventoryBuilder::new(kind, only),
        progress,
    };
    let walked = palisade_artifact::walk(target, opts, &mut collector)?;
    let mut builder = collector.builder;
    let complete = !walked
        .problems
        .iter()
        .any(|p| p.kind == palisade_core::ProblemKind::Error);
    for p in walked.problems.iter().cloned() {
        builder.problem(p);
    }
    let image = walked.image.as_ref();
    let info = TargetInfo {
        name: name.to_string(),
        kind: match walked.kind {
            palisade_artifact::Kind::Image => "image".into(),
            palisade_artifact::Kind::Filesystem => "filesystem".into(),
        },
        digest: image.and_then(|i| i.manifest_digest.clone()),
        config_digest: image.map(|i| i.config_digest.clone()),
        platform: image.map(|i| i.platform.to_string()),
        layers: image.map(|i| i.layers.clone()).unwrap_or_default(),
    };
    let fs = &walked.fs;
    let mut inv = builder.finish(info, |path, layer| fs.present(path, layer));
    inv.created = image.and_then(|i| {
        i.config_json
            .get("created")
            .and_then(|c| c.as_str())
            .map(str::to_string)
    });
    inv.complete = complete;
    Ok(inv)
}

/// Feeds the artifact walk into an [`InventoryBuilder`].
struct Collector<'a> {
    builder: InventoryBuilder,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl palisade_artifact::Visitor for Collector<'_> {
    fn wants(&mut self, file: &palisade_artifact::FileMeta<'_>) -> bool {
        self.builder.wants(&FileInfo {
            path: file.path,
            size: file.size,
            mode: file.mode,
        })
    }

    fn visit(&mut self, file: &palisade_artifact::FileMeta<'_>, content: &[u8]) {
        let info = FileInfo {
            path: file.path,
            size: file.size,
            mode: file.mode,
        };
        self.builder.add_file(&info, file.layer, content);
    }

    fn discard_layer(&mut self, index: usize) {
        self.builder.discard_layer(index);
    }

    fn progress(&mut self, done: u64, total: u64) {
        (self.progress)(done, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(index: usize) -> LayerRef {
        LayerRef {
            index,
            digest: format!("sha256:{index:064}"),
            diff_id: None,
            created_by: None,
        }
    }

    fn status(pkgs: &[(&str, &str)]) -> Vec<u8> {
        pkgs.iter()
            .map(|(n, v)| format!("Package: {n}\nStatus: install ok installed\nVersion: {v}\nArchitecture: amd64\n\n"))
            .collect::<String>()
            .into_bytes()
    }

    fn add(b: &mut InventoryBuilder, l: usize, content: &[u8]) {
        let f = FileInfo {
            path: "var/lib/dpkg/status",
            size: content.len() as u64,
            mode: 0o644,
        };
        b.add_file(&f, Some(&layer(l)), content);
    }

    #[test]
    fn packages_keep_the_layer_that_installed_them() {
        let mut b = InventoryBuilder::new(TargetKind::Image, &[]);
        add(&mut b, 0, &status(&[("libc6", "2.36-9")]));
        add(&mut b, 1, &status(&[("libc6", "2.36-9"), ("curl", "7.88")]));
        add(
            &mut b,
            2,
            &status(&[("libc6", "2.36-9+deb12u4"), ("curl", "7.88")]),
        );
        let inv = b.finish(TargetInfo::default(), |p, l| {
            p == "var/lib/dpkg/status" && l == Some(2)
        });
        let layer_of = |n: &str| {
            inv.packages.iter().find(|p| p.name == n).unwrap().locations[0]
                .layer
                .as_ref()
                .unwrap()
                .index
        };
        assert_eq!(layer_of("curl"), 1, "installed in layer 2, untouched after");
        assert_eq!(layer_of("libc6"), 2, "upgraded in layer 3");
    }

    #[test]
    fn a_file_written_twice_in_one_layer_counts_once() {
        let mut b = InventoryBuilder::new(TargetKind::Image, &[]);
        add(&mut b, 0, &status(&[("openssl", "3.0.0-old")]));
        add(&mut b, 0, &status(&[("openssl", "3.0.15-new")]));
        let inv = b.finish(TargetInfo::default(), |_, _| true);
        let versions: Vec<&str> = inv.packages.iter().map(|p| p.version.as_str()).collect();
        assert_eq!(versions, ["3.0.15-new"]);
    }
}
