//! `palisade serve` settings: the `[server]` table of palisade.toml, command-line flags over
//! it, and defaults under both.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:7878"
//! data_dir = "/var/lib/palisade"        # default: $PALISADE_DATA_DIR, the user's data dir (palisade serve), ./palisade-data
//! database = "postgres://palisade@db/palisade?sslmode=require"   # default: <data_dir>/palisade.db
//! tls_cert = "/etc/palisade/tls.crt"    # HTTPS when both are set
//! tls_key = "/etc/palisade/tls.key"
//! public_url = "https://palisade.example.com"   # links and cookies; default from listen
//! max_upload_mb = 64                    # largest report, also after decompression
//! session_ttl_hours = 12
//! trusted_proxies = ["10.0.0.0/8"]      # peers whose X-Forwarded-For is believed
//! metrics_public = false                # /metrics without a token
//! retention = "30d"                     # security events older than this are deleted (s, m, h, d, w)
//! retention_size = "10GB"               # and the oldest days beyond this size (KB, MB, GB, TB; KiB…)
//! client_ca = "/etc/palisade/clients-ca.crt"   # HTTPS asks for client certificates signed by this CA
//! ingest_client_cns = ["kube-apiserver"]  # their subject CNs that may post to /ingest/… without a token
//!
//! [[server.syslog]]                     # syslog listeners (platform::sources), any number
//! listen = "udp://0.0.0.0:5514"         # udp://, tcp:// or tls://ADDRESS:PORT
//! source = "syslog"                     # source name stored with the events (default syslog)
//! tls_cert = "/etc/palisade/syslog.crt" # tls:// only; default: [server] tls_cert/tls_key
//! tls_key = "/etc/palisade/syslog.key"
//! max_message_bytes = 65536             # longer messages are truncated with a marker (64 KiB)
//! max_connections = 1000                # tcp/tls: open connections at once
//! max_connections_per_ip = 100          # tcp/tls: open connections from one address
//! queue = 10000                         # messages waiting for the event store
//!
//! [[server.file]]                       # files followed as they grow (platform::sources::file)
//! path = "/var/log/kube-audit/audit.log"
//! kind = "k8s-audit"                    # k8s-audit, cloudtrail, falco, json or syslog; one event source a line
//! source = "k8s-audit"                  # source name stored with the events (default: the kind)
//! start_at = "end"                      # first start only: "end" (default) or "beginning"
//! poll_interval = "1s"                  # how often to look for new lines and rotation (ms or s)
//! max_line_bytes = 262144               # longer lines are truncated with a marker (256 KiB)
//! ```
//!
//! Keys may also be written with dashes (`data-dir`), as the `[scan]` table writes them.
//! Unknown keys are an error naming the file and line; so is a bad `[[server.syslog]]`
//! value (the line of that entry's `listen`). The same file may hold the `[scan]`
//! and `[rules]` tables `palisade scan` reads, and `[oidc]` (see `platform::oidc`).
//! Relative paths are relative to the file's folder.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use palisade_siem::store::Retention;
use serde::Deserialize;

/// Where `palisade serve` listens by default: loopback, so a first run exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
/// Default largest upload, in MiB.
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 64;
/// Default console session lifetime.
pub const DEFAULT_SESSION_TTL_HOURS: u64 = 12;

/// Shortest `retention`: shorter would delete events still arriving from sources with a
/// lagging clock or buffer.
pub const MIN_RETENTION_SECS: u64 = 3600;
/// Smallest `retention_size`.
pub const MIN_RETENTION_BYTES: u64 = 1_000_000;

/// `retention`: a whole number with a unit, `s`, `m`, `h`, `d` or `w` (`"30d"`), at least an
/// hour. The error repeats the value and says what is expected.
pub fn parse_retention_age(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let unit_secs = match unit.trim() {
        "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        "w" => Some(7 * 86_400),
        _ => None,
    };
    let secs = match (digits.parse::<u64>(), unit_secs) {
        (Ok(n), Some(u)) => n.checked_mul(u),
        _ => None,
    };
    match secs {
        Some(s) if (MIN_RETENTION_SECS..=100 * 365 * 86_400).contains(&s) => {
            Ok(std::time::Duration::from_secs(s))
        }
        Some(_) => Err(format!(
            "{text:?}: use at least 1h (and at most 100 years), e.g. \"30d\""
        )),
        None => Err(format!(
            "{text:?} is not an age: a whole number and s, m, h, d or w, e.g. \"30d\" or \"12h\""
        )),
    }
}

