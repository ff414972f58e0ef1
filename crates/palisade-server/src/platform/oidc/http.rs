//! Requests to the identity provider: discovery, JWKS and the token endpoint.
//!
//! ureq (blocking, already in the tree for registries and the vulnerability database) runs on
//! tokio's blocking pool. Every request has one overall timeout, follows no redirects (the
//! provider's URLs come from its discovery document and must answer directly), and reads at
//! most [`MAX_BODY`] bytes. Only `https://` is used, except for loopback hosts or when the
//! configuration says `allow_insecure_http`.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::Uri;

/// The most any provider response may hold. Discovery documents and key sets are a few KiB.
pub const MAX_BODY: u64 = 1 << 20;

/// A response from the provider.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// `Cache-Control: max-age` in seconds, when given (and `no-store`/`no-cache` absent).
    pub max_age: Option<u64>,
}

/// Blocking HTTP client used from async code.
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    allow_insecure_http: bool,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

/// Checks a provider URL: absolute, with a host, `https` (or `http` to a loopback host, or
/// when `allow_insecure_http`).
pub fn check_url(url: &str, allow_insecure_http: bool) -> Result<(), String> {
    let uri: Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{url:?} has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if allow_insecure_http || is_loopback(host) => Ok(()),
        Some("http") => Err(format!(
            "{url:?} uses plain http; use https (or set allow_insecure_http = true)"
        )),
        _ => Err(format!("{url:?} is not an http(s) URL")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl HttpClient {
    pub fn new(timeout: Duration, allow_insecure_http: bool) -> HttpClient {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpClient {
            agent: ureq::Agent::new_with_config(config),
            allow_insecure_http,
        }
    }

    /// `GET url` with `Accept: application/json`.
    pub async fn get(&self, url: &str) -> Result<Fetched, String> {
        check_url(url, self.allow_insecure_http)?;
        let agent = self.agent.clone();
        let url = url.to_string();
        run_blocking(move || {
            let resp = agent
                .get(&url)
                .header("Accept", "application/json")
                .call()
                .map_err(|e| format!("GET {url}: {e}"))?;
            read(resp, &url)
        })
        .await
    }

    /// `POST url` with a form body, optionally with HTTP Basic credentials (already
    /// form-encoded as RFC 6749 §2.3.1 asks).
    pub async fn post_form(
        &self,
        url: &str,
        basic: Option<(String, String)>,
        form: Vec<(&'static str, String)>,
    ) -> Result<Fetched, String> {
        use base64::Engine;
        check_url(url, self.allow_insecure_http)?;
        let agent = self.agent.clone();
        let url = url.to_string();
        run_blocking(move || {
            let mut req = agent.post(&url).header("Accept", "application/json");
            if let Some((user, password)) = basic {
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    form_encode(&user),
                    form_encode(&password)
                ));
                req = req.header("Authorization", &format!("Basic {encoded}"));
            }
            let resp = req
                .send_form(form.iter().map(|(k, v)| (*k, v.as_str())))
                .map_err(|e| format!("POST {url}: {e}"))?;
            read(resp, &url)
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| "the request to the identity provider was cancelled".to_string())?
}

fn read(mut resp: ureq::http::Response<ureq::Body>, url: &str) -> Result<Fetched, String> {
    let status = resp.status().as_u16();
    let max_age = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .and_then(max_age);
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| format!("{url}: cannot read the response: {e}"))?;
    Ok(Fetched {
        status,
        body,
        max_age,
    })
}

/// `max-age` from a Cache-Control value; `None` when absent or when `no-store`/`no-cache`
/// says not to keep the response.
pub fn max_age(value: &str) -> Option<u64> {
    let mut age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        if name.eq_ignore_ascii_case("max-age") {
            age = arg.and_then(|a| a.parse::<u64>().ok());
        }
    }
    age
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encoding for a query parameter value (RFC 3986 unreserved characters kept).
pub fn query_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://idp.example.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:9000", false).is_ok());
        assert!(check_url("http://[::1]:9000/a", false).is_ok());
        assert!(check_url("http://localhost/a", false).is_ok());
        assert!(check_url("http://idp.example.com", false).is_err());
        assert!(check_url("http://idp.example.com", true).is_ok());
        assert!(check_url("file:///etc/passwd", true).is_err());
        assert!(check_url("/relative", true).is_err());
        assert!(check_url("http://127.0.0.1.evil.com", false).is_err());
    }

    #[test]
    fn cache_control() {
        assert_eq!(max_age("public, max-age=300"), Some(300));
        assert_eq!(max_age("max-age=\"60\""), Some(60));
        assert_eq!(max_age("no-store"), Some(0));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }

    #[test]
    fn encodings() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(query_encode("openid profile"), "openid%20profile");
        assert_eq!(query_encode("x~y"), "x~y");
    }
}
