//! Syslog over TCP (and, through [`super::tls`], TLS): RFC 6587 framing detected per
//! message, octet counting (`LEN SP MSG`) or LF-terminated, and a reader that stops
//! reading while the queue to the event store is full.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::{Ctx, Frame};
use crate::serving;

/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Digits an octet count may have (up to 999,999,999 bytes).
const MAX_LENGTH_DIGITS: usize = 9;
/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// RFC 6587 framing of one connection's bytes, fed as they arrive. Holds at most
/// `max` bytes of the current message whatever the sender claims or sends.
#[derive(Debug)]
pub struct Framer {
    max: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Between frames.
    Start,
    /// Reading an octet count's digits.
    Length(Vec<u8>),
    /// Inside an octet-counted frame.
    Counted {
        remaining: usize,
        frame: Frame,
        declared: usize,
    },
    /// Inside an LF-terminated frame.
    Line(Frame),
}

fn new_frame() -> Frame {
    Frame {
        bytes: Vec::new(),
        truncated: false,
        error: None,
    }
}

impl Framer {
    pub fn new(max: usize) -> Framer {
        Framer {
            max,
            state: State::Start,
        }
    }

    fn keep(max: usize, frame: &mut Frame, data: &[u8]) {
        let room = max.saturating_sub(frame.bytes.len());
        if data.len() > room {
            frame.truncated = true;
        }
        frame.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Takes the next bytes of the stream, adding each frame they complete to `out`.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<Frame>) {
        while !data.is_empty() {
            match &mut self.state {
                State::Start => {
                    let b = data[0];
                    if matches!(b, b'\n' | b'\r' | b'\0' | b' ' | b'\t') {
                        data = &data[1..];
                    } else if b.is_ascii_digit() && b != b'0' {
                        self.state = State::Length(vec![b]);
                        data = &data[1..];
                    } else {
                        self.state = State::Line(new_frame());
                    }
                }
                State::Length(digits) => {
                    let b = data[0];
                    if b == b' ' {
                        let declared = std::str::from_utf8(digits)
                            .ok()
                            .and_then(|d| d.parse::<usize>().ok())
                            .unwrap_or(0);
                        data = &data[1..];
                        self.state = State::Counted {
                            remaining: declared,
                            frame: new_frame(),
                            declared,
                        };
                    } else if b.is_ascii_digit() && digits.len() < MAX_LENGTH_DIGITS {
                        digits.push(b);
                        data = &data[1..];
                    } else {
                        // Not an octet count: the rest of the line is kept as the event.
                        let mut frame = new_frame();
                        frame.error = Some(format!(
                            "RFC 6587 framing: a frame starting with a digit must be an octet count (1 to {MAX_LENGTH_DIGITS} digits, then a space); got {:?}",
                            String::from_utf8_lossy(&[digits.as_slice(), &[b]].concat())
                        ));
                        Self::keep(self.max, &mut frame, digits);
                        self.state = State::Line(frame);
                    }
                }
                State::Counted {
                    remaining, frame, ..
                } => {
                    let n = (*remaining).min(data.len());
                    Self::keep(self.max, frame, &data[..n]);
                    *remaining -= n;
                    data = &data[n..];
                    if *remaining == 0 {
                        let State::Counted { frame, .. } =
                            std::mem::replace(&mut self.state, State::Start)
                        else {
                            unreachable!()
                        };
                        out.push(frame);
                    }
                }
                State::Line(frame) => match data.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        Self::keep(self.max, frame, &data[..i]);
                        data = &data[i + 1..];
                        let State::Line(frame) = std::mem::replace(&mut self.state, State::Start)
                        else {
                            unreachable!()
                        };
                        out.push(frame);
                    }
                    None => {
                        Self::keep(self.max, frame, data);
                        data = &[];
                    }
                },
            }
        }
    }

    /// The end of the stream: what is left of a frame, if anything (a cut octet-counted
    /// frame with a `parse_error`; an unterminated line as it is).
    pub fn finish(&mut self) -> Option<Frame> {
        match std::mem::replace(&mut self.state, State::Start) {
            State::Start => None,
            State::Length(digits) => {
                let mut frame = new_frame();
                frame.error = Some(
                    "RFC 6587 framing: the connection closed inside an octet count".to_string(),
                );
                frame.bytes = digits;
                Some(frame)
            }
            State::Counted {
                remaining,
                mut frame,
                declared,
            } => {
                frame.error = Some(format!(
                    "RFC 6587 framing: the connection closed after {} of {declared} bytes",
                    declared - remaining
                ));
                Some(frame)
            }
            State::Line(frame) if frame.bytes.iter().all(u8::is_ascii_whitespace) => {
                frame.error.is_some().then_some(frame)
            }
            State::Line(frame) => Some(frame),
        }
    }
}

/// Open connections of one listener, by peer address.
#[derive(Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// Releases a connection's place when it ends.
struct Place {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
    ctx: Ctx,
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Ok(mut o) = self.open.lock() {
            o.total = o.total.saturating_sub(1);
            if let Some(n) = o.by_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    o.by_ip.remove(&self.ip);
                }
            }
        }
        self.ctx.connection_closed();
    }
}

