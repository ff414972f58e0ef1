//! The Python and JavaScript catalogers on real data: the corpus lockfiles (Poetry's own
//! `poetry.lock`, vuejs/core's pnpm v9 lock) and the kitchen-sink image's python and node
//! layers, read straight from the gzip layer blobs.

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use palisade_sbom::{
    Ecosystem, FileInfo, Inventory, InventoryBuilder, LayerRef, TargetInfo, TargetKind,
};

const CATALOGERS: &[&str] = &[
    "python-installed",
    "python-requirements",
    "python-poetry",
    "python-pipenv",
    "python-uv",
    "npm-installed",
    "npm-lock",
    "yarn-lock",
    "pnpm-lock",
];

fn only() -> Vec<String> {
    CATALOGERS.iter().map(|s| s.to_string()).collect()
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The layer digests (`sha256:…`) of the image's first manifest, in order.
fn layer_digests(image: &Path) -> Vec<String> {
    let blob = |digest: &str| {
        image
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let idx = read_json(&image.join("index.json"));
    let manifest = read_json(&blob(idx["manifests"][0]["digest"].as_str().unwrap()));
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// Streams every regular file of one gzip layer through the builder, as the artifact layer
/// does: `wants` on the path, then the contents of wanted files only.
fn add_layer(builder: &mut InventoryBuilder, image: &Path, index: usize, digest: &str) {
    let path = image
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(File::open(path).unwrap())));
    let layer = LayerRef {
        index,
        digest: digest.to_string(),
        diff_id: None,
        created_by: None,
    };
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let name = name
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        let info = FileInfo {
            path: &name,
            size: entry.header().size().unwrap(),
            mode: entry.header().mode().unwrap(),
        };
        if builder.wants(&info) {
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            builder.add_file(&info, Some(&layer), &content);
        }
    }
}

