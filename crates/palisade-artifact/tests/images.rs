//! Reading real and deliberately broken images.
//!
//! The kitchen-sink image of the corpus is read as an OCI layout, converted by skopeo to a
//! docker archive and an OCI archive, and pushed to a real registry (Debian's
//! `docker-registry`) on 127.0.0.1; all four must give the same final view. Broken images are
//! built here with the tar and gzip writers.

#[path = "support/registry.rs"]
mod registry;
use registry::Registry;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use palisade_artifact::fs::EntryKind;
use palisade_artifact::layer::Limits;
use palisade_artifact::{FileMeta, Options, TargetRef, Visitor, Walked, walk};
use sha2::Digest;

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PALISADE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: corpus not found at {} (set PALISADE_CORPUS)",
            dir.display()
        );
        None
    }
}

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipping part of the test: {name} is not installed (apt-get install {name})");
    }
    found
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-artifact-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Records which files it saw (path → layers) and keeps the contents of wanted ones.
#[derive(Default)]
struct Recorder {
    want: Vec<&'static str>,
    seen: BTreeMap<String, Vec<usize>>,
    contents: BTreeMap<(String, usize), Vec<u8>>,
    discarded: Vec<usize>,
}

impl Visitor for Recorder {
    fn wants(&mut self, file: &FileMeta<'_>) -> bool {
        let layer = file.layer.map_or(0, |l| l.index);
        self.seen
            .entry(file.path.to_string())
            .or_default()
            .push(layer);
        self.want.contains(&file.path)
    }

    fn visit(&mut self, file: &FileMeta<'_>, content: &[u8]) {
        let layer = file.layer.map_or(0, |l| l.index);
        self.contents
            .insert((file.path.to_string(), layer), content.to_vec());
    }

    fn discard_layer(&mut self, index: usize) {
        self.discarded.push(index);
    }
}

fn read(target: &str, opts: &Options) -> (Walked, Recorder) {
    let mut rec = Recorder {
        want: vec![
            "app/config/.env",
            "app/config/.env.bak",
            "etc/os-release",
            "usr/lib/os-release",
        ],
        ..Recorder::default()
    };
    let t = TargetRef::parse(target).unwrap_or_else(|e| panic!("{target}: {e}"));
    let walked = walk(&t, opts, &mut rec).unwrap_or_else(|e| panic!("{target}: {e}"));
    (walked, rec)
}

/// What must hold for every copy of the kitchen-sink image.
fn check_kitchen_sink(walked: &Walked, rec: &Recorder, how: &str) {
    assert!(walked.problems.is_empty(), "{how}: {:?}", walked.problems);
    let image = walked.image.as_ref().expect("an image");
    assert_eq!(image.layers.len(), 6, "{how}");
    // Layer 5 (index 4) adds the .env files; layer 6 deletes .env with a whiteout.
    assert_eq!(rec.seen.get("app/config/.env"), Some(&vec![4]), "{how}");
    assert!(
        rec.contents
            .contains_key(&("app/config/.env".to_string(), 4)),
        "{how}"
    );
    assert!(
        walked.fs.get("app/config/.env").is_none(),
        "{how}: .env must be gone from the final view"
    );
    assert!(walked.fs.present("app/config/.env.bak", Some(4)), "{how}");
    assert!(walked.fs.present("var/lib/dpkg/status", Some(0)), "{how}");
    assert!(
        walked.fs.file_count() > 3000,
        "{how}: {} files",
        walked.fs.file_count()
    );
    let os = rec
        .contents
        .iter()
        .find(|((p, _), _)| p.ends_with("os-release"))
        .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
        .expect("os-release read");
    assert!(os.contains("ID=debian"), "{how}");
}

fn summary(w: &Walked) -> Vec<(String, String)> {
    w.fs.iter()
        .map(|(p, e)| {
            let k = match &e.kind {
                EntryKind::File { size, .. } => format!("file {size}"),
                EntryKind::Dir => "dir".into(),
                EntryKind::Symlink(t) => format!("link {t}"),
                EntryKind::Hardlink(t) => format!("hardlink {t}"),
                EntryKind::Other => "other".into(),
            };
            (p.to_string(), k)
        })
        .collect()
}