/// `retention_size`: a whole number with a unit, `B`, `KB`, `MB`, `GB`, `TB` (powers of 1000)
/// or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024), e.g. `"10GB"`; at least 1 MB.
pub fn parse_retention_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let unit_bytes: Option<u64> = match unit.trim().to_ascii_lowercase().as_str() {
        "b" => Some(1),
        "kb" => Some(1_000),
        "mb" => Some(1_000_000),
        "gb" => Some(1_000_000_000),
        "tb" => Some(1_000_000_000_000),
        "kib" => Some(1 << 10),
        "mib" => Some(1 << 20),
        "gib" => Some(1 << 30),
        "tib" => Some(1 << 40),
        _ => None,
    };
    let bytes = match (digits.parse::<u64>(), unit_bytes) {
        (Ok(n), Some(u)) => n.checked_mul(u),
        _ => None,
    };
    match bytes {
        Some(b) if b >= MIN_RETENTION_BYTES => Ok(b),
        Some(_) => Err(format!("{text:?}: use at least 1MB, e.g. \"10GB\"")),
        None => Err(format!(
            "{text:?} is not a size: a whole number and KB, MB, GB or TB (or KiB, MiB, GiB, TiB), e.g. \"10GB\""
        )),
    }
}

/// The settings file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub server: ServerSection,
    /// `[oidc]`, handed as is to `platform::oidc`, which checks it.
    #[serde(default)]
    pub oidc: Option<toml::Value>,
    /// Read by `palisade scan`, not here.
    #[serde(default)]
    pub scan: Option<toml::Value>,
    /// Read by `palisade scan`, not here.
    #[serde(default)]
    pub rules: Option<toml::Value>,
    /// `[alerts]`: dedup window and webhooks, checked by `platform::notify`.
    #[serde(default)]
    pub alerts: Option<toml::Value>,
    /// `[detect]`: which Sigma rules run and suppressions, checked by `platform::detection`.
    #[serde(default)]
    pub detect: Option<toml::Value>,
}

/// The `[server]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub listen: Option<String>,
    #[serde(alias = "data-dir")]
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    #[serde(alias = "tls-cert")]
    pub tls_cert: Option<PathBuf>,
    #[serde(alias = "tls-key")]
    pub tls_key: Option<PathBuf>,
    #[serde(alias = "public-url")]
    pub public_url: Option<String>,
    #[serde(alias = "max-upload-mb")]
    pub max_upload_mb: Option<u64>,
    #[serde(alias = "session-ttl-hours")]
    pub session_ttl_hours: Option<u64>,
    /// Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed.
    #[serde(alias = "trusted-proxies")]
    pub trusted_proxies: Vec<String>,
    /// Serve `/metrics` without a token.
    #[serde(alias = "metrics-public")]
    pub metrics_public: bool,
    /// `[[server.syslog]]`: syslog listeners.
    pub syslog: Vec<SyslogSection>,
    /// `[[server.file]]`: files followed as they grow.
    pub file: Vec<FileSection>,
    /// Age beyond which security events are deleted, e.g. `"30d"`.
    pub retention: Option<String>,
    /// Size beyond which the oldest days of security events are deleted, e.g. `"10GB"`.
    #[serde(alias = "retention-size")]
    pub retention_size: Option<String>,
    /// CA certificates (PEM) client certificates are checked against.
    #[serde(alias = "client-ca")]
    pub client_ca: Option<PathBuf>,
    /// Subject common names of client certificates allowed on the ingest routes.
    #[serde(alias = "ingest-client-cns")]
    pub ingest_client_cns: Vec<String>,
}

/// One `[[server.syslog]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSection {
    pub listen: toml::Spanned<String>,
    pub source: Option<String>,
    #[serde(alias = "tls-cert")]
    pub tls_cert: Option<PathBuf>,
    #[serde(alias = "tls-key")]
    pub tls_key: Option<PathBuf>,
    #[serde(alias = "max-message-bytes")]
    pub max_message_bytes: Option<u64>,
    #[serde(alias = "max-connections")]
    pub max_connections: Option<u64>,
    #[serde(alias = "max-connections-per-ip")]
    pub max_connections_per_ip: Option<u64>,
    pub queue: Option<u64>,
    /// The 1-based line of `listen`, filled in by [`ConfigFile::parse`] (0: not from a file).
    #[serde(skip)]
    pub line: u32,
}

/// One `[[server.file]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSection {
    pub path: toml::Spanned<PathBuf>,
    pub kind: Option<String>,
    pub source: Option<String>,
    #[serde(alias = "start-at")]
    pub start_at: Option<String>,
    #[serde(alias = "poll-interval")]
    pub poll_interval: Option<String>,
    #[serde(alias = "max-line-bytes")]
    pub max_line_bytes: Option<u64>,
    /// The 1-based line of `path`, filled in by [`ConfigFile::parse`] (0: not from a file).
    #[serde(skip)]
    pub line: u32,
}

/// Where a followed file is first read from, when there is no saved offset for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Only lines written after the server started (`tail -f`).
    End,
    /// The whole file.
    Beginning,
}