/// Accepts connections until shutdown, then waits for them to finish.
pub(crate) async fn serve(ctx: Ctx, listener: TcpListener, tls: Option<TlsAcceptor>) {
    let open = Arc::new(Mutex::new(Open::default()));
    let mut connections = JoinSet::new();
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = serving::stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let ip = super::super::config::canonical(peer.ip());
                    let admitted = open.lock().map(|mut o| {
                        let per_ip = o.by_ip.get(&ip).copied().unwrap_or(0);
                        if o.total >= ctx.config.max_connections
                            || per_ip >= ctx.config.max_connections_per_ip
                        {
                            false
                        } else {
                            o.total += 1;
                            *o.by_ip.entry(ip).or_default() += 1;
                            true
                        }
                    }).unwrap_or(false);
                    if !admitted {
                        ctx.refused();
                        ctx.state.log(&format!("syslog: refused a connection from {peer}: connection limit reached"));
                        drop(tcp);
                        continue;
                    }
                    ctx.connection_opened();
                    let place = Place { open: Arc::clone(&open), ip, ctx: ctx.clone() };
                    connections.spawn(connection(ctx.clone(), tcp, peer, tls.clone(), place));
                }
                Err(e) => {
                    ctx.state.log(&format!("syslog: accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn connection(
    ctx: Ctx,
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    _place: Place,
) {
    match tls {
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => read_frames(ctx, stream, peer).await,
                Ok(Err(e)) => {
                    ctx.refused();
                    ctx.state
                        .log(&format!("syslog: TLS handshake with {peer} failed: {e}"));
                }
                Err(_) => {
                    ctx.refused();
                    ctx.state
                        .log(&format!("syslog: TLS handshake with {peer} timed out"));
                }
            }
        }
        None => read_frames(ctx, tcp, peer).await,
    }
}

async fn read_some<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut rb = ReadBuf::new(buf);
    std::future::poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, &mut rb)).await?;
    Ok(rb.filled().len())
}

/// A connection that sends nothing this long is closed, so idle peers cannot hold every
/// connection slot (relays that log rarely reconnect on their own).
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Reads frames until the peer closes, an error, idleness, or shutdown. Each event waits for room in
/// the queue before the next read: a full queue stops the reading.
pub(crate) async fn read_frames<R: AsyncRead + Unpin>(ctx: Ctx, mut stream: R, peer: SocketAddr) {
    let mut framer = Framer::new(ctx.config.max_message_bytes);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut frames = Vec::new();
    let mut stop = ctx.stop.clone();
    loop {
        let n = tokio::select! {
            _ = serving::stopped(&mut stop) => break,
            r = tokio::time::timeout(IDLE_TIMEOUT, read_some(&mut stream, &mut buf)) => match r {
                Err(_) => {
                    ctx.state.log(&format!(
                        "syslog: {peer} sent nothing for {} minutes; closing the connection",
                        IDLE_TIMEOUT.as_secs() / 60
                    ));
                    break;
                }
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    ctx.state.log(&format!("syslog: reading from {peer}: {e}"));
                    break;
                }
            },
        };
        framer.feed(&buf[..n], &mut frames);
        for f in frames.drain(..) {
            if ctx.tx.send(ctx.event(f, peer.ip())).await.is_err() {
                return;
            }
        }
    }
    if let Some(f) = framer.finish() {
        let _ = ctx.tx.send(ctx.event(f, peer.ip())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> (Vec<Frame>, Option<Frame>) {
        let mut f = Framer::new(max);
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, &mut out);
        }
        (out, f.finish())
    }

    fn texts(fs: &[Frame]) -> Vec<String> {
        fs.iter()
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .collect()
    }

    #[test]
    fn both_framings_per_message() {
        let (out, rest) = frames(
            100,
            &[b"5 <13>a", b"\n<13>b\r\n\n10 <13>c\nd e", b"f\n<13>g"],
        );
        assert_eq!(texts(&out), ["<13>a", "<13>b\r", "<13>c\nd ef"]);
        assert!(out.iter().all(|f| f.error.is_none() && !f.truncated));
        assert_eq!(texts(&[rest.unwrap()]), ["<13>g"]);
    }

    #[test]
    fn split_at_every_byte() {
        let stream = b"6 <13>ab11 <14>x y z w\n<15>line\n";
        let mut f = Framer::new(100);
        let mut out = Vec::new();
        for b in stream {
            f.feed(std::slice::from_ref(b), &mut out);
        }
        assert_eq!(texts(&out), ["<13>ab", "<14>x y z w", "<15>line"]);
        assert!(f.finish().is_none());
    }

    #[test]
    fn bad_lengths_and_limits() {
        let (out, _) = frames(100, &[b"12x <13>hi\n3 <1>"]);
        assert_eq!(out.len(), 2);
        assert!(out[0].error.as_deref().unwrap().contains("octet count"));
        assert_eq!(texts(&out[..1]), ["12x <13>hi"]);
        assert_eq!(texts(&out[1..]), ["<1>"]);
        let (out, _) = frames(100, &[b"1234567890 <13>x\n"]);
        assert!(out[0].error.is_some());

        let (out, rest) = frames(4, &[b"10 0123456789<13>abcdefg\n"]);
        assert_eq!(texts(&out), ["0123", "<13>"]);
        assert!(out.iter().all(|f| f.truncated));
        assert!(rest.is_none());

        let (out, rest) = frames(100, &[b"10 01234"]);
        assert!(out.is_empty());
        let rest = rest.unwrap();
        assert_eq!(
            rest.error.as_deref(),
            Some("RFC 6587 framing: the connection closed after 5 of 10 bytes")
        );
    }
}
