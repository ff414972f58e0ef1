//! Updating the store from osv.dev's per-ecosystem archives
//! (`<base>/<ecosystem>/all.zip`), with conditional requests so that unchanged ecosystems cost
//! one round trip.
//!
//! Each ecosystem is a feed of the store (see [`crate::store`]): a download replaces the feed's
//! records, so advisories the archive no longer lists are removed. All downloads go to temporary
//! files first; the ones that arrived whole are then applied to one new copy of the database,
//! each in its own savepoint, and the copy is swapped in atomically. An ecosystem that fails (an
//! HTTP error, an interrupted transfer, a bad archive) changes nothing of its own and is reported
//! by name; the others are still applied.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::osv::Timestamp;
use crate::store::{
    DOWNLOAD_PREFIX, FeedMeta, FeedStatus, ImportReport, Lock, Store, StoreError, Writer,
};

/// Where osv.dev publishes its data.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// What `update` fetches when no ecosystems are named and the store is empty: the ecosystems
/// whose versions Palisade can order (see [`crate::version::Scheme::for_ecosystem`]).
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Chainguard",
    "crates.io",
    "Debian",
    "Go",
    "Hex",
    "Maven",
    "npm",
    "NuGet",
    "Packagist",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "SUSE",
    "openSUSE",
    "Ubuntu",
    "Wolfi",
];

/// Network settings and limits.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Time allowed to connect (default 30 s).
    pub connect_timeout: Duration,
    /// Longest wait for the response head or for any single read of the body (default 60 s).
    /// There is no overall limit: a large archive on a slow link may take long, as long as data
    /// keeps coming.
    pub read_timeout: Duration,
    /// Largest archive accepted (default 4 GiB).
    pub max_download_bytes: u64,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            max_download_bytes: 4 << 30,
        }
    }
}

/// What happened to one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered 304 Not Modified: the stored records are current.
    Unchanged,
    /// A new archive was downloaded (`bytes` long) and applied.
    Updated { bytes: u64, import: ImportReport },
}

/// One ecosystem of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcosystemUpdate {
    pub ecosystem: String,
    pub url: String,
    pub outcome: Outcome,
}

/// What an update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    pub ecosystems: Vec<EcosystemUpdate>,
    pub elapsed: Duration,
}