/// Default pause between looks at a followed file once it is read to its end.
pub const DEFAULT_FILE_POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// Default longest line of a followed file kept whole: the parsers' event limit.
pub const DEFAULT_FILE_MAX_LINE_BYTES: usize = palisade_siem::parse::DEFAULT_MAX_EVENT_BYTES;

/// A followed file (`[[server.file]]`), checked.
#[derive(Debug, Clone)]
pub struct FileSource {
    pub path: PathBuf,
    pub kind: palisade_siem::parse::Kind,
    /// The source name stored with the events.
    pub source: String,
    pub start_at: StartAt,
    pub poll_interval: std::time::Duration,
    pub max_line_bytes: usize,
}

impl FileSource {
    /// A followed file with the defaults: source named after the kind, read from its end.
    pub fn new(path: impl Into<PathBuf>, kind: palisade_siem::parse::Kind) -> FileSource {
        FileSource {
            path: path.into(),
            kind,
            source: kind.as_str().replace('_', "-"),
            start_at: StartAt::End,
            poll_interval: DEFAULT_FILE_POLL,
            max_line_bytes: DEFAULT_FILE_MAX_LINE_BYTES,
        }
    }
}

/// `poll_interval`: a whole number of `ms` or `s`, 10ms to 60s.
pub fn parse_poll_interval(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let ms = match (digits.parse::<u64>(), unit.trim()) {
        (Ok(n), "ms") => Some(n),
        (Ok(n), "s") => n.checked_mul(1000),
        _ => None,
    };
    match ms {
        Some(ms) if (10..=60_000).contains(&ms) => Ok(std::time::Duration::from_millis(ms)),
        Some(_) => Err(format!(
            "poll_interval = {text:?}: use 10ms to 60s, e.g. \"1s\""
        )),
        None => Err(format!(
            "poll_interval = {text:?} is not an interval: a whole number and ms or s, e.g. \"500ms\" or \"1s\""
        )),
    }
}

/// Checks one `[[server.file]]` entry; `rel` makes the path relative to the file. Errors
/// name the field.
fn check_file(s: &FileSection, rel: &dyn Fn(PathBuf) -> PathBuf) -> Result<FileSource, String> {
    let path = s.path.get_ref();
    if path.as_os_str().is_empty() {
        return Err("path is empty: name the file to follow, e.g. \"/var/log/audit.log\"".into());
    }
    let kind = match s.kind.as_deref().map(str::trim) {
        None => {
            return Err(
                "kind is missing: set kind = \"k8s-audit\", \"cloudtrail\", \"falco\", \"json\" or \"syslog\""
                    .into(),
            );
        }
        Some(k) => k.parse::<palisade_siem::parse::Kind>().map_err(|_| {
            format!(
                "kind = {k:?} is not one of \"k8s-audit\", \"cloudtrail\", \"falco\", \"json\", \"syslog\""
            )
        })?,
    };
    let mut f = FileSource::new(rel(path.clone()), kind);
    if let Some(src) = &s.source {
        let src = src.trim();
        if src.is_empty() || src.chars().count() > 128 || src.chars().any(char::is_control) {
            return Err(format!(
                "source = {src:?}: use 1 to 128 printable characters"
            ));
        }
        f.source = src.to_string();
    }
    f.start_at = match s.start_at.as_deref().map(str::trim) {
        None | Some("end") => StartAt::End,
        Some("beginning") => StartAt::Beginning,
        Some(other) => {
            return Err(format!(
                "start_at = {other:?}: use \"end\" (only new lines) or \"beginning\" (the whole file)"
            ));
        }
    };
    if let Some(p) = &s.poll_interval {
        f.poll_interval = parse_poll_interval(p)?;
    }
    f.max_line_bytes = match s.max_line_bytes {
        None => DEFAULT_FILE_MAX_LINE_BYTES,
        Some(n) if (480..=4 << 20).contains(&n) => n as usize,
        Some(n) => return Err(format!("max_line_bytes = {n}: use 480 to {}", 4 << 20)),
    };
    Ok(f)
}

/// How a syslog listener receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogTransport {
    Udp,
    Tcp,
    Tls,
}

impl SyslogTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            SyslogTransport::Udp => "udp",
            SyslogTransport::Tcp => "tcp",
            SyslogTransport::Tls => "tls",
        }
    }
}

/// Default largest syslog message kept whole: 64 KiB.
pub const DEFAULT_SYSLOG_MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Default open TCP/TLS syslog connections per listener.
pub const DEFAULT_SYSLOG_MAX_CONNECTIONS: usize = 1000;
/// Default open TCP/TLS syslog connections from one address per listener.
pub const DEFAULT_SYSLOG_MAX_CONNECTIONS_PER_IP: usize = 100;
/// Default messages waiting for the event store per listener.
pub const DEFAULT_SYSLOG_QUEUE: usize = 10_000;

