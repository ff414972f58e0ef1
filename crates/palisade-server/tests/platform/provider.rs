//! A tiny OpenID provider served by the test: discovery, a JWKS, an authorization endpoint
//! that signs the next user in at once and redirects back with a code, and a token endpoint
//! that checks the PKCE `code_verifier` before handing out an ID token.
//!
//! Tokens are signed with the RSA keys of `tests/data/oidc/` (ring, RS256). The provider
//! counts what it serves so tests can see the JWKS fetched once and cached.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Map, Value, json};

pub const CLIENT_ID: &str = "palisade-test";
pub const CLIENT_SECRET: &str = "client secret for tests";

/// An RSA signing key and its `kid`.
pub struct Key {
    pub kid: String,
    pair: RsaKeyPair,
}

impl Key {
    /// A PKCS#1 PEM key from `tests/data/oidc/`.
    pub fn load(file: &str, kid: &str) -> Key {
        let pem = String::from_utf8(super::harness::fixture(&format!("oidc/{file}"))).unwrap();
        let b64: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let der = STANDARD.decode(b64).unwrap();
        Key {
            kid: kid.to_string(),
            pair: RsaKeyPair::from_der(&der).unwrap(),
        }
    }

    /// The DER `RSAPublicKey` (SEQUENCE of n and e).
    pub fn public_der(&self) -> &[u8] {
        self.pair.public().as_ref()
    }

    pub fn jwk(&self) -> Value {
        let (n, e) = rsa_public_numbers(self.public_der());
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
        })
    }

    /// An RS256 JWT with this key.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid }),
            claims,
        )
    }

    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let mut sig = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An HS256 JWT whose HMAC key is `secret`.
pub fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// n and e of a DER `RSAPublicKey`.
fn rsa_public_numbers(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn read(input: &[u8], tag: u8) -> (&[u8], &[u8]) {
        assert_eq!(input[0], tag, "unexpected DER tag");
        let (len, skip) = match input[1] {
            l if l < 0x80 => (l as usize, 2),
            l => {
                let n = (l & 0x7f) as usize;
                let len = input[2..2 + n]
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | *b as usize);
                (len, 2 + n)
            }
        };
        (&input[skip..skip + len], &input[skip + len..])
    }
    let (seq, _) = read(der, 0x30);
    let (n, rest) = read(seq, 0x02);
    let (e, _) = read(rest, 0x02);
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    (strip(n), strip(e))
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Who the authorization endpoint signs in next.
#[derive(Debug, Clone)]
pub struct User {
    pub sub: String,
    pub username: String,
    pub groups: Vec<String>,
}

struct Grant {
    challenge: String,
    nonce: String,
    redirect_uri: String,
    user: User,
}

#[derive(Default)]
pub struct Counters {
    pub discovery: AtomicUsize,
    pub jwks: AtomicUsize,
    pub authorize: AtomicUsize,
    pub token: AtomicUsize,
    /// Token requests refused because the PKCE verifier did not match.
    pub pkce_refused: AtomicUsize,
}

struct Shared {
    issuer: String,
    signing: Key,
    /// Keys published in the JWKS.
    published: Vec<Value>,
    next_user: Mutex<User>,
    grants: Mutex<HashMap<String, Grant>>,
    counters: Counters,
    stop: AtomicBool,
}

pub struct Provider {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    addr: std::net::SocketAddr,
}

impl Provider {
    /// Serves on 127.0.0.1:0; signs with `signing`, publishes it and `also_published`.
    pub fn start(signing: Key, also_published: &[&Key]) -> Provider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut published = vec![signing.jwk()];
        published.extend(also_published.iter().map(|k| k.jwk()));
        let shared = Arc::new(Shared {
            issuer: format!("http://127.0.0.1:{}", addr.port()),
            signing,
            published,
            next_user: Mutex::new(User {
                sub: "u-1".into(),
                username: "sso.user".into(),
                groups: vec![],
            }),
            grants: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = conn {
                    let s = Arc::clone(&s);
                    std::thread::spawn(move || serve(&s, stream));
                }
            }
        });
        Provider {
            shared,
            thread: Some(thread),
            addr,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    pub fn key(&self) -> &Key {
        &self.shared.signing
    }

    pub fn sign_in_next(&self, user: User) {
        *self.shared.next_user.lock().unwrap() = user;
    }

    /// Claims of a valid bearer token for `sub` with `groups`.
    pub fn claims(&self, sub: &str, groups: &[&str]) -> Value {
        let now = now_secs();
        json!({
            "iss": self.issuer(), "aud": CLIENT_ID, "sub": sub,
            "preferred_username": sub, "groups": groups,
            "iat": now, "nbf": now, "exp": now + 600,
        })
    }

    /// The `[oidc]` table for this provider.
    pub fn oidc_table(&self) -> toml::Value {
        let text = format!(
            r#"
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
roles = {{ admin = ["sec-admins"], analyst = ["sec-analysts"], viewer = ["engineering"] }}
"#,
            issuer = self.issuer()
        );
        toml::from_str(&text).unwrap()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_string(),
        query: form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        headers,
        body,
    })
}

