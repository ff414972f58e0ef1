//! Event sources of `palisade serve` that are not HTTP: followed files ([`file`], configured
//! with `[[server.file]]` and described there) and the syslog listeners below.
//!
//! Syslog listeners of `palisade serve`: messages received over UDP ([`udp`]), TCP ([`tcp`])
//! and TLS ([`tls`]), parsed with `palisade_siem`'s syslog parser (kind `syslog`, RFC 5424
//! and RFC 3164) and appended to the event store in batches.
//!
//! Configured in palisade.toml, one `[[server.syslog]]` entry a listener (see
//! `platform::config`):
//!
//! ```toml
//! [[server.syslog]]
//! listen = "tcp://0.0.0.0:5514"          # udp://, tcp:// or tls://ADDRESS:PORT
//! source = "syslog"                      # source name stored with the events
//! tls_cert = "/etc/palisade/syslog.crt"  # tls:// only; default: [server] tls_cert/tls_key
//! tls_key = "/etc/palisade/syslog.key"
//! max_message_bytes = 65536              # default 64 KiB
//! max_connections = 1000                 # tcp/tls, per listener
//! max_connections_per_ip = 100           # tcp/tls, per listener and peer address
//! queue = 10000                          # messages waiting for the event store
//! ```
//!
//! # Messages
//!
//! - UDP: one datagram is one message.
//! - TCP and TLS: RFC 6587 framing, detected per message: a frame starting with a digit is
//!   octet-counted (`LEN SP MSG`), anything else runs to the next LF (non-transparent
//!   framing; a CR before the LF is dropped). Empty lines between frames are skipped. A
//!   frame length that is not a number of 1 to 9 digits followed by a space is a framing
//!   error: the bytes up to the next LF become one event with `parse_error` set, and
//!   reading goes on after the LF.
//!
//! Nothing is dropped silently: a message that does not parse is stored with `parse_error`
//! set and its raw form kept; one longer than `max_message_bytes` keeps its first bytes, the
//! marker `palisade_siem::parse::TRUNCATION_MARKER`, and `truncated = true` (the rest is
//! read and discarded, never buffered). A frame cut short by the connection closing (or by
//! shutdown) is stored with a `parse_error` saying so. Each event gets `source` from the
//! configuration and `source_ip` = the address the message came from (the relay's, when
//! relayed).
//!
//! # Batching and backpressure
//!
//! Each listener hands events to one writer task over a bounded queue (`queue` messages);
//! the writer appends up to [`BATCH`] events at a time, or what arrived within
//! [`BATCH_WAIT`], in one store transaction. When the store falls behind the queue fills:
//! TCP and TLS readers then wait for room and stop reading from their sockets, so the
//! kernel's receive buffer fills and TCP flow control pushes back on the sender; nothing is
//! dropped. UDP cannot push back: a datagram arriving while the queue is full is dropped and
//! counted (`palisade_events_total{result="dropped"}` and
//! `palisade_syslog_dropped_total`), the only place Palisade drops a message it received
//! (datagrams the kernel drops on a full socket buffer never arrive; see [`udp`]). A batch the store
//! fails to take is retried ([`APPEND_TRIES`] times, backing off) before it is counted as
//! dropped and logged.
//!
//! Connections beyond `max_connections` (or `max_connections_per_ip` from one address) are
//! closed as soon as they are accepted, and counted.
//!
//! Stored batches are published to the live tail (`platform::tail`) like HTTP ingestion's.
//!
//! # Shutdown
//!
//! When the server stops, listeners stop accepting and reading; a partial frame is stored
//! as described above; writers store what is queued and then stop, before `palisade serve`
//! exits (bounded by the grace period).
//!
//! # Metrics
//!
//! `palisade_syslog_messages_total{transport}`, `palisade_syslog_connections_total{transport}`
//! (accepted), `palisade_syslog_connections_refused_total{transport}` (over a limit, or a
//! failed TLS handshake), `palisade_syslog_open_connections{transport}`,
//! `palisade_syslog_truncated_total`, `palisade_syslog_framing_errors_total`,
//! `palisade_syslog_dropped_total` (UDP, queue full); stored events also count in
//! `palisade_events_total` and `palisade_events_parse_errors_total`.