/// A syslog listener, checked.
#[derive(Debug, Clone)]
pub struct SyslogListener {
    pub transport: SyslogTransport,
    pub addr: SocketAddr,
    /// The source name stored with the events.
    pub source: String,
    /// Certificate and key (`tls://` only).
    pub tls: Option<(PathBuf, PathBuf)>,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub queue: usize,
}

impl SyslogListener {
    /// A listener with the defaults (no TLS material).
    pub fn new(transport: SyslogTransport, addr: SocketAddr, source: &str) -> SyslogListener {
        SyslogListener {
            transport,
            addr,
            source: source.to_string(),
            tls: None,
            max_message_bytes: DEFAULT_SYSLOG_MAX_MESSAGE_BYTES,
            max_connections: DEFAULT_SYSLOG_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_SYSLOG_MAX_CONNECTIONS_PER_IP,
            queue: DEFAULT_SYSLOG_QUEUE,
        }
    }
}

/// `udp://ADDR:PORT`, `tcp://…`, `tls://…`.
pub fn parse_syslog_listen(text: &str) -> Result<(SyslogTransport, SocketAddr), String> {
    let t = text.trim();
    let (transport, rest) = if let Some(r) = t.strip_prefix("udp://") {
        (SyslogTransport::Udp, r)
    } else if let Some(r) = t.strip_prefix("tcp://") {
        (SyslogTransport::Tcp, r)
    } else if let Some(r) = t.strip_prefix("tls://") {
        (SyslogTransport::Tls, r)
    } else {
        return Err(format!(
            "listen = {text:?} must start with udp://, tcp:// or tls://, e.g. \"udp://0.0.0.0:5514\""
        ));
    };
    let addr = rest.trim_end_matches('/').parse().map_err(|_| {
        format!(
            "listen = {text:?}: {rest:?} is not an address with a port, e.g. \"0.0.0.0:5514\" or \"[::]:6514\""
        )
    })?;
    Ok((transport, addr))
}

/// Checks one `[[server.syslog]]` entry; `rel` makes paths relative to the file, `server_tls`
/// is `[server]`'s pair. Errors name the field.
fn check_syslog(
    s: &SyslogSection,
    rel: &dyn Fn(PathBuf) -> PathBuf,
    server_tls: Option<&(PathBuf, PathBuf)>,
) -> Result<SyslogListener, String> {
    let (transport, addr) = parse_syslog_listen(s.listen.get_ref())?;
    let mut l = SyslogListener::new(transport, addr, "syslog");
    if let Some(src) = &s.source {
        let src = src.trim();
        if src.is_empty() || src.chars().count() > 128 || src.chars().any(char::is_control) {
            return Err(format!(
                "source = {src:?}: use 1 to 128 printable characters"
            ));
        }
        l.source = src.to_string();
    }
    let range = |name: &str, v: Option<u64>, min: u64, max: u64, default: usize| match v {
        None => Ok(default),
        Some(n) if (min..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(format!("{name} = {n}: use {min} to {max}")),
    };
    l.max_message_bytes = range(
        "max_message_bytes",
        s.max_message_bytes,
        480,
        4 << 20,
        DEFAULT_SYSLOG_MAX_MESSAGE_BYTES,
    )?;
    l.max_connections = range(
        "max_connections",
        s.max_connections,
        1,
        100_000,
        DEFAULT_SYSLOG_MAX_CONNECTIONS,
    )?;
    l.max_connections_per_ip = range(
        "max_connections_per_ip",
        s.max_connections_per_ip,
        1,
        100_000,
        DEFAULT_SYSLOG_MAX_CONNECTIONS_PER_IP,
    )?;
    l.queue = range("queue", s.queue, 1, 1_000_000, DEFAULT_SYSLOG_QUEUE)?;
    let own = match (&s.tls_cert, &s.tls_key) {
        (Some(c), Some(k)) => Some((rel(c.clone()), rel(k.clone()))),
        (None, None) => None,
        (Some(_), None) => return Err("tls_cert is set without tls_key".into()),
        (None, Some(_)) => return Err("tls_key is set without tls_cert".into()),
    };
    match transport {
        SyslogTransport::Tls => {
            l.tls = Some(own.or_else(|| server_tls.cloned()).ok_or(
                "tls:// needs a certificate: set tls_cert and tls_key here or in [server]",
            )?);
        }
        _ if own.is_some() => {
            return Err(format!(
                "tls_cert/tls_key apply to tls:// listeners only, not {}://",
                transport.as_str()
            ));
        }
        _ => {}
    }
    Ok(l)
}

/// The settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: u32,
        message: String,
    },
    #[error("{0}")]
    Value(String),
}