#[test]
fn kitchen_sink_in_every_format_and_from_a_registry() {
    let Some(corpus) = corpus() else { return };
    let layout = corpus.join("images/kitchen-sink-oci");
    let opts = Options::default();
    let (walked, rec) = read(layout.to_str().unwrap(), &opts);
    check_kitchen_sink(&walked, &rec, "oci layout");
    let image = walked.image.as_ref().unwrap();
    assert_eq!(image.layers[4].created_by.as_deref(), Some("secrets"));
    assert_eq!(image.tags, ["latest"]);
    let (tagged, _) = read(&format!("oci:{}:latest", layout.display()), &opts);
    assert_eq!(summary(&tagged), summary(&walked));

    if !tool("skopeo") {
        return;
    }
    let d = tempdir("skopeo");
    let src = format!("oci:{}:latest", layout.display());
    for (dest, file) in [
        ("docker-archive", "ks.tar:kitchen-sink:latest"),
        ("oci-archive", "ks-oci.tar"),
    ] {
        let target = format!("{dest}:{}", d.join(file).display());
        let out = Command::new("skopeo")
            .args(["copy", "--quiet", &src, &target])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo {dest}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Both archives are recognised without a transport prefix, too.
    for file in ["ks.tar", "ks-oci.tar"] {
        let (w, r) = read(d.join(file).to_str().unwrap(), &opts);
        check_kitchen_sink(&w, &r, file);
        assert_eq!(
            summary(&w),
            summary(&walked),
            "{file} gives another final view"
        );
    }

    if !tool("docker-registry") {
        return;
    }
    let registry = Registry::start(&d);
    let dest = format!("docker://{}/test/kitchen-sink:v1", registry.addr);
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false", &src, &dest])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opts = Options {
        insecure_registries: vec![registry.addr.clone()],
        ..Options::default()
    };
    let (w, r) = read(&format!("{}/test/kitchen-sink:v1", registry.addr), &opts);
    check_kitchen_sink(&w, &r, "registry");
    assert_eq!(summary(&w), summary(&walked));
    // By digest, too.
    let digest = w.image.as_ref().unwrap().manifest_digest.clone().unwrap();
    let (w2, _) = read(
        &format!("{}/test/kitchen-sink@{digest}", registry.addr),
        &opts,
    );
    assert_eq!(summary(&w2), summary(&walked));
    // Without --insecure-registry the error says what to do.
    let err = walk(
        &TargetRef::parse(&format!("{}/test/kitchen-sink:v1", registry.addr)).unwrap(),
        &Options::default(),
        &mut Recorder::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--insecure-registry"), "{err}");
    let err = walk(
        &TargetRef::parse(&format!("{}/test/missing:v1", registry.addr)).unwrap(),
        &opts,
        &mut Recorder::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("not found") || err.contains("UNKNOWN"),
        "{err}"
    );
}

// ---- hand-made images -------------------------------------------------------------------

fn sha(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        palisade_artifact::layer::hex(&sha2::Sha256::digest(bytes))
    )
}

enum E<'a> {
    File(&'a str, &'a [u8]),
    Hardlink(&'a str, &'a str),
    Raw(&'a str, &'a [u8]),
}

/// A tar layer; `Raw` entries get their name written byte for byte (for `../` paths the
/// tar writer would refuse).
fn tar_layer(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            E::File(p, c) => {
                let mut h = tar::Header::new_gnu();
                h.set_size(c.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                b.append_data(&mut h, p, *c).unwrap();
            }
            E::Hardlink(p, t) => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
            E::Raw(p, c) => {
                let mut h = tar::Header::new_old();
                h.as_old_mut().name[..p.len()].copy_from_slice(p.as_bytes());
                h.set_size(c.len() as u64);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_cksum();
                b.append(&h, *c).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes an OCI layout with the given layer blobs; `digests` overrides a layer's recorded
/// digest (to simulate tampering).
fn layout(dir: &Path, blobs: &[Vec<u8>], digests: &[Option<String>]) {
    let blob_dir = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blob_dir).unwrap();
    let put = |bytes: &[u8], name: Option<&str>| {
        let d = sha(bytes);
        let file = name
            .map(str::to_string)
            .unwrap_or_else(|| d[7..].to_string());
        std::fs::write(blob_dir.join(file), bytes).unwrap();
        d
    };
    let mut layers = Vec::new();
    for (i, b) in blobs.iter().enumerate() {
        let recorded = digests.get(i).cloned().flatten();
        let d = match &recorded {
            Some(fake) => put(b, Some(&fake[7..])),
            None => put(b, None),
        };
        layers.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": recorded.unwrap_or(d), "size": b.len()}));
    }
    let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": []});
    let config = serde_json::to_vec(&config).unwrap();
    let cd = put(&config, None);
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()}, "layers": layers})).unwrap();
    let md = put(&manifest, None);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len()}]})).unwrap(),
    )
    .unwrap();
}