pub mod file;
pub mod tcp;
pub mod tls;
pub mod udp;

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use palisade_siem::Event;
use palisade_siem::parse::{Kind, ParseOptions, TRUNCATION_MARKER, syslog};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::PlatformError;
use super::config::{SyslogListener, SyslogTransport};
use super::state::{AppState, now_nanos};

/// Most events in one append.
pub const BATCH: usize = 1000;
/// Longest an event waits for its batch to fill.
pub const BATCH_WAIT: Duration = Duration::from_millis(100);
/// Appends tried before a batch counts as dropped.
pub const APPEND_TRIES: u32 = 4;

const TRANSPORTS: [SyslogTransport; 3] = [
    SyslogTransport::Udp,
    SyslogTransport::Tcp,
    SyslogTransport::Tls,
];

fn slot(t: SyslogTransport) -> usize {
    match t {
        SyslogTransport::Udp => 0,
        SyslogTransport::Tcp => 1,
        SyslogTransport::Tls => 2,
    }
}

/// The listeners' counters, rendered in `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    messages: [AtomicU64; 3],
    connections: [AtomicU64; 3],
    refused: [AtomicU64; 3],
    open: [AtomicU64; 3],
    truncated: AtomicU64,
    framing_errors: AtomicU64,
    dropped: AtomicU64,
}

impl Counters {
    pub fn render(&self, out: &mut String) {
        let families: [(&str, &str, &str, &[AtomicU64; 3]); 4] = [
            (
                "palisade_syslog_messages_total",
                "counter",
                "Syslog messages received, by transport.",
                &self.messages,
            ),
            (
                "palisade_syslog_connections_total",
                "counter",
                "Syslog connections accepted, by transport.",
                &self.connections,
            ),
            (
                "palisade_syslog_connections_refused_total",
                "counter",
                "Syslog connections closed at once: over a connection limit, or a failed TLS handshake.",
                &self.refused,
            ),
            (
                "palisade_syslog_open_connections",
                "gauge",
                "Syslog connections open now.",
                &self.open,
            ),
        ];
        for (name, kind, help, values) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for t in TRANSPORTS {
                let _ = writeln!(
                    out,
                    "{name}{{transport=\"{}\"}} {}",
                    t.as_str(),
                    values[slot(t)].load(Ordering::Relaxed)
                );
            }
        }
        for (name, help, value) in [
            (
                "palisade_syslog_truncated_total",
                "Syslog messages longer than max_message_bytes, stored truncated.",
                &self.truncated,
            ),
            (
                "palisade_syslog_framing_errors_total",
                "TCP/TLS frames with a malformed octet count or cut short, stored with parse_error.",
                &self.framing_errors,
            ),
            (
                "palisade_syslog_dropped_total",
                "UDP syslog datagrams dropped because the queue to the event store was full.",
                &self.dropped,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
    }
}

/// One message as framed: its bytes (at most the limit), whether more was cut, and a
/// framing error when the frame is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub truncated: bool,
    pub error: Option<String>,
}

/// What a listener's tasks share.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub state: Arc<AppState>,
    pub config: Arc<SyslogListener>,
    pub tx: mpsc::Sender<Event>,
    pub stop: watch::Receiver<bool>,
}

impl Ctx {
    fn counters(&self) -> &Counters {
        &self.state.metrics.syslog
    }

    pub fn slot(&self) -> usize {
        slot(self.config.transport)
    }

    /// The event of one frame.
    pub fn event(&self, frame: Frame, peer: IpAddr) -> Event {
        let c = self.counters();
        c.messages[self.slot()].fetch_add(1, Ordering::Relaxed);
        if frame.truncated {
            c.truncated.fetch_add(1, Ordering::Relaxed);
        }
        if frame.error.is_some() {
            c.framing_errors.fetch_add(1, Ordering::Relaxed);
        }
        to_event(
            frame,
            &self.config.source,
            self.config.max_message_bytes,
            now_nanos(),
            peer,
        )
    }

    /// Counts a datagram dropped on a full queue.
    pub fn dropped(&self) {
        self.counters().dropped.fetch_add(1, Ordering::Relaxed);
        self.state.events.record_dropped(1);
    }

