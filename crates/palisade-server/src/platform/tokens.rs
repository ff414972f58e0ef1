//! Secrets the platform hands out: API tokens, session and login-link secrets, CSRF tokens.
//!
//! Every secret is 32 random bytes from the operating system (through *ring*), written as
//! unpadded base64url (43 characters). Only the SHA-256 of a credential is stored, so a copy
//! of the database does not let anyone sign in. API tokens carry the prefix `pal_` so that
//! they are recognisable in logs and by secret scanners, and so that the auth layer can tell
//! them from JWTs without trying both.
//!
//! What does not live here: the token API (see `api::tokens`), checking them (`auth`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

/// What every API token starts with.
pub const TOKEN_PREFIX: &str = "pal_";
/// Characters of base64url that 32 bytes take without padding.
const SECRET_CHARS: usize = 43;
/// How much of a token is kept in clear to tell tokens apart in lists (`pal_` + 4).
const SHOWN_PREFIX: usize = TOKEN_PREFIX.len() + 4;

/// The operating system's random source failed (practically never; the request fails with a
/// 500 rather than using a weak secret).
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| RandomError)?;
    Ok(buf)
}

/// A fresh secret: 32 random bytes as base64url (43 characters).
pub fn secret() -> Result<String, RandomError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A new API token, as shown once to its owner, and what is stored of it.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// `pal_` + 43 characters: shown once, never stored.
    pub token: String,
    /// Hex SHA-256 of `token`.
    pub hash: String,
    /// `pal_` and the first four secret characters, for lists.
    pub prefix: String,
}

/// Makes a new API token.
pub fn new_api_token() -> Result<NewToken, RandomError> {
    let token = format!("{TOKEN_PREFIX}{}", secret()?);
    Ok(NewToken {
        hash: sha256_hex(&token),
        prefix: token[..SHOWN_PREFIX].to_string(),
        token,
    })
}

/// Whether `s` has the shape of a Palisade API token (`pal_` + 43 base64url characters).
/// Anything else is refused before the database is asked.
pub fn is_api_token(s: &str) -> bool {
    s.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == SECRET_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Whether `s` has the shape of a secret made by [`secret`].
pub fn is_secret(s: &str) -> bool {
    s.len() == SECRET_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Lowercase hex SHA-256 of a credential: what the store keeps and looks up.
pub fn sha256_hex(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    palisade_store::hex(d.as_ref())
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_documented_shape() {
        let t = new_api_token().unwrap();
        assert_eq!(t.token.len(), 4 + 43);
        assert!(is_api_token(&t.token), "{}", t.token);
        assert!(t.token.starts_with(&t.prefix));
        assert_eq!(t.prefix.len(), 8);
        assert_eq!(t.hash, sha256_hex(&t.token));
        assert_eq!(t.hash.len(), 64);
        assert_ne!(new_api_token().unwrap().token, t.token);
        assert!(!is_api_token("pal_short"));
        assert!(!is_api_token(&format!("pal_{}", "a".repeat(42) + "!")));
        assert!(!is_api_token(&t.token[4..]));
        assert!(is_secret(&secret().unwrap()));
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
