//! Client-certificate authentication of the ingest routes (`[server] client_ca`,
//! `ingest_client_cns`), as the Kubernetes API server's audit webhook uses it: a certificate
//! signed by the configured CA with an allowed CN may post events without a token; another
//! CN, another CA or no credentials at all may not; nor does the certificate open the API.
//! SQLite only: authentication does not depend on the backend.

#[allow(dead_code)]
#[path = "platform/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

use harness::{Db, Options, Server};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A CA that signs client certificates.
struct Ca {
    pem: String,
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, name.to_string());
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let issuer =
        rcgen::CertifiedIssuer::self_signed(p, rcgen::KeyPair::generate().unwrap()).unwrap();
    Ca {
        pem: issuer.pem(),
        issuer,
    }
}

/// A client certificate (PEM chain, PEM key) for `cn`, signed by `ca`.
fn client_cert(ca: &Ca, cn: &str) -> (String, String) {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, cn.to_string());
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    p.use_authority_key_identifier_extension = true;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "palisade-client-cert-{}-{}-{name}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&p, text).unwrap();
    p
}

/// POSTs `body` to `path` over TLS with an optional client certificate; the status, or the
/// TLS or connection error.
fn post(
    srv: &Server,
    path: &str,
    cert: Option<&(String, String)>,
    body: &[u8],
) -> Result<u16, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(srv.server_ca.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(palisade_server::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match cert {
        Some((chain, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(chain.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let port = srv.base.rsplit(':').next().unwrap();
    let tcp = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    tls.write_all(body).map_err(|e| e.to_string())?;
    tls.flush().map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    match tls.read_to_end(&mut answer) {
        Ok(_) => {}
        // Some servers close without close_notify; what was read still counts.
        Err(e) if !answer.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text}"))
}

fn k8s_fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../palisade-siem/tests/data/k8s-audit")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn audit_webhook_with_a_client_certificate() {
    let clients = ca("audit webhook clients");
    let ca_file = temp_file("ca.crt", &clients.pem);
    let srv = Server::start(
        &Db::Sqlite,
        "client_cert",
        Options {
            client_ca: Some(ca_file.clone()),
            ingest_client_cns: vec!["kube-apiserver".into()],
            ..Options::default()
        },
    );
    let roles = srv.roles();
    let apiserver = client_cert(&clients, "kube-apiserver");
    let intruder = client_cert(&clients, "system:anonymous");
    let other = ca("another CA");
    let forged = client_cert(&other, "kube-apiserver");
    let batch = k8s_fixture("webhook-batch.json");

    let stored = |q: &str| {
        let r = srv
            .get(
                &format!(
                    "/api/v1/events?q={}&from=2000-01-01",
                    form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
                ),
                &roles.analyst.token,
            )
            .expect(200)
            .json();
        r["total"].as_u64().unwrap()
    };

    // The allowed CN, signed by the CA: stored, and audited as the certificate.
    assert_eq!(
        post(
            &srv,
            "/ingest/k8s-audit?source=cert-in",
            Some(&apiserver),
            &batch
        ),
        Ok(200)
    );
    let n = stored("source:cert-in");
    assert!(n > 0);
    let audit = srv.audit(&roles.admin.session);
    let entry = audit
        .iter()
        .find(|e| e["action"] == "events.ingest" && e["target"] == "source:cert-in")
        .unwrap_or_else(|| panic!("no audit entry: {audit:#?}"));
    assert_eq!(entry["actor"], "cert:kube-apiserver", "{entry}");

    // Another CN of the same CA, no credentials at all: 401, nothing stored.
    assert_eq!(
        post(
            &srv,
            "/ingest/k8s-audit?source=cert-bad",
            Some(&intruder),
            &batch
        ),
        Ok(401)
    );
    assert_eq!(
        post(&srv, "/ingest/k8s-audit?source=cert-bad", None, &batch),
        Ok(401)
    );
    // A certificate of another CA does not get through the handshake (or, at the latest,
    // is refused).
    let r = post(
        &srv,
        "/ingest/k8s-audit?source=cert-bad",
        Some(&forged),
        &batch,
    );
    assert!(r.is_err() || r == Ok(401), "{r:?}");
    // The certificate opens the ingest routes only, not the API.
    assert_eq!(
        post(
            &srv,
            "/api/v1/tokens",
            Some(&apiserver),
            b"{\"name\":\"x\"}"
        ),
        Ok(401)
    );
    assert_eq!(stored("source:cert-bad"), 0);
    assert_eq!(stored("source:cert-in"), n);

    // Bearer tokens still work alongside.
    let r = srv
        .call("POST", "/ingest/k8s-audit?source=token-in")
        .cred(&roles.analyst.token)
        .body("application/json", batch.clone())
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stored("source:token-in"), n);
    let _ = std::fs::remove_file(ca_file);
}

#[test]
fn client_ca_settings_are_checked() {
    use palisade_server::platform::Settings;
    use palisade_server::platform::config::{ConfigFile, Overrides};
    let resolve = |text: &str| {
        Settings::resolve(
            Some((ConfigFile::parse(text).unwrap(), "p.toml".into())),
            Overrides::default(),
            None,
        )
        .map_err(|e| e.to_string())
    };
    let s = resolve(
        "[server]\ntls_cert = \"t.crt\"\ntls_key = \"t.key\"\nclient_ca = \"ca.crt\"\ningest_client_cns = [\"kube-apiserver\"]\n",
    )
    .unwrap();
    assert_eq!(s.client_ca, Some(PathBuf::from("ca.crt")));
    assert_eq!(s.ingest_client_cns, vec!["kube-apiserver".to_string()]);
    for (text, want) in [
        (
            "[server]\nclient_ca = \"ca.crt\"\ningest_client_cns = [\"a\"]\n",
            "p.toml: [server] client_ca is set but the server does not serve HTTPS",
        ),
        (
            "[server]\ntls_cert = \"t.crt\"\ntls_key = \"t.key\"\nclient_ca = \"ca.crt\"\n",
            "p.toml: [server] client_ca is set but ingest_client_cns is empty",
        ),
        (
            "[server]\ningest_client_cns = [\"a\"]\n",
            "p.toml: [server] ingest_client_cns needs client_ca",
        ),
        (
            "[server]\ntls_cert = \"t.crt\"\ntls_key = \"t.key\"\nclient_ca = \"ca.crt\"\ningest_client_cns = [\" \"]\n",
            "p.toml: [server] ingest_client_cns: \"\" is not a certificate common name",
        ),
    ] {
        let e = resolve(text).unwrap_err();
        assert!(e.starts_with(want), "{text}\n→ {e}");
    }
}
