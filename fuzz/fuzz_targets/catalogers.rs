//! Every cataloger reads any bytes under any of the paths it wants without a panic. The
//! first byte picks the file name the bytes are offered as.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_sbom::{FileInfo, InventoryBuilder, TargetInfo, TargetKind};

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

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else { return };
    let path = PATHS[pick as usize % PATHS.len()];
    let mut b = InventoryBuilder::new(TargetKind::Filesystem, &[]);
    let file = FileInfo { path, size: content.len() as u64, mode: 0o755 };
    if b.wants(&file) {
        b.add_file(&file, None, content);
    }
    let _ = b.finish(TargetInfo::default(), |_, _| true);
});
