//! The dpkg cataloger on the kitchen-sink image's Debian 12 base layer.

mod common;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use palisade_sbom::catalogers::dpkg::Dpkg;
use palisade_sbom::{Cataloger, FileInfo, SourcePackage};

/// The digest (`sha256:…`) of layer `index` of the image's first manifest.
fn layer_digest(image: &Path, index: usize) -> String {
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let blob = |digest: &str| {
        image
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let idx = read(&image.join("index.json"));
    let manifest = read(&blob(idx["manifests"][0]["digest"].as_str().unwrap()));
    manifest["layers"][index]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn octal(field: &[u8]) -> u64 {
    let s = std::str::from_utf8(field).unwrap();
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        0
    } else {
        u64::from_str_radix(s, 8).unwrap()
    }
}

fn c_str(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Reads the regular file `wanted` out of a tar stream: just enough of ustar, GNU long
/// names and pax `path` records for image layers.
fn tar_file(mut tar: impl Read, wanted: &str) -> Option<Vec<u8>> {
    let mut long_name: Option<String> = None;
    loop {
        let mut header = [0u8; 512];
        if tar.read_exact(&mut header).is_err() || header.iter().all(|&b| b == 0) {
            return None;
        }
        let size = octal(&header[124..136]);
        let kind = header[156];
        let mut data = Vec::new();
        (&mut tar).take(size).read_to_end(&mut data).unwrap();
        let padding = (512 - size % 512) % 512;
        io::copy(&mut (&mut tar).take(padding), &mut io::sink()).unwrap();
        match kind {
            b'L' => long_name = Some(c_str(&data)),
            b'x' => {
                let text = String::from_utf8_lossy(&data);
                for record in text.split('\n') {
                    if let Some((_, kv)) = record.split_once(' ')
                        && let Some(path) = kv.strip_prefix("path=")
                    {
                        long_name = Some(path.to_string());
                    }
                }
            }
            b'g' => {}
            _ => {
                let name = long_name.take().unwrap_or_else(|| {
                    let name = c_str(&header[0..100]);
                    let prefix = if &header[257..262] == b"ustar" {
                        c_str(&header[345..500])
                    } else {
                        String::new()
                    };
                    if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    }
                });
                let name = name.trim_start_matches("./").trim_start_matches('/');
                if (kind == b'0' || kind == 0) && name == wanted {
                    return Some(data);
                }
            }
        }
    }
}

#[test]
fn kitchen_sink_base_layer_status() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let image = corpus.join("images/kitchen-sink-oci");
    let digest = layer_digest(&image, 0);
    let layer = File::open(
        image
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    let status = tar_file(GzDecoder::new(BufReader::new(layer)), "var/lib/dpkg/status")
        .expect("var/lib/dpkg/status in the base layer");

    let file = FileInfo {
        path: "var/lib/dpkg/status",
        size: status.len() as u64,
        mode: 0o644,
    };
    assert!(Dpkg.wants(&file));
    let pkgs = Dpkg.catalog(&file, &status).unwrap();
    // 104 stanzas, all `install ok installed`; Syft 1.18.1 and Trivy 0.59.1 report 104.
    assert_eq!(pkgs.len(), 104);

    let find = |name: &str| {
        pkgs.iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let src = |name: &str, version: Option<&str>| {
        Some(SourcePackage {
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    };

    let libc = find("libc6");
    assert_eq!(libc.version, "2.36-9+deb12u14");
    assert_eq!(libc.arch.as_deref(), Some("amd64"));
    assert_eq!(libc.source, src("glibc", None));

    let bsdutils = find("bsdutils");
    assert_eq!(bsdutils.version, "1:2.38.1-5+deb12u3");
    assert_eq!(bsdutils.source, src("util-linux", Some("2.38.1-5+deb12u3")));

    let age = find("age");
    assert_eq!(age.version, "1.1.1-1+b3");
    assert_eq!(age.source, src("age", Some("1.1.1-1")));

    let libcap2 = find("libcap2");
    assert_eq!(libcap2.version, "1:2.66-4+deb12u3+b1");
    assert_eq!(libcap2.source, src("libcap2", Some("1:2.66-4+deb12u3")));

    let zlib = find("zlib1g");
    assert_eq!(zlib.version, "1:1.2.13.dfsg-1");
    assert_eq!(zlib.source, src("zlib", None));

    let tzdata = find("tzdata");
    assert_eq!(tzdata.version, "2026f-0+deb12u1");
    assert_eq!(tzdata.arch.as_deref(), Some("all"));
    assert_eq!(tzdata.source, None);

    let arch_all = pkgs
        .iter()
        .filter(|p| p.arch.as_deref() == Some("all"))
        .count();
    assert_eq!(arch_all, 15);
    assert_eq!(pkgs.iter().filter(|p| p.source.is_some()).count(), 74);
}
