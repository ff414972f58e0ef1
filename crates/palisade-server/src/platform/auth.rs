//! Who is calling: console sessions, API tokens, bearer JWTs; and passwords.
//!
//! Every protected handler takes an [`Identity`]: the user, the role in force for this
//! request (a token's scope can lower it), and how the caller proved who they are ([`Via`]).
//! The route guard (`api::guard`) resolves it once per request with [`authenticate`], checks
//! CSRF and the route's minimum role, and leaves it in the request for the extractor.
//!
//! Credentials are tried in this order: an `Authorization: Bearer` header (a `pal_` API token,
//! else a JWT handed to the [`JwtVerifier`] when OIDC is configured), then the
//! `palisade_session` cookie. A bearer header that does not check out is refused outright,
//! never silently downgraded to the cookie.
//!
//! OIDC plugs in here: `api::sso` implements [`JwtVerifier`] with `platform::oidc` and
//! starts console sessions with [`start_session`], exactly as password login does.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use palisade_store::{Millis, Role, Session, User};
use serde::Serialize;

use super::error::ApiError;
use super::state::AppState;
use super::tokens;

/// The console session cookie.
pub const SESSION_COOKIE: &str = "palisade_session";
/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted (hashing cost grows with length; nobody types more).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// How a caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Via {
    /// The console session cookie. State-changing requests must carry `csrf_token`.
    Session {
        #[serde(skip)]
        id_hash: String,
        #[serde(skip)]
        csrf_token: String,
    },
    /// A `pal_` API token.
    Token { id: i64, name: String },
    /// A bearer JWT from the OIDC provider.
    Jwt { subject: String },
}

impl Via {
    pub fn name(&self) -> &'static str {
        match self {
            Via::Session { .. } => "session",
            Via::Token { .. } => "token",
            Via::Jwt { .. } => "jwt",
        }
    }
}

/// The authenticated caller of a request. Taking it as a handler argument makes the route
/// require authentication; the route table says which role.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    /// The role in force: the user's role, lowered to a token's scope.
    pub role: Role,
    pub via: Via,
}

impl Identity {
    /// Whether the caller may act as `role`.
    pub fn at_least(&self, role: Role) -> bool {
        self.role >= role
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }
}

/// Checks bearer JWTs that are not Palisade API tokens (OIDC access or ID tokens).
///
/// `Ok` gives the caller (the user found or created, the role mapped from the token's
/// claims, `Via::Jwt`). `Err` gives the reason, which is logged and audited but never sent
/// to the client: every refused token gets the same 401.
#[async_trait]
pub trait JwtVerifier: Send + Sync + 'static {
    async fn verify(&self, state: &AppState, token: &str) -> Result<Identity, String>;
}

pub use crate::serving::{ClientCert, PeerAddr, Tls};

/// The caller of an ingest route that authenticated with a client certificate
/// (`[server] client_ca` and `ingest_client_cns`) instead of a token. Not a user: it may only
/// post events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestClient {
    /// The certificate's subject CN, one of `ingest_client_cns`.
    pub common_name: String,
}

/// Where a request came from, for the audit log and rate limiting.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The client address: the socket peer, or, when the peer is a trusted proxy, the
    /// rightmost `X-Forwarded-For` address that is not itself a trusted proxy.
    pub fn from_parts(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> Self {
        let mut ip = peer.map(|p| super::config::canonical(p.ip()));
        let trusted = |a: IpAddr| state.settings.trusted_proxies.iter().any(|c| c.contains(a));
        if let Some(peer_ip) = ip
            && trusted(peer_ip)
        {
            let forwarded: Vec<IpAddr> = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .map(super::config::canonical)
                .collect();
            if let Some(client) = forwarded.iter().rev().find(|a| !trusted(**a)) {
                ip = Some(*client);
            } else if let Some(first) = forwarded.first() {
                ip = Some(*first);
            }
        }
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect());
        ClientInfo { ip, user_agent }
    }

    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|i| i.to_string())
    }
}

impl FromRequestParts<Arc<AppState>> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        if let Some(c) = parts.extensions.get::<ClientInfo>() {
            return Ok(c.clone());
        }
        let peer = parts.extensions.get::<PeerAddr>().map(|p| p.0);
        Ok(ClientInfo::from_parts(state, &parts.headers, peer))
    }
}

/// What the credentials of a request come to.
#[derive(Debug)]
pub enum Authenticated {
    /// No credentials at all.
    Anonymous,
    /// Credentials that do not check out (unknown, expired or revoked token, ended session,
    /// disabled user, bad JWT); the reason is for the log and the audit entry.
    Rejected(String),
    Identified(Identity),
}

