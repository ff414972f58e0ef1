//! The advisory store on real data: the Go, crates.io and PyPI advisory databases of the shared
//! corpus (`PALISADE_CORPUS`, default `../shared/corpus`).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use palisade_vuln::osv::Event;
use palisade_vuln::store::{self, DB_FILE, EcosystemCount, Store, StoreError, import};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-vuln-store-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn ids(store: &Store, eco: &str, name: &str) -> Vec<String> {
    store
        .lookup(eco, name)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect()
}

/// The ids of the JSON records in `dir` that name package `name` and are not withdrawn, read
/// independently of the store (plain serde_json).
fn json_ids_naming(dir: &Path, name: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        if v.get("withdrawn").is_some() {
            continue;
        }
        let names = v["affected"].as_array().unwrap();
        if names.iter().any(|a| a["package"]["name"] == name) {
            out.insert(v["id"].as_str().unwrap().to_string());
        }
    }
    out
}

/// A zip of every file of `dir`, flat, as osv.dev publishes `<ecosystem>/all.zip`.
fn zip_dir(dir: &Path, dest: &Path) {
    let mut w = zip::ZipWriter::new(fs::File::create(dest).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        w.start_file(p.file_name().unwrap().to_string_lossy(), opts)
            .unwrap();
        w.write_all(&fs::read(&p).unwrap()).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn corpus_import_lookup_and_reimport() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let osv = corpus.join("osv");
    let inputs = [osv.join("go"), osv.join("crates.io"), osv.join("PyPI")];
    let cache = tempdir("corpus");

    let t = Instant::now();
    let report = import(&cache, &inputs).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "imported {} records ({} files, {} malformed) from go, crates.io, PyPI in {:.2} s: {:.0} records/s",
        report.records,
        report.files,
        report.malformed,
        secs,
        report.records as f64 / secs
    );
    for e in &report.errors {
        eprintln!("  skipped {}: {}", e.file, e.message);
    }
    // Go 4,291 JSON, crates.io 1,206 JSON, PyPI 2,661 YAML (the 2,662nd file of the PyPI
    // folder is `.id-allocator`, not a record, and not read). All valid.
    assert_eq!(report.files, 4291 + 1206 + 2661);
    assert_eq!(report.malformed, 0, "{:?}", report.errors);
    assert_eq!(report.records, 8158);
    assert_eq!(report.inserted, 8158);
    assert_eq!(report.withdrawn, 17 + 13 + 10);

    let store = Store::open(&cache).unwrap();
    let status = store.status().unwrap();
    assert_eq!(
        status.ecosystems,
        [
            EcosystemCount {
                ecosystem: "Go".into(),
                advisories: 4291 - 17,
                withdrawn: 17
            },
            EcosystemCount {
                ecosystem: "PyPI".into(),
                advisories: 2661 - 10,
                withdrawn: 10
            },
            EcosystemCount {
                ecosystem: "crates.io".into(),
                advisories: 1206 - 13,
                withdrawn: 13
            },
        ]
    );
    assert_eq!((status.advisories, status.withdrawn), (8158 - 40, 40));
    let feeds: Vec<(&str, u64, u64)> = status
        .feeds
        .iter()
        .map(|f| (f.name.as_str(), f.records, f.withdrawn))
        .collect();
    assert_eq!(
        feeds,
        [
            ("Go", 4274, 17),
            ("PyPI", 2651, 10),
            ("crates.io", 1193, 13)
        ]
    );
    assert!(status.file_size > 0);
    eprintln!(
        "database: {} bytes for {} advisories",
        status.file_size, status.advisories
    );

    // PyPI, hand-checked against pypa/advisory-database `vulns/urllib3` and `vulns/jinja2`.
    let urllib3 = ids(&store, "PyPI", "urllib3");
    assert_eq!(
        urllib3,
        [
            "PYSEC-2017-98",
            "PYSEC-2018-32",
            "PYSEC-2019-132",
            "PYSEC-2019-133",
            "PYSEC-2020-148",
            "PYSEC-2020-149",
            "PYSEC-2021-108",
            "PYSEC-2021-59",
            "PYSEC-2023-192",
            "PYSEC-2023-207",
            "PYSEC-2023-212"
        ]
    );
    let jinja = ids(&store, "PyPI", "Jinja2");
    assert_eq!(
        jinja,
        [
            "PYSEC-2014-8",
            "PYSEC-2014-82",
            "PYSEC-2019-217",
            "PYSEC-2019-220",
            "PYSEC-2021-66"
        ]
    );
    assert_eq!(ids(&store, "PyPI", "JINJA_2"), Vec::<String>::new());
    let p66 = store.get("PYSEC-2021-66").unwrap().unwrap();
    assert!(p66.aliases.contains(&"CVE-2020-28493".to_string()));
    let events = &p66.affected_for("PyPI", "Jinja2").next().unwrap().ranges[0].events;
    assert_eq!(
        events,
        &[Event::Introduced("0".into()), Event::Fixed("2.11.3".into())]
    );
    // Versions such as '2.10' stay text.
    assert!(p66.affected[0].versions.contains(&"2.10".to_string()));

    // crates.io: the five smallvec advisories; RUSTSEC-2021-0003 fixed in 0.6.14 and 1.6.1.
    assert_eq!(
        ids(&store, "crates.io", "smallvec"),
        [
            "RUSTSEC-2018-0003",
            "RUSTSEC-2018-0018",
            "RUSTSEC-2019-0009",
            "RUSTSEC-2019-0012",
            "RUSTSEC-2021-0003"
        ]
    );
    let r = store.get("RUSTSEC-2021-0003").unwrap().unwrap();
    assert!(
        r.affected[0].ranges[0]
            .events
            .contains(&Event::Fixed("1.6.1".into()))
    );
    // crates.io names are compared as written.
    assert!(ids(&store, "crates.io", "SmallVec").is_empty());

    // Go: the standard library, checked against the files themselves.
    let stdlib = ids(&store, "Go", "stdlib");
    let expected = json_ids_naming(&osv.join("go"), "stdlib");
    assert_eq!(stdlib.len(), 167);
    assert_eq!(stdlib.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(stdlib.contains(&"GO-2021-0067".to_string())); // archive/zip panic, CVE-2021-27919
    // Ecosystems are exact: "go" is not "Go".
    assert!(ids(&store, "go", "stdlib").is_empty());
    assert_eq!(store.ecosystems_like("Go").unwrap(), ["Go"]);

    // Withdrawn advisories are stored but not matched.
    let withdrawn = store.get("GO-2024-2442").unwrap().unwrap();
    assert!(withdrawn.is_withdrawn());
    assert!(
        !ids(&store, "Go", "github.com/gravitational/teleport")
            .contains(&"GO-2024-2442".to_string())
    );

    // Opening is cheap and lookups use the index.
    let t = Instant::now();
    let fresh = Store::open(&cache).unwrap();
    let mut found = 0;
    for _ in 0..200 {
        for (eco, name) in [
            ("PyPI", "urllib3"),
            ("PyPI", "Django"),
            ("crates.io", "smallvec"),
            ("Go", "stdlib"),
            ("Go", "no.such/module"),
        ] {
            found += fresh.lookup(eco, name).unwrap().len();
        }
    }
    eprintln!(
        "open + 1,000 lookups ({found} advisories decoded): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    // A second import of the same data changes nothing.
    let db_size = status.file_size;
    let again = import(&cache, &inputs).unwrap();
    assert_eq!(
        (again.records, again.inserted, again.replaced, again.kept),
        (8158, 0, 0, 8158)
    );
    let store2 = Store::open(&cache).unwrap();
    let status2 = store2.status().unwrap();
    assert_eq!(status2.ecosystems, status.ecosystems);
    assert_eq!(
        (status2.advisories, status2.withdrawn),
        (status.advisories, status.withdrawn)
    );
    assert_eq!(status2.file_size, db_size);
    assert_eq!(ids(&store2, "PyPI", "urllib3"), urllib3);
    assert_eq!(ids(&store2, "Go", "stdlib"), stdlib);

    // The store opened before the re-import still answers (it reads the old file).
    assert_eq!(ids(&store, "PyPI", "jinja2"), jinja);
    let _ = fs::remove_dir_all(&cache);
}

#[test]
fn malformed_records_are_skipped_and_counted() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let osv = corpus.join("osv");
    let d = tempdir("malformed");
    let src = d.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    for name in ["RUSTSEC-2018-0003.json", "RUSTSEC-2021-0003.json"] {
        fs::copy(osv.join("crates.io").join(name), src.join(name)).unwrap();
    }
    fs::copy(
        osv.join("PyPI/jinja2/PYSEC-2021-66.yaml"),
        src.join("sub/PYSEC-2021-66.yaml"),
    )
    .unwrap();
    // Broken JSON, a record without `modified`, an event with two keys, broken YAML.
    let good = fs::read_to_string(osv.join("crates.io/RUSTSEC-2019-0009.json")).unwrap();
    fs::write(src.join("truncated.json"), &good[..good.len() / 2]).unwrap();
    fs::write(
        src.join("no-modified.json"),
        good.replace("\"modified\"", "\"modifiedx\""),
    )
    .unwrap();
    fs::write(
        src.join("two-keys.json"),
        good.replacen("\"introduced\": ", "\"fixed\": \"9\", \"introduced\": ", 1),
    )
    .unwrap();
    fs::write(src.join("sub/bad.yaml"), "id: [unclosed\n").unwrap();
    let cache = d.join("cache");
    let report = import(&cache, std::slice::from_ref(&src)).unwrap();
    assert_eq!(report.files, 7);
    assert_eq!(report.records, 3);
    assert_eq!(report.malformed, 4, "{:?}", report.errors);
    let by_file: Vec<(String, String)> = report
        .errors
        .iter()
        .map(|e| {
            (
                Path::new(&e.file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                e.message.clone(),
            )
        })
        .collect();
    for (f, m) in &by_file {
        eprintln!("{f}: {m}");
    }
    let msg = |f: &str| {
        by_file
            .iter()
            .find(|(n, _)| n == f)
            .map(|(_, m)| m.clone())
            .unwrap()
    };
    assert!(msg("truncated.json").starts_with("not valid JSON"));
    assert_eq!(
        msg("no-modified.json"),
        "field `modified`: required but missing"
    );
    assert!(
        msg("two-keys.json").starts_with("field `affected[0].ranges[0].events[0]`"),
        "{}",
        msg("two-keys.json")
    );
    assert!(msg("bad.yaml").starts_with("not valid YAML"));
    let store = Store::open(&cache).unwrap();
    assert_eq!(ids(&store, "crates.io", "smallvec").len(), 2);
    assert_eq!(ids(&store, "PyPI", "jinja2"), ["PYSEC-2021-66"]);
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn zip_archives_and_failed_imports() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let osv = corpus.join("osv");
    let d = tempdir("zip");
    let cache = d.join("cache");
    let crates_zip = d.join("crates.io-all.zip");
    zip_dir(&osv.join("crates.io"), &crates_zip);
    let report = import(&cache, std::slice::from_ref(&crates_zip)).unwrap();
    assert_eq!((report.records, report.malformed), (1206, 0));
    let store = Store::open(&cache).unwrap();
    assert_eq!(ids(&store, "crates.io", "smallvec").len(), 5);
    let before = fs::read(cache.join(DB_FILE)).unwrap();

    // A bad zip in the list: the whole import fails and the database stays as it was.
    let bad = d.join("bad.zip");
    fs::write(&bad, b"PK\x03\x04 this is not really a zip archive").unwrap();
    let e = import(&cache, &[osv.join("go"), bad.clone()]).unwrap_err();
    assert!(matches!(e, StoreError::BadArchive { .. }), "{e}");
    assert!(e.to_string().contains("bad.zip"), "{e}");
    // A zip whose entry is corrupt (CRC mismatch): also refused.
    let mut bytes = fs::read(&crates_zip).unwrap();
    let at = bytes.len() / 3;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0x5a;
    }
    let corrupt = d.join("corrupt.zip");
    fs::write(&corrupt, &bytes).unwrap();
    let e = import(&cache, &[osv.join("PyPI"), corrupt]).unwrap_err();
    assert!(matches!(e, StoreError::BadArchive { .. }), "{e}");
    eprintln!("corrupt zip: {e}");
    assert_eq!(fs::read(cache.join(DB_FILE)).unwrap(), before);
    let store = Store::open(&cache).unwrap();
    assert_eq!(ids(&store, "crates.io", "smallvec").len(), 5);
    assert!(ids(&store, "Go", "stdlib").is_empty());
    assert!(ids(&store, "PyPI", "urllib3").is_empty());
    // Nothing left behind but the database and its lock.
    let mut left: Vec<String> = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    assert_eq!(left, ["osv.db", "osv.db.lock"]);

    // A store that is not there explains what to do.
    let e = Store::open(&d.join("elsewhere")).unwrap_err();
    assert!(e.to_string().contains("run `palisade db update`"), "{e}");
    let _ = store::default_cache_dir();
    let _ = fs::remove_dir_all(&d);
}
