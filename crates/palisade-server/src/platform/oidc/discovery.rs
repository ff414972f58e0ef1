//! OpenID Connect Discovery 1.0: `<issuer>/.well-known/openid-configuration`.
//!
//! The document's `issuer` must equal the configured issuer exactly (§4.3), so a provider
//! cannot hand out endpoints or keys for another issuer. Its endpoints go through the same URL
//! check as the issuer (https unless loopback or `allow_insecure_http`).

use serde::Deserialize;

use super::http::{HttpClient, check_url};

/// The parts of the discovery document the server uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// Fetches and checks the discovery document of `issuer`.
pub async fn discover(
    http: &HttpClient,
    issuer: &str,
    allow_insecure_http: bool,
) -> Result<ProviderMetadata, String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let fetched = http.get(&url).await?;
    if fetched.status != 200 {
        return Err(format!("{url} answered HTTP {}", fetched.status));
    }
    let meta: ProviderMetadata = serde_json::from_slice(&fetched.body)
        .map_err(|e| format!("{url}: not a discovery document: {e}"))?;
    if meta.issuer != issuer {
        return Err(format!(
            "{url} names the issuer {:?}, but the configuration says {issuer:?}; they must match exactly",
            meta.issuer
        ));
    }
    for (name, endpoint) in [
        ("authorization_endpoint", &meta.authorization_endpoint),
        ("token_endpoint", &meta.token_endpoint),
        ("jwks_uri", &meta.jwks_uri),
    ] {
        check_url(endpoint, allow_insecure_http).map_err(|e| format!("{url}: {name}: {e}"))?;
    }
    if let Some(methods) = &meta.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(format!(
            "{url}: the provider does not support PKCE with S256 (code_challenge_methods_supported: {methods:?})"
        ));
    }
    Ok(meta)
}
