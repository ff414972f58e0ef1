//! The provider's signing keys (JWKS, RFC 7517), cached by `kid`.
//!
//! Keys are fetched on first use and kept for the provider's `Cache-Control: max-age`
//! (bounded to [`MIN_TTL`]..[`MAX_TTL`]) or `jwks_cache_seconds`. A token whose `kid` is not
//! in the set triggers a refetch (the provider may have rotated keys), but fetches are at
//! least `jwks_min_refetch_seconds` apart, so a flood of tokens with random `kid`s costs the
//! provider one request per interval. When the provider cannot be reached, the keys already
//! held stay usable for [`STALE_GRACE`] past their expiry.
//!
//! Each key carries the algorithms it may verify, from its type and curve (and its `alg`
//! member when present); the validator refuses a token whose `alg` the key does not allow.
//! Symmetric (`oct`) keys and encryption keys (`use: enc`) are ignored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::http::HttpClient;

/// The shortest time keys are kept, whatever the provider says.
pub const MIN_TTL: Duration = Duration::from_secs(60);
/// The longest time keys are kept, whatever the provider says.
pub const MAX_TTL: Duration = Duration::from_secs(86_400);
/// How long expired keys stay usable while the provider cannot be reached.
pub const STALE_GRACE: Duration = Duration::from_secs(86_400);
/// Keys beyond this many in one set are ignored.
const MAX_KEYS: usize = 100;

/// One verification key.
pub struct VerifyKey {
    pub kid: Option<String>,
    pub key: DecodingKey,
    /// The algorithms this key may verify.
    pub algs: Vec<Algorithm>,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algs", &self.algs)
            .finish_non_exhaustive()
    }
}

/// Why no key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The set (fresh, or refetched within the rate limit) has no key with this `kid`.
    Unknown,
    /// The provider's key set could not be fetched and none is cached.
    Unavailable(String),
}

struct KeySet {
    keys: Vec<Arc<VerifyKey>>,
    expires_at: Instant,
}

