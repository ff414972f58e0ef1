//! Accepting connections: plain TCP or TLS (rustls), HTTP/1.1 (hyper), an axum router,
//! graceful shutdown. Shared by the servers of this crate.
//!
//! Each request gets the peer address ([`PeerAddr`]) and whether the connection is TLS
//! ([`Tls`]) as extensions, and the client certificate the TLS handshake verified
//! ([`ClientCert`], only when the server asks for one), so handlers can log and rate-limit by client without the router
//! knowing how connections were made.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The peer's address as the connection saw it.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Whether the request came over TLS.
#[derive(Debug, Clone, Copy)]
pub struct Tls(pub bool);

/// The certificate a client presented and the TLS handshake verified (against the
/// configured client CA); absent when the client presented none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// Its subject common name, when it has one.
    pub common_name: Option<String>,
}

/// Timeouts of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A TLS handshake must finish within this.
    pub handshake: Duration,
    /// Request headers must arrive within this after a connection goes idle.
    pub headers: Duration,
    /// After shutdown is asked for, connections get this long to finish.
    pub grace: Duration,
}

/// Callbacks for what the loop cannot handle itself.
#[derive(Clone)]
pub struct Hooks {
    /// A diagnostic line (accept failures, slow drains).
    pub log: Arc<dyn Fn(&str) + Send + Sync>,
    /// A TLS handshake failed or timed out.
    pub handshake_failed: Arc<dyn Fn() + Send + Sync>,
}

/// Resolves once shutdown has been asked for (the guard `wait_for` returns is not held
/// across awaits: it is not `Send`).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Asks for shutdown on SIGINT or SIGTERM (returns early if shutdown comes another way).
pub async fn stop_on_signal(
    tx: watch::Sender<bool>,
    mut rx: watch::Receiver<bool>,
    log: Arc<dyn Fn(&str) + Send + Sync>,
) {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = stopped(&mut rx) => return,
    }
    log("signal received: finishing requests in flight, then stopping");
    let _ = tx.send(true);
}

/// Serves `app` on `listener` until shutdown is asked for, then lets connections finish
/// (up to the grace period).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    mut rx: watch::Receiver<bool>,
    timeouts: Timeouts,
    hooks: Hooks,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut rx) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(connection(
                        tcp,
                        peer,
                        tls.clone(),
                        app.clone(),
                        rx.clone(),
                        timeouts,
                        hooks.clone(),
                    ));
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    (hooks.log)(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(timeouts.grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        (hooks.log)("some connections did not close in time; stopping anyway");
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: Router,
    rx: watch::Receiver<bool>,
    timeouts: Timeouts,
    hooks: Hooks,
) {
    let _ = tcp.set_nodelay(true);
    match tls {
        Some(acceptor) => {
            match tokio::time::timeout(timeouts.handshake, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|c| ClientCert {
                            common_name: crate::tls::subject_common_name(c),
                        });
                    http(TokioIo::new(stream), peer, true, cert, app, rx, timeouts).await
                }
                _ => (hooks.handshake_failed)(),
            }
        }
        None => http(TokioIo::new(tcp), peer, false, None, app, rx, timeouts).await,
    }
}

async fn http<I>(
    io: I,
    peer: SocketAddr,
    is_tls: bool,
    cert: Option<ClientCert>,
    app: Router,
    mut rx: watch::Receiver<bool>,
    timeouts: Timeouts,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(PeerAddr(peer));
            req.extensions_mut().insert(Tls(is_tls));
            if let Some(c) = &cert {
                req.extensions_mut().insert(c.clone());
            }
            app.clone().oneshot(req)
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.headers);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stopped(&mut rx) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Reads and discards what is left of a refused request body, up to `budget` bytes and until
/// `deadline`, so that a client still sending gets the error response rather than a reset
/// connection (a broken pipe before it could read the 413).
pub async fn drain(mut body: axum::body::Body, budget: usize, deadline: tokio::time::Instant) {
    use http_body_util::BodyExt;
    let _ = tokio::time::timeout_at(deadline, async {
        let mut read = 0usize;
        while read <= budget {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    })
    .await;
}