fn names(inv: &Inventory, eco: Ecosystem) -> BTreeSet<(String, String)> {
    inv.packages
        .iter()
        .filter(|p| p.ecosystem == eco)
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

fn set(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Inventories files of a corpus folder as a Filesystem target.
fn inventory_dir(dir: &Path) -> Inventory {
    let mut builder = InventoryBuilder::new(TargetKind::Filesystem, &only());
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = e.metadata().unwrap();
        let info = FileInfo {
            path: &name,
            size: meta.len(),
            mode: 0o644,
        };
        if meta.is_file() && builder.wants(&info) {
            builder.add_file(&info, None, &std::fs::read(e.path()).unwrap());
        }
    }
    builder.finish(TargetInfo::default(), |_, _| true)
}

#[test]
fn kitchen_sink_python_and_node_layers() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let image = corpus.join("images/kitchen-sink-oci");
    let digests = layer_digests(&image);
    assert_eq!(digests.len(), 6);
    let mut builder = InventoryBuilder::new(TargetKind::Image, &only());
    // Layers are 0-based here: 1 is "python" (the image's second layer), 2 is "node" (the
    // third). The Debian base layer (0) holds no dist-info, egg-info or package.json, and
    // the later layers (rust, secrets, cleanup) none either; they are left out to keep the
    // test fast.
    add_layer(&mut builder, &image, 1, &digests[1]);
    add_layer(&mut builder, &image, 2, &digests[2]);
    let inv = builder.finish(TargetInfo::default(), |_, _| true);
    assert!(inv.problems.is_empty(), "{:#?}", inv.problems);

    // Python: the 11 `*.dist-info/METADATA` of usr/local/lib/python3.11/dist-packages, as
    // Syft 1.18.1 and Trivy 0.59.1 report them (Syft lower-cases names; we keep `Name:`).
    let py = set(&[
        ("Django", "3.2"),
        ("Jinja2", "2.11.2"),
        ("MarkupSafe", "2.1.3"),
        ("asgiref", "3.3.4"),
        ("certifi", "2020.12.5"),
        ("chardet", "4.0.0"),
        ("idna", "2.10"),
        ("pytz", "2021.1"),
        ("requests", "2.25.1"),
        ("sqlparse", "0.4.1"),
        ("urllib3", "1.26.4"),
    ]);
    assert_eq!(names(&inv, Ecosystem::PyPI), py);
    let pkg = |name: &str| inv.packages.iter().find(|p| p.name == name).unwrap();
    let requests = pkg("requests");
    assert_eq!(requests.found_by, "python-installed");
    // `License: Apache 2.0` in its METADATA (Syft reports the same string).
    assert_eq!(requests.licenses, vec!["Apache 2.0"]);
    assert_eq!(pkg("certifi").licenses, vec!["MPL-2.0"]);
    assert_eq!(requests.purl, "pkg:pypi/requests@2.25.1");
    assert_eq!(pkg("Django").purl, "pkg:pypi/django@3.2");
    assert_eq!(
        requests.locations[0].path,
        "/usr/local/lib/python3.11/dist-packages/requests-2.25.1.dist-info/METADATA"
    );
    assert_eq!(requests.locations[0].layer.as_ref().unwrap().index, 1);

    // npm: 52 package roots under app/node_modules (ms twice: 2.0.0 at the top, 2.1.1
    // nested under send) plus the application's own app/package.json (shop-frontend
    // 1.0.0): 53, the count and the list Syft 1.18.1 (javascript-package-cataloger) and
    // Trivy 0.59.1 give for this layer. app/package-lock.json is a lockfile: not read for
    // an image.
    let npm = set(&[
        ("accepts", "1.3.8"),
        ("array-flatten", "1.1.1"),
        ("body-parser", "1.19.0"),
        ("bytes", "3.1.0"),
        ("content-disposition", "0.5.3"),
        ("content-type", "1.0.5"),
        ("cookie", "0.4.0"),
        ("cookie-signature", "1.0.6"),
        ("debug", "2.6.9"),
        ("depd", "1.1.2"),
        ("destroy", "1.0.4"),
        ("ee-first", "1.1.1"),
        ("encodeurl", "1.0.4"),
        ("escape-html", "1.0.3"),
        ("etag", "1.8.1"),
        ("express", "4.17.1"),
        ("finalhandler", "1.1.2"),
        ("forwarded", "0.2.0"),
        ("fresh", "0.5.2"),
        ("http-errors", "1.7.2"),
        ("iconv-lite", "0.4.24"),
        ("inherits", "2.0.3"),
        ("ipaddr.js", "1.9.1"),
        ("lodash", "4.17.15"),
        ("media-typer", "0.3.0"),
        ("merge-descriptors", "1.0.1"),
        ("methods", "1.1.2"),
        ("mime", "1.6.0"),
        ("mime-db", "1.52.0"),
        ("mime-types", "2.1.35"),
        ("minimist", "1.2.0"),
        ("ms", "2.0.0"),
        ("ms", "2.1.1"),
        ("negotiator", "0.6.3"),
        ("on-finished", "2.3.0"),
        ("parseurl", "1.3.3"),
        ("path-to-regexp", "0.1.7"),
        ("proxy-addr", "2.0.8"),
        ("qs", "6.7.0"),
        ("range-parser", "1.2.1"),
        ("raw-body", "2.4.0"),
        ("safe-buffer", "5.1.2"),
        ("safer-buffer", "2.1.2"),
        ("send", "0.17.1"),
        ("serve-static", "1.14.1"),
        ("setprototypeof", "1.1.1"),
        ("shop-frontend", "1.0.0"),
        ("statuses", "1.5.0"),
        ("toidentifier", "1.0.0"),
        ("type-is", "1.6.18"),
        ("unpipe", "1.0.0"),
        ("utils-merge", "1.0.1"),
        ("vary", "1.1.2"),
    ]);
    assert_eq!(npm.len(), 53);
    assert_eq!(names(&inv, Ecosystem::Npm), npm);
    let counts = inv.counts();
    assert_eq!(counts.get(&Ecosystem::Npm), Some(&53));
    assert_eq!(counts.get(&Ecosystem::PyPI), Some(&11));
    for p in inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Npm)
    {
        assert_eq!(p.found_by, "npm-installed", "{}", p.name);
        assert_eq!(p.locations.len(), 1, "{}", p.name);
        assert_eq!(p.locations[0].layer.as_ref().unwrap().index, 2);
    }
    let nested_ms = inv
        .packages
        .iter()
        .find(|p| p.name == "ms" && p.version == "2.1.1")
        .unwrap();
    assert_eq!(
        nested_ms.locations[0].path,
        "/app/node_modules/send/node_modules/ms/package.json"
    );
    assert_eq!(pkg("shop-frontend").locations[0].path, "/app/package.json");
    assert_eq!(pkg("express").licenses, vec!["MIT"]);
}

