//! Checking a JWT from the provider: ID tokens after the code exchange, and bearer tokens on
//! API calls.
//!
//! Order matters: the header is read first and refused unless its `alg` is one the
//! configuration allows (so `none` and every HMAC algorithm never reach a key), then the key
//! is found by `kid` in the provider's JWKS and must itself allow that `alg` (an RSA key
//! never verifies an HS256 or ES256 token: no key confusion), then jsonwebtoken (on ring)
//! checks the signature, `exp`/`nbf` with leeway and `aud`. `iss` must be a string equal to
//! the configured issuer, `iat` must not be in the future, and ID tokens must carry the
//! login's `nonce` and, when there is an `azp`, our client id. Keys named in the token
//! itself (`jku`, `jwk`, `x5u`) are never used.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::OidcConfig;
use super::jwks::{JwksCache, KeyError};
use super::pkce::constant_time_eq;

/// Longer tokens are refused before any parsing.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What the token is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// An ID token from the code exchange of the login that sent `nonce`; its `aud` must
    /// contain the client id.
    IdToken { nonce: &'a str },
    /// A bearer token on an API call; its `aud` must contain one of the configured audiences.
    Bearer,
}

/// Why a token was refused. The text is meant for the audit log and server logs; clients
/// get a plain 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("algorithm {0:?} is not accepted")]
    AlgorithmNotAllowed(String),
    #[error("no key with kid {0:?} in the provider's key set")]
    UnknownKey(String),
    #[error("the key {kid:?} does not allow algorithm {alg:?}")]
    KeyAlgorithmMismatch { kid: String, alg: String },
    #[error("the provider's keys are unavailable: {0}")]
    KeysUnavailable(String),
    #[error("bad signature")]
    BadSignature,
    #[error("expired")]
    Expired,
    #[error("not valid yet (nbf in the future)")]
    NotYetValid,
    #[error("issued in the future (iat)")]
    IssuedInFuture,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("missing or invalid claim {0:?}")]
    MissingClaim(String),
    #[error("nonce does not match the login")]
    NonceMismatch,
    #[error("azp is not this client")]
    WrongAuthorizedParty,
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    pub subject: String,
    /// Seconds since the epoch.
    pub expires_at: u64,
    pub claims: Map<String, Value>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    crit: Option<Value>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks `token` and returns its claims.