impl ConfigFile {
    /// Reads a settings file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: display.clone(),
            source,
        })?;
        ConfigFile::parse(&text).map_err(|(line, message)| ConfigError::Invalid {
            path: display,
            line,
            message,
        })
    }

    /// Parses settings text; errors carry the 1-based line.
    pub fn parse(text: &str) -> Result<ConfigFile, (u32, String)> {
        let line_of = |at: usize| text[..at.min(text.len())].matches('\n').count() as u32 + 1;
        let mut file = toml::from_str::<ConfigFile>(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start)).unwrap_or(1);
            (line, e.message().to_string())
        })?;
        for s in &mut file.server.syslog {
            s.line = line_of(s.listen.span().start);
            parse_syslog_listen(s.listen.get_ref())
                .map_err(|m| (s.line, format!("[[server.syslog]] {m}")))?;
        }
        for f in &mut file.server.file {
            f.line = line_of(f.path.span().start);
        }
        Ok(file)
    }
}

/// Command-line values; each wins over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// An address range, for `trusted_proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, as dual-stack sockets report IPv4 peers)
/// as plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// What the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// A `postgres://` URL or the SQLite file path.
    pub database: String,
    /// Certificate and key, when serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Scheme, host and port people reach the server at, without a trailing slash.
    pub public_url: String,
    /// Whether `public_url` was configured (else it was made from `listen`).
    pub public_url_set: bool,
    pub max_upload_bytes: usize,
    pub session_ttl_ms: i64,
    pub trusted_proxies: Vec<Cidr>,
    pub metrics_public: bool,
    /// Syslog listeners (`[[server.syslog]]`), in the order written.
    pub syslog: Vec<SyslogListener>,
    /// Followed files (`[[server.file]]`), in the order written.
    pub files: Vec<FileSource>,
    /// Event retention (`retention`, `retention_size`); both `None`: events are kept.
    pub retention: Retention,
    /// `client_ca`: the HTTPS listener asks for client certificates signed by these CAs
    /// (and still accepts connections without one).
    pub client_ca: Option<PathBuf>,
    /// `ingest_client_cns`: a verified client certificate with one of these subject CNs may
    /// post to the ingest routes without a token.
    pub ingest_client_cns: Vec<String>,
    /// The `[oidc]` table, unchecked.
    pub oidc: Option<toml::Value>,
    /// The settings file, when there was one.
    pub source: Option<PathBuf>,
    /// `[alerts]`: dedup window, queue and webhooks.
    pub alerts: super::notify::AlertSettings,
    /// `[detect]`: rule selection and suppressions.
    pub detect: super::detection::DetectSettings,
}