/// Fetches `<base_url>/<ecosystem>/all.zip` for each of `ecosystems` (none given: the feeds
/// already in the store, or [`DEFAULT_ECOSYSTEMS`] when it is empty) and applies what changed.
///
/// Sends `If-None-Match` / `If-Modified-Since` from the stored ETag / Last-Modified; a 304 leaves
/// the ecosystem as it is. Returns [`StoreError::UpdateFailed`] naming every ecosystem that
/// failed, after applying those that succeeded; the database is otherwise untouched.
pub fn update(
    cache_dir: &Path,
    base_url: &str,
    ecosystems: &[String],
    opts: &UpdateOptions,
) -> Result<UpdateReport, StoreError> {
    let start = Instant::now();
    let lock = Lock::acquire(cache_dir)?;
    // What the store knows; an unreadable or outdated store is simply rebuilt.
    let feeds: Vec<FeedStatus> = match Store::open(cache_dir) {
        Ok(s) => s.status().map(|st| st.feeds).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let mut wanted: Vec<String> = Vec::new();
    let candidates: Vec<String> = if !ecosystems.is_empty() {
        ecosystems.to_vec()
    } else if !feeds.is_empty() {
        feeds.iter().map(|f| f.name.clone()).collect()
    } else {
        DEFAULT_ECOSYSTEMS.iter().map(|s| s.to_string()).collect()
    };
    for e in candidates {
        let e = e.trim().to_string();
        if !e.is_empty() && !wanted.contains(&e) {
            wanted.push(e);
        }
    }

    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_recv_response(Some(opts.read_timeout))
            .timeout_per_read(Some(opts.read_timeout))
            .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let base = base_url.trim_end_matches('/');
    let mut downloads = Downloads(Vec::new());
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut report = UpdateReport::default();
    let mut pending: Vec<(String, String, Fetched)> = Vec::new();
    for (i, eco) in wanted.iter().enumerate() {
        let url = format!("{base}/{}/all.zip", encode_path_segment(eco));
        let feed = feeds.iter().find(|f| &f.name == eco);
        let dest = cache_dir.join(format!("{DOWNLOAD_PREFIX}{}.{i}.zip", std::process::id()));
        downloads.0.push(dest.clone());
        match fetch(&agent, &url, feed, &dest, opts.max_download_bytes) {
            Ok(None) => report.ecosystems.push(EcosystemUpdate {
                ecosystem: eco.clone(),
                url,
                outcome: Outcome::Unchanged,
            }),
            Ok(Some(fetched)) => pending.push((eco.clone(), url, fetched)),
            Err(message) => failed.push((eco.clone(), message)),
        }
    }

    let mut updated = Vec::new();
    if !pending.is_empty() {
        let mut writer = Writer::begin(cache_dir, lock)?;
        for (eco, url, fetched) in pending {
            let meta = FeedMeta {
                source: url.clone(),
                etag: fetched.etag.clone(),
                last_modified: fetched.last_modified.clone(),
                updated_at: Timestamp::now().to_rfc3339(),
            };
            match writer.replace_feed(&eco, &fetched.path, &meta) {
                Ok(import) => {
                    updated.push(eco.clone());
                    report.ecosystems.push(EcosystemUpdate {
                        ecosystem: eco,
                        url,
                        outcome: Outcome::Updated {
                            bytes: fetched.bytes,
                            import,
                        },
                    });
                }
                Err(StoreError::BadArchive { message, .. }) => failed.push((
                    eco,
                    format!("the archive downloaded from {url} is not a usable zip: {message}"),
                )),
                Err(e @ (StoreError::Database { .. } | StoreError::Io { .. })) => {
                    // The new database itself is in trouble (disk full?): give up, keep the old.
                    return Err(e);
                }
                Err(e) => failed.push((eco, e.to_string())),
            }
        }
        if updated.is_empty() {
            drop(writer);
        } else {
            writer.finish()?;
        }
    } else {
        drop(lock);
    }
    drop(downloads);
    report.elapsed = start.elapsed();
    if !failed.is_empty() {
        return Err(StoreError::UpdateFailed { failed, updated });
    }
    Ok(report)
}

/// Removes the temporary downloads however the update ends.
struct Downloads(Vec<PathBuf>);

impl Drop for Downloads {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

struct Fetched {
    path: PathBuf,
    bytes: u64,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// GETs `url` into `dest`: `Ok(None)` for 304 Not Modified, the file for 200, an explanation
/// otherwise.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    feed: Option<&FeedStatus>,
    dest: &Path,
    max: u64,
) -> Result<Option<Fetched>, String> {
    let mut req = agent.get(url);
    if let Some(etag) = feed.and_then(|f| f.etag.as_deref()) {
        req = req.header("If-None-Match", etag);
    }
    if let Some(lm) = feed.and_then(|f| f.last_modified.as_deref()) {
        req = req.header("If-Modified-Since", lm);
    }
    let resp = req.call().map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status().as_u16();
    match status {
        304 => return Ok(None),
        200 => {}
        404 => {
            return Err(format!(
                "no such ecosystem: {url} answered 404 Not Found (names are case-sensitive, as \
                 osv.dev spells them: PyPI, crates.io, Go, npm, Debian, Alpine:v3.19, …)"
            ));
        }
        _ => return Err(format!("{url} answered HTTP {status}")),
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = header("etag");
    let last_modified = header("last-modified");
    let length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = length
        && len > max
    {
        return Err(format!(
            "{url} is {len} bytes, over the {max}-byte download limit"
        ));
    }
    let mut reader = resp.into_body().into_with_config().limit(max).reader();
    let file = File::create(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let mut out = BufWriter::new(file);
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(format!(
                    "download of {url} interrupted after {bytes} bytes: {e}"
                ));
            }
        };
        out.write_all(&buf[..n])
            .map_err(|e| format!("{}: {e}", dest.display()))?;
        bytes += n as u64;
    }
    out.flush()
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    if let Some(len) = length
        && bytes != len
    {
        return Err(format!(
            "download of {url} incomplete: {bytes} of {len} bytes"
        ));
    }
    Ok(Some(Fetched {
        path: dest.to_path_buf(),
        bytes,
        etag,
        last_modified,
    }))
}

/// Percent-encodes everything but RFC 3986 unreserved characters: `Red Hat` → `Red%20Hat`,
/// `Alpine:v3.19` → `Alpine%3Av3.19`.
pub fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(encode_path_segment("PyPI"), "PyPI");
        assert_eq!(encode_path_segment("crates.io"), "crates.io");
        assert_eq!(encode_path_segment("Red Hat"), "Red%20Hat");
        assert_eq!(encode_path_segment("Alpine:v3.19"), "Alpine%3Av3.19");
        assert_eq!(encode_path_segment("a/b?c#é"), "a%2Fb%3Fc%23%C3%A9");
    }

    #[test]
    fn unreachable_server_is_a_named_failure() {
        let d =
            std::env::temp_dir().join(format!("palisade-vuln-update-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        // Port 9 (discard) on localhost is closed in test environments: connection refused.
        let opts = UpdateOptions {
            connect_timeout: Duration::from_secs(5),
            ..UpdateOptions::default()
        };
        let e = update(&d, "http://127.0.0.1:9", &["PyPI".to_string()], &opts).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("PyPI (cannot reach http://127.0.0.1:9/PyPI/all.zip"),
            "{msg}"
        );
        assert!(msg.contains("the database is unchanged"), "{msg}");
        assert!(!d.join(crate::store::DB_FILE).exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
