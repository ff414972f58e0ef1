//! Syslog over TLS (RFC 5425 transport): the certificate loaded as the HTTPS server loads
//! its own (reloadable PEM pair, rustls on ring, TLS 1.2 and 1.3, no client certificates),
//! no ALPN; after the handshake the stream is read exactly as [`super::tcp`] reads TCP,
//! with the same framing.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

use crate::platform::PlatformError;
use crate::tls::{self, ReloadingCert};

/// The acceptor of a `tls://` listener.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, PlatformError> {
    let cert = Arc::new(ReloadingCert::load(cert, key)?);
    let mut config = (*tls::server_config(cert)?).clone();
    // Syslog senders offer no ALPN; HTTP's must not be required of them.
    config.alpn_protocols.clear();
    Ok(TlsAcceptor::from(Arc::new(config)))
}