impl Settings {
    /// Fills in defaults: flags over file over `$PALISADE_DATA_DIR` over built-ins.
    pub fn resolve(
        file: Option<(ConfigFile, PathBuf)>,
        flags: Overrides,
        env_data_dir: Option<PathBuf>,
    ) -> Result<Settings, ConfigError> {
        let (file, source) = match file {
            Some((f, p)) => (f, Some(p)),
            None => (ConfigFile::default(), None),
        };
        let dir = source
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let rel = |p: PathBuf| if p.is_relative() { dir.join(p) } else { p };
        let where_ = source
            .as_ref()
            .map(|p| format!("{}: [server] ", p.display()))
            .unwrap_or_default();
        let s = file.server;
        let listen = match (flags.listen, &s.listen) {
            (Some(a), _) => a,
            (None, Some(text)) => text.parse().map_err(|_| {
                ConfigError::Value(format!(
                    "{where_}listen = {text:?} is not an address with a port, e.g. \"127.0.0.1:7878\" or \"[::]:7878\""
                ))
            })?,
            (None, None) => DEFAULT_LISTEN.parse().map_err(|_| {
                ConfigError::Value("built-in listen address does not parse".into())
            })?,
        };
        let data_dir = flags
            .data_dir
            .or_else(|| s.data_dir.map(&rel))
            .or(env_data_dir.filter(|p| !p.as_os_str().is_empty()))
            .unwrap_or_else(|| PathBuf::from("palisade-data"));
        let database = match flags.database.or(s.database) {
            Some(d) if is_postgres(&d) => d,
            Some(d) if d.trim().is_empty() => {
                return Err(ConfigError::Value(format!("{where_}database is empty")));
            }
            Some(d) => rel(PathBuf::from(d)).display().to_string(),
            None => data_dir.join("palisade.db").display().to_string(),
        };
        let tls_cert = flags.tls_cert.or_else(|| s.tls_cert.map(&rel));
        let tls_key = flags.tls_key.or_else(|| s.tls_key.map(&rel));
        let tls = match (tls_cert, tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Value(
                    "a TLS certificate was given without its key: set tls_key (--tls-key) too"
                        .into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::Value(
                    "a TLS key was given without its certificate: set tls_cert (--tls-cert) too"
                        .into(),
                ));
            }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (public_url, public_url_set) = match s.public_url {
            Some(u) => {
                let u = u.trim().trim_end_matches('/').to_string();
                let rest = u
                    .strip_prefix("https://")
                    .or_else(|| u.strip_prefix("http://"));
                match rest {
                    Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => (u, true),
                    _ => {
                        return Err(ConfigError::Value(format!(
                            "{where_}public_url = {u:?} must be an http:// or https:// URL such as \"https://palisade.example.com\""
                        )));
                    }
                }
            }
            None => {
                // An unspecified address cannot be browsed to; loopback reaches it locally.
                let host = match listen.ip() {
                    IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
                    IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_string(),
                    IpAddr::V4(ip) => ip.to_string(),
                    IpAddr::V6(ip) => format!("[{ip}]"),
                };
                (format!("{scheme}://{host}:{}", listen.port()), false)
            }
        };
        let mb = s.max_upload_mb.unwrap_or(DEFAULT_MAX_UPLOAD_MB);
        if !(1..=4096).contains(&mb) {
            return Err(ConfigError::Value(format!(
                "{where_}max_upload_mb = {mb}: use 1 to 4096"
            )));
        }
        let hours = s.session_ttl_hours.unwrap_or(DEFAULT_SESSION_TTL_HOURS);
        if !(1..=24 * 90).contains(&hours) {
            return Err(ConfigError::Value(format!(
                "{where_}session_ttl_hours = {hours}: use 1 to 2160"
            )));
        }
        let trusted_proxies = s
            .trusted_proxies
            .iter()
            .map(|p| Cidr::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::Value(format!("{where_}trusted_proxies: {e}")))?;
        let retention = Retention {
            max_age: s
                .retention
                .as_deref()
                .map(parse_retention_age)
                .transpose()
                .map_err(|e| ConfigError::Value(format!("{where_}retention = {e}")))?,
            max_bytes: s
                .retention_size
                .as_deref()
                .map(parse_retention_size)
                .transpose()
                .map_err(|e| ConfigError::Value(format!("{where_}retention_size = {e}")))?,
        };
        let syslog = s
            .syslog
            .iter()
            .map(|entry| {
                check_syslog(entry, &rel, tls.as_ref()).map_err(|m| match &source {
                    Some(p) => ConfigError::Invalid {
                        path: p.display().to_string(),
                        line: entry.line,
                        message: format!("[[server.syslog]] {m}"),
                    },
                    None => ConfigError::Value(format!("[[server.syslog]] {m}")),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let client_ca = s.client_ca.map(&rel);
        if client_ca.is_some() && tls.is_none() {
            return Err(ConfigError::Value(format!(
                "{where_}client_ca is set but the server does not serve HTTPS: set tls_cert and tls_key (client certificates need TLS)"
            )));
        }
        let mut ingest_client_cns = Vec::new();
        for cn in &s.ingest_client_cns {
            let cn = cn.trim();
            if cn.is_empty() || cn.chars().count() > 256 || cn.chars().any(char::is_control) {
                return Err(ConfigError::Value(format!(
                    "{where_}ingest_client_cns: {cn:?} is not a certificate common name (1 to 256 printable characters, e.g. \"kube-apiserver\")"
                )));
            }
            ingest_client_cns.push(cn.to_string());
        }
        match (&client_ca, ingest_client_cns.is_empty()) {
            (None, false) => {
                return Err(ConfigError::Value(format!(
                    "{where_}ingest_client_cns needs client_ca: name the CA that signs those client certificates"
                )));
            }
            (Some(_), true) => {
                return Err(ConfigError::Value(format!(
                    "{where_}client_ca is set but ingest_client_cns is empty: list the subject CNs allowed to ingest, e.g. [\"kube-apiserver\"]"
                )));
            }
            _ => {}
        }
        let mut files: Vec<FileSource> = Vec::new();
        for entry in &s.file {
            let invalid = |m: String| match &source {
                Some(p) => ConfigError::Invalid {
                    path: p.display().to_string(),
                    line: entry.line,
                    message: format!("[[server.file]] {m}"),
                },
                None => ConfigError::Value(format!("[[server.file]] {m}")),
            };
            let f = check_file(entry, &rel).map_err(invalid)?;
            if files.iter().any(|o| o.path == f.path) {
                return Err(invalid(format!(
                    "path {:?} is followed twice: keep one entry per file",
                    f.path.display().to_string()
                )));
            }
            files.push(f);
        }
        Ok(Settings {
            listen,
            data_dir,
            database,
            tls,
            public_url,
            public_url_set,
            max_upload_bytes: usize::try_from(mb * 1024 * 1024).unwrap_or(usize::MAX),
            session_ttl_ms: i64::try_from(hours * 3_600_000).unwrap_or(i64::MAX),
            trusted_proxies,
            metrics_public: s.metrics_public,
            syslog,
            files,
            retention,
            client_ca,
            ingest_client_cns,
            oidc: file.oidc,
            alerts: super::notify::AlertSettings::from_table(file.alerts.as_ref()).map_err(
                |e| {
                    let file = source
                        .as_ref()
                        .map(|p| format!("{}: ", p.display()))
                        .unwrap_or_default();
                    ConfigError::Value(format!("{file}[alerts] {e}"))
                },
            )?,
            detect: super::detection::DetectSettings::from_toml(file.detect.as_ref()).map_err(
                |e| {
                    let file = source
                        .as_ref()
                        .map(|p| format!("{}: ", p.display()))
                        .unwrap_or_default();
                    ConfigError::Value(format!("{file}{e}"))
                },
            )?,
            source,
        })
    }

    /// Settings for tests and embedding: everything default, the given listen address and
    /// database.
    pub fn for_database(listen: SocketAddr, database: &str, data_dir: &Path) -> Settings {
        let flags = Overrides {
            listen: Some(listen),
            data_dir: Some(data_dir.to_path_buf()),
            database: Some(database.to_string()),
            ..Overrides::default()
        };
        // Nothing here can fail validation.
        match Settings::resolve(None, flags, None) {
            Ok(s) => s,
            Err(e) => unreachable!("default settings are valid: {e}"),
        }
    }

    /// Whether session cookies get `Secure`: served over HTTPS, or behind a proxy that is.
    pub fn secure_cookies(&self) -> bool {
        self.tls.is_some() || self.public_url.starts_with("https://")
    }

    /// `scheme://host[:port]` of `public_url`, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map(|i| i + 3).unwrap_or(0);
        match self.public_url[after_scheme..].find('/') {
            Some(i) => &self.public_url[..after_scheme + i],
            None => &self.public_url,
        }
    }

    /// Whether anything but this machine can reach the server over plain HTTP.
    pub fn plain_http_exposed(&self) -> bool {
        self.tls.is_none() && !self.listen.ip().is_loopback()
    }
}

/// Whether a database location names PostgreSQL.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_data_dir() {
        let s = Settings::resolve(None, Overrides::default(), None).unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.data_dir, PathBuf::from("palisade-data"));
        assert_eq!(
            PathBuf::from(&s.database),
            PathBuf::from("palisade-data").join("palisade.db")
        );
        assert_eq!(s.public_url, "http://127.0.0.1:7878");
        assert!(!s.secure_cookies());
        assert_eq!(s.max_upload_bytes, 64 << 20);
        let s = Settings::resolve(None, Overrides::default(), Some("/srv/pal".into())).unwrap();
        assert_eq!(
            PathBuf::from(&s.database),
            PathBuf::from("/srv/pal/palisade.db")
        );
    }

