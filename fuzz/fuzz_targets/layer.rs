//! A layer blob of any bytes (gzip, zstd or plain tar, hostile headers, whiteouts, links)
//! goes through the layer reader and the layered view without a panic or a runaway.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_artifact::fs::LayeredFs;
use palisade_artifact::layer::{LayerSpec, Limits, read_layer};
use palisade_artifact::{FileMeta, Visitor};
use palisade_core::LayerRef;

struct Everything;

impl Visitor for Everything {
    fn wants(&mut self, _: &FileMeta<'_>) -> bool {
        true
    }
    fn visit(&mut self, _: &FileMeta<'_>, _: &[u8]) {}
}

fuzz_target!(|data: &[u8]| {
    let spec = LayerSpec {
        layer: LayerRef { index: 0, digest: "sha256:00".into(), diff_id: None, created_by: None },
        digest: None,
        diff_id: None,
    };
    let limits = Limits { max_file_size: 1 << 20, max_layer_bytes: 64 << 20, max_entries: 10_000 };
    let result = read_layer(Box::new(data), &spec, &limits, "fuzz", &mut Everything);
    let mut fs = LayeredFs::new();
    if let Some(changes) = result.changes {
        fs.apply(Some(0), changes);
    }
});