pub async fn validate(
    config: &OidcConfig,
    jwks: &JwksCache,
    token: &str,
    purpose: Purpose<'_>,
) -> Result<VerifiedToken, TokenRejected> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenRejected::Malformed("too long".into()));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejected::Malformed(
            "not three dot-separated parts (encrypted tokens are not supported)".into(),
        ));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| TokenRejected::Malformed("header is not base64url".into()))?;
    let header: RawHeader = serde_json::from_slice(&header_json)
        .map_err(|_| TokenRejected::Malformed("header is not a JSON object with alg".into()))?;
    if header.crit.is_some() {
        return Err(TokenRejected::Malformed(
            "critical header extensions are not supported".into(),
        ));
    }
    let alg = header
        .alg
        .parse::<Algorithm>()
        .ok()
        .filter(|a| config.allowed_algs.contains(a))
        .ok_or_else(|| TokenRejected::AlgorithmNotAllowed(header.alg.clone()))?;

    let kid_label = header.kid.clone().unwrap_or_default();
    let candidates = jwks
        .keys_for(header.kid.as_deref())
        .await
        .map_err(|e| match e {
            KeyError::Unknown => TokenRejected::UnknownKey(kid_label.clone()),
            KeyError::Unavailable(why) => TokenRejected::KeysUnavailable(why),
        })?;
    let usable: Vec<_> = candidates
        .iter()
        .filter(|k| k.algs.contains(&alg))
        .collect();
    let key = match (header.kid.is_some(), usable.as_slice()) {
        (_, []) if header.kid.is_some() => {
            return Err(TokenRejected::KeyAlgorithmMismatch {
                kid: kid_label,
                alg: header.alg,
            });
        }
        (_, [key]) => *key,
        // Without a kid, only an unambiguous key set is acceptable.
        (false, _) => return Err(TokenRejected::UnknownKey(String::new())),
        // Several keys share the kid and allow the alg: a provider mistake; use the first.
        (true, keys) => keys[0],
    };

    let audiences: &[String] = match purpose {
        Purpose::IdToken { .. } => std::slice::from_ref(&config.client_id),
        Purpose::Bearer => &config.audiences,
    };
    let leeway = config.leeway.as_secs();
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.leeway = leeway;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_audience(audiences);
    validation.set_issuer(&[&config.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation).map_err(|e| {
            match e.into_kind() {
                ErrorKind::InvalidSignature | ErrorKind::Crypto(_) => TokenRejected::BadSignature,
                ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidKeyFormat => TokenRejected::BadSignature,
                ErrorKind::ExpiredSignature => TokenRejected::Expired,
                ErrorKind::ImmatureSignature => TokenRejected::NotYetValid,
                ErrorKind::InvalidIssuer => TokenRejected::WrongIssuer,
                ErrorKind::InvalidAudience => TokenRejected::WrongAudience,
                ErrorKind::MissingRequiredClaim(c) => TokenRejected::MissingClaim(c),
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                    TokenRejected::AlgorithmNotAllowed(alg_name(alg))
                }
                other => TokenRejected::Malformed(format!("{other:?}")),
            }
        })?;
    let claims = data.claims;

    // jsonwebtoken accepts an array `iss` if any member matches; an issuer is one string.
    if claims.get("iss").and_then(Value::as_str) != Some(config.issuer.as_str()) {
        return Err(TokenRejected::WrongIssuer);
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(|| TokenRejected::MissingClaim("sub".into()))?
        .to_string();
    let expires_at = claims
        .get("exp")
        .and_then(Value::as_f64)
        .filter(|e| e.is_finite() && *e >= 0.0)
        .ok_or_else(|| TokenRejected::MissingClaim("exp".into()))? as u64;
    match claims.get("iat") {
        None if matches!(purpose, Purpose::IdToken { .. }) => {
            return Err(TokenRejected::MissingClaim("iat".into()));
        }
        None => {}
        Some(v) => {
            let iat = v
                .as_f64()
                .filter(|i| i.is_finite())
                .ok_or_else(|| TokenRejected::MissingClaim("iat".into()))?;
            if iat > (now_secs() + leeway) as f64 {
                return Err(TokenRejected::IssuedInFuture);
            }
        }
    }
    if let Purpose::IdToken { nonce } = purpose {
        let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !constant_time_eq(got.as_bytes(), nonce.as_bytes()) {
            return Err(TokenRejected::NonceMismatch);
        }
        if let Some(azp) = claims.get("azp")
            && azp.as_str() != Some(config.client_id.as_str())
        {
            return Err(TokenRejected::WrongAuthorizedParty);
        }
    }
    Ok(VerifiedToken {
        subject,
        expires_at,
        claims,
    })
}

fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// A claim by name, or by dotted path into nested objects (`realm_access.roles`) when no
/// top-level claim has that exact name.
pub fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = claims.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

/// Group names from the groups claim: an array of strings (other members ignored) or one
/// string. At most 1,000 are kept.
pub fn groups(claims: &Map<String, Value>, path: &str) -> Vec<String> {
    match claim(claims, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .take(1000)
            .map(String::from)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The username: the configured claim, else `email`, else the subject.
pub fn username(claims: &Map<String, Value>, path: &str, subject: &str) -> String {
    [path, "email"]
        .iter()
        .filter_map(|p| claim(claims, p).and_then(Value::as_str))
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or(subject)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claims_by_path() {
        let c = map(json!({
            "groups": ["a", 1, "b"],
            "realm_access": {"roles": ["r"]},
            "dotted.name": "top",
            "preferred_username": " ",
            "email": "e@x"
        }));
        assert_eq!(groups(&c, "groups"), ["a", "b"]);
        assert_eq!(groups(&c, "realm_access.roles"), ["r"]);
        assert_eq!(groups(&c, "dotted.name"), ["top"]);
        assert!(groups(&c, "missing").is_empty());
        assert_eq!(username(&c, "preferred_username", "sub1"), "e@x");
        assert_eq!(
            username(&map(json!({})), "preferred_username", "sub1"),
            "sub1"
        );
    }
}
