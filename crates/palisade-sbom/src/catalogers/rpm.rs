//! rpm's database of installed packages in its SQLite form (Fedora 33+, RHEL/Rocky/Alma 9+,
//! openSUSE, Amazon Linux 2023…): `var/lib/rpm/rpmdb.sqlite`, or
//! `usr/lib/sysimage/rpm/rpmdb.sqlite` where the database moved under `/usr`.
//!
//! The `Packages` table holds one row per package (`hnum`, `blob`), the blob being the
//! package's rpm header without its 8-byte magic:
//!
//! ```text
//! u32 BE  index entry count (il)
//! u32 BE  data store length (dl)
//! il × { u32 BE tag, u32 BE type, u32 BE offset into the data store, u32 BE count }
//! dl bytes of data store
//! ```
//!
//! The database is opened in memory from the file's bytes (no temporary file), read only.
//! Every header is treated as hostile: all offsets and lengths are checked. Not covered:
//! the Berkeley DB (`Packages`) and ndb (`Packages.db`) backends of older releases, and
//! transactions still sitting in an un-checkpointed `rpmdb.sqlite-wal` beside the file.

use std::io::Read;

use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::catalog::{CatalogError, Cataloger, FileInfo, TargetKind};
use crate::package::{Ecosystem, Package, SourcePackage};

pub struct Rpm;

const DB_FILES: &[&str] = &[
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
];

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

// Header tags and types (rpm's rpmtag.h).
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm itself refuses headers with more tags or more data than this.
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 256 << 20;

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn applies_to(&self, _kind: TargetKind) -> bool {
        true
    }

    fn wants(&self, file: &FileInfo<'_>) -> bool {
        DB_FILES.contains(&file.path)
    }

    fn catalog(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        let conn = open(content)
            .map_err(|e| CatalogError::new(format!("cannot read the rpm database: {e}")))?;
        let mut packages = Vec::new();
        let mut first_error: Option<CatalogError> = None;
        let result = for_each_header(&conn, |hnum, blob| {
            let parsed = parse_header(blob).and_then(|h| package_of(&h, file.path, self.name()));
            match parsed {
                Ok(Some(p)) => packages.push(p),
                Ok(None) => {}
                Err(e) => {
                    first_error
                        .get_or_insert_with(|| CatalogError::new(format!("package {hnum}: {e}")));
                }
            }
        });
        if let Err(e) = result {
            return Err(CatalogError::new(format!(
                "cannot read the rpm database: {e}"
            )));
        }
        // A damaged header is skipped; the file only counts as broken when nothing in it
        // could be read.
        match first_error {
            Some(e) if packages.is_empty() => Err(e),
            _ => Ok(packages),
        }
    }
}

/// Opens the database image read only in memory. rpm keeps its database in WAL mode,
/// which the in-memory VFS cannot open: the header's read/write format bytes are set back
/// to the legacy (rollback journal) value on the way in, which changes nothing else.
fn open(content: &[u8]) -> Result<Connection, String> {
    if content.len() < 100 || !content.starts_with(SQLITE_MAGIC) {
        return Err("not an SQLite database".into());
    }
    let mut head = [0u8; 100];
    head.copy_from_slice(&content[..100]);
    for b in &mut head[18..20] {
        if *b == 2 {
            *b = 1;
        }
    }
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    // Hardening for an untrusted file; older SQLite builds may not know a setting, which
    // is not a reason to give up.
    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true);
    let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false);
    let reader = head.as_slice().chain(&content[100..]);
    conn.deserialize_read_exact("main", reader, content.len(), true)
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Calls `f(hnum, blob)` for every row of `Packages`, after checking that `Packages` is a
/// plain table (a hostile file could make it a view or give it computed columns that are
/// expensive to evaluate).
fn for_each_header(conn: &Connection, mut f: impl FnMut(i64, &[u8])) -> Result<(), String> {
    let err = |e: rusqlite::Error| e.to_string();
    let kind: Option<(String, String)> = conn
        .prepare("SELECT type, coalesce(sql, '') FROM sqlite_master WHERE name = 'Packages' COLLATE NOCASE")
        .and_then(|mut st| {
            let mut rows = st.query([])?;
            match rows.next()? {
                Some(row) => Ok(Some((row.get(0)?, row.get(1)?))),
                None => Ok(None),
            }
        })
        .map_err(err)?;
    match kind {
        None => return Err("no Packages table".into()),
        Some((t, sql))
            if t != "table"
                || sql
                    .trim_start()
                    .to_ascii_uppercase()
                    .starts_with("CREATE VIRTUAL") =>
        {
            return Err("Packages is not a plain table".into());
        }
        Some(_) => {}
    }
    let computed: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_xinfo('Packages') WHERE hidden != 0",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    if computed != 0 {
        return Err("Packages has hidden or computed columns".into());
    }
    let mut st = conn
        .prepare("SELECT hnum, blob FROM Packages")
        .map_err(err)?;
    let mut rows = st.query([]).map_err(err)?;
    while let Some(row) = rows.next().map_err(err)? {
        let hnum = match row.get_ref(0).map_err(err)? {
            ValueRef::Integer(n) => n,
            _ => -1,
        };
        match row.get_ref(1).map_err(err)? {
            ValueRef::Blob(b) => f(hnum, b),
            _ => f(hnum, &[]),
        }
    }
    Ok(())
}