    #[test]
    fn file_values_are_relative_to_the_file_and_flags_win() {
        let text = "[server]\nlisten = \"0.0.0.0:9000\"\ndata-dir = \"data\"\npublic_url = \"https://pal.example.com/\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n[scan]\nexit-code = 1\n";
        let f = ConfigFile::parse(text).unwrap();
        let s = Settings::resolve(
            Some((f.clone(), PathBuf::from("/etc/pal/palisade.toml"))),
            Overrides::default(),
            None,
        )
        .unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.data_dir, PathBuf::from("/etc/pal/data"));
        assert_eq!(s.public_url, "https://pal.example.com");
        assert_eq!(s.public_origin(), "https://pal.example.com");
        assert!(s.secure_cookies());
        assert!(s.plain_http_exposed());
        assert!(s.trusted_proxies[0].contains("10.1.2.3".parse().unwrap()));
        let s = Settings::resolve(
            Some((f, PathBuf::from("/etc/pal/palisade.toml"))),
            Overrides {
                database: Some("postgres://db/pal".into()),
                ..Overrides::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(s.database, "postgres://db/pal");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let (line, msg) =
            ConfigFile::parse("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 1\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(msg.contains("unknown field `listne`"), "{msg}");
        let (line, _) = ConfigFile::parse("[sever]\n").unwrap_err();
        assert_eq!(line, 1);
        let f = ConfigFile::parse("[server]\nlisten = \"localhost\"\n").unwrap();
        let e =
            Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None).unwrap_err();
        assert!(e.to_string().contains("p.toml: [server] listen"), "{e}");
        let f = ConfigFile::parse("[server]\ntls_cert = \"c.pem\"\n").unwrap();
        assert!(Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None).is_err());
        let f = ConfigFile::parse("[server]\npublic_url = \"pal.example.com\"\n").unwrap();
        assert!(Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None).is_err());
    }

    #[test]
    fn syslog_listeners_are_checked_with_their_line() {
        let text = "[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\n[[server.syslog]]\nlisten = \"udp://0.0.0.0:5514\"\n\n[[server.syslog]]\nlisten = \"tls://[::]:6514\"\nsource = \"edge\"\nmax_message_bytes = 1024\n";
        let f = ConfigFile::parse(text).unwrap();
        let s = Settings::resolve(
            Some((f, PathBuf::from("/etc/pal/palisade.toml"))),
            Overrides::default(),
            None,
        )
        .unwrap();
        assert_eq!(s.syslog.len(), 2);
        assert_eq!(s.syslog[0].transport, SyslogTransport::Udp);
        assert_eq!(s.syslog[0].source, "syslog");
        assert_eq!(s.syslog[0].max_message_bytes, 64 * 1024);
        assert_eq!(s.syslog[1].transport, SyslogTransport::Tls);
        assert_eq!(s.syslog[1].source, "edge");
        assert_eq!(s.syslog[1].max_message_bytes, 1024);
        assert_eq!(
            s.syslog[1].tls.as_ref().unwrap().0,
            PathBuf::from("/etc/pal/c.pem")
        );

        let (line, msg) =
            ConfigFile::parse("[server]\n[[server.syslog]]\nlisten = \"http://x:1\"\n")
                .unwrap_err();
        assert_eq!(line, 3);
        assert!(msg.contains("[[server.syslog]] listen"), "{msg}");
        let (line, msg) =
            ConfigFile::parse("[[server.syslog]]\nlisten = \"udp://0.0.0.0:1\"\nport = 1\n")
                .unwrap_err();
        assert_eq!(line, 3);
        assert!(msg.contains("unknown field `port`"), "{msg}");
        let f =
            ConfigFile::parse("\n[[server.syslog]]\nlisten = \"tls://0.0.0.0:6514\"\n").unwrap();
        let e = Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml:3: [[server.syslog]] tls:// needs"),
            "{e}"
        );
        let f = ConfigFile::parse("[[server.syslog]]\nlisten = \"tcp://0.0.0.0:1\"\nqueue = 0\n")
            .unwrap();
        let e = Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml:2: [[server.syslog]] queue = 0"), "{e}");
    }

    #[test]
    fn cidr_ranges() {
        let c = Cidr::parse("192.168.0.0/16").unwrap();
        assert!(c.contains("192.168.4.5".parse().unwrap()));
        assert!(!c.contains("192.169.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:192.168.1.1".parse().unwrap()));
        let c = Cidr::parse("fd00::/8").unwrap();
        assert!(c.contains("fd12::1".parse().unwrap()));
        assert!(!c.contains("fe80::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("example.com").is_err());
    }

    #[test]
    fn retention_ages_and_sizes() {
        use std::time::Duration;
        assert_eq!(
            parse_retention_age("30d"),
            Ok(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(
            parse_retention_age(" 12h "),
            Ok(Duration::from_secs(12 * 3600))
        );
        assert_eq!(
            parse_retention_age("2w"),
            Ok(Duration::from_secs(14 * 86_400))
        );
        assert_eq!(parse_retention_age("90m"), Ok(Duration::from_secs(5400)));
        for bad in [
            "30",
            "d",
            "30 days",
            "-1d",
            "1.5d",
            "",
            "99999999999999999999d",
        ] {
            let e = parse_retention_age(bad).unwrap_err();
            assert!(e.contains("is not an age"), "{bad}: {e}");
        }
        assert!(
            parse_retention_age("59m")
                .unwrap_err()
                .contains("at least 1h")
        );
        assert_eq!(parse_retention_size("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_retention_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_retention_size("1tb"), Ok(1_000_000_000_000));
        assert!(
            parse_retention_size("10")
                .unwrap_err()
                .contains("not a size")
        );
        assert!(
            parse_retention_size("10XB")
                .unwrap_err()
                .contains("not a size")
        );
        assert!(
            parse_retention_size("10KB")
                .unwrap_err()
                .contains("at least 1MB")
        );

        let f =
            ConfigFile::parse("[server]\nretention = \"7d\"\nretention-size = \"1GiB\"\n").unwrap();
        let s = Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None).unwrap();
        assert_eq!(s.retention.max_age, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(s.retention.max_bytes, Some(1 << 30));
        let f = ConfigFile::parse("[server]\nretention = \"30 days\"\n").unwrap();
        let e = Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml: [server] retention = \"30 days\" is not an age"),
            "{e}"
        );
        let none = Settings::resolve(None, Overrides::default(), None).unwrap();
        assert_eq!(none.retention, Retention::default());
    }
}
