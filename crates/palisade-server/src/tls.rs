//! Serving certificates: reading them (with clear errors), swapping them when the files
//! change, and making new ones.
//!
//! The crypto provider is always *ring*, named explicitly, so the build never depends on
//! which provider some other crate in the tree happens to enable as the process default.
//!
//! What does not live here: accepting connections (see [`crate::admission::server`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::danger::ClientCertVerifier;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, InconsistentKeys, ServerConfig};

/// A serving certificate or key that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: no certificate found: expected PEM with `-----BEGIN CERTIFICATE-----` (is this the key file?)"
    )]
    NoCertificate { path: String },
    #[error(
        "{path}: no private key found: expected a PEM PKCS#8, RSA or EC private key (is this the certificate file?)"
    )]
    NoKey { path: String },
    #[error("{path}: invalid PEM: {message}")]
    BadPem { path: String, message: String },
    #[error("{path}: unsupported private key: {message}")]
    BadKey { path: String, message: String },
    #[error(
        "the private key {key} does not belong to the certificate {cert} (the certificate's public key differs); pass the key the certificate was issued for"
    )]
    Mismatch { cert: String, key: String },
    #[error("{cert}: cannot use the certificate: {message}")]
    BadCertificate { cert: String, message: String },
    #[error("cannot make a certificate: {0}")]
    Generate(String),
}

/// The crypto provider every TLS object here is built with.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Reads a PEM certificate chain and its private key and checks that they belong together.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_name = cert.display().to_string();
    let key_name = key.display().to_string();
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            path: cert_name.clone(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert_name });
    }
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: key_name.clone(),
        },
        other => TlsError::BadPem {
            path: key_name.clone(),
            message: other.to_string(),
        },
    })?;
    let provider = provider();
    let signing = provider
        .key_provider
        .load_private_key(private_key)
        .map_err(|e| TlsError::BadKey {
            path: key_name.clone(),
            message: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::Mismatch {
                cert: cert_name,
                key: key_name,
            })
        }
        Err(e) => Err(TlsError::BadCertificate {
            cert: cert_name,
            message: e.to_string(),
        }),
    }
}

/// The serving certificate, replaced in place when its files change (cert-manager and
/// Secret volume updates rotate them under a running server); handshakes already under
/// way keep the one they started with.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCert {
    /// Loads the pair once; fails as [`load_certified_key`] does.
    pub fn load(cert: &Path, key: &Path) -> Result<ReloadingCert, TlsError> {
        let ck = load_certified_key(cert, key)?;
        Ok(ReloadingCert {
            cert_path: cert.to_path_buf(),
            key_path: key.to_path_buf(),
            current: RwLock::new(Arc::new(ck)),
        })
    }

    /// The files to watch.
    pub fn paths(&self) -> [&Path; 2] {
        [&self.cert_path, &self.key_path]
    }

    /// Reads the files again; on failure the old pair stays in use and the error is returned.
    pub fn reload(&self) -> Result<(), TlsError> {
        let ck = load_certified_key(&self.cert_path, &self.key_path)?;
        if let Ok(mut cur) = self.current.write() {
            *cur = Arc::new(ck);
        }
        Ok(())
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| Arc::clone(&c))
    }
}

/// A server configuration for HTTP/1.1 over TLS 1.2 or 1.3 with this certificate.
pub fn server_config(cert: Arc<ReloadingCert>) -> Result<Arc<ServerConfig>, TlsError> {
    server_config_verifying(cert, None)
}

/// Like [`server_config`], and asks clients for a certificate signed by one of the CAs in
/// the PEM file `client_ca`. A client that presents a certificate that does not verify fails
/// the handshake; one that presents none is let in (it has to authenticate another way).
/// The verified certificate is the connection's `peer_certificates()`.
pub fn server_config_with_client_ca(
    cert: Arc<ReloadingCert>,
    client_ca: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    let path = client_ca.display().to_string();
    let pem = read(client_ca)?;
    let cas = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            path: path.clone(),
            message: e.to_string(),
        })?;
    if cas.is_empty() {
        return Err(TlsError::NoCertificate { path });
    }
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        roots.add(ca).map_err(|e| TlsError::BadCertificate {
            cert: path.clone(),
            message: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::BadCertificate {
            cert: path,
            message: e.to_string(),
        })?;
    server_config_verifying(cert, Some(verifier))
}

fn server_config_verifying(
    cert: Arc<ReloadingCert>,
    clients: Option<Arc<dyn ClientCertVerifier>>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::BadCertificate {
            cert: cert.cert_path.display().to_string(),
            message: e.to_string(),
        })?;
    let mut cfg = match clients {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    }
    .with_cert_resolver(cert);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The subject common name of a DER certificate (the first, when there are several);
/// `None` when it has none or does not parse.
pub fn subject_common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

/// A new CA and a serving certificate it signed, all PEM.
#[derive(Debug, Clone)]
pub struct GeneratedCerts {
    pub ca_cert: String,
    pub ca_key: String,
    pub cert: String,
    pub key: String,
}

/// Makes a CA (valid `ca_days`) and a serving certificate (valid `days`) for the DNS names
/// (or IP addresses) given, with ECDSA P-256 keys. The serving certificate is for server
/// authentication only and names the CA as its issuer.
pub fn generate(names: &[String], days: u32, ca_days: u32) -> Result<GeneratedCerts, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    if names.is_empty() {
        return Err(TlsError::Generate(
            "no DNS name given: name the webhook Service, e.g. palisade-webhook.palisade.svc"
                .into(),
        ));
    }
    // Midnight UTC of a day counted from the Unix epoch (a closure: rcgen's date type
    // comes from a crate this one does not name).
    let date_of = |unix_day: i64| {
        let d = palisade_core::ignore::Date::from_unix_days(unix_day);
        rcgen::date_time_ymd(d.year, d.month as u8, d.day as u8)
    };
    let today = palisade_core::time::now_secs().div_euclid(86_400);
    // From yesterday, so that a clock slightly behind ours still accepts the certificate.
    let start = date_of(today - 1);
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "palisade admission webhook CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = start;
    ca.not_after = date_of(today + i64::from(ca_days));
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = CertifiedIssuer::self_signed(ca, ca_key).map_err(err)?;

    let mut leaf = CertificateParams::new(names.to_vec()).map_err(err)?;
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.distinguished_name.push(DnType::CommonName, &names[0]);
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = start;
    leaf.not_after = date_of(today + i64::from(days));
    let leaf_key = KeyPair::generate().map_err(err)?;
    let cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;
    Ok(GeneratedCerts {
        ca_cert: issuer.pem(),
        ca_key: ca_key_pem,
        cert: cert.pem(),
        key: leaf_key.serialize_pem(),
    })
}