/// The fields of a header that make a package.
#[derive(Debug, Default, PartialEq)]
struct Header {
    name: Option<String>,
    version: Option<String>,
    release: Option<String>,
    epoch: Option<u32>,
    license: Option<String>,
    arch: Option<String>,
    sourcerpm: Option<String>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Parses a header blob (without the magic), reading only the tags in [`Header`]; the
/// first entry of a tag wins.
fn parse_header(blob: &[u8]) -> Result<Header, String> {
    let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
        return Err("header shorter than 8 bytes".into());
    };
    if il > MAX_ENTRIES {
        return Err(format!("header claims {il} entries"));
    }
    if dl > MAX_DATA {
        return Err(format!("header claims {dl} bytes of data"));
    }
    // Both bounded above, so this cannot overflow.
    let data_start = 8 + il as usize * 16;
    let data = blob
        .get(data_start..data_start + dl as usize)
        .ok_or_else(|| {
            format!(
                "header truncated: {} bytes, needs {}",
                blob.len(),
                data_start + dl as usize
            )
        })?;
    let mut h = Header::default();
    for i in 0..il as usize {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(offset), Some(count)) = (
            be32(blob, at),
            be32(blob, at + 4),
            be32(blob, at + 8),
            be32(blob, at + 12),
        ) else {
            return Err("header index truncated".into());
        };
        let slot = match tag {
            TAG_NAME => &mut h.name,
            TAG_VERSION => &mut h.version,
            TAG_RELEASE => &mut h.release,
            TAG_LICENSE => &mut h.license,
            TAG_ARCH => &mut h.arch,
            TAG_SOURCERPM => &mut h.sourcerpm,
            TAG_EPOCH => {
                if h.epoch.is_none() {
                    if ty != TYPE_INT32 || count == 0 {
                        return Err(format!(
                            "tag {tag} has type {ty} and count {count}, expected INT32"
                        ));
                    }
                    let epoch = be32(data, offset as usize)
                        .ok_or_else(|| format!("tag {tag} points outside the data"))?;
                    h.epoch = Some(epoch);
                }
                continue;
            }
            _ => continue,
        };
        if slot.is_some() {
            continue;
        }
        if !matches!(ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || count == 0 {
            return Err(format!(
                "tag {tag} has type {ty} and count {count}, expected a string"
            ));
        }
        // A string array or an i18n string is a run of strings: the first one is taken.
        let rest = data
            .get(offset as usize..)
            .ok_or_else(|| format!("tag {tag} points outside the data"))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("tag {tag}: unterminated string"))?;
        *slot = Some(String::from_utf8_lossy(&rest[..end]).into_owned());
    }
    Ok(h)
}

/// `curl-8.2.1-3.fc39.src.rpm` → (`curl`, `8.2.1-3.fc39`).
fn parse_sourcerpm(s: &str) -> Option<(&str, String)> {
    let stem = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, format!("{version}-{release}")))
}