fn respond(mut stream: TcpStream, status: u16, headers: &[(&str, String)], body: &str) {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

fn json_response(stream: TcpStream, status: u16, v: &Value) {
    respond(
        stream,
        status,
        &[("Content-Type", "application/json".into())],
        &v.to_string(),
    )
}

fn serve(s: &Shared, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(req) = read_request(&stream) else {
        return;
    };
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/.well-known/openid-configuration") => {
            s.counters.discovery.fetch_add(1, Ordering::Relaxed);
            json_response(
                stream,
                200,
                &json!({
                    "issuer": s.issuer,
                    "authorization_endpoint": format!("{}/authorize", s.issuer),
                    "token_endpoint": format!("{}/token", s.issuer),
                    "jwks_uri": format!("{}/jwks", s.issuer),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                }),
            );
        }
        ("GET", "/jwks") => {
            s.counters.jwks.fetch_add(1, Ordering::Relaxed);
            json_response(stream, 200, &json!({ "keys": s.published }));
        }
        ("GET", "/authorize") => {
            s.counters.authorize.fetch_add(1, Ordering::Relaxed);
            let q = &req.query;
            let ok = q.get("response_type").map(String::as_str) == Some("code")
                && q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("code_challenge_method").map(String::as_str) == Some("S256")
                && q.get("scope")
                    .is_some_and(|s| s.split(' ').any(|x| x == "openid"));
            let (Some(redirect_uri), Some(state), Some(challenge), Some(nonce), true) = (
                q.get("redirect_uri"),
                q.get("state"),
                q.get("code_challenge"),
                q.get("nonce"),
                ok,
            ) else {
                return respond(stream, 400, &[], "bad authorization request");
            };
            let code = URL_SAFE_NO_PAD.encode(
                ring::rand::generate::<[u8; 16]>(&SystemRandom::new())
                    .unwrap()
                    .expose(),
            );
            s.grants.lock().unwrap().insert(
                code.clone(),
                Grant {
                    challenge: challenge.clone(),
                    nonce: nonce.clone(),
                    redirect_uri: redirect_uri.clone(),
                    user: s.next_user.lock().unwrap().clone(),
                },
            );
            let state: String = form_urlencoded::byte_serialize(state.as_bytes()).collect();
            respond(
                stream,
                302,
                &[(
                    "Location",
                    format!("{redirect_uri}?code={code}&state={state}"),
                )],
                "",
            );
        }
        ("POST", "/token") => {
            s.counters.token.fetch_add(1, Ordering::Relaxed);
            let form: HashMap<String, String> =
                form_urlencoded::parse(&req.body).into_owned().collect();
            // RFC 6749 §2.3.1: id and secret are form-encoded, then joined and base64-encoded.
            let basic = req
                .headers
                .get("authorization")
                .and_then(|h| h.strip_prefix("Basic "))
                .and_then(|b| STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|pair| {
                    let (id, secret) = pair.split_once(':')?;
                    let decode = |s: &str| -> String {
                        form_urlencoded::parse(format!("x={s}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default()
                    };
                    Some((decode(id), decode(secret)))
                });
            let client_ok = basic == Some((CLIENT_ID.to_string(), CLIENT_SECRET.to_string()))
                || (form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                    && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET));
            if !client_ok {
                return json_response(stream, 401, &json!({ "error": "invalid_client" }));
            }
            let grant = form
                .get("code")
                .and_then(|c| s.grants.lock().unwrap().remove(c));
            let Some(grant) = grant else {
                return json_response(stream, 400, &json!({ "error": "invalid_grant" }));
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
                &ring::digest::SHA256,
                verifier.as_bytes(),
            ));
            if form.get("grant_type").map(String::as_str) != Some("authorization_code")
                || form.get("redirect_uri") != Some(&grant.redirect_uri)
            {
                return json_response(stream, 400, &json!({ "error": "invalid_grant" }));
            }
            if challenge != grant.challenge {
                s.counters.pkce_refused.fetch_add(1, Ordering::Relaxed);
                return json_response(
                    stream,
                    400,
                    &json!({ "error": "invalid_grant", "error_description": "PKCE verification failed" }),
                );
            }
            let now = now_secs();
            let mut claims = Map::new();
            claims.insert("iss".into(), json!(s.issuer));
            claims.insert("aud".into(), json!(CLIENT_ID));
            claims.insert("sub".into(), json!(grant.user.sub));
            claims.insert("preferred_username".into(), json!(grant.user.username));
            claims.insert(
                "name".into(),
                json!(format!("User {}", grant.user.username)),
            );
            claims.insert("groups".into(), json!(grant.user.groups));
            claims.insert("nonce".into(), json!(grant.nonce));
            claims.insert("iat".into(), json!(now));
            claims.insert("exp".into(), json!(now + 300));
            let id_token = s.signing.sign(&Value::Object(claims));
            json_response(
                stream,
                200,
                &json!({
                    "access_token": "opaque-access-token",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                }),
            );
        }
        _ => respond(stream, 404, &[], "not found"),
    }
}