    pub fn connection_opened(&self) {
        let c = self.counters();
        c.connections[self.slot()].fetch_add(1, Ordering::Relaxed);
        c.open[self.slot()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.counters().open[self.slot()].fetch_sub(1, Ordering::Relaxed);
    }

    pub fn refused(&self) {
        self.counters().refused[self.slot()].fetch_add(1, Ordering::Relaxed);
    }
}

/// The event of a frame: parsed as syslog, or kept with `parse_error`.
pub fn to_event(frame: Frame, source: &str, max: usize, received: i64, peer: IpAddr) -> Event {
    let mut text = String::from_utf8_lossy(&frame.bytes).into_owned();
    // Some senders end messages with NUL instead of LF (RFC 6587 3.4.2); the store refuses
    // NUL anywhere, so trailing ones go and inner ones become U+FFFD rather than lose the event.
    while text.ends_with(['\n', '\r', '\0']) {
        text.pop();
    }
    if text.contains('\0') {
        text = text.replace('\0', "\u{FFFD}");
    }
    if frame.truncated {
        let mut cut = max.saturating_sub(TRUNCATION_MARKER.len()).min(text.len());
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str(TRUNCATION_MARKER);
    }
    let mut opts = ParseOptions::new(source, received);
    opts.max_event_bytes = max.max(text.len());
    let parsed = match &frame.error {
        Some(e) => Err(e.clone()),
        None => syslog::parse_line(&text, &opts),
    };
    let mut event = parsed.unwrap_or_else(|error| Event {
        time: received,
        received,
        source: source.to_string(),
        kind: Kind::Syslog.as_str().to_string(),
        host: None,
        user: None,
        action: None,
        object: None,
        outcome: None,
        source_ip: None,
        raw: text,
        fields: Value::Object(Default::default()),
        parse_error: Some(error),
        truncated: false,
        fields_from_raw: false,
    });
    event.truncated |= frame.truncated;
    event.source_ip = Some(super::config::canonical(peer).to_string());
    event
}

/// A listener bound at startup, not serving yet.
pub struct Bound {
    config: Arc<SyslogListener>,
    socket: Socket,
    addr: SocketAddr,
}

enum Socket {
    Udp(std::net::UdpSocket),
    Tcp(std::net::TcpListener, Option<tokio_rustls::TlsAcceptor>),
}

impl Bound {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Binds every configured listener (and loads TLS certificates), so that a port in use or a
/// bad certificate stops `palisade serve` from starting.
pub fn bind(listeners: &[SyslogListener]) -> Result<Vec<Bound>, PlatformError> {
    let mut out = Vec::new();
    for l in listeners {
        let err = |source: std::io::Error| PlatformError::Listen {
            addr: l.addr,
            source,
        };
        let socket = match l.transport {
            SyslogTransport::Udp => {
                let s = std::net::UdpSocket::bind(l.addr).map_err(err)?;
                s.set_nonblocking(true).map_err(err)?;
                Socket::Udp(s)
            }
            SyslogTransport::Tcp | SyslogTransport::Tls => {
                let s = std::net::TcpListener::bind(l.addr).map_err(err)?;
                s.set_nonblocking(true).map_err(err)?;
                let acceptor = match &l.tls {
                    Some((cert, key)) if l.transport == SyslogTransport::Tls => {
                        Some(tls::acceptor(cert, key)?)
                    }
                    _ => None,
                };
                Socket::Tcp(s, acceptor)
            }
        };
        let addr = match &socket {
            Socket::Udp(s) => s.local_addr(),
            Socket::Tcp(s, _) => s.local_addr(),
        }
        .map_err(err)?;
        out.push(Bound {
            config: Arc::new(l.clone()),
            socket,
            addr,
        });
    }
    Ok(out)
}

/// Serves the bound listeners and follows the configured files until `stop`; the returned
/// set finishes when every listener, writer and file has stopped (queued events stored).
pub fn spawn(state: &Arc<AppState>, bound: Vec<Bound>, stop: watch::Receiver<bool>) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for b in bound {
        let (tx, rx) = mpsc::channel(b.config.queue);
        tasks.spawn(writer(Arc::clone(state), rx));
        let ctx = Ctx {
            state: Arc::clone(state),
            config: Arc::clone(&b.config),
            tx,
            stop: stop.clone(),
        };
        state.log(&format!(
            "syslog: listening on {}://{} (source {:?})",
            b.config.transport.as_str(),
            b.addr,
            b.config.source
        ));
        match b.socket {
            Socket::Udp(s) => match tokio::net::UdpSocket::from_std(s) {
                Ok(s) => {
                    tasks.spawn(udp::serve(ctx, s));
                }
                Err(e) => state.log(&format!("syslog: cannot use {}: {e}", b.addr)),
            },
            Socket::Tcp(s, acceptor) => match tokio::net::TcpListener::from_std(s) {
                Ok(s) => {
                    tasks.spawn(tcp::serve(ctx, s, acceptor));
                }
                Err(e) => state.log(&format!("syslog: cannot use {}: {e}", b.addr)),
            },
        }
    }
    file::spawn(state, &mut tasks, &stop);
    tasks
}

/// Appends what the queue holds in batches until every sender is gone and the queue is
/// empty.
async fn writer(state: Arc<AppState>, mut rx: mpsc::Receiver<Event>) {
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH {
            let room = BATCH - batch.len();
            match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        store(&state, &batch).await;
        batch.clear();
    }
}

async fn store(state: &AppState, batch: &[Event]) {
    let mut slot = Some(state.event_slots.acquire().await);
    let mut wait = Duration::from_millis(250);
    for attempt in 1..=APPEND_TRIES {
        match state.events.append(batch).await {
            Ok(receipt) => {
                let rejected: std::collections::HashSet<usize> =
                    receipt.rejected.iter().map(|r| r.index).collect();
                let errors = batch
                    .iter()
                    .enumerate()
                    .filter(|(i, e)| e.parse_error.is_some() && !rejected.contains(i))
                    .count() as u64;
                state.metrics.event_parse_errors(errors);
                // Stored: the append slot goes back before waiting on detection.
                slot.take();
                state.stored(batch, &receipt).await;
                if let Some(r) = receipt.rejected.first() {
                    state.log(&format!(
                        "syslog: the event store refused {} message(s): {}",
                        receipt.rejected.len(),
                        r.reason
                    ));
                }
                return;
            }
            Err(e) if attempt < APPEND_TRIES => {
                super::metrics::store_error();
                state.log(&format!(
                    "syslog: cannot store {} message(s), retrying: {e}",
                    batch.len()
                ));
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => {
                super::metrics::store_error();
                state.events.record_dropped(batch.len() as u64);
                state.log(&format!(
                    "syslog: dropped {} message(s), the event store failed {APPEND_TRIES} times: {e}",
                    batch.len()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(bytes: &[u8]) -> Frame {
        Frame {
            bytes: bytes.to_vec(),
            truncated: false,
            error: None,
        }
    }

    #[test]
    fn frames_become_events() {
        let ip: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        let e = to_event(
            frame(b"<34>1 2024-05-01T10:00:00Z web1 sshd 42 ID47 [ex@1 a=\"b\"] hi\n"),
            "edge",
            1024,
            7,
            ip,
        );
        assert_eq!(e.source, "edge");
        assert_eq!(e.kind, "syslog");
        assert_eq!(e.host.as_deref(), Some("web1"));
        assert_eq!(e.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(e.fields["msgid"], "ID47");
        assert_eq!(e.fields["structured_data"]["ex@1"]["a"], "b");
        assert!(e.parse_error.is_none());
        assert!(!e.raw.ends_with('\n'));

        let e = to_event(frame(b"<999>oops"), "s", 1024, 7, ip);
        assert!(e.parse_error.is_some());
        assert_eq!(e.raw, "<999>oops");
        assert_eq!(e.time, 7);

        let mut f = frame(&[b'x'; 600]);
        f.bytes.splice(0..4, b"<13>".iter().copied());
        f.truncated = true;
        let e = to_event(f, "s", 600, 7, ip);
        assert!(e.truncated);
        assert!(e.raw.ends_with(TRUNCATION_MARKER));
        assert!(e.raw.len() <= 600);

        let mut f = frame(b"12x <13>hi");
        f.error = Some("bad length".into());
        let e = to_event(f, "s", 600, 7, ip);
        assert_eq!(e.parse_error.as_deref(), Some("bad length"));
    }

    #[test]
    fn counters_render() {
        let c = Counters::default();
        c.messages[1].fetch_add(3, Ordering::Relaxed);
        let mut out = String::new();
        c.render(&mut out);
        assert!(out.contains("palisade_syslog_messages_total{transport=\"tcp\"} 3\n"));
        assert!(out.contains("palisade_syslog_dropped_total 0\n"));
    }
}
