//! Replays the `layer` and `catalogers` fuzzing corpora (`fuzz/corpus/…`) on the stable
//! toolchain, so inputs that once found bugs stay covered by `cargo test`.

use std::path::PathBuf;

use palisade_artifact::fs::LayeredFs;
use palisade_artifact::layer::{LayerSpec, Limits, read_layer};
use palisade_artifact::{FileMeta, Visitor};
use palisade_core::LayerRef;
use palisade_sbom::{FileInfo, InventoryBuilder, TargetInfo, TargetKind};

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

struct Everything(usize);

impl Visitor for Everything {
    fn wants(&mut self, _: &FileMeta<'_>) -> bool {
        true
    }
    fn visit(&mut self, _: &FileMeta<'_>, _: &[u8]) {
        self.0 += 1;
    }
}

#[test]
fn layer_corpus() {
    let mut files = 0;
    for data in inputs("layer") {
        let spec = LayerSpec {
            layer: LayerRef {
                index: 0,
                digest: "sha256:00".into(),
                diff_id: None,
                created_by: None,
            },
            digest: None,
            diff_id: None,
        };
        let limits = Limits {
            max_file_size: 1 << 20,
            max_layer_bytes: 64 << 20,
            max_entries: 10_000,
        };
        let mut v = Everything(0);
        let result = read_layer(Box::new(data.as_slice()), &spec, &limits, "fuzz", &mut v);
        files += v.0;
        let mut fs = LayeredFs::new();
        if let Some(changes) = result.changes {
            fs.apply(Some(0), changes);
        }
    }
    assert!(files > 0, "the seed layers hold files");
}

const PATHS: &[&str] = &[
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/pkg",
    "lib/apk/db/installed",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA",
    "app/requirements.txt",
    "app/poetry.lock",
    "app/Pipfile.lock",
    "app/uv.lock",
    "app/package-lock.json",
    "app/node_modules/x/package.json",
    "app/yarn.lock",
    "app/pnpm-lock.yaml",
    "app/Cargo.lock",
    "app/go.mod",
    "usr/bin/tool",
    "app/lib/app.jar",
    "app/composer.lock",
    "app/Gemfile.lock",
    "app/app.deps.json",
    "app/packages.lock.json",
    "etc/os-release",
];

#[test]
fn catalogers_corpus() {
    for data in inputs("catalogers") {
        let Some((&pick, content)) = data.split_first() else {
            continue;
        };
        let path = PATHS[pick as usize % PATHS.len()];
        let mut b = InventoryBuilder::new(TargetKind::Filesystem, &[]);
        let file = FileInfo {
            path,
            size: content.len() as u64,
            mode: 0o755,
        };
        if b.wants(&file) {
            b.add_file(&file, None, content);
        }
        let _ = b.finish(TargetInfo::default(), |_, _| true);
    }
}
