//! The login flow's server-side state: random values, the PKCE S256 challenge (RFC 7636), and
//! the logins in progress between `/login/oidc` and its callback.
//!
//! A pending login is keyed by `state` and bound to the browser that started it by a
//! separate random value held in a short-lived HttpOnly cookie; only that value's SHA-256 is
//! kept here. Each pending login is taken at most once: a replayed or forged callback finds
//! nothing. The table is in memory, bounded, and forgets logins after [`PENDING_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// How long a user has to finish signing in at the provider.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// The most logins in progress at once; beyond it the oldest is dropped.
pub const MAX_PENDING: usize = 10_000;

/// 32 random bytes as base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // SystemRandom only fails when the OS has no randomness, which no server can run without.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 code challenge for a verifier: base64url(SHA-256(verifier)).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

fn sha256(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, s.as_bytes()).as_ref());
    out
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the callback needs from the start of a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub nonce: String,
    pub code_verifier: String,
}

/// A login just started: what goes to the provider and into the browser cookie.
#[derive(Debug, Clone)]
pub struct StartedLogin {
    pub state: String,
    pub nonce: String,
    pub code_challenge: String,
    /// The value of the binding cookie.
    pub cookie: String,
}

/// Why a callback's state was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateError {
    /// Unknown, already used, or expired.
    Unknown,
    /// Known, but the browser does not hold the cookie of the login that made it.
    CookieMismatch,
}

impl StateError {
    pub fn reason(self) -> &'static str {
        match self {
            StateError::Unknown => "unknown, reused or expired state",
            StateError::CookieMismatch => "state does not belong to this browser",
        }
    }
}

struct Entry {
    login: PendingLogin,
    cookie_hash: [u8; 32],
    created: Instant,
}

/// Logins in progress, keyed by `state`.
#[derive(Default)]
pub struct PendingLogins {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PendingLogins {
    pub fn new() -> PendingLogins {
        PendingLogins::default()
    }

    /// Starts a login: fresh state, nonce, verifier and cookie value.
    pub fn start(&self) -> StartedLogin {
        self.start_at(Instant::now())
    }

    fn start_at(&self, now: Instant) -> StartedLogin {
        let state = random_token();
        let nonce = random_token();
        let code_verifier = random_token();
        let cookie = random_token();
        let started = StartedLogin {
            state: state.clone(),
            nonce: nonce.clone(),
            code_challenge: s256_challenge(&code_verifier),
            cookie: cookie.clone(),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_PENDING {
            entries.retain(|_, e| now.duration_since(e.created) < PENDING_TTL);
        }
        if entries.len() >= MAX_PENDING
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.created)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(
            state,
            Entry {
                login: PendingLogin {
                    nonce,
                    code_verifier,
                },
                cookie_hash: sha256(&cookie),
                created: now,
            },
        );
        started
    }

    /// Takes the login `state` names, once. The entry is gone afterwards whatever the outcome,
    /// so a state can never be tried twice.
    pub fn take(&self, state: &str, cookie: Option<&str>) -> Result<PendingLogin, StateError> {
        self.take_at(state, cookie, Instant::now())
    }

    fn take_at(
        &self,
        state: &str,
        cookie: Option<&str>,
        now: Instant,
    ) -> Result<PendingLogin, StateError> {
        let entry = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(state)
            .ok_or(StateError::Unknown)?;
        if now.duration_since(entry.created) >= PENDING_TTL {
            return Err(StateError::Unknown);
        }
        match cookie {
            Some(c) if constant_time_eq(&sha256(c), &entry.cookie_hash) => Ok(entry.login),
            _ => Err(StateError::CookieMismatch),
        }
    }

    /// How many logins are in progress (expired ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_43_base64url_chars() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, random_token());
    }

    #[test]
    fn single_use_and_bound_to_cookie() {
        let p = PendingLogins::new();
        let s = p.start();
        assert_eq!(
            p.take(&s.state, Some("other")),
            Err(StateError::CookieMismatch)
        );
        // The mismatch consumed it.
        assert_eq!(p.take(&s.state, Some(&s.cookie)), Err(StateError::Unknown));

        let s = p.start();
        let got = p.take(&s.state, Some(&s.cookie)).unwrap();
        assert_eq!(got.nonce, s.nonce);
        assert_eq!(s256_challenge(&got.code_verifier), s.code_challenge);
        assert_eq!(p.take(&s.state, Some(&s.cookie)), Err(StateError::Unknown));
        assert_eq!(p.take("forged", Some(&s.cookie)), Err(StateError::Unknown));
    }

    #[test]
    fn expires() {
        let p = PendingLogins::new();
        let t0 = Instant::now();
        let s = p.start_at(t0);
        assert_eq!(
            p.take_at(&s.state, Some(&s.cookie), t0 + PENDING_TTL),
            Err(StateError::Unknown)
        );
    }

    #[test]
    fn bounded() {
        let p = PendingLogins::new();
        let t0 = Instant::now();
        let first = p.start_at(t0);
        for i in 1..=MAX_PENDING {
            p.start_at(t0 + Duration::from_millis(i as u64));
        }
        assert_eq!(p.len(), MAX_PENDING);
        assert_eq!(
            p.take(&first.state, Some(&first.cookie)),
            Err(StateError::Unknown)
        );
    }
}