#[test]
fn kitchen_sink_node_layer_as_a_directory_adds_the_lockfile() {
    // The same node layer read as a Filesystem target: package-lock.json (v3) now counts
    // too. It lists the same 52 installs (its root "" entry, shop-frontend, is skipped), so
    // every package but the app has two locations.
    let Some(corpus) = common::corpus() else {
        return;
    };
    let image = corpus.join("images/kitchen-sink-oci");
    let digests = layer_digests(&image);
    let mut builder = InventoryBuilder::new(TargetKind::Filesystem, &only());
    add_layer(&mut builder, &image, 2, &digests[2]);
    let inv = builder.finish(TargetInfo::default(), |_, _| true);
    assert!(inv.problems.is_empty(), "{:#?}", inv.problems);
    assert_eq!(inv.counts().get(&Ecosystem::Npm), Some(&53));
    for p in &inv.packages {
        let paths: Vec<&str> = p.locations.iter().map(|l| l.path.as_str()).collect();
        if p.name == "shop-frontend" {
            assert_eq!(paths, vec!["app/package.json"]);
        } else {
            assert_eq!(paths.len(), 2, "{} {paths:?}", p.name);
            assert!(
                paths.contains(&"app/package-lock.json"),
                "{} {paths:?}",
                p.name
            );
        }
    }
}

#[test]
fn poetry_lock_of_poetry() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let inv = inventory_dir(&corpus.join("lockfiles/python-poetry"));
    assert!(inv.problems.is_empty(), "{:#?}", inv.problems);
    // `grep -c '^\[\[package\]\]' poetry.lock` = 78, no name twice; Syft 1.18.1 reports 78.
    let py = names(&inv, Ecosystem::PyPI);
    assert_eq!(py.len(), 78);
    assert_eq!(inv.packages.len(), 78);
    for (n, v) in [
        ("anyio", "4.13.0"),
        ("backports-tarfile", "1.2.0"),
        ("cryptography", "47.0.0"),
        ("keyring", "25.7.0"),
        ("requests", "2.33.1"),
    ] {
        assert!(py.contains(&(n.to_string(), v.to_string())), "{n} {v}");
    }
    assert!(
        inv.packages
            .iter()
            .all(|p| p.found_by == "python-poetry" && p.locations[0].path == "poetry.lock")
    );
}

#[test]
fn pnpm_v9_lock_of_vuejs_core() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let inv = inventory_dir(&corpus.join("lockfiles/vuejs-core"));
    assert!(inv.problems.is_empty(), "{:#?}", inv.problems);
    // The `packages:` section has 620 keys (lines 457–3325, one per name@version, no
    // duplicates). Syft 1.18.1 (`syft dir:`) reports the same 620; `trivy fs` 0.59.1
    // reports 33 by default because it hides development dependencies (nearly all of a
    // library's lock), and the same 620 with `--include-dev-deps`. The root package.json
    // has no `name`, so it adds no package. Workspace packages (`vue@packages+vue` in
    // snapshots' peer suffixes, `link:` versions in importers) are not in `packages:`.
    let npm = names(&inv, Ecosystem::Npm);
    assert_eq!(npm.len(), 620);
    assert_eq!(inv.packages.len(), 620);
    // Hand-checked keys: '@babel/parser@7.29.8' (line 479), '@vitejs/plugin-vue@6.0.8'
    // (1544; its snapshot is '…(vite@8.2.0)(vue@packages+vue)'), typescript@5.6.3 and
    // typescript@6.0.3 (3096, 3101: two versions side by side), vite@8.2.0 (3133).
    for (n, v) in [
        ("@babel/parser", "7.29.8"),
        ("@vitejs/plugin-vue", "6.0.8"),
        ("typescript", "5.6.3"),
        ("typescript", "6.0.3"),
        ("vite", "8.2.0"),
        ("@asamuzakjp/css-color", "6.0.5"),
    ] {
        assert!(npm.contains(&(n.to_string(), v.to_string())), "{n} {v}");
    }
    assert!(
        npm.iter()
            .all(|(n, v)| !n.is_empty() && !v.contains('(') && !v.starts_with("link:"))
    );
    assert!(inv.packages.iter().all(|p| p.found_by == "pnpm-lock"));
}

#[test]
fn lockfile_catalogers_are_off_for_images() {
    let image = InventoryBuilder::new(TargetKind::Image, &only());
    for path in [
        "app/package-lock.json",
        "app/yarn.lock",
        "app/pnpm-lock.yaml",
        "app/poetry.lock",
        "app/Pipfile.lock",
        "app/uv.lock",
        "app/requirements.txt",
    ] {
        let info = FileInfo {
            path,
            size: 10,
            mode: 0o644,
        };
        assert!(!image.wants(&info), "{path}");
        assert!(
            InventoryBuilder::new(TargetKind::Filesystem, &only()).wants(&info),
            "{path}"
        );
    }
    for path in [
        "app/node_modules/x/package.json",
        "usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA",
    ] {
        assert!(
            image.wants(&FileInfo {
                path,
                size: 10,
                mode: 0o644
            }),
            "{path}"
        );
    }
}