/// Keys of one JWKS URL.
pub struct JwksCache {
    http: HttpClient,
    uri: String,
    default_ttl: Duration,
    min_refetch: Duration,
    set: RwLock<Option<KeySet>>,
    /// When the last fetch was tried; held across the fetch so only one runs at a time.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

impl JwksCache {
    pub fn new(
        http: HttpClient,
        uri: String,
        default_ttl: Duration,
        min_refetch: Duration,
    ) -> Self {
        JwksCache {
            http,
            uri,
            default_ttl,
            min_refetch,
            set: RwLock::new(None),
            last_fetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the set was fetched (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The keys that may have signed a token with this `kid` (all keys when there is none).
    pub async fn keys_for(&self, kid: Option<&str>) -> Result<Vec<Arc<VerifyKey>>, KeyError> {
        if let Some(found) = self.lookup(kid, Instant::now(), false) {
            return Ok(found);
        }
        let mut last = self.last_fetch.lock().await;
        // Another task may have fetched while this one waited for the lock.
        let now = Instant::now();
        if let Some(found) = self.lookup(kid, now, false) {
            return Ok(found);
        }
        let may_fetch = last.is_none_or(|t| now.duration_since(t) >= self.min_refetch);
        if may_fetch {
            *last = Some(now);
            self.fetches.fetch_add(1, Ordering::Relaxed);
            match self.fetch().await {
                Ok((keys, ttl)) => {
                    let set = KeySet {
                        keys,
                        expires_at: Instant::now() + ttl,
                    };
                    *self.set.write().unwrap_or_else(|e| e.into_inner()) = Some(set);
                }
                Err(e) => {
                    drop(last);
                    return self.lookup(kid, Instant::now(), true).ok_or_else(|| {
                        match self.has_set() {
                            true => KeyError::Unknown,
                            false => KeyError::Unavailable(e),
                        }
                    });
                }
            }
        }
        drop(last);
        self.lookup(kid, Instant::now(), true)
            .ok_or(if self.has_set() {
                KeyError::Unknown
            } else {
                KeyError::Unavailable(format!(
                    "the provider's keys could not be fetched; retrying at most every {} s",
                    self.min_refetch.as_secs()
                ))
            })
    }

    fn has_set(&self) -> bool {
        self.set.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Keys matching `kid` from a set that is fresh (or, with `stale_ok`, within the grace).
    fn lookup(
        &self,
        kid: Option<&str>,
        now: Instant,
        stale_ok: bool,
    ) -> Option<Vec<Arc<VerifyKey>>> {
        let guard = self.set.read().unwrap_or_else(|e| e.into_inner());
        let set = guard.as_ref()?;
        let usable_until = if stale_ok {
            set.expires_at + STALE_GRACE
        } else {
            set.expires_at
        };
        if now >= usable_until {
            return None;
        }
        let found: Vec<_> = set
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .cloned()
            .collect();
        (!found.is_empty()).then_some(found)
    }

    async fn fetch(&self) -> Result<(Vec<Arc<VerifyKey>>, Duration), String> {
        let fetched = self.http.get(&self.uri).await?;
        if fetched.status != 200 {
            return Err(format!("{} answered HTTP {}", self.uri, fetched.status));
        }
        let keys = parse_jwks(&fetched.body).map_err(|e| format!("{}: {e}", self.uri))?;
        let ttl = fetched
            .max_age
            .map(Duration::from_secs)
            .unwrap_or(self.default_ttl)
            .clamp(MIN_TTL, MAX_TTL);
        Ok((keys.into_iter().map(Arc::new).collect(), ttl))
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The usable signature keys of a JWKS document. Keys this server cannot use (symmetric,
/// encryption, unknown types or curves, short RSA moduli, malformed members) are skipped so
/// one odd key does not take the others down; a document that is not a JWKS is an error.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<VerifyKey>, String> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
    Ok(set
        .keys
        .into_iter()
        .take(MAX_KEYS)
        .filter_map(|v| serde_json::from_value::<RawJwk>(v).ok())
        .filter_map(|jwk| to_verify_key(&jwk))
        .collect())
}

fn b64(s: &Option<String>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.as_deref()?.trim_end_matches('='))
        .ok()
}

fn to_verify_key(jwk: &RawJwk) -> Option<VerifyKey> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let (key, mut algs) = match jwk.kty.as_str() {
        "RSA" => {
            let n = b64(&jwk.n)?;
            let e = b64(&jwk.e)?;
            let n_bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if !(2048..=8192).contains(&n_bits) || e.is_empty() {
                return None;
            }
            (
                DecodingKey::from_rsa_raw_components(&n, &e),
                vec![
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
            )
        }
        "EC" => {
            let (alg, len) = match jwk.crv.as_deref()? {
                "P-256" => (Algorithm::ES256, 32),
                "P-384" => (Algorithm::ES384, 48),
                _ => return None,
            };
            let x = b64(&jwk.x)?;
            let y = b64(&jwk.y)?;
            if x.len() != len || y.len() != len {
                return None;
            }
            // Uncompressed SEC1 point, the form ring verifies with.
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (DecodingKey::from_ec_der(&point), vec![alg])
        }
        "OKP" => {
            if jwk.crv.as_deref()? != "Ed25519" {
                return None;
            }
            let x = b64(&jwk.x)?;
            if x.len() != 32 {
                return None;
            }
            (DecodingKey::from_ed_der(&x), vec![Algorithm::EdDSA])
        }
        _ => return None,
    };
    if let Some(alg) = &jwk.alg {
        let alg: Algorithm = alg.parse().ok()?;
        if !algs.contains(&alg) {
            return None;
        }
        algs = vec![alg];
    }
    Some(VerifyKey {
        kid: jwk.kid.clone(),
        key,
        algs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_n() -> String {
        // A 2048-bit modulus shape (top bit set); its value does not matter for parsing.
        let mut n = vec![0xC5u8; 256];
        n[255] |= 1;
        URL_SAFE_NO_PAD.encode(n)
    }

    #[test]
    fn parses_supported_keys_and_skips_the_rest() {
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "r1", "n": rsa_n(), "e": "AQAB"},
            {"kty": "RSA", "kid": "r2", "alg": "PS256", "use": "sig", "n": rsa_n(), "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": rsa_n(), "e": "AQAB"},
            {"kty": "RSA", "kid": "short", "n": URL_SAFE_NO_PAD.encode([0xC5u8; 128]), "e": "AQAB"},
            {"kty": "RSA", "kid": "mismatch", "alg": "ES256", "n": rsa_n(), "e": "AQAB"},
            {"kty": "EC", "kid": "e1", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
            {"kty": "EC", "kid": "bad-len", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode([1u8; 31]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
            {"kty": "EC", "kid": "k1", "crv": "secp256k1", "x": "AA", "y": "AA"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([3u8; 32])},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "no-n", "e": "AQAB"},
            "not an object"
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        let summary: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.clone().unwrap(), k.algs.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "r1".to_string(),
                    vec![
                        Algorithm::RS256,
                        Algorithm::RS384,
                        Algorithm::RS512,
                        Algorithm::PS256,
                        Algorithm::PS384,
                        Algorithm::PS512
                    ]
                ),
                ("r2".to_string(), vec![Algorithm::PS256]),
                ("e1".to_string(), vec![Algorithm::ES256]),
                ("ed".to_string(), vec![Algorithm::EdDSA]),
            ]
        );
    }

    #[test]
    fn not_a_jwks() {
        assert!(parse_jwks(b"{\"issuer\": \"x\"}").is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }
}