fn walk_dir(dir: &Path, opts: &Options) -> (Walked, Recorder) {
    let mut rec = Recorder {
        want: vec!["good.txt", "bad.txt", "etc/os-release", "big.bin"],
        ..Recorder::default()
    };
    let w = walk(
        &TargetRef::parse(dir.to_str().unwrap()).unwrap(),
        opts,
        &mut rec,
    )
    .unwrap();
    (w, rec)
}

fn messages(w: &Walked) -> String {
    w.problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_layer_that_does_not_match_its_digest_is_left_out() {
    let d = tempdir("tamper");
    let good = gzip(&tar_layer(&[E::File("good.txt", b"fine")]));
    let bad = gzip(&tar_layer(&[E::File("bad.txt", b"evil")]));
    let fake = format!("sha256:{}", "ab".repeat(32));
    layout(&d, &[good, bad], &[None, Some(fake.clone())]);
    let (w, rec) = walk_dir(&d, &Options::default());
    assert!(w.fs.present("good.txt", Some(0)));
    assert!(
        w.fs.get("bad.txt").is_none(),
        "files of a tampered layer stay out of the view"
    );
    assert_eq!(rec.discarded, [1]);
    let m = messages(&w);
    assert!(
        m.contains("layer 2") && m.contains("does not match its digest"),
        "{m}"
    );
}

#[test]
fn truncated_layers_escaping_paths_missing_hard_links() {
    let d = tempdir("broken");
    let full = gzip(&tar_layer(&[
        E::File("good.txt", b"fine"),
        E::Raw("../../etc/passwd", b"root::0:0"),
        E::Hardlink("link", "nowhere/missing"),
        E::File("etc/os-release", &vec![b'x'; 100_000]),
    ]));
    let truncated = full[..full.len() / 2].to_vec();
    layout(&d, &[full, truncated], &[]);
    let (w, _) = walk_dir(&d, &Options::default());
    let m = messages(&w);
    assert!(m.contains("climbs out of the image root"), "{m}");
    assert!(
        m.contains("layer 2") && m.contains("corrupt or truncated"),
        "{m}"
    );
    assert!(w.fs.present("good.txt", Some(1)) || w.fs.present("good.txt", Some(0)));
    assert!(w.fs.get("etc/passwd").is_none() && w.fs.iter().all(|(p, _)| !p.contains("..")));
    // The hard link is kept as a link; its target is simply not in the view.
    assert!(
        matches!(w.fs.get("link").map(|e| &e.kind), Some(EntryKind::Hardlink(t)) if t == "nowhere/missing")
    );
}

#[test]
fn decompression_bombs_and_entry_floods_are_stopped() {
    let d = tempdir("bomb");
    // 64 MB of zeros compresses to ~64 KB.
    let bomb = gzip(&tar_layer(&[E::File(
        "big.bin",
        &vec![0u8; 64 * 1024 * 1024],
    )]));
    assert!(bomb.len() < 1024 * 1024);
    let mut many = Vec::new();
    for i in 0..500 {
        many.push(format!("f{i}"));
    }
    let flood_entries: Vec<E<'_>> = many.iter().map(|n| E::File(n, b"x")).collect();
    let flood = gzip(&tar_layer(&flood_entries));
    layout(&d, &[bomb, flood], &[]);
    let opts = Options {
        limits: Limits {
            max_file_size: 1024 * 1024,
            max_layer_bytes: 8 * 1024 * 1024,
            max_entries: 100,
        },
        ..Options::default()
    };
    let (w, rec) = walk_dir(&d, &opts);
    let m = messages(&w);
    assert!(m.contains("decompression bomb"), "{m}");
    assert!(m.contains("more than 100 entries"), "{m}");
    assert!(
        !rec.contents.keys().any(|(p, _)| p == "big.bin"),
        "an oversized file is not read"
    );
}

#[test]
fn directories_are_read_without_following_links() {
    let d = tempdir("dirs");
    std::fs::create_dir_all(d.join("etc")).unwrap();
    std::fs::write(d.join("etc/os-release"), "ID=alpine\n").unwrap();
    let outside = tempdir("dirs-outside");
    std::fs::write(outside.join("good.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(&outside, d.join("escape")).unwrap();
    let (w, rec) = walk_dir(&d, &Options::default());
    assert_eq!(w.kind, palisade_artifact::Kind::Filesystem);
    assert!(w.fs.present("etc/os-release", None));
    assert!(matches!(
        w.fs.get("escape").map(|e| &e.kind),
        Some(EntryKind::Symlink(_))
    ));
    assert!(
        !rec.seen.keys().any(|p| p.starts_with("escape/")),
        "links are not followed"
    );
}

#[test]
fn tampered_layers_are_refused_even_when_also_broken() {
    let d = tempdir("tamper2");
    let real = gzip(&tar_layer(&[E::File("good.txt", b"fine")]));
    // A tampered layer, cut short and with junk after it, recorded under the real digest.
    let mut evil = gzip(&tar_layer(&[E::File("bad.txt", b"evil")]));
    evil.truncate(evil.len() - 10);
    evil.extend_from_slice(b"junk junk junk junk junk");
    // The manifest records the digest of the original layer; the blob stored under that
    // digest has been replaced.
    let original = gzip(&tar_layer(&[E::File("bad.txt", b"original")]));
    let recorded = sha(&original);
    layout(&d, &[real, evil], &[None, Some(recorded)]);
    let (w, rec) = walk_dir(&d, &Options::default());
    assert!(w.fs.present("good.txt", Some(0)));
    assert!(
        w.fs.get("bad.txt").is_none(),
        "a broken tampered layer must not be applied"
    );
    assert_eq!(rec.discarded, [1]);
    assert!(
        messages(&w).contains("does not match its digest"),
        "{}",
        messages(&w)
    );
}

#[test]
fn unsupported_or_fake_digest_algorithms_are_refused() {
    let d = tempdir("sha512");
    let layer = gzip(&tar_layer(&[E::File("bad.txt", b"evil")]));
    let fake = format!("sha512:{}", "ab".repeat(64));
    layout(&d, &[layer], &[Some(fake)]);
    let mut rec = Recorder::default();
    // The layout writes the blob under the fake digest's hex in blobs/sha256; make it findable
    // under sha512 too, as a hostile layout would.
    std::fs::create_dir_all(d.join("blobs/sha512")).unwrap();
    for e in std::fs::read_dir(d.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join("blobs/sha512").join(e.file_name())).unwrap();
    }
    let w = walk(
        &TargetRef::parse(d.to_str().unwrap()).unwrap(),
        &Options::default(),
        &mut rec,
    )
    .unwrap();
    assert!(w.fs.get("bad.txt").is_none());
    assert!(
        messages(&w).contains("does not match its digest"),
        "{}",
        messages(&w)
    );
}

#[test]
fn huge_long_names_are_refused_without_reading_them() {
    let d = tempdir("longname");
    // A GNU long-name record claiming 1 GB: the reader must refuse it, not allocate it.
    let mut tar = Vec::new();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    h.set_size(1 << 30);
    h.set_cksum();
    tar.extend_from_slice(h.as_bytes());
    tar.extend_from_slice(&vec![b'a'; 64 * 1024]);
    layout(&d, &[gzip(&tar)], &[]);
    let before = std::time::Instant::now();
    let (w, _) = walk_dir(&d, &Options::default());
    assert!(before.elapsed().as_secs() < 10);
    assert!(messages(&w).contains("extended header"), "{}", messages(&w));
}