/// Resolves a request's credentials. Store failures are errors (the request fails), not
/// rejections.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Authenticated, ApiError> {
    let now = state.now();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Some(token) = value.to_str().ok().and_then(bearer) else {
            return Ok(Authenticated::Rejected(
                "Authorization header is not `Bearer <token>`".into(),
            ));
        };
        if token.starts_with(tokens::TOKEN_PREFIX) {
            if !tokens::is_api_token(token) {
                return Ok(Authenticated::Rejected("malformed API token".into()));
            }
            return Ok(
                match state
                    .store
                    .token_by_hash(&tokens::sha256_hex(token), now)
                    .await?
                {
                    Some((t, user)) => Authenticated::Identified(Identity {
                        role: t.scope.min(user.role),
                        via: Via::Token {
                            id: t.id,
                            name: t.name,
                        },
                        user,
                    }),
                    None => Authenticated::Rejected(
                        "API token unknown, expired or revoked, or its owner is disabled".into(),
                    ),
                },
            );
        }
        return Ok(match &state.jwt {
            Some(verifier) => match verifier.verify(state, token).await {
                Ok(identity) => Authenticated::Identified(identity),
                Err(reason) => Authenticated::Rejected(format!("bearer JWT refused: {reason}")),
            },
            None => Authenticated::Rejected(
                "bearer token is not a Palisade API token (pal_…) and OIDC is not configured"
                    .into(),
            ),
        });
    }
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(Authenticated::Anonymous);
    };
    if !tokens::is_secret(secret) {
        return Ok(Authenticated::Rejected("malformed session cookie".into()));
    }
    let id_hash = tokens::sha256_hex(secret);
    Ok(match state.store.session(&id_hash, now).await? {
        Some((session, user)) => Authenticated::Identified(Identity {
            role: user.role,
            via: Via::Session {
                id_hash,
                csrf_token: session.csrf_token,
            },
            user,
        }),
        None => Authenticated::Rejected("session expired or ended".into()),
    })
}

/// The token of a `Bearer` authorization value (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of a cookie, from every `Cookie` header of the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// A console session just started: the cookie to set and the CSRF token that goes with it.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub set_cookie: HeaderValue,
    pub csrf_token: String,
    pub expires_at: Millis,
}

/// Starts a console session for `user`: a random secret in an HttpOnly, SameSite=Lax cookie
/// (Secure when the server is reached over HTTPS), its SHA-256 and a fresh CSRF token in the
/// store. Password login, login links and OIDC all end here.
pub async fn start_session(
    state: &AppState,
    user: &User,
    client: &ClientInfo,
) -> Result<NewSession, ApiError> {
    let secret = tokens::secret()?;
    let csrf_token = tokens::secret()?;
    let now = state.now();
    let expires_at = now.saturating_add(state.settings.session_ttl_ms);
    state
        .store
        .create_session(Session {
            id_hash: tokens::sha256_hex(&secret),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: now,
            expires_at,
            ip: client.ip_string(),
            user_agent: client.user_agent.clone(),
        })
        .await?;
    if let Err(e) = state.store.touch_user_login(user.id, now).await {
        state.log(&format!(
            "cannot record the login time of user {}: {e}",
            user.id
        ));
    }
    let max_age = state.settings.session_ttl_ms / 1000;
    let set_cookie = session_cookie(state, &secret, max_age)?;
    Ok(NewSession {
        set_cookie,
        csrf_token,
        expires_at,
    })
}

/// `Set-Cookie` for the session secret; `max_age` 0 clears it.
pub fn session_cookie(
    state: &AppState,
    secret: &str,
    max_age: i64,
) -> Result<HeaderValue, ApiError> {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(ApiError::internal)
}

/// Argon2id with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(19_456, 2, 1, None).map_err(ApiError::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new password's length (12 to 1024 characters).
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_request(format!(
            "password too short: use at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::bad_request(format!(
            "password too long: use at most {MAX_PASSWORD_LEN} bytes"
        )));
    }
    Ok(())
}

/// Hashes a password (PHC string), on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(ApiError::internal)?
}

fn hash_now(password: &str) -> Result<String, ApiError> {
    let salt = tokens::random_bytes::<16>()?;
    argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// A hash no password matches, checked when the user is unknown or has no password, so that
/// those answers take as long as a wrong password does.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = tokens::secret().unwrap_or_else(|_| "palisade-dummy-password".into());
        hash_now(&random).unwrap_or_default()
    })
}

/// Checks a password against a stored hash (or, when there is none, against a dummy hash
/// so the time taken does not tell), on the blocking pool.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    tokio::task::spawn_blocking(move || {
        let argon = argon2()?;
        match stored.filter(|h| !h.is_empty()) {
            Some(hash) => Ok(argon
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()),
            None => {
                let _ = argon.verify_password(password.as_bytes(), dummy_hash());
                Ok(false)
            }
        }
    })
    .await
    .map_err(ApiError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_cookie_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; palisade_session=xyz"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn passwords_hash_as_argon2id_and_verify() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let h = hash_password("correct horse battery".into()).await.unwrap();
            assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
            assert!(
                verify_password("correct horse battery".into(), Some(h.clone()))
                    .await
                    .unwrap()
            );
            assert!(
                !verify_password("wrong horse battery".into(), Some(h))
                    .await
                    .unwrap()
            );
            assert!(
                !verify_password("anything at all".into(), None)
                    .await
                    .unwrap()
            );
            assert!(
                !verify_password("x".into(), Some("not a hash".into()))
                    .await
                    .unwrap()
            );
        });
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("twelve chars").is_ok());
    }
}