fn package_of(h: &Header, path: &str, cataloger: &str) -> Result<Option<Package>, String> {
    let name = match h.name.as_deref() {
        Some(n) if !n.is_empty() => n,
        _ => return Err("header without a name".into()),
    };
    // Imported signing keys are stored as pseudo-packages; they are not software.
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    // rpm refuses to build or install a package without version and release, so a header
    // without them is damaged rather than unversioned.
    let (version, release) = match (h.version.as_deref(), h.release.as_deref()) {
        (Some(v), Some(r)) if !v.is_empty() && !r.is_empty() => (v, r),
        _ => return Err(format!("{name} has no version or release")),
    };
    let vr = format!("{version}-{release}");
    let full = match h.epoch {
        Some(e) => format!("{e}:{vr}"),
        None => vr.clone(),
    };
    let mut p = Package::new(Ecosystem::Rpm, name, full, path, cataloger);
    p.arch = h.arch.clone().filter(|a| !a.is_empty());
    if let Some(l) = h.license.clone().filter(|l| !l.is_empty()) {
        p.licenses.push(l);
    }
    if let Some((src_name, src_vr)) = h.sourcerpm.as_deref().and_then(parse_sourcerpm) {
        // The source rpm's file name has no epoch; it shares the binary's otherwise.
        p.source = Some(SourcePackage {
            name: src_name.to_string(),
            version: (src_vr != vr).then_some(src_vr),
        });
    }
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a header blob from (tag, type, count, data) entries, laying the data out in
    /// order with INT32 data aligned to 4 bytes, as rpm does.
    fn header(entries: &[(u32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, count, bytes) in entries {
            if *ty == TYPE_INT32 {
                while !data.len().is_multiple_of(4) {
                    data.push(0);
                }
            }
            for v in [*tag, *ty, data.len() as u32, *count] {
                index.extend_from_slice(&v.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }

    fn s(tag: u32, v: &str) -> (u32, u32, u32, Vec<u8>) {
        let mut b = v.as_bytes().to_vec();
        b.push(0);
        (tag, TYPE_STRING, 1, b)
    }

    fn curl() -> Vec<u8> {
        header(&[
            (63, 7, 16, vec![0; 16]),
            s(TAG_NAME, "curl"),
            s(TAG_VERSION, "8.2.1"),
            s(TAG_RELEASE, "3.fc39"),
            (
                1004,
                TYPE_I18NSTRING,
                1,
                b"A utility for getting files from remote servers\0".to_vec(),
            ),
            s(TAG_LICENSE, "curl"),
            s(TAG_ARCH, "x86_64"),
            s(TAG_SOURCERPM, "curl-8.2.1-3.fc39.src.rpm"),
        ])
    }

    /// An in-memory rpmdb with the given blobs, serialized to bytes like the file on disk.
    fn rpmdb(blobs: &[Vec<u8>], wal: bool) -> Vec<u8> {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL);
             CREATE TABLE 'Name' (key 'TEXT' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL);",
        )
        .unwrap();
        for b in blobs {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap();
        }
        let mut bytes = conn.serialize("main").unwrap().to_vec();
        if wal {
            bytes[18] = 2;
            bytes[19] = 2;
        }
        bytes
    }

    fn info(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    fn run(content: &[u8]) -> Result<Vec<Package>, CatalogError> {
        Rpm.catalog(&info("var/lib/rpm/rpmdb.sqlite"), content)
    }

    #[test]
    fn reads_header_fields() {
        let h = parse_header(&curl()).unwrap();
        assert_eq!(h.name.as_deref(), Some("curl"));
        assert_eq!(h.epoch, None);
        let p = package_of(&h, "var/lib/rpm/rpmdb.sqlite", "rpm")
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("curl", "8.2.1-3.fc39")
        );
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
        assert_eq!(p.licenses, ["curl"]);
        assert_eq!(
            p.source,
            Some(SourcePackage {
                name: "curl".into(),
                version: None
            })
        );
    }

    #[test]
    fn epoch_and_differing_source() {
        let blob = header(&[
            s(TAG_NAME, "libcurl-minimal"),
            (TAG_EPOCH, TYPE_INT32, 1, 1u32.to_be_bytes().to_vec()),
            s(TAG_VERSION, "8.2.1"),
            s(TAG_RELEASE, "4.fc39"),
            s(TAG_ARCH, "x86_64"),
            s(TAG_SOURCERPM, "curl-8.2.1-3.fc39.src.rpm"),
        ]);
        let p = package_of(&parse_header(&blob).unwrap(), "x", "rpm")
            .unwrap()
            .unwrap();
        assert_eq!(p.version, "1:8.2.1-4.fc39");
        assert_eq!(
            p.source,
            Some(SourcePackage {
                name: "curl".into(),
                version: Some("8.2.1-3.fc39".into())
            })
        );
        assert!(p.licenses.is_empty());
        // An explicit epoch 0 is kept, as rpm's EVR shows it.
        let blob = header(&[
            s(TAG_NAME, "a"),
            s(TAG_VERSION, "1"),
            s(TAG_RELEASE, "2"),
            (TAG_EPOCH, TYPE_INT32, 1, 0u32.to_be_bytes().to_vec()),
        ]);
        assert_eq!(
            package_of(&parse_header(&blob).unwrap(), "x", "rpm")
                .unwrap()
                .unwrap()
                .version,
            "0:1-2"
        );
    }

    #[test]
    fn parses_source_rpm_names() {
        assert_eq!(
            parse_sourcerpm("curl-8.2.1-3.fc39.src.rpm"),
            Some(("curl", "8.2.1-3.fc39".into()))
        );
        assert_eq!(
            parse_sourcerpm("python-pip-23.2.1-1.fc39.nosrc.rpm"),
            Some(("python-pip", "23.2.1-1.fc39".into()))
        );
        assert_eq!(parse_sourcerpm("curl-8.2.1.src.rpm"), None);
        assert_eq!(parse_sourcerpm("curl-8.2.1-3.fc39.x86_64.rpm"), None);
        assert_eq!(parse_sourcerpm("-1-2.src.rpm"), None);
        assert_eq!(parse_sourcerpm("(none)"), None);
    }

    #[test]
    fn gpg_pubkeys_are_skipped() {
        let blob = header(&[
            s(TAG_NAME, "gpg-pubkey"),
            s(TAG_VERSION, "18b8e74c"),
            s(TAG_RELEASE, "62f2920f"),
        ]);
        assert_eq!(
            package_of(&parse_header(&blob).unwrap(), "x", "rpm").unwrap(),
            None
        );
    }

    #[test]
    fn hostile_headers_are_errors_not_panics() {
        let good = curl();
        // Every truncation of a valid header.
        for n in 0..good.len() {
            assert!(parse_header(&good[..n]).is_err(), "truncated to {n}");
        }
        // Huge counts.
        let mut b = good.clone();
        b[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_header(&b).unwrap_err().contains("entries"));
        let mut b = good.clone();
        b[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_header(&b).unwrap_err().contains("data"));
        let mut b = good.clone();
        b[4..8].copy_from_slice(&(MAX_DATA).to_be_bytes());
        assert!(parse_header(&b).unwrap_err().contains("truncated"));
        // An offset past the data store, and u32::MAX.
        for off in [0x7fff_u32, u32::MAX] {
            let mut b = header(&[s(TAG_NAME, "x")]);
            b[16..20].copy_from_slice(&off.to_be_bytes());
            assert!(parse_header(&b).unwrap_err().contains("outside"));
        }
        // A string without its NUL.
        let b = header(&[(TAG_NAME, TYPE_STRING, 1, b"abc".to_vec())]);
        assert!(parse_header(&b).unwrap_err().contains("unterminated"));
        // Wrong types and zero counts.
        let b = header(&[(TAG_NAME, TYPE_INT32, 1, vec![0; 4])]);
        assert!(parse_header(&b).is_err());
        let b = header(&[(TAG_NAME, TYPE_STRING, 0, b"x\0".to_vec())]);
        assert!(parse_header(&b).is_err());
        let b = header(&[(TAG_EPOCH, TYPE_STRING, 1, b"1\0".to_vec())]);
        assert!(parse_header(&b).is_err());
        // An epoch whose four bytes run past the end of the data.
        let mut b = header(&[(TAG_EPOCH, TYPE_INT32, 1, vec![0; 4])]);
        b[16..20].copy_from_slice(&2u32.to_be_bytes());
        assert!(parse_header(&b).is_err());
        // Missing name / version.
        let h = parse_header(&header(&[s(TAG_VERSION, "1")])).unwrap();
        assert!(package_of(&h, "x", "rpm").is_err());
        let h = parse_header(&header(&[s(TAG_NAME, "a"), s(TAG_VERSION, "1")])).unwrap();
        assert!(package_of(&h, "x", "rpm").is_err());
        // Random bytes.
        let mut x: u32 = 12345;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = parse_header(&bytes);
        }
    }

    #[test]
    fn reads_a_database_image_in_wal_mode_or_not() {
        let other = header(&[
            s(TAG_NAME, "bash"),
            s(TAG_VERSION, "5.2.15"),
            s(TAG_RELEASE, "5.fc39"),
            s(TAG_ARCH, "x86_64"),
            s(TAG_LICENSE, "GPL-3.0-or-later"),
            s(TAG_SOURCERPM, "bash-5.2.15-5.fc39.src.rpm"),
        ]);
        let key = header(&[
            s(TAG_NAME, "gpg-pubkey"),
            s(TAG_VERSION, "1"),
            s(TAG_RELEASE, "2"),
        ]);
        for wal in [false, true] {
            let db = rpmdb(&[curl(), key.clone(), other.clone(), b"junk".to_vec()], wal);
            let pkgs = run(&db).unwrap();
            let got: Vec<(&str, &str)> = pkgs
                .iter()
                .map(|p| (p.name.as_str(), p.version.as_str()))
                .collect();
            assert_eq!(got, [("curl", "8.2.1-3.fc39"), ("bash", "5.2.15-5.fc39")]);
            assert_eq!(pkgs[1].licenses, ["GPL-3.0-or-later"]);
            assert_eq!(pkgs[0].found_by, "rpm");
            assert_eq!(pkgs[0].locations[0].path, "var/lib/rpm/rpmdb.sqlite");
        }
        // Only broken headers: an error naming the row.
        let e = run(&rpmdb(&[b"junk".to_vec()], true)).unwrap_err();
        assert!(e.message.starts_with("package 1: "), "{}", e.message);
        // No packages at all is fine.
        assert!(run(&rpmdb(&[], true)).unwrap().is_empty());
    }

    #[test]
    fn hostile_databases_are_errors() {
        assert!(run(b"").is_err());
        assert!(run(b"not a database at all").is_err());
        let db = rpmdb(&[curl()], false);
        // A truncated image may still hold the pages that matter: no panic is all to ask.
        for n in [99, 100, 1000, db.len() / 2, db.len() - 1] {
            let _ = run(&db[..n]);
        }
        let mut garbage = db.clone();
        for b in garbage.iter_mut().skip(100) {
            *b ^= 0x5a;
        }
        assert!(run(&garbage).is_err());

        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
             SELECT x AS hnum, x AS blob FROM c;",
        )
        .unwrap();
        let view = conn.serialize("main").unwrap().to_vec();
        assert!(
            run(&view)
                .unwrap_err()
                .message
                .contains("not a plain table")
        );

        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, raw BLOB, blob BLOB AS (zeroblob(1000000000)));
             INSERT INTO Packages (raw) VALUES (x'00');",
        )
        .unwrap();
        let computed = conn.serialize("main").unwrap().to_vec();
        assert!(run(&computed).unwrap_err().message.contains("computed"));

        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE Other (x);").unwrap();
        let other = conn.serialize("main").unwrap().to_vec();
        assert!(
            run(&other)
                .unwrap_err()
                .message
                .contains("no Packages table")
        );
    }

    #[test]
    fn wants_the_sqlite_databases() {
        assert!(Rpm.wants(&info("var/lib/rpm/rpmdb.sqlite")));
        assert!(Rpm.wants(&info("usr/lib/sysimage/rpm/rpmdb.sqlite")));
        assert!(!Rpm.wants(&info("var/lib/rpm/rpmdb.sqlite-wal")));
        assert!(!Rpm.wants(&info("var/lib/rpm/Packages")));
    }
}
